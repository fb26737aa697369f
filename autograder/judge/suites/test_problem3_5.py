"""Problem 3-(5) — the log-likelihood loss (6 points).

Split: criterion equals the cross-entropy (NLLLoss of log_softmax) on random outputs 2; it stays
finite and right on large outputs (around ±1000, where exp overflows) 1; test accuracy at the
floor 3. NLLLoss on raw outputs is not a log-likelihood: its value is −output[label], which
training drives to −∞ — the run stops at the first non-finite loss and says so.

Accepted: ``criterion = nn.NLLLoss()`` over a ``log_softmax`` written into the loss (a function or
a small module: ``NLLLoss(log_softmax(x))``), or — as PyTorch's own examples write it — a ``Net``
of problem3_5.py's own that ends in ``log_softmax`` with ``criterion = nn.NLLLoss()``. In the
second case the two belong together: the run trains that Net with that criterion, and the
criterion checks feed it what that Net outputs (log-probabilities: the log-softmax of the random
outputs), a remark says so. A Net of its own whose outputs are not log-probabilities is judged
with the criterion on raw outputs, as the given Net would be.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.judge.checks import CheckFailed, as_array, expect_close, fail
from autograder.judge.worker_client import ProbeFailure

pytestmark = pytest.mark.problem("problem3_5")

MODULE = "problem3_5"
WHERE = "problem3_5.py:criterion"


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.fixture(scope="module")
def own_net_gives_log_probabilities(worker) -> bool:
    """Whether the run trains a Net of problem3_5.py's own whose outputs are log-probabilities
    (each row's exp sums to 1, for random weights and inputs: log_softmax at the end)."""
    owner = worker.call("variation_pieces", module=MODULE, doing="reading which pieces problem3_5.py defines")
    if owner.get("Net") != "student":
        return False
    rng = np.random.default_rng(0)  # only tells log-probabilities from scores: any draw does
    try:
        d = worker.call("describe_net", module=MODULE, input_shape=[2, 3, 32, 32],
                        doing="building problem3_5.py's Net()")
        if d.forward_error:
            return False  # a Net that cannot run is charged in the training run, not in the loss
        weights = [rng.normal(0, 0.05, size=p.shape).astype(np.float32) for p in d.parameters]
        inputs = rng.uniform(-1, 1, size=(4, 3, 32, 32)).astype(np.float32)
        out = worker.call("forward", module=MODULE, weights=weights, inputs=inputs,
                          doing="running problem3_5.py's Net on random images")
        out = as_array(out, "problem3_5.py's Net on 4 random images", "problem3_5.py:Net.forward", shape=(4, 10))
    except (ProbeFailure, CheckFailed):
        return False
    return bool(np.allclose(np.exp(out).sum(axis=1), 1.0, rtol=0, atol=1e-3))


def _criterion_on(losses, logits, labels, log_probabilities: bool, remark) -> np.ndarray:
    """The student's criterion on what the trained Net would give it for ``logits``."""
    if log_probabilities:
        remark("problem3_5.py's own Net ends in log_softmax, so its criterion is judged on log-probabilities "
               "(the log-softmax of the outputs), and the run trains that Net with it")
        logits = [_log_softmax(x).astype(np.float32) for x in logits]
    return as_array(losses.student(MODULE, logits, labels), "criterion on random outputs", WHERE)


@pytest.mark.points(2)
def test_loss_is_cross_entropy(losses, own_net_gives_log_probabilities, remark):
    """criterion(outputs, labels) = mean of −log softmax(outputs)[label] on random outputs"""
    logits, labels = losses.random([(4, 1.0, 0.0), (16, 3.0, 0.0)])
    expected = [losses.cross_entropy(x, y) for x, y in zip(logits, labels)]
    expect_close(_criterion_on(losses, logits, labels, own_net_gives_log_probabilities, remark), np.array(expected),
                 "criterion on random outputs of 4 and 16 images", WHERE, rtol=1e-5, atol=1e-6)


@pytest.mark.points(1)
def test_finite_on_large_outputs(losses, own_net_gives_log_probabilities, remark):
    """criterion stays finite and right for outputs around ±1000 (log_softmax, not log(softmax))"""
    logits, labels = losses.random([(4, 300.0, 1000.0), (4, 300.0, -1000.0)])
    found = _criterion_on(losses, logits, labels, own_net_gives_log_probabilities, remark)
    if not np.all(np.isfinite(found)):
        fail("criterion on outputs around ±1000", "finite values", np.array2string(found), WHERE)
    expected = [losses.cross_entropy(x, y) for x, y in zip(logits, labels)]
    expect_close(found, np.array(expected), "criterion on outputs around ±1000", WHERE, rtol=1e-4, atol=1e-3)


@pytest.mark.points(3)
def test_accuracy_floor(training_runs):
    """Trained with this loss (given Net, transform and SGD; its own Net with it when the two belong
    together), the net reaches the accuracy floor"""
    training_runs.check_floor(MODULE)
