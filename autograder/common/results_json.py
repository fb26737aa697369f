"""results.json: the results model as Gradescope's results document, written by the judge and read
back by the orchestrator (the one message that crosses from the judge to `autograde`).

results.json follows Gradescope's autograder results specification (top-level ``score``,
``execution_time``, ``output``, ``tests[]``; see ``tests/harness/schemas``). Each test is tagged
with its problem's module name (``"tags": ["problem3_1"]``) and carries its ``visibility``
(``visible``, ``hidden``, ``after_published``). What Gradescope shows students — the top-level
``output`` and each test's ``output`` — is student-safe: the output is `student_view.summary_text`
of the checks a student may see, and every absolute path in a test's output is reduced to its
file name (`student_view.strip_paths`). The TA's full detail stays in ``extra_data``, which
Gradescope does not show students. ``extra_data`` carries, as top-level keys, what an instructor or a script may want without knowing our model — ``seed``, ``budget``,
``device``, ``sandbox``, ``sandbox_note``, ``versions``, ``timings``, ``started_at``, ``status``,
``training`` (loss curves and accuracies) and ``not_graded`` (each check that could not be graded,
with its reason) — and, under ``extra_data.autograder``, the full results model, which is what
`read` reads back so that reports can be re-rendered without regrading. Loss curves,
the bulk of the file, are stored once: in ``extra_data.training``, not again in the model.

**Not-graded checks in Gradescope.** Gradescope knows only "passed" and "failed". A check the
grader could not run is written as ``"status": "failed"`` (it did not pass: "passed" would claim
the code was checked), with ``score`` 0 and its real ``max_score`` — so the rubric still adds up
and the missing points stay visible rather than silently dropped — but it is unmistakable: its
name starts with ``[NOT GRADED]``, it carries the tag ``not-graded``, its output begins with
"NOT GRADED — no points were lost for this check", and the top-level output says the score is
incomplete and must be rerun. Such results should not be published as final grades.

**Advisory checks in Gradescope.** An advisory check (no points either way: a remark for the
student, such as problem 4's note on lists) is neither passed nor failed, so its document has no
``status`` (the specification makes it optional); its name starts with ``[ADVICE]``, it carries the
tag ``advice``, and its output begins with "ADVICE — no points either way".

JSON has no nan or infinity: every non-finite float is written as ``null`` (`finite`). Reading
back, a ``null`` in a loss curve becomes nan again, so a curve keeps its length and its gaps.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from autograder.common.results import Outcome, SubmissionResult, TestResult
from autograder.common.student_view import StudentCheck, StudentView, strip_paths, student_view, summary_text

NOT_GRADED_TAG = "not-graded"
NOT_GRADED_PREFIX = "[NOT GRADED] "
ADVICE_TAG = "advice"
ADVICE_PREFIX = "[ADVICE] "


def _gradescope_check(number: int, t: TestResult | StudentCheck) -> dict[str, Any]:
    """The fields a Gradescope test has in both documents: a not-graded check is "failed" and
    marked, an advisory one has no status (it is neither), the rest pass or fail."""
    not_graded = t.outcome is Outcome.NOT_GRADED
    advisory = not not_graded and t.advisory
    prefix = NOT_GRADED_PREFIX if not_graded else ADVICE_PREFIX if advisory else ""
    tags = [t.problem] + ([NOT_GRADED_TAG] if not_graded else [ADVICE_TAG] if advisory else [])
    test: dict[str, Any] = {"score": t.points, "max_score": t.max_points}
    if not advisory:
        test["status"] = "passed" if t.outcome is Outcome.PASSED else "failed"
    test |= {"name": prefix + t.name, "number": str(number), "output": _test_output(t),
             "tags": tags, "visibility": t.visibility.value}
    return test


def _test_output(t: TestResult | StudentCheck) -> str:
    lines: list[str] = []
    if t.outcome is Outcome.NOT_GRADED:
        lines.append("NOT GRADED — no points were lost for this check; it must be rerun.")
        if t.message:
            lines.append(t.message)
    elif t.advisory:
        lines.append("ADVICE — no points either way.")
        if t.message:
            lines.append(t.message)
    elif t.message:
        lines.append(t.message)
    if t.feedback is not None:
        fb = t.feedback
        lines += [f"{fb.where}: {fb.checked}", f"expected: {fb.expected}", f"found: {fb.found}"]
        if fb.details:
            lines.append(fb.details)
    lines += [f"remark: {r}" for r in t.remarks]
    return strip_paths("\n".join(lines))


def _gradescope_test(number: int, t: TestResult) -> dict[str, Any]:
    return _gradescope_check(number, t) | {"extra_data": {"id": t.id, "outcome": t.outcome.value}}


def _model_without_losses(result: SubmissionResult) -> dict[str, Any]:
    """The results model for ``extra_data.autograder``; loss curves are kept once, in ``training``."""
    model = result.to_dict()
    for record in model["training"]:
        record.pop("losses", None)
    return model


def gradescope(result: SubmissionResult) -> dict[str, Any]:
    """The Gradescope results document for ``result`` (may hold nan: pass it through `finite`)."""
    tests = [_gradescope_test(i, t) for i, t in enumerate(result.tests, start=1)]
    extra = {
        "student": result.student,
        "status": result.status.value,
        "status_reason": result.status_reason,
        "seed": result.seed,
        "budget": result.budget,
        "device": result.device,
        "sandbox": result.sandbox,
        "sandbox_note": result.sandbox_note,
        "versions": dict(result.versions),
        "timings": dict(result.timings),
        "started_at": result.started_at,
        "training": [
            {"problem": r.problem, "accuracy": r.accuracy, "floor": r.floor, "per_class": r.per_class,
             "steps": r.steps, "steps_run": r.steps_run, "stopped_early": r.stopped_early,
             "checkpoint": r.checkpoint, "checkpoints": list(r.checkpoints), "cached": r.cached,
             "pieces": dict(r.pieces), "losses": list(r.losses)}
            for r in result.training
        ],
        "not_graded": [
            {"id": t.id, "name": t.name, "problem": t.problem, "max_points": t.max_points,
             "reason": t.message}
            for t in result.not_graded
        ],
        "autograder": _model_without_losses(result),
    }
    return {
        "score": result.score,
        "execution_time": float(result.duration),
        "output": summary_text(student_view(result)),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": extra,
    }


def student_document(view: StudentView) -> dict[str, Any]:
    """feedback.json: the student's view as a Gradescope results document — only the checks shown,
    the student-safe summary, and the loss curves; nothing of the grading machine."""
    tests = [_gradescope_check(i, c) for i, c in enumerate(view.checks, start=1)]
    return {
        "score": view.score,
        "execution_time": 0.0,
        "output": summary_text(view),
        "visibility": "visible",
        "tests": tests,
        "extra_data": {
            "student": view.student, "published": view.published, "max_score": view.max_score,
            "training": [{"problem": r.problem, "accuracy": r.accuracy, "floor": r.floor, "per_class": r.per_class,
                          "steps": r.steps, "steps_run": r.steps_run, "stopped_early": r.stopped_early,
                          "pieces": dict(r.pieces), "losses": list(r.losses)} for r in view.training],
            "manual": [{"problem": p.module, "points": p.manual.points, "max_points": p.manual.max_points,
                        "comment": p.manual.comment} for p in view.problems if p.manual is not None],
            "remarks": [{"problem": "", "text": r} for r in view.remarks]
                       + [{"problem": p.module, "text": r} for p in view.problems for r in p.remarks],
        },
    }


def write_student(view: StudentView, path: Path) -> Path:
    """Write the student's feedback.json (see `student_document`); returns ``path``."""
    return _write_json(student_document(view), path)


def _write_json(document: dict[str, Any], path: Path) -> Path:
    """``document`` as strict JSON (non-finite numbers as null) at ``path``; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(finite(document), indent=1, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return path


def finite(value: Any) -> Any:
    """``value`` with every nan/inf float replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def write(result: SubmissionResult, path: Path) -> Path:
    """Write ``result`` as Gradescope's results.json at ``path``; returns ``path``."""
    return _write_json(gradescope(result), path)


def read(path: Path) -> SubmissionResult:
    """The results model stored in a results.json written by `write`."""
    extra = json.loads(path.read_text(encoding="utf-8"))["extra_data"]
    model = extra["autograder"]
    curves = [t.get("losses", []) for t in extra.get("training", [])]
    for i, record in enumerate(model.get("training", [])):
        losses = record.get("losses", curves[i] if i < len(curves) else [])
        record["losses"] = [math.nan if v is None else v for v in losses]
    return SubmissionResult.from_dict(model)


