"""Problem 5 — loss functions in NumPy (14 points).

Split: each of the three functions 4 (the homework's example 2, random cases 2), and plain lists
accepted as well as arrays 2 (judged against the function's own answer for arrays, so a wrong
formula is not charged twice). Lists earn points here, unlike in problem 4: the homework's own
code calls the three functions on lists (``prediction = [0.001, 0.9, 0.001, 0.098]``).

Conventions decided here:
* ``MSE`` is the homework's ½·Σ(y−t)². A mean-based answer (Σ/n) or one without the ½ is a
  different quantity from the one asked for and earns no credit on the MSE checks; the feedback
  says which convention the value matches, so the TA can see it at a glance.
* ``cross_entropy_error`` is −Σ t·ln(y + 1e-7). Any δ from 0 to 1e-7 inside the log (or a clip
  at 1e-7) is accepted, on every seed: the answer's probability in the random cases lies in
  [0.05, 0.9] and the homework's is 0.098, so δ moves the value by at most δ/0.05 = 2e-6, below
  the tolerance (`ATOL` 1e-5 + `RTOL` 1e-5 × the value), while −ln of the answer's probability is
  at least 0.105.
* ``loglikelihood`` is −log(y at the answer): the natural log and log₂ are both in use in course
  textbooks and both earn full marks; a remark names which one matched. A δ inside the log is
  accepted as for the cross-entropy; log₁₀ is not (it differs from ln by a factor of 2.3).
* float32 or float64 arithmetic, arrays or plain lists in, a NumPy or Python number out: all the
  same to the checks (float32's rounding, about 1e-7 of the value, is far below the tolerance).
* Wrong answers fail on every seed: each convention the feedback names differs from the right one
  by a factor (½·Σ against Σ or a mean; ln against log₂ or log₁₀; a sign) of at least 1.4, and
  every value checked is at least 0.005 (½·(1 − 0.9)² for the MSE) or 0.105 (−ln 0.9), so the gap
  is at least 0.002, hundreds of times the tolerance. One random case puts a larger probability
  on a wrong class than on the answer, so a loss taken at argmax(y) instead of the answer fails
  too.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.judge.checks import as_float, fail

pytestmark = pytest.mark.problem("problem5")

Y = [0.001, 0.9, 0.001, 0.098]
T = [0, 0, 0, 1]
RTOL = 1e-5
ATOL = 1e-5
CASES = ((0.05, 0.3, True), (0.3, 0.6, False), (0.6, 0.9, False))
"""The random cases: the answer's probability drawn from [low, high); with ``True`` another class
holds half of the rest (more than the answer)."""


def call(worker, name, y, t):
    return worker.call("call_function", module="problem5", name=name, args=[y, t],
                       doing=f"calling {name}")


def random_case(rng, low: float, high: float, distractor: bool, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A prediction of ``n`` classes summing to 1 and a one-hot answer: the answer's probability in
    [low, high), every other class at least (1 − high)/(4(n − 1)), and with ``distractor`` one
    wrong class holding more than half of the rest. No probability is near 0 or 1, where a δ inside
    the log or float32 would matter."""
    answer = int(rng.integers(n))
    p = rng.uniform(low, high)
    rest = (1.0 - p) * (0.5 * rng.dirichlet(np.ones(n - 1)) + 0.5 / (n - 1))
    if distractor:
        rest = 0.5 * rest + 0.5 * (1.0 - p) * np.eye(n - 1)[rng.integers(n - 1)]
    y = np.insert(rest, answer, p)
    t = np.zeros(n)
    t[answer] = 1.0
    return y, t


def random_cases(rng) -> list[tuple[np.ndarray, np.ndarray]]:
    return [random_case(rng, low, high, distractor) for low, high, distractor in CASES]


def close(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=RTOL, atol=ATOL))


def mse_conventions(y, t) -> dict[str, float]:
    d = (np.asarray(y, float) - np.asarray(t, float)) ** 2
    return {"½·Σ (the homework's)": 0.5 * d.sum(), "Σ (no ½)": d.sum(), "mean": d.mean(),
            "½·mean": 0.5 * d.mean()}


def check_mse(worker, reference, y, t, checked):
    where = "problem5.py:MSE"
    found = as_float(call(worker, "MSE", y, t), checked, where)
    expected = float(reference("problem5").MSE(y, t))
    if not close(found, expected):
        matches = [k for k, v in mse_conventions(y, t).items() if close(found, v)]
        hint = f" — that is the {matches[0]} convention" if matches else ""
        fail(checked, f"{expected:.10g} (½·Σ(y−t)²)", f"{found:.10g}{hint}", where)


@pytest.mark.points(2)
def test_mse_example(worker, reference):
    """MSE of the homework's example is 0.811803 (½·Σ(y−t)²)"""
    check_mse(worker, reference, np.array(Y), np.array(T), "MSE(y, t) for the homework's example")


@pytest.mark.points(2)
def test_mse_random(worker, reference, rng):
    """MSE on random predictions equals ½·Σ(y−t)²"""
    for y, t in random_cases(rng):
        check_mse(worker, reference, y, t, "MSE(y, t) for a random prediction of 10 classes")


def check_cross_entropy(worker, reference, y, t, checked):
    where = "problem5.py:cross_entropy_error"
    found = as_float(call(worker, "cross_entropy_error", y, t), checked, where)
    expected = float(reference("problem5").cross_entropy_error(y, t))
    if not close(found, expected):
        fail(checked, f"{expected:.10g} (−Σ t·ln(y + 1e-7))", f"{found:.10g}", where)


@pytest.mark.points(2)
def test_cross_entropy_example(worker, reference):
    """cross_entropy_error of the homework's example is 2.3227867799…"""
    check_cross_entropy(worker, reference, np.array(Y), np.array(T),
                        "cross_entropy_error(y, t) for the homework's example")


@pytest.mark.points(2)
def test_cross_entropy_random(worker, reference, rng):
    """cross_entropy_error on random predictions equals −Σ t·ln(y) (any δ up to 1e-7 inside the log)"""
    for y, t in random_cases(rng):
        check_cross_entropy(worker, reference, y, t,
                            "cross_entropy_error(y, t) for a random prediction of 10 classes")


def check_loglikelihood(worker, y, t, checked, remark) -> None:
    where = "problem5.py:loglikelihood"
    found = as_float(call(worker, "loglikelihood", y, t), checked, where)
    p = float(np.asarray(y, float)[int(np.argmax(t))])
    bases = {"natural log": -np.log(p), "log₂": -np.log2(p), "log₁₀": -np.log10(p)}
    matched = [name for name, v in bases.items() if close(found, v)]
    if not matched or matched[0] == "log₁₀":
        fail(checked, f"−ln(y at the answer) = {bases['natural log']:.10g} "
             f"(or with log₂: {bases['log₂']:.10g})", f"{found:.10g}", where)
    if matched[0] != "natural log":
        remark(f"loglikelihood uses {matched[0]} (accepted; the natural log gives "
               f"{bases['natural log']:.6g} for the homework's example)")


@pytest.mark.points(2)
def test_loglikelihood_example(worker, remark):
    """loglikelihood of the homework's example: 2.3227878 (ln) or 3.3510744 (log₂)"""
    check_loglikelihood(worker, np.array(Y), np.array(T),
                        "loglikelihood(y, t) for the homework's example", remark)


@pytest.mark.points(2)
def test_loglikelihood_random(worker, rng, remark):
    """loglikelihood on random predictions is −log of the answer's probability"""
    notes: list[str] = []
    for y, t in random_cases(rng):
        check_loglikelihood(worker, y, t, "loglikelihood(y, t) for a random prediction of 10 classes",
                            notes.append)
    if notes:
        remark(notes[0])


@pytest.mark.points(2)
def test_lists_and_arrays(worker):
    """The three functions accept plain lists and give the same values as for arrays"""
    for name in ("MSE", "cross_entropy_error", "loglikelihood"):
        where = f"problem5.py:{name}"
        checked = f"{name}(y, t) with y and t given as Python lists"
        from_arrays = as_float(call(worker, name, np.array(Y), np.array(T)),
                               f"{name}(y, t) with arrays", where)
        from_lists = as_float(call(worker, name, list(Y), list(T)), checked, where)
        if not close(from_lists, from_arrays):
            fail(checked, f"the value it gives for arrays, {from_arrays:.10g}", f"{from_lists:.10g}", where)
