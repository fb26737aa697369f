"""results.json (Gradescope's specification) and grades.csv, from results built in the tests."""

from __future__ import annotations

import copy
import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from autograder.orchestrator import exports
from autograder.common import results_json
from autograder.common.contract import BY_MODULE, PROBLEMS
from autograder.common.results import Outcome, Status, SubmissionResult
from report_samples import class_results, diverging_result, hostile_result, realistic_result

SCHEMA_PATH = Path(__file__).parent / "schemas" / "gradescope_results.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def all_samples() -> list[SubmissionResult]:
    return [*class_results(), hostile_result(), SubmissionResult(student="empty", submission="empty")]


SAMPLES = {r.student: r for r in all_samples()}


def _errors(validator: Draft202012Validator, document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def _written(result: SubmissionResult, tmp_path: Path) -> dict[str, Any]:
    path = results_json.write(result, tmp_path / result.student / "results.json")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("student", sorted(SAMPLES))
def test_results_json_validates_against_gradescope_schema(student: str, validator, tmp_path: Path) -> None:
    document = _written(SAMPLES[student], tmp_path)
    assert _errors(validator, document) == []


def test_schema_rejects_what_gradescope_would(validator, tmp_path: Path) -> None:
    """The schema is not vacuous: each of these mistakes is caught."""
    good = _written(diverging_result(), tmp_path)
    assert _errors(validator, good) == []
    mistakes = {
        "execution_time as a string": lambda d: d.update(execution_time="61.5"),
        "a status Gradescope does not know": lambda d: d["tests"][0].update(status="not_graded"),
        "a test without a name": lambda d: d["tests"][0].pop("name"),
        "a test number as an int": lambda d: d["tests"][0].update(number=1),
        "a test without tags": lambda d: d["tests"][0].update(tags=[]),
        "an unknown visibility": lambda d: d.update(visibility="public"),
        "a misspelt top-level key": lambda d: d.update(extra_dat={}),
        "a score as a string": lambda d: d.update(score="54"),
    }
    for what, spoil in mistakes.items():
        bad = copy.deepcopy(good)
        spoil(bad)
        assert _errors(validator, bad), f"the schema accepted {what}"


@pytest.mark.parametrize("student", sorted(SAMPLES))
def test_every_test_is_tagged_with_its_problem(student: str, tmp_path: Path) -> None:
    result = SAMPLES[student]
    document = _written(result, tmp_path)
    assert [t["tags"][0] for t in document["tests"]] == [t.problem for t in result.tests]
    assert all(t["tags"][0] in BY_MODULE for t in document["tests"])
    assert [t["number"] for t in document["tests"]] == [str(i) for i in range(1, len(result.tests) + 1)]
    assert document["score"] == pytest.approx(sum(t["score"] for t in document["tests"]))
    assert isinstance(document["execution_time"], float)


def test_not_graded_checks_are_unmistakable_in_gradescope(tmp_path: Path) -> None:
    result = diverging_result()
    document = _written(result, tmp_path)
    pending = [t for t in document["tests"] if "not-graded" in t["tags"]]
    assert len(pending) == 1 == len(result.not_graded)
    test = pending[0]
    assert test["status"] == "failed" and test["score"] == 0
    assert test["max_score"] == result.not_graded[0].max_points
    assert test["name"].startswith("[NOT GRADED]")
    assert test["output"].startswith("NOT GRADED — no points were lost")
    assert "CIFAR-10 not found" in test["output"]
    assert test["extra_data"]["outcome"] == "not_graded"
    assert "INCOMPLETE" in document["output"]
    assert document["extra_data"]["not_graded"] == [{
        "id": result.not_graded[0].id, "name": result.not_graded[0].name, "problem": "problem2",
        "max_points": result.not_graded[0].max_points, "reason": result.not_graded[0].message}]
    others = [t for t in document["tests"] if "not-graded" not in t["tags"]]
    assert all(not t["name"].startswith("[NOT GRADED]") for t in others)


def test_failed_check_carries_its_feedback(tmp_path: Path) -> None:
    result = realistic_result()
    document = _written(result, tmp_path)
    failed = [t for t in document["tests"] if t["status"] == "failed"]
    assert len(failed) == 1
    output = failed[0]["output"]
    assert "problem3_1.py:Net" in output and "expected: 4 distinct" in output and "found: 2 distinct" in output
    assert failed[0]["tags"] == ["problem3_1"]


def test_extra_data_names_the_run(tmp_path: Path) -> None:
    result = diverging_result()
    extra = _written(result, tmp_path)["extra_data"]
    for key in ("seed", "budget", "device", "sandbox", "sandbox_note", "versions", "timings", "started_at"):
        assert extra[key] == getattr(result, key), key
    assert [t["problem"] for t in extra["training"]] == [r.problem for r in result.training]
    nll = next(t for t in extra["training"] if t["problem"] == "problem3_5")
    assert nll["accuracy"] == 0.1 and nll["floor"] == 0.3 and nll["stopped_early"].startswith("loss became nan")
    assert nll["losses"][-2:] == [None, None]  # nan and inf: JSON has neither
    assert all(isinstance(v, float) for v in nll["losses"][:-2])
    assert "losses" not in extra["autograder"]["training"][0]  # stored once


def test_no_nan_or_infinity_in_the_file(tmp_path: Path) -> None:
    path = results_json.write(diverging_result(), tmp_path / "results.json")
    text = path.read_text(encoding="utf-8")
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in results.json"))


def _comparable(value: Any) -> Any:
    """The model as data, with nan and inf alike (JSON keeps neither apart)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "non-finite"
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


@pytest.mark.parametrize("student", sorted(SAMPLES))
def test_round_trip(student: str, tmp_path: Path) -> None:
    result = SAMPLES[student]
    back = results_json.read(results_json.write(result, tmp_path / "results.json"))
    assert _comparable(back.to_dict()) == _comparable(result.to_dict())
    if not any(not math.isfinite(v) for r in result.training for v in r.losses):
        assert back == result


def test_round_trip_keeps_korean_and_gaps(tmp_path: Path) -> None:
    result = diverging_result()
    result.report_md = "## 3-(1)\n\n컨볼루션 층을 4개로 늘렸다."
    back = results_json.read(results_json.write(result, tmp_path / "results.json"))
    assert back.report_md == result.report_md
    curve = next(r for r in back.training if r.problem == "problem3_5").losses
    assert len(curve) == 262 and math.isnan(curve[-1]) and math.isnan(curve[-2]) and math.isfinite(curve[0])
    assert back.not_graded[0].outcome is Outcome.NOT_GRADED
    assert back.status is Status.GRADED


def _read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "grades.csv should start with a UTF-8 byte-order mark (for Excel)"
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_grades_csv(tmp_path: Path) -> None:
    results = class_results()
    rows = _read_csv(exports.write_grades_csv(results, tmp_path / "grades.csv"))
    header, body = rows[0], rows[1:]
    assert header == ["student", "total", "max", "status", *(p.module for p in PROBLEMS), "not_graded",
                      "final", "pending", "pending_reason"]
    assert [r[0] for r in body] == sorted(r.student for r in results)
    by_student = {r[0]: dict(zip(header, r)) for r in body}
    for result in results:
        row = by_student[result.student]
        assert float(row["total"]) == result.score and float(row["max"]) == 100  # the assignment's, always
        assert (row["final"], float(row["pending"])) == ("no", result.pending_points) and row["pending_reason"]
        assert row["status"] == result.status.value
        assert int(row["not_graded"]) == len(result.not_graded)
        points = {p.module: p.points for p in result.problems()}
        for spec in PROBLEMS:
            assert row[spec.module] == (f"{points[spec.module]:g}" if spec.module in points else ""), spec.module
    assert by_student["20163140"]["problem3_1"] == "4"
    assert by_student["20160002"]["problem1"] == ""  # ungradable: empty, not zero


def test_grades_csv_survives_awkward_names(tmp_path: Path) -> None:
    r = realistic_result()
    r.student = '김,"학생"\n2'
    rows = _read_csv(exports.write_grades_csv([r], tmp_path / "grades.csv"))
    assert rows[1][0] == r.student and len(rows[1]) == len(rows[0])


def test_a_real_grading_writes_a_valid_results_json(validator, tmp_path: Path) -> None:
    """The judge's own results.json (grading 20163140 with the NumPy suites) validates."""
    from autograder.common import config
    from autograder.orchestrator import runner

    root = Path(__file__).resolve().parents[2]
    suites = [str(runner.GRADED_SUITES / f"test_problem{p}.py") for p in ("4", "5")]
    job = runner.Job(root / "submissions" / "20163140", tmp_path / "20163140")
    result = runner.grade(job, config.resolve({"budget": "quick", "seed": 7}), suites)
    document = json.loads(job.results_path.read_text(encoding="utf-8"))
    assert _errors(validator, document) == []
    assert result.status is Status.GRADED and result.tests
    assert {t["tags"][0] for t in document["tests"]} == {"problem4", "problem5"}
    extra = document["extra_data"]
    assert extra["seed"] == 7 and extra["budget"] == "quick" and extra["sandbox"] and extra["versions"]["torch"]
    assert results_json.read(job.results_path) == result


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"])
def test_student_names_cannot_be_spreadsheet_formulas(name: str, tmp_path: Path) -> None:
    """A folder name a student chose is text in grades.csv, never a formula (OWASP CSV injection)."""
    r = SubmissionResult(student=name, submission="x")
    rows = _read_csv(exports.write_grades_csv([r], tmp_path / "grades.csv"))
    assert rows[1][0] == "'" + name
    assert exports.spreadsheet_safe("20163140") == "20163140"


def test_student_names_are_literal_in_the_markdown_summary() -> None:
    """Names in the CI job summary cannot add links, images, HTML or table cells."""
    r = SubmissionResult(student="x](javascript:alert(1)) <img src=x> | evil", submission="x")
    table = exports.markdown_summary([r])
    row = table.splitlines()[2]
    assert not re.search(r"(?<!\\)<img", row) and not re.search(r"(?<!\\)\]\(", row), row
    assert len(re.findall(r"(?<!\\)\|", row)) == table.splitlines()[0].count("|")  # no extra cells
