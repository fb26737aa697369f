"""Problem 3-(5) — the log-likelihood loss (6 points).

Split: criterion equals the cross-entropy (NLLLoss of log_softmax) on random outputs 2; it stays
finite and right on large outputs (around ±1000, where exp overflows) 1; test accuracy at the
floor 3. NLLLoss on raw outputs is not a log-likelihood: its value is −output[label], which
training drives to −∞ — the run stops at the first non-finite loss and says so.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.judge.checks import as_array, expect_close, fail

pytestmark = pytest.mark.problem("problem3_5")

MODULE = "problem3_5"
WHERE = "problem3_5.py:criterion"


@pytest.mark.points(2)
def test_loss_is_cross_entropy(losses):
    """criterion(outputs, labels) = mean of −log softmax(outputs)[label] on random outputs"""
    logits, labels = losses.random([(4, 1.0, 0.0), (16, 3.0, 0.0)])
    expected = [losses.cross_entropy(x, y) for x, y in zip(logits, labels)]
    expect_close(losses.student(MODULE, logits, labels), np.array(expected),
                 "criterion on random outputs of 4 and 16 images", WHERE, rtol=1e-5, atol=1e-6)


@pytest.mark.points(1)
def test_finite_on_large_outputs(losses):
    """criterion stays finite and right for outputs around ±1000 (log_softmax, not log(softmax))"""
    logits, labels = losses.random([(4, 300.0, 1000.0), (4, 300.0, -1000.0)])
    found = as_array(losses.student(MODULE, logits, labels), "criterion on outputs around ±1000", WHERE)
    if not np.all(np.isfinite(found)):
        fail("criterion on outputs around ±1000", "finite values", np.array2string(found), WHERE)
    expected = [losses.cross_entropy(x, y) for x, y in zip(logits, labels)]
    expect_close(found, np.array(expected), "criterion on outputs around ±1000", WHERE, rtol=1e-4, atol=1e-3)


@pytest.mark.points(3)
def test_accuracy_floor(training_runs):
    """Trained with this loss (given Net, transform and SGD), the net reaches the accuracy floor"""
    training_runs.check_floor(MODULE)
