"""Red team: softmax tries to SIGKILL its parent, then every other process it can find in /proc."""

import os
import signal

import numpy as np
import redteam


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")[:80]
    except OSError as exc:
        return type(exc).__name__


def softmax(x):
    redteam.guard()
    me = os.getpid()
    redteam.attempt("kill parent", lambda: os.kill(os.getppid(), signal.SIGKILL))
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    redteam.say("visible pids", repr(pids))
    judge = [p for p in pids if "pytest" in _cmdline(p)]
    redteam.say("judge visible", "yes" if judge else "no")
    for pid in pids:
        if pid != me:
            redteam.attempt(f"kill pid {pid} ({_cmdline(pid)})", lambda pid=pid: os.kill(pid, signal.SIGKILL))
    redteam.attempt("kill every process (pid -1)", lambda: os.kill(-1, signal.SIGKILL))
    return np.zeros(len(x))
