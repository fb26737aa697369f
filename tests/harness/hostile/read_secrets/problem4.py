"""Red team: softmax looks for the reference solutions, the graded tests and the judge's secrets.

It opens the project's files by their absolute path (baked in when the test copies this folder),
walks the visible filesystem for them, reads configuration files that often hold credentials and
dumps its environment. Whatever it finds is printed (so it would show in the captured output), and
a found reference softmax is used to answer (so the check would pass). Found nothing: it returns
wrong values.
"""

import os
import time

import numpy as np
import redteam

PROJECT = "@@PROJECT@@"
WANTED = {"problem4.py", "test_problem4.py", "test_problem5.py", "ASSIGNMENT.md", "results.json"}


def _read(path):
    with open(path) as f:
        text = f.read()
    redteam.say(f"content of {path}", text.replace("\n", "\\n")[:2000])
    return path


def _walk():
    """Files named like the grader's, and reference/ folders holding a problem4.py."""
    found, seen, started = [], 0, time.monotonic()
    for root, dirs, files in os.walk("/"):
        if root == "/":
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "submission")]
        found += [os.path.join(root, f) for f in files if f in WANTED]
        if os.path.basename(root) == "reference" and "problem4.py" in files:
            found.append(os.path.join(root, "problem4.py"))
        seen += len(files) + len(dirs)
        if seen > 1_000_000 or time.monotonic() - started > 30:
            break
    redteam.say("walk", f"{seen} entries seen")
    return sorted(set(found))


def softmax(x):
    redteam.say("environment", repr(dict(os.environ)))
    redteam.say("etc", repr(sorted(os.listdir("/etc"))))
    for name in ("pip.conf", "npmrc", "gitconfig", "environment", "hostname", "machine-id", "shadow"):
        redteam.attempt(f"read /etc/{name}", lambda name=name: _read(f"/etc/{name}"))
    hits = []
    for rel in ("autograder/judge/reference/problem4.py", "autograder/judge/suites/test_problem4.py", "autograder/judge/reference/problem5.py"):
        path = f"{PROJECT}/{rel}"
        if redteam.attempt(f"read {rel}", lambda path=path: _read(path)):
            hits.append(path)
    found = redteam.attempt("walk /", _walk) or []
    for path in found:
        if redteam.attempt(f"read found {path}", lambda path=path: _read(path)):
            hits.append(path)
    for path in hits:
        if path.endswith("problem4.py") and "test_" not in path:
            namespace = {}
            exec(compile(open(path).read(), path, "exec"), namespace)
            return namespace["softmax"](x)  # stolen: this would pass the check
    return np.full(len(x), 0.5 / len(x))
