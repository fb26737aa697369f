"""Red team: a fork bomb inside softmax; the process limit must stop it.

Every process forks until fork fails; the children then park themselves, renamed to a marker,
so the red-team test can check that none of them outlives the grading run.
"""

import ctypes
import os
import time

import redteam

MARKER = b"@@MARKER@@"


def _park():
    try:
        ctypes.CDLL(None).prctl(15, MARKER, 0, 0, 0)  # PR_SET_NAME: shows in /proc/PID/comm
    except Exception:
        pass
    while True:
        time.sleep(3600)


def softmax(x):
    redteam.guard()
    root = os.getpid()
    forked = 0
    while True:
        try:
            pid = os.fork()
        except OSError:
            if os.getpid() != root:
                _park()
            redteam.say("fork bomb", f"forked {forked} before fork failed")
            raise
        if pid == 0:
            continue  # the child bombs too
        forked += 1
