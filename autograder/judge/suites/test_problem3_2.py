"""Problem 3-(2) — the Adam optimizer (6 points).

Split: make_optimizer returns Adam with lr 0.001 and betas (0.9, 0.999) over every parameter 3;
test accuracy at the floor 3. Another ``eps`` than the default 1e-8 is a remark, not a deduction:
the assignment names only Adam and its learning rate. The training uses the student's
make_optimizer with the homework's given Net, transform and loss.
"""

from __future__ import annotations

import pytest

from autograder.judge.checks import describe, fail

pytestmark = pytest.mark.problem("problem3_2")

MODULE = "problem3_2"
WHERE = "problem3_2.py:make_optimizer"


@pytest.mark.points(3)
def test_optimizer_is_adam(optimizers, remark):
    """make_optimizer: Adam with lr 0.001 and betas (0.9, 0.999) over every parameter"""
    d = optimizers.describe(MODULE)
    if d.type != "Adam":
        fail("the optimizer's type", "torch.optim.Adam", optimizers.name(d), WHERE)
    lrs = optimizers.setting(d, "lr")
    if not optimizers.all_close(lrs, 0.001):
        fail("Adam's lr", "0.001 in every parameter group", describe(lrs), WHERE)
    betas = optimizers.setting(d, "betas")
    if not all(isinstance(b, list) and len(b) == 2 and optimizers.all_close(b[:1], 0.9)
               and optimizers.all_close(b[1:], 0.999) for b in betas):
        fail("Adam's betas", "(0.9, 0.999) in every parameter group", describe(betas), WHERE)
    optimizers.check_covers_every_parameter(d, WHERE)
    eps = optimizers.setting(d, "eps")
    if not optimizers.all_close(eps, 1e-8, rtol=1e-6):
        remark(f"eps is {describe(eps)}, not Adam's default 1e-8: a larger eps damps the adaptive "
               "step sizes (fine for the homework; no points are deducted)")


@pytest.mark.points(3)
def test_accuracy_floor(training_runs):
    """Trained with this optimizer (and the given Net, transform and loss), the net reaches the floor"""
    training_runs.check_floor(MODULE)
