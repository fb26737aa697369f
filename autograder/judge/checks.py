"""Judge-side checks that turn a comparison into feedback: checked, expected, found, where.

Every value from the worker is untrusted plain data; these helpers type-check it before comparing
(`as_array`, `as_float`, …) and raise `CheckFailed` with a `Feedback` when it is wrong. The plugin
turns `CheckFailed` and `ProbeFailure` into the student's lost points, `NotGraded` into a check
that does not count, and anything else into a grader fault.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from autograder.common.results import Feedback


class CheckFailed(AssertionError):
    """The submission's answer is wrong; carries the feedback to show."""

    __test__ = False

    def __init__(self, feedback: Feedback) -> None:
        super().__init__(f"{feedback.where}: {feedback.checked} — expected {feedback.expected}, "
                         f"found {feedback.found}")
        self.feedback = feedback


class NotGraded(Exception):
    """The check cannot be run for a reason that is not the student's (data missing, …)."""


def fail(checked: str, expected: str, found: str, where: str, details: str = "") -> None:
    """Fail the current check with this feedback."""
    __tracebackhide__ = True
    raise CheckFailed(Feedback(checked, expected, found, where, details))


def describe(value: Any) -> str:
    """A short description of a reply value for 'found'."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)}, dtype {value.dtype}"
    if value is None:
        return "None"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "…"


def as_array(value: Any, checked: str, where: str, *, shape: Sequence[int] | None = None) -> np.ndarray:
    """The reply as a float64 array of real numbers, or a failed check that says what came back."""
    __tracebackhide__ = True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = np.asarray(value, dtype=np.float64)
    elif isinstance(value, list):
        try:
            value = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            fail(checked, "an array of numbers", describe(value), where)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        fail(checked, "an array of numbers", describe(value), where)
    array = value.astype(np.float64)
    if shape is not None and tuple(array.shape) != tuple(shape):
        fail(checked, f"shape {tuple(shape)}", f"shape {tuple(array.shape)}", where)
    return array


def as_float(value: Any, checked: str, where: str) -> float:
    """The reply as one real number (a 0-d or one-element array is accepted)."""
    __tracebackhide__ = True
    array = as_array(value, checked, where)
    if array.size != 1:
        fail(checked, "a single number", f"an array of shape {tuple(array.shape)}", where)
    return float(array.reshape(()))


def expect_close(found: Any, expected: np.ndarray | float, checked: str, where: str, *,
                 rtol: float = 1e-5, atol: float = 1e-6) -> np.ndarray:
    """``found`` equals ``expected`` element-wise within ``atol + rtol·|expected|``."""
    __tracebackhide__ = True
    expected = np.asarray(expected, dtype=np.float64)
    array = as_array(found, checked, where)
    if array.shape != expected.shape:
        fail(checked, f"shape {tuple(expected.shape)}", f"shape {tuple(array.shape)}", where)
    if not np.all(np.isfinite(array)) and np.all(np.isfinite(expected)):
        bad = int(np.sum(~np.isfinite(array)))
        fail(checked, "finite values", f"{bad} non-finite value(s) (nan or inf)", where)
    diff = np.abs(array - expected)
    allowed = atol + rtol * np.abs(expected)
    if np.any(diff > allowed):
        worst = np.unravel_index(int(np.argmax(diff - allowed)), diff.shape) if diff.ndim else ()
        fail(
            checked,
            _show(expected),
            _show(array),
            where,
            details=(f"shape {tuple(array.shape)}, dtype float; largest difference "
                     f"{float(diff.max()):.3g} at index {tuple(int(i) for i in worst)}; "
                     f"tolerance atol={atol:g} + rtol={rtol:g}·|expected|"),
        )
    return array


def _show(array: np.ndarray) -> str:
    if array.ndim == 0:
        return f"{float(array):.10g}"
    if array.size <= 12:
        return np.array2string(array, precision=8, separator=", ")
    return (f"an array of shape {tuple(array.shape)} starting "
            f"{np.array2string(array.reshape(-1)[:4], precision=6, separator=', ')}")


def pair(size: Any) -> Any:
    """A layer's size as torch keeps it for 2-D layers: an int ``k`` is ``(k, k)``, a list a tuple.

    A layer class of the student's own may keep ``kernel_size=5`` or ``[5, 5]`` where torch has
    ``(5, 5)``; both mean the same. Anything else (None for a missing attribute, a padding mode)
    is returned as it is, to be compared — and shown — as found.
    """
    if isinstance(size, int) and not isinstance(size, bool):
        return (size, size)
    if isinstance(size, (list, tuple)):
        return tuple(size)
    return size


def show_size(size: Any) -> str:
    """A size for feedback: '5×5' for (5, 5), '?' for a missing one."""
    size = pair(size)
    if isinstance(size, tuple):
        return "×".join(str(v) for v in size)
    return "?" if size is None else str(size)
