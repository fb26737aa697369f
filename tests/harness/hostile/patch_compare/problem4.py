"""Red team: patch every comparison it can reach to say "equal", then return wrong values.

numpy's at import time; torch's, math's, a builtin's and the grader's own check helpers (as far as
this process can see them) on the first call.
"""

import builtins
import math

import numpy as np
import redteam


def _always_true(*args, **kwargs):
    return True


def _patch(owners):
    patched = []
    for owner, names in owners:
        for name in names:
            setattr(owner, name, _always_true)
            patched.append(f"{owner.__name__}.{name}")
    return patched


def _patch_more():
    import torch

    patched = _patch(((torch, ("allclose", "equal")), (math, ("isclose",)), (builtins, ("all",))))
    torch.testing.assert_close = lambda *a, **k: None
    try:
        import autograder.judge.checks as checks

        checks.expect_close = lambda found, *a, **k: found
        checks.fail = lambda *a, **k: None
        patched.append("autograder.judge.checks")
    except Exception as exc:  # noqa: BLE001
        patched.append(f"autograder.judge.checks not importable ({type(exc).__name__})")
    return patched


def _patch_numpy():
    np.testing.assert_allclose = lambda *a, **k: None
    return _patch(((np, ("allclose", "array_equal", "isclose")),)) + ["numpy.testing.assert_allclose"]


redteam.attempt("patch numpy", _patch_numpy)
_done = False


def softmax(x):
    global _done
    if not _done:
        _done = True
        redteam.attempt("patch torch, math, builtins, grader", _patch_more)
    return np.full(len(x), 0.25)
