"""Student text made safe where it enters (`autograder.common.text`), and results.json that can
always be written: a lone surrogate, a control or a bidirectional character anywhere in a result
never loses the checks already graded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.common import results_json, text
from autograder.common import results as model
from autograder.common.results import Feedback, Outcome, Remark
from report_samples import realistic_result

HOSTILE = ["\udcff", "\ud800", "a\udcffb", "\x1b[2J\x1b[31m", "\u202egpj.exe", "\x00", "\x85", "\u2066x\u2069", "\r"]


@pytest.mark.parametrize("bad", HOSTILE)
def test_safe_text_and_names_leave_nothing_unsafe(bad: str) -> None:
    for made in (text.safe_text(f"ok {bad} ok"), text.safe_name(f"ok {bad} ok")):
        made.encode("utf-8")
        assert not text.has_unsafe_name_chars(made.replace("\n", " "))
    assert text.safe_name("a\nb\tc") == "a\\x0ab\\x09c"
    assert text.safe_text("tqdm\r10%\r\n") == "tqdm\n10%\n"
    assert text.safe_text("plain 한국어 text\n\tindented") == "plain 한국어 text\n\tindented"


def test_safe_text_is_linear_on_a_long_run() -> None:
    """A million characters go through in one pass (a backtracking pattern would not return)."""
    assert text.safe_text(" " * 1_000_000 + "\x01") == " " * 1_000_000 + "\\x01"


@pytest.mark.parametrize("bad", HOSTILE)
def test_results_json_is_written_whatever_the_student_text_holds(tmp_path: Path, bad: str) -> None:
    """An exception message, a heading, feedback, a remark or printed output holding ``bad``: the
    strict UTF-8 writer raised (the judge exited 1, the checks lost: 0/0, a grader fault)."""
    result = realistic_result()
    first = result.tests[0]
    result.tests[0] = model.TestResult(id=first.id, name=first.name + bad, problem=first.problem, max_points=first.max_points,
                                 points=0.0, outcome=Outcome.FAILED, message=f"ValueError: {bad}",
                                 feedback=Feedback(checked=bad, expected="1", found=bad, where=f"problem4.py{bad}"))
    result.output = f"printed {bad}"
    result.remarks.append(Remark("problem4", f"heading ## Problem 4 {bad}"))
    path = results_json.write(result, tmp_path / "results.json")
    path.read_bytes().decode("utf-8")  # strict
    back = results_json.read(path)
    assert [(t.id, t.points, t.max_points, t.outcome) for t in back.tests] == \
        [(t.id, t.points, t.max_points, t.outcome) for t in result.tests]
    assert sum(t.points for t in back.tests) == pytest.approx(result.score)


def test_a_writer_that_fails_all_the_same_keeps_the_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever makes the full document fail (here: the first rendering raises), results.json still
    holds every check with its points, and says what happened."""
    result = realistic_result()
    real = results_json.gradescope
    calls: list[int] = []

    def fails_once(r: object) -> dict[str, object]:
        calls.append(1)
        if len(calls) == 1:
            raise UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")
        return real(r)  # type: ignore[arg-type]

    monkeypatch.setattr(results_json, "gradescope", fails_once)
    path = results_json.write(result, tmp_path / "results.json")
    back = results_json.read(path)
    assert [(t.id, t.points) for t in back.tests] == [(t.id, t.points) for t in result.tests]
    assert back.score == pytest.approx(result.score) and back.score > 0
    assert any("could not be written in full" in r.text for r in back.remarks)


def test_a_writer_that_fails_twice_keeps_the_checks_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = realistic_result()
    real = results_json.gradescope
    calls: list[int] = []

    def fails_twice(r: object) -> dict[str, object]:
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError("cannot render")
        return real(r)  # type: ignore[arg-type]

    monkeypatch.setattr(results_json, "gradescope", fails_twice)
    back = results_json.read(results_json.write(result, tmp_path / "results.json"))
    assert [(t.id, t.points, t.outcome) for t in back.tests] == [(t.id, t.points, t.outcome) for t in result.tests]
    assert json.loads((tmp_path / "results.json").read_text())["score"] == pytest.approx(result.score)
