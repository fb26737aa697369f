"""Helpers shared by the red-team submissions (copied into each hostile submission folder).

`attempt` runs one hostile action and prints one line ``REDTEAM <label>: <outcome>`` to stdout,
which the grader captures into the results' output tail, where the red-team tests read it.
`guard` makes sure the destructive attacks only ever run inside bubblewrap, so that a broken
sandbox fails the red-team tests instead of damaging the machine that runs them.
"""

import os
import struct
import sys


def say(label, outcome):
    """Print one finding for the red-team tests."""
    sys.stdout.write(f"REDTEAM {label}: {outcome}\n")
    sys.stdout.flush()


def attempt(label, action):
    """Run ``action()``; report 'ok <result>' or the exception it raised. Returns the result or None."""
    try:
        result = action()
    except BaseException as exc:  # noqa: BLE001 - the red team wants to see every refusal
        say(label, f"{type(exc).__name__}: {exc}")
        return None
    say(label, f"ok {result!r}"[:300])
    return result


def guard():
    """Refuse to attack unless we run inside bubblewrap's PID namespace as an unprivileged uid."""
    try:
        with open("/proc/1/comm") as f:
            init = f.read().strip()
    except OSError:
        init = "?"
    if init != "bwrap" or os.getuid() == 0:
        raise RuntimeError(f"red-team attack not run: not inside the sandbox (pid 1 is {init!r}, "
                           f"uid {os.getuid()})")


def frame(header):
    """A wire frame with this JSON ``header`` (bytes) and no body, as the worker writes replies."""
    return b"AGW1" + struct.pack(">IQ", len(header), 0) + header


def request_id():
    """The id of the request being answered: any dict on the caller's stack holding "probe" and "id"."""
    f = sys._getframe(1)
    while f is not None:
        for value in f.f_locals.values():
            if type(value) is dict and "probe" in value and "id" in value:
                return value["id"]
        f = f.f_back
    return None


def reply_fd():
    """The fd of the worker's reply pipe, whatever its number: the ``replies`` stream on the
    caller's stack (the worker's serve loop)."""
    f = sys._getframe(1)
    while f is not None:
        stream = f.f_locals.get("replies")
        if stream is not None and hasattr(stream, "fileno"):
            return stream.fileno()
        f = f.f_back
    raise RuntimeError("the worker's reply pipe was not found on the stack")
