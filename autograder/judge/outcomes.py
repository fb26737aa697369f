"""What a check's ending means for the student: the three outcomes, kept apart.

* passed → full points;
* `CheckFailed` or `ProbeFailure` → the student's code is wrong, missing or crashed: no points,
  with feedback (checked / expected / found / where);
* `NotGraded`, `SandboxFault`, `OutOfGpuMemory` or a skip → not graded: no points lost, the reason
  given — the grader's machine or data failed, never the student's code;
* any other exception → a fault of the grader: not graded, and the whole run is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.common.results import Feedback, Outcome
from autograder.judge.checks import CheckFailed, NotGraded
from autograder.judge.worker_client import OutOfGpuMemory, ProbeFailure, SandboxFault


@dataclass(frozen=True)
class Verdict:
    """A check's outcome and what the report says about it."""

    outcome: Outcome
    feedback: Feedback | None = None
    message: str = ""
    """For a not-graded check: why."""
    grader_fault: str = ""
    """Set when the grader itself failed: the submission's status becomes ``grader_fault``."""


def classify(exc: BaseException | None, *, passed: bool, skipped: bool, skip_reason: str, check: str,
             nodeid: str) -> Verdict:
    """The verdict on a check that ended with ``exc`` (None: it returned, or was skipped)."""
    if exc is None and passed:
        return Verdict(Outcome.PASSED)
    if isinstance(exc, CheckFailed):
        return Verdict(Outcome.FAILED, feedback=exc.feedback)
    if isinstance(exc, ProbeFailure):
        return Verdict(Outcome.FAILED, feedback=Feedback(
            checked=check, expected="the submission's code to run", found=exc.message,
            where=exc.where or "", details=exc.details))
    not_graded = isinstance(exc, (NotGraded, SandboxFault, OutOfGpuMemory))
    if not_graded or skipped:
        reason = str(exc) if not_graded else skip_reason
        fault = f"sandbox fault: {reason}" if isinstance(exc, SandboxFault) else ""
        return Verdict(Outcome.NOT_GRADED, message=f"not graded: {reason}", grader_fault=fault)
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "the check failed in the grader"
    return Verdict(Outcome.NOT_GRADED, message=f"not graded: grader error — {text}",
                   grader_fault=f"grader error in {nodeid}: {text}")


def feedback_text(fb: Feedback) -> str:
    """The feedback as pytest's terminal shows it for a failed check."""
    lines = [f"{fb.where}: {fb.checked}", f"  expected: {fb.expected}", f"  found:    {fb.found}"]
    if fb.details:
        lines.append(f"  details:  {fb.details}")
    return "\n".join(lines)
