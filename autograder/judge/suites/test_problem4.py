"""Problem 4 — softmax in NumPy (10 points).

Split: the homework's example values 4; random vectors (the values, and that they sum to 1) 2;
numerical stability on large inputs 2; a plain Python list as input 2 (judged against the
function's own answer for an array, so a wrong formula is not charged twice). Whether softmax is row-wise
on a 2-D batch is a remark only: the homework asks for vectors.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.judge.checks import as_array, expect_close, fail

pytestmark = pytest.mark.problem("problem4")

WHERE = "problem4.py:softmax"
EXAMPLE = [0.4, 2.0, 0.001, 0.32]


def softmax(worker, x):
    return worker.call("call_function", module="problem4", name="softmax", args=[x],
                       doing="calling softmax")


@pytest.mark.points(4)
def test_example_values(worker, reference):
    """softmax([0.4, 2.0, 0.001, 0.32]) gives the homework's values"""
    expected = reference("problem4").softmax(np.array(EXAMPLE))
    expect_close(softmax(worker, np.array(EXAMPLE)), expected,
                 "softmax([0.4, 2.0, 0.001, 0.32])", WHERE, rtol=1e-6, atol=1e-8)


@pytest.mark.points(2)
def test_random_vectors_sum_to_one(worker, reference, rng):
    """Random vectors: the reference's values, summing to 1"""
    for n in (3, 10):
        x = rng.normal(0, 3, size=n)
        found = as_array(softmax(worker, x), f"softmax of a random vector of length {n}", WHERE, shape=(n,))
        if not np.isclose(found.sum(), 1.0, rtol=0, atol=1e-9):
            fail(f"sum of softmax(x) for a random x of length {n}", "1", f"{found.sum():.12g}", WHERE)
        expect_close(found, reference("problem4").softmax(x),
                     f"softmax of a random vector of length {n}", WHERE, rtol=1e-6, atol=1e-10)


@pytest.mark.points(2)
def test_no_overflow_on_large_inputs(worker, reference, rng):
    """No overflow for inputs like [1000, 1001] (the maximum is subtracted before exp)"""
    for x in (np.array([1000.0, 1001.0]), rng.uniform(700, 900, size=5)):
        expect_close(softmax(worker, x), reference("problem4").softmax(x),
                     f"softmax({np.array2string(x, precision=1, separator=', ')})", WHERE,
                     rtol=1e-6, atol=1e-10)


@pytest.mark.points(2)
def test_accepts_a_list(worker):
    """A plain Python list is accepted, with the same result as for an array"""
    from_array = as_array(softmax(worker, np.array(EXAMPLE)), "softmax of an array", WHERE)
    expect_close(softmax(worker, list(EXAMPLE)), from_array,
                 "softmax of the list [0.4, 2.0, 0.001, 0.32] (against its own answer for the array)",
                 WHERE, rtol=1e-9, atol=1e-12)


@pytest.mark.points(0)
def test_row_wise_on_a_batch(worker, reference, rng, remark):
    """Advisory: on a 2-D batch, softmax applies to each row"""
    x = rng.normal(0, 1, size=(3, 4))
    try:
        found = softmax(worker, x)
    except Exception as exc:  # advisory only: never costs points
        remark(f"softmax on a 3×4 batch raised: {exc}")
        return
    found = np.asarray(found, dtype=float) if isinstance(found, np.ndarray) else None
    expected = reference("problem4").softmax(x)
    if found is None or found.shape != expected.shape or not np.allclose(found, expected, atol=1e-9):
        remark("softmax is not row-wise on a 2-D batch (e.g. it normalises over the whole array); "
               "fine for the homework's vectors, but not for a batch of logits")
