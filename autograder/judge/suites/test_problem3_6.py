"""Problem 3-(6) — L2 regularisation (6 points).

Split: make_optimizer puts a weight decay > 0 on every weight tensor of the net 3; test accuracy
at the floor 3. The amount is the student's choice (the homework's example used 1e-6); a decay so
large that the net cannot learn shows up in the floor. Accepted as L2: decay on every parameter,
or on every weight but not the biases (the usual practice: parameter groups with
``weight_decay=0`` for the biases); the optimizer must still cover every parameter. A weight
without decay fails, naming it.
"""

from __future__ import annotations

import pytest

from autograder.judge.checks import describe, fail

pytestmark = pytest.mark.problem("problem3_6")

MODULE = "problem3_6"
WHERE = "problem3_6.py:make_optimizer"


@pytest.mark.points(3)
def test_weight_decay_on_every_parameter(optimizers):
    """make_optimizer: weight decay (L2) greater than 0 on every weight of the net (biases optional)"""
    d = optimizers.describe(MODULE)
    optimizers.check_covers_every_parameter(d, WHERE)
    without = [name for g in d.groups for name in g.params
               if not (isinstance(g.settings.get("weight_decay"), (int, float))
                       and not isinstance(g.settings.get("weight_decay"), bool)
                       and g.settings["weight_decay"] > 0)
               and not name.endswith(".bias")]
    if without:
        fail("weight_decay of each parameter's group", "greater than 0 for every weight (biases may go without)",
             f"{describe(optimizers.setting(d, 'weight_decay'))} — no decay on {', '.join(without)}", WHERE)


@pytest.mark.points(3)
def test_accuracy_floor(training_runs):
    """Trained with this optimizer (given Net, transform and loss), the net reaches the accuracy floor"""
    training_runs.check_floor(MODULE)
