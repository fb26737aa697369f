"""Problem 4 — softmax in NumPy (10 points).

Split: the homework's example values 4; random vectors (the values, and that they sum to 1) 3;
numerical stability on large inputs 3. Two remarks, no points: whether a plain Python list is
accepted, and whether softmax is row-wise on a 2-D batch. The homework asks for neither: its only
call is ``softmax(np.array([0.4, 2.0, 0.001, 0.32]))`` (an array, one vector), so the textbook's
softmax, which reads ``x.ndim``, earns full marks.

Tolerances (every seed): values within 1e-7 + 1e-5 × the value, sums within 1e-5 of 1 — float32
arithmetic (rounding about 1e-7 of each value) passes as float64 does. On large inputs (up to
1000) float32 cannot hold the input itself closer than 3.1e-5, which moves exp(x − max) by up to
6.1e-5 of its value and a normalised value by up to 1.2e-4: there the tolerance is 5e-4 × the value. Wrong answers fail on
every seed: without the maximum subtracted, exp overflows on [1000, 1001] (nan); with the minimum
subtracted instead, on [−1000, 0, 1000]; a wrong formula misses the homework's example itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.judge.checks import as_array, expect_close, fail

pytestmark = pytest.mark.problem("problem4")

WHERE = "problem4.py:softmax"
EXAMPLE = [0.4, 2.0, 0.001, 0.32]
TOL = {"rtol": 1e-5, "atol": 1e-7}
LARGE_TOL = {"rtol": 5e-4, "atol": 1e-7}
SUM_TOL = 1e-5


def softmax(worker, x):
    return worker.call("call_function", module="problem4", name="softmax", args=[x],
                       doing="calling softmax")


@pytest.mark.points(4)
def test_example_values(worker, reference):
    """softmax([0.4, 2.0, 0.001, 0.32]) gives the homework's values"""
    expected = reference("problem4").softmax(np.array(EXAMPLE))
    expect_close(softmax(worker, np.array(EXAMPLE)), expected,
                 "softmax([0.4, 2.0, 0.001, 0.32])", WHERE, rtol=1e-6, atol=1e-8)


@pytest.mark.points(3)
def test_random_vectors_sum_to_one(worker, reference, rng):
    """Random vectors: the reference's values, summing to 1"""
    for n in (3, 10):
        x = rng.normal(0, 3, size=n)
        found = as_array(softmax(worker, x), f"softmax of a random vector of length {n}", WHERE, shape=(n,))
        if not np.isclose(found.sum(), 1.0, rtol=0, atol=SUM_TOL):
            fail(f"sum of softmax(x) for a random x of length {n}", "1", f"{found.sum():.12g}", WHERE)
        expect_close(found, reference("problem4").softmax(x),
                     f"softmax of a random vector of length {n}", WHERE, **TOL)


@pytest.mark.points(3)
def test_no_overflow_on_large_inputs(worker, reference, rng):
    """No overflow for inputs like [1000, 1001] (the maximum is subtracted before exp)"""
    for x in (np.array([1000.0, 1001.0]), np.array([-1000.0, 0.0, 1000.0]), rng.uniform(700, 900, size=5)):
        expect_close(softmax(worker, x), reference("problem4").softmax(x),
                     f"softmax({np.array2string(x, precision=1, separator=', ')})", WHERE, **LARGE_TOL)


@pytest.mark.points(0)
def test_accepts_a_list(worker, remark):
    """Advisory: a plain Python list gives the same result as an array"""
    try:
        from_array = as_array(softmax(worker, np.array(EXAMPLE)), "softmax of an array", WHERE)
        from_list = softmax(worker, list(EXAMPLE))
    except Exception as exc:  # advisory only: never costs points (the homework passes an array)
        remark(f"softmax of the list [0.4, 2.0, 0.001, 0.32] raised: {exc} — fine for the homework, "
               "which passes an array; np.asarray(x) first would accept lists too")
        return
    found = np.asarray(from_list, dtype=float) if isinstance(from_list, np.ndarray) else None
    if found is None or found.shape != from_array.shape or not np.allclose(found, from_array, **TOL):
        remark("softmax of the list [0.4, 2.0, 0.001, 0.32] differs from its answer for the same "
               "values as an array — fine for the homework, which passes an array")


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
    if found is None or found.shape != expected.shape or not np.allclose(found, expected, **TOL):
        remark("softmax is not row-wise on a 2-D batch (e.g. it normalises over the whole array); "
               "fine for the homework's vectors, but not for a batch of logits")
