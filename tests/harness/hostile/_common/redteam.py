"""Helpers shared by the red-team submissions (copied into each hostile submission folder).

`attempt` runs one hostile action and prints one line ``REDTEAM <label>: <outcome>`` to stdout,
which the grader captures into the results' output tail, where the red-team tests read it.
`guard` makes sure the destructive attacks only ever run inside bubblewrap, so that a broken
sandbox fails the red-team tests instead of damaging the machine that runs them.
"""

import os
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
