"""The student's view: what `student_view` lets through, feedback.html in Chromium's DOM,
feedback.json and results.json's student-facing text, and check visibility through a real judge."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from autograder.common import results_json
from autograder.common.results import (Feedback, ManualScore, Outcome, Status, SubmissionResult,
                                       Visibility)
from autograder.common.student_view import ABSOLUTE_PATH, strip_paths, student_view, summary_text
from autograder.orchestrator.report import render
from html_tree import Element, parse
from report_samples import ROOT, class_results, diverging_result, realistic_result

SCHEMA = Path(__file__).parent / "schemas" / "gradescope_results.schema.json"
WORKFLOW = ROOT / ".github" / "workflows" / "grade.yml"


# -- a result full of the grading machine's facts -------------------------------------------------
def machine_paths(tmp_path: Path) -> list[str]:
    """Absolute paths as the grading machine writes them (derived here, never spelt out)."""
    return [str(tmp_path / "submissions" / "20163140" / "problem4.py"), str(Path.home() / ".cache" / "hw3"),
            str(ROOT / "autograder" / "worker" / "probes.py"), str(tmp_path / "data" / "cifar10.tar.gz")]


def leaky_result(tmp_path: Path) -> SubmissionResult:
    """20163140 with paths in every text a grading can hold, a hidden, an after_published and a
    not-graded check, and manual points with their source."""
    sub, cache, probes, data = machine_paths(tmp_path)
    r = realistic_result()
    r.submission = str(Path(sub).parent)
    r.sandbox_note = f"bubblewrap not used ({cache} not writable)"
    r.output = f"printed by the student from {sub}\n"
    r.versions["torch"] = "2.14.1+machine-build"
    r.timings["import problem2"] = 1.25
    failed = next(t for t in r.tests if t.outcome is Outcome.FAILED)
    failed.feedback.details = (f'Traceback (most recent call last):\n  File "{probes}", line 40, in describe\n'
                               f'  File "{sub}", line 7, in __init__\nRuntimeError: shapes')
    failed.remarks.append(f"the net was built in {sub}")
    problem4 = [t for t in r.tests if t.problem == "problem4"]
    problem4[0].visibility = Visibility.HIDDEN
    problem4[0].name = "a hidden check of softmax"
    problem4[1].visibility = Visibility.AFTER_PUBLISHED
    problem4[1].name = "a check shown once published"
    problem4[1].outcome, problem4[1].points = Outcome.FAILED, 0.0
    problem4[1].feedback = Feedback("softmax of a large vector", "finite values", f"nan (see {probes})", "problem4.py:softmax")
    pending = next(t for t in r.tests if t.problem == "problem2")
    pending.outcome, pending.points = Outcome.NOT_GRADED, 0.0
    pending.message = f"not graded: CIFAR-10 not found (looked in {data})"
    r.training[0].stopped_early = f"the worker died ({probes})"
    r.manual = [ManualScore("problem1", 2.5, 3, comment="1-(2): 풀링의 역할이 빠짐", source="manual.csv:2")]
    return r


def test_strip_paths_keeps_the_file_name_and_nothing_else(tmp_path: Path) -> None:
    for path in machine_paths(tmp_path):
        assert strip_paths(f'File "{path}", line 3') == f'File "{Path(path).name}", line 3'
    keep = ["problem4.py:softmax", "3/4 of the draws", "loss / step", "(x/255 − 0.5)/0.5", "see https://pytorch.org/a/b",
            "relative/path.py", "Σ (no ½)"]
    assert [strip_paths(t) for t in keep] == keep
    assert strip_paths("C:\\Users\\kim\\hw3\\problem1.py") == "problem1.py"
    assert strip_paths("~/.cache/hw3-autograder/x.npz") == "x.npz"
    assert strip_paths("PYTHONPATH=/opt/grader/lib, at:/srv/x/y") == "PYTHONPATH=lib, at:y"


def test_student_view_shows_checks_by_visibility(tmp_path: Path) -> None:
    r = leaky_result(tmp_path)
    before = student_view(r)
    names = [c.name for c in before.checks]
    assert "a hidden check of softmax" not in names and "a check shown once published" not in names
    assert before.withheld == 2 and before.published is False
    assert all(p.manual is None for p in before.problems)
    shown = [t for t in r.tests if t.visibility is Visibility.VISIBLE]
    assert before.score == pytest.approx(sum(t.points for t in shown))
    assert before.max_score == pytest.approx(sum(t.max_points for t in shown))

    after = student_view(r, published=True)
    names = [c.name for c in after.checks]
    assert "a check shown once published" in names and "a hidden check of softmax" not in names
    assert after.withheld == 1
    p4 = next(p for p in after.problems if p.module == "problem4")
    assert (p4.withheld_points, p4.withheld_max) == (2.0, 2.0)
    assert after.score == r.score and after.max_score == r.max_score  # the grade itself, manual points included
    p1 = next(p for p in after.problems if p.module == "problem1")
    assert p1.manual is not None and (p1.manual.points, p1.manual.max_points) == (2.5, 3)
    assert "풀링" in summary_text(after) and "풀링" not in summary_text(before)


def test_student_view_strips_paths_and_reasons(tmp_path: Path) -> None:
    r = leaky_result(tmp_path)
    view = student_view(r, published=True)
    text = json.dumps([c.__dict__ for c in view.checks], default=lambda o: getattr(o, "__dict__", str(o)),
                      ensure_ascii=False)
    text += json.dumps([t.__dict__ for t in view.training], ensure_ascii=False) + summary_text(view)
    for path in machine_paths(tmp_path):
        assert path not in text
    assert ABSOLUTE_PATH.search(text) is None
    failed = next(c for c in view.checks if c.feedback and "Traceback" in c.feedback.details)
    assert 'File "probes.py", line 40' in failed.feedback.details and 'File "problem4.py", line 7' in failed.feedback.details
    pending = next(c for c in view.checks if c.outcome is Outcome.NOT_GRADED)
    assert pending.message == "" and "not found (looked in" not in text
    assert "manual.csv" not in text  # where manual points came from is the TA's business


def test_a_grader_fault_is_told_without_its_reason() -> None:
    fault = class_results()[-1]
    view = student_view(fault)
    assert fault.status is Status.GRADER_FAULT and "grader failed" in view.notice
    assert fault.status_reason not in view.notice and fault.status_reason not in summary_text(view)


# -- feedback.html --------------------------------------------------------------------------------
FORBIDDEN_WORDS = ("judge.log", "results.json", "junit.xml", "index.html", "class overview", "report.html",
                   "seed", "sandbox", "bubblewrap", "2.14.1", "import problem2", "autograder/judge")


def assert_student_safe(doc: Element, result: SubmissionResult, others: list[str], paths: list[str]) -> None:
    """No TA-only item in the page: paths, links out, logs, the class, other students, machine facts."""
    __tracebackhide__ = True
    body = doc.find("body")
    text = body.text
    values = " ".join(v for el in doc.iter() for v in el.attrs.values())
    for path in paths:
        assert path not in text and path not in values, path
    # each text node and attribute on its own: joined, a path would follow a word and not match
    pieces = [c for el in doc.iter() for c in el.children if isinstance(c, str)]
    pieces += [v for el in doc.iter() for v in el.attrs.values()]
    assert [p for p in pieces if ABSOLUTE_PATH.search(p)] == []
    for a in doc.find_all("a"):
        assert a.attrs.get("href", "").startswith("#"), a.attrs  # in-page links only
    assert not doc.find_all("nav")
    for word in FORBIDDEN_WORDS:
        assert word not in text and word not in values, word
    for student in others:
        assert student not in text and student not in values, student
    for t in result.tests:
        assert t.id not in text and t.id not in values, t.id
    assert str(result.seed) not in text and result.output.strip() not in text
    assert "manual.csv" not in text


def rendered_feedback(result: SubmissionResult, out: Path, published: bool = False) -> Path:
    others = class_results()
    for o in others:
        o.student = "2099" + o.student[4:]
    render.render_all(out, [result, *others], published=published)
    return out / result.student / "feedback.html"


def test_feedback_page_holds_no_ta_only_item(tmp_path: Path) -> None:
    r = leaky_result(tmp_path)
    page = rendered_feedback(r, tmp_path / "out")
    doc = parse(page.read_text(encoding="utf-8"))
    assert_student_safe(doc, r, ["20990001", "20990002", "20990003", "20999999"], machine_paths(tmp_path))
    assert doc.find("title").text == "hw3 — feedback for 20163140"
    checks = doc.find_all("article")
    assert len(checks) == sum(t.visibility is Visibility.VISIBLE for t in r.tests)
    assert "a hidden check of softmax" not in doc.text and "a check shown once published" not in doc.text
    assert "The grader could not run this check" in doc.find("article", data_outcome="not_graded").text
    assert len(doc.find_all("svg")) == 14  # the loss curves and accuracy bars are the student's too
    assert not doc.find_all(None, data_manual=None)  # manual points wait for publication
    assert "released with the grades" in doc.by_id("preliminary").text


def test_published_feedback_page_shows_the_grade_and_the_persons_points(tmp_path: Path) -> None:
    r = leaky_result(tmp_path)
    doc = parse(rendered_feedback(r, tmp_path / "out", published=True).read_text(encoding="utf-8"))
    assert_student_safe(doc, r, [], machine_paths(tmp_path))
    assert doc.find("span", data_score=None).text == f"{r.score:g}"
    manual = doc.find("div", data_manual="2.5")
    assert "풀링의 역할이 빠짐" in manual.text and "2.5 / 3" in manual.text
    assert "a check shown once published" in doc.text and "a hidden check of softmax" not in doc.text
    assert "1 more check of this problem is not shown: 2 / 2 points" in " ".join(doc.by_id("problem4").text.split())


def test_the_safety_check_would_catch_a_leak(tmp_path: Path) -> None:
    """The assertions above can fail: the TA's page of the same result breaks each kind of rule."""
    r = leaky_result(tmp_path)
    rendered_feedback(r, tmp_path / "out")
    doc = parse((tmp_path / "out" / r.student / "report.html").read_text(encoding="utf-8"))
    with pytest.raises(AssertionError):
        assert_student_safe(doc, r, [], machine_paths(tmp_path))
    with pytest.raises(AssertionError):
        assert_student_safe(doc, r, [], [])


def test_feedback_page_in_chromium(tmp_path: Path) -> None:
    """Chromium's DOM of the student's page: its script ran cleanly, and it holds no TA-only item."""
    from test_browser import CHROMIUM, load, screenshot

    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    r = leaky_result(tmp_path)
    page = rendered_feedback(r, tmp_path / "out")
    loaded = load(page, tmp_path)
    loaded.assert_clean()
    assert_student_safe(loaded.dom, r, ["20990001", "20990002", "20990003"], machine_paths(tmp_path))
    assert len(loaded.dom.find_all("article")) == sum(t.visibility is Visibility.VISIBLE for t in r.tests)
    screenshot(page, tmp_path, "feedback-20163140.png")


# -- feedback.json and results.json ---------------------------------------------------------------
@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


@pytest.mark.parametrize("published", [False, True])
def test_feedback_json_is_a_gradescope_document_of_the_shown_checks(published: bool, validator, tmp_path: Path) -> None:
    r = leaky_result(tmp_path)
    rendered_feedback(r, tmp_path / "out", published=published)
    text = (tmp_path / "out" / r.student / "feedback.json").read_text(encoding="utf-8")
    document = json.loads(text)
    assert [f"{e.absolute_path}: {e.message}" for e in validator.iter_errors(document)] == []
    view = student_view(r, published=published)
    assert [t["name"].removeprefix("[NOT GRADED] ") for t in document["tests"]] == [c.name for c in view.checks]
    assert document["score"] == view.score
    assert set(document["extra_data"]) == {"student", "published", "max_score", "training", "manual", "remarks"}
    assert bool(document["extra_data"]["manual"]) is published
    for path in machine_paths(tmp_path):
        assert path not in text
    assert ABSOLUTE_PATH.search(text) is None and "seed" not in text and "sandbox" not in text


def test_results_json_shows_students_only_safe_text(tmp_path: Path) -> None:
    """Gradescope shows students the top-level output and each test's output: no paths there,
    and each test's visibility as the suite declared it."""
    r = leaky_result(tmp_path)
    document = json.loads(results_json.write(r, tmp_path / "results.json").read_text(encoding="utf-8"))
    student_facing = document["output"] + "".join(t["output"] for t in document["tests"])
    for path in machine_paths(tmp_path):
        assert path not in student_facing
    assert ABSOLUTE_PATH.search(student_facing) is None
    assert document["output"] == summary_text(student_view(r))
    assert [t["visibility"] for t in document["tests"]] == [t.visibility.value for t in r.tests]
    back = results_json.read(tmp_path / "results.json")
    assert [t.visibility for t in back.tests] == [t.visibility for t in r.tests]
    assert back.manual == r.manual


def test_schema_rejects_a_visibility_gradescope_does_not_know(validator, tmp_path: Path) -> None:
    document = json.loads(results_json.write(diverging_result(), tmp_path / "r.json").read_text(encoding="utf-8"))
    bad = copy.deepcopy(document)
    bad["tests"][0]["visibility"] = "students_only"
    assert list(validator.iter_errors(bad))


# -- the push workflow publishes the student view only ---------------------------------------------
def test_push_workflow_uploads_only_the_student_view() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    push_job = text[text.index("\n  changed:"):text.index("\n  shard:")]
    uploaded = re.findall(r"^\s+(reports/\S*)\s*$", push_job, flags=re.M)
    uploaded += re.findall(r"path:\s+(reports/\S*)", push_job)
    assert sorted(uploaded) == ["reports/*/feedback.html", "reports/*/feedback.json"]


# -- visibility declared in a suite, through a real judge ------------------------------------------
SUITE = '''\
import numpy as np
import pytest

pytestmark = pytest.mark.problem("problem4")


def softmax(worker, x):
    return worker.call("call_function", module="problem4", name="softmax", args=[x], doing="calling softmax")


@pytest.mark.points(1)
def test_shown(worker):
    """always shown"""
    assert np.isclose(np.sum(softmax(worker, np.array([1.0, 2.0]))), 1.0)


@pytest.mark.points(1)
@pytest.mark.visibility("hidden")
def test_hidden(worker):
    """never shown"""
    assert np.isclose(np.sum(softmax(worker, np.array([3.0, 2.0]))), 1.0)


@pytest.mark.points(1)
@pytest.mark.visibility("{later}")
def test_later(worker):
    """shown once published"""
    assert np.isclose(np.sum(softmax(worker, np.array([0.0, 2.0]))), 1.0)
'''


def _grade_suite(tmp_path: Path, later: str) -> SubmissionResult:
    from autograder.common import config
    from autograder.orchestrator import runner

    suite = tmp_path / "test_problem4.py"  # named for its problem: the judge starts no training for it
    suite.write_text(SUITE.format(later=later), encoding="utf-8")
    job = runner.Job(ROOT / "autograder" / "judge" / "reference", tmp_path / "out")
    return runner.grade(job, config.resolve({"budget": "quick", "seed": 7}), suites=[str(suite)])


def test_visibility_marker_reaches_results_json(tmp_path: Path) -> None:
    result = _grade_suite(tmp_path, "after_published")
    assert result.status is Status.GRADED, result.status_reason
    assert {t.name: t.visibility for t in result.tests} == {
        "always shown": Visibility.VISIBLE, "never shown": Visibility.HIDDEN,
        "shown once published": Visibility.AFTER_PUBLISHED}
    document = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert [t["visibility"] for t in document["tests"]] == ["visible", "hidden", "after_published"]


def test_a_misspelt_visibility_stops_the_judge(tmp_path: Path) -> None:
    result = _grade_suite(tmp_path, "after_publish")
    assert result.status is Status.GRADER_FAULT and not result.tests
    assert "visibility('after_publish') is not one of visible, hidden, after_published" in result.status_reason


def test_hostile_text_on_the_feedback_page_runs_nothing(tmp_path: Path) -> None:
    """The student's page is as safe as the TA's: payloads in check names, feedback and remarks show
    as text in Chromium, and none of them runs."""
    from report_samples import PAYLOADS, hostile_result
    from test_browser import CHROMIUM, _assert_no_payload_ran, load

    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    r = hostile_result()
    page = render.render_feedback(r, tmp_path / r.student / "feedback.html")
    loaded = load(page, tmp_path)
    _assert_no_payload_ran(loaded)
    failed = loaded.dom.by_id("problem4").find("article", data_outcome="failed")
    assert PAYLOADS[0] in failed.find("dl", class_="feedback").text and PAYLOADS[3] in failed.text
