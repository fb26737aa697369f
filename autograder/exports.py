"""Machine-readable outputs of the results model: Gradescope's results.json (and reading it back).

results.json follows Gradescope's autograder results specification; the full results model rides
along in ``extra_data.autograder`` so that reports can be re-rendered without regrading.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from autograder.results import Outcome, SubmissionResult, TestResult


def _test_output(t: TestResult) -> str:
    lines: list[str] = []
    if t.outcome is Outcome.NOT_GRADED:
        lines.append(t.message)
    if t.feedback is not None:
        fb = t.feedback
        lines += [f"{fb.where}: {fb.checked}", f"expected: {fb.expected}", f"found: {fb.found}"]
        if fb.details:
            lines.append(fb.details)
    lines += [f"remark: {r}" for r in t.remarks]
    return "\n".join(lines)


def gradescope(result: SubmissionResult) -> dict[str, Any]:
    """The Gradescope results document for ``result``."""
    tests = []
    for i, t in enumerate(result.tests, start=1):
        tags = [t.problem] + (["not-graded"] if t.outcome is Outcome.NOT_GRADED else [])
        tests.append({
            "score": t.points,
            "max_score": t.max_points,
            "status": "passed" if t.outcome is Outcome.PASSED else "failed",
            "name": t.name,
            "number": str(i),
            "output": _test_output(t),
            "tags": tags,
            "visibility": "visible",
        })
    summary = [f"{result.student}: {result.score:g} / {result.max_score:g}"]
    if result.not_graded:
        summary.append(f"{len(result.not_graded)} check(s) not graded — this score is incomplete")
    if result.status.value != "graded":
        summary.append(f"{result.status.value}: {result.status_reason}")
    return {
        "score": result.score,
        "execution_time": float(result.duration),
        "output": "\n".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"autograder": result.to_dict()},
    }


def finite(value: Any) -> Any:
    """``value`` with every nan/inf float replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def write_results_json(result: SubmissionResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = finite(gradescope(result))
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False))


def read_results_json(path: Path) -> SubmissionResult:
    """The results model stored in a results.json written by `write_results_json`."""
    data = json.loads(path.read_text())
    return SubmissionResult.from_dict(data["extra_data"]["autograder"])
