"""Red team: softmax tries to write outside its scratch folder, then returns wrong values.

Targets: a sibling submission, the original of this submission, the project (reference/, tests/,
the grader package, the virtual environment's site-packages), the machine's /tmp, and one file
past the file-size limit. The red-team test checks that none of them changed.
"""

import os
import sys

import numpy as np
import redteam

SENTINEL = "@@SENTINEL@@"
SIBLING = "@@SIBLING@@"
ORIGINAL = "@@SUBMISSION@@"
PROJECT = "@@PROJECT@@"


def _append(path):
    with open(path, "a") as f:
        f.write(f"\n# {SENTINEL}\n")
    return path


def _create(path):
    with open(path, "x") as f:
        f.write(SENTINEL)
    return path


def _big_file():
    chunk = b"\0" * 2**20
    with open("big.bin", "wb") as f:
        for _ in range(300):
            f.write(chunk)
    return "300 MiB written"


def softmax(x):
    redteam.guard()
    import autograder

    site = next(p for p in sys.path if p.endswith("site-packages"))
    redteam.attempt("write sibling problem4.py", lambda: _append(f"{SIBLING}/problem4.py"))
    redteam.attempt("write sibling new file", lambda: _create(f"{SIBLING}/{SENTINEL}"))
    redteam.attempt("write original submission", lambda: _append(f"{ORIGINAL}/problem4.py"))
    redteam.attempt("write own copy", lambda: _append(__file__))
    redteam.attempt("write project reference", lambda: _append(f"{PROJECT}/autograder/judge/reference/problem4.py"))
    redteam.attempt("write project tests", lambda: _append(f"{PROJECT}/autograder/judge/suites/test_problem4.py"))
    redteam.attempt("write project new file", lambda: _create(f"{PROJECT}/{SENTINEL}"))
    redteam.attempt("write grader package",
                    lambda: _create(os.path.join(os.path.dirname(autograder.__file__), f"{SENTINEL}.py")))
    redteam.attempt("write site-packages", lambda: _create(os.path.join(site, f"{SENTINEL}.pth")))
    redteam.attempt("write /tmp", lambda: _create(f"/tmp/{SENTINEL}"))
    redteam.attempt("write past the file-size limit", _big_file)
    return np.zeros(len(x))
