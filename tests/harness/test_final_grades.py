"""Nothing silently wrong: every grade is final or says loudly that it is not — on the console, the
pages, grades.csv, the CI summary and the exit status — and what cannot be used stops the command."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.common import results_json
from autograder.common import results as model
from autograder.common.results import Outcome, PendingKind, Status, SubmissionResult
from autograder.common.student_view import student_view
from autograder.orchestrator import class_run, exit_status, runner
from autograder.orchestrator.report import render, views
from html_tree import parse
from report_samples import rubric_result

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "autograder" / "judge" / "reference"
HEADER = "student,problem,points,comment\n"


def autograde(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd, env=env)


def partial(student: str = "20163140") -> SubmissionResult:
    """What `autograde 20163140 --problems 1,4,5` writes: every check of those problems passed."""
    r = rubric_result(student)
    r.tests = [t for t in r.tests if t.problem in ("problem1", "problem4", "problem5")]
    r.training = []
    return r


def grades_csv(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(encoding="utf-8-sig", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def text(el: object) -> str:
    return " ".join(el.text.split())  # type: ignore[attr-defined]


# -- a partial grade is out of 100 and says what waits -------------------------------------------
def test_a_partial_grading_is_out_of_100_and_says_what_is_pending(tmp_path: Path) -> None:
    r = partial()
    assert (r.score, r.out_of, r.pending_points, r.final) == (36, 100, 64, False)
    assert {(p.problem, p.kind) for p in r.pending() if p.kind is PendingKind.WRITTEN} == {("problem1", PendingKind.WRITTEN)}
    results_json.write(r, tmp_path / "out" / r.student / "results.json")
    assert autograde("report", str(tmp_path / "out")).returncode == 0
    page = parse((tmp_path / "out" / r.student / "report.html").read_text(encoding="utf-8"))
    total = text(page.by_id("total"))
    assert "36 / 100" in total and "64 pts pending" in total and "not final" in total, total
    assert "100.0 %" not in total and "/ 36" not in total
    banner = page.by_id("pending-banner")
    written = banner.find("li", data_pending_kind="written")
    assert "3 points" in text(written) and "scored by a person" in text(written) and "problem1" in text(written)
    assert "61 points" in text(banner.find("li", data_pending_kind="not_in_run"))
    p1 = page.by_id("problem-scores").find("tr", data_problem="problem1")
    assert "12 / 15" in text(p1) and "3 pts pending" in text(p1), text(p1)
    p2 = page.by_id("problem-scores").find("tr", data_problem="problem2")
    assert "— / 25" in text(p2) and "not graded in this run" in text(p2)
    index = parse((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    summary = text(index.by_id("class-summary"))
    assert "no grade is final yet" in summary and "mean 36.0" in summary and "100.0" not in summary, summary
    row = grades_csv(tmp_path / "out")[r.student]
    assert (row["total"], row["max"], row["final"], row["pending"]) == ("36", "100", "no", "64")


def test_published_with_points_pending_is_never_called_the_grade(tmp_path: Path) -> None:
    """After one manual row, `report --published`: the student's page says 38.5 of 100 so far, and
    that 61 points are not graded yet — not "Grade 38.5 / 39, 98.7 %"."""
    out = tmp_path / "out"
    results_json.write(partial(), out / "20163140" / "results.json")
    (out / "manual.csv").write_text(HEADER + "20163140,problem1,2.5,good\n", encoding="utf-8")
    assert autograde("report", str(out), "--published").returncode == 0
    page = parse((out / "20163140" / "feedback.html").read_text(encoding="utf-8"))
    total = text(page.by_id("total"))
    assert "Grade so far" in total and "38.5 / 100" in total and "61.5" not in total and "%" not in total, total
    pending = text(page.by_id("pending"))
    assert "not final" in pending and "61 points" in pending and "not graded yet" in pending, pending
    assert "grader" not in pending  # the student's words, not the grader's reasons
    assert page.find("title").text.startswith("hw3 — feedback")


def test_summary_reads_manual_points_and_fail_under_is_points_of_100(tmp_path: Path) -> None:
    out = tmp_path / "out"
    results_json.write(partial(), out / "20163140" / "results.json")
    (out / "manual.csv").write_text(HEADER + "20163140,problem1,2.5,\n", encoding="utf-8")
    proc = autograde("summary", str(out), "--fail-under", "37")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # 38.5 ≥ 37: the manual points count
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| 20163140"))
    assert "38.5/100" in row and "61 points pending" in row.replace("\\", ""), row
    assert "0 of 1 grade(s) final" in proc.stdout
    low = autograde("summary", str(out), "--fail-under", "39")
    assert low.returncode == 3 and "below 39 points of 100: 20163140 (38.5, not final)" in low.stderr


# -- manual.csv: one reader, every command, every row it cannot use stops it -------------------------
@pytest.mark.parametrize("row, message", [
    ("20163140,problem1,4,", "manual.csv line 2: student 20163140, problem1: 4 points is over problem1's manual maximum of 3"),
    ("20163140,problem1,2,pooling, well explained", "manual.csv line 2: student 20163140, problem1: 5 cells, but the header has 4"),
    ("20613140,problem1,2,", "manual.csv line 2: student 20613140, problem1: no such student"),
    ("20163140,problem1,2,\n20163140,1,1,", "manual.csv line 3: student 20163140, problem1: given twice"),
    ("20163140,problem1,two,", "manual.csv line 2: student 20163140, problem1: points 'two' is not a number"),
])
def test_a_manual_row_that_cannot_be_used_stops_grading_and_report(row: str, message: str, tmp_path: Path) -> None:
    """Before grading (nothing graded, no judge started) and at `report`: exit status 2 naming the
    file, line, student and problem; never "rendering without manual points"."""
    sub = tmp_path / "class" / "20163140"
    sub.mkdir(parents=True)
    shutil.copy(REFERENCE / "problem4.py", sub)
    out = tmp_path / "out"
    results_json.write(partial(), out / "20163140" / "results.json")
    (out / "manual.csv").write_text(HEADER + row + "\n", encoding="utf-8")
    before = (out / "20163140" / "results.json").read_bytes()
    for args in ([str(sub), "--problems", "4", "--out", str(out)], ["report", str(out)]):
        proc = autograde(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)
        assert "without manual points" not in proc.stderr and "grading" not in proc.stdout
    assert (out / "20163140" / "results.json").read_bytes() == before and not (out / "index.html").exists()


# -- the output folder -----------------------------------------------------------------------------
def test_out_inside_a_submission_or_a_class_folder_is_a_usage_error(tmp_path: Path) -> None:
    course = tmp_path / "cls4"
    for name in ("20170001", "20170002"):
        (course / name).mkdir(parents=True)
        shutil.copy(REFERENCE / "problem4.py", course / name)
    for out, where in ((course, "the class folder"), (course / "reports", "inside the class folder"),
                       (course / "20170001" / "reports", "inside the submission folder")):
        proc = autograde(str(course), "--problems", "4", "--out", str(out))
        assert proc.returncode == 2 and where in proc.stderr, (out, proc.stderr)
    proc = autograde(str(course / "20170001"), "--problems", "4", "--out", str(course / "20170001"))
    assert proc.returncode == 2 and "inside the submission folder" in proc.stderr
    assert not list(course.rglob("results.json"))


def test_an_output_folder_is_never_graded(tmp_path: Path) -> None:
    """A class folder holding an earlier run's output (results one level down) never grades it."""
    from autograder.orchestrator.discovery import find_submissions

    course = tmp_path / "cls4"
    (course / "20170001").mkdir(parents=True)
    shutil.copy(REFERENCE / "problem4.py", course / "20170001")
    old = course / "old-reports"
    results_json.write(partial("20170001"), old / "20170001" / "results.json")
    (old / "20170001" / "leftover.py").write_text("x = 1\n")
    found, skipped = find_submissions([course], out=tmp_path / "reports")
    assert found == [course / "20170001"]
    assert [(s.folder.name, s.why) for s in skipped] == [("old-reports", "grading output, not a submission")]


# -- counts line and exit status -----------------------------------------------------------------
def _result(student: str, status: Status = Status.GRADED, outcome: Outcome = Outcome.PASSED) -> SubmissionResult:
    return SubmissionResult(student=student, submission=student, status=status, tests=[
        model.TestResult(id="t", name="t", problem="problem4", max_points=10, points=10 if outcome is Outcome.PASSED else 0,
                   outcome=outcome)] if status is Status.GRADED else [])


def test_the_counts_line_tells_graded_incomplete_ungradable_and_faults_apart() -> None:
    graded = [runner.Graded(_result("a")), runner.Graded(_result("b"), cached=True),
              runner.Graded(_result("c", outcome=Outcome.NOT_GRADED)),
              runner.Graded(_result("d", Status.UNGRADABLE)), runner.Graded(_result("e", Status.GRADER_FAULT))]
    line = class_run.counts_line(graded)
    assert line.startswith("done: 2 graded, 1 incomplete, 1 ungradable, 1 grader faults (1 from the cache); "
                           "0 of 5 grade(s) final"), line
    results = [g.result for g in graded]
    assert class_run.exit_status(results, None) == exit_status.Exit.GRADER_FAULT
    assert class_run.exit_status(results[:4], None) == exit_status.Exit.INCOMPLETE
    assert class_run.exit_status([results[0], results[3]], None) == exit_status.Exit.UNGRADABLE == 5
    assert class_run.exit_status([results[0]], 50) == exit_status.Exit.BELOW  # 10 points of 100
    assert class_run.exit_status([results[0]], None) == exit_status.Exit.OK


def test_a_run_with_an_ungradable_folder_says_so_and_exits_5(tmp_path: Path) -> None:
    course = tmp_path / "class"
    (course / "20170001").mkdir(parents=True)
    shutil.copy(REFERENCE / "problem4.py", course / "20170001")
    (course / "20170001" / "notes.txt").write_text("my notes")
    (course / "20170009").mkdir()
    (course / "20170009" / "hw3_softmax.py").write_text((REFERENCE / "problem4.py").read_text())  # misnamed
    proc = autograde(str(course), "--problems", "4", "--seed", "1", "--jobs", "1", "--out", str(tmp_path / "out"))
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "done: 1 graded, 0 incomplete, 1 ungradable, 0 grader faults" in proc.stdout, proc.stdout
    misnamed = parse((tmp_path / "out" / "20170009" / "report.html").read_text(encoding="utf-8"))
    assert "hw3_softmax.py" in misnamed.by_id("unused-files").text
    feedback = parse((tmp_path / "out" / "20170001" / "feedback.html").read_text(encoding="utf-8"))
    assert [li.text for li in feedback.by_id("unused-files").find_all("li")] == ["notes.txt"]
    log = (tmp_path / "out" / "20170001" / "judge.log").read_text(encoding="utf-8")
    total = next(line for line in log.splitlines() if line.startswith("total "))
    assert "/ 100" in total and "NOT FINAL: 90 points pending" in log, log[-2000:]


# -- advisory checks -------------------------------------------------------------------------------
def test_an_advisory_check_is_advice_never_a_pass(tmp_path: Path) -> None:
    r = rubric_result("20163140")
    advice = next(t for t in r.tests if t.max_points == 0 and t.problem == "problem4")
    advice.remarks = ["softmax is not row-wise on a 2-D batch"]
    other = rubric_result("20160001")
    render.render_all(tmp_path, [r, other])
    for page in ("report.html", "feedback.html"):
        doc = parse((tmp_path / "20163140" / page).read_text(encoding="utf-8"))
        article = next(a for a in doc.find_all("article") if "not row-wise" in a.text)
        assert article.attrs["data-outcome"] == "advice" and "ADVICE" in article.find(class_="badge").text
        assert "PASSED" not in article.text and "0 / 0" not in article.text
        assert "advice: softmax is not row-wise" in text(article)
    stats = views.class_view([r, other])
    assert advice.id not in {s.id for s in stats.tests}  # no pass rate for what passes nothing
    assert [(a.id, a.advised, a.checked) for a in stats.advice if a.id == advice.id] == [(advice.id, 1, 2)]
    # Gradescope has only "passed" and "failed": advice is neither, in both documents
    documents = (results_json.gradescope(r), results_json.student_document(student_view(r)))
    for document in documents:
        check = next(t for t in document["tests"] if "not row-wise" in t["output"])
        assert "status" not in check and check["name"].startswith("[ADVICE] ")
        assert "advice" in check["tags"] and check["output"].startswith("ADVICE — no points either way")
        graded = [t for t in document["tests"] if "advice" not in t["tags"]]
        assert graded and all(t["status"] in ("passed", "failed") for t in graded)


# -- --problems spellings --------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["3-1", "3-(1)", "3.1", "3_1", "problem3_1", "Problem 3-1"])
def test_problems_accept_the_homeworks_spellings(spelling: str) -> None:
    assert runner.parse_problems(f"1,{spelling}") == ["problem1", "problem3_1"]


def test_an_unknown_problem_says_how_to_write_one() -> None:
    with pytest.raises(ValueError, match=r"unknown problem '3-7'.*3-1, 3-\(1\) and 3.1 are 3_1"):
        runner.parse_problems("3-7")


# -- a stop before the judge took a submission leaves its folder as it was --------------------------
class _StoppedJudge:
    """A judge server that the stop reached first: it refuses the submission."""

    def grade(self, *args: object, **kwargs: object) -> int:
        raise InterruptedError("grading is being stopped")

    def stop(self) -> None:
        pass


def test_a_submission_the_stop_reached_first_keeps_its_folder_as_it_was(tmp_path: Path) -> None:
    from autograder.common import config as cfg

    config = cfg.resolve({"seed": 1, "budget": "quick", "device": "cpu"})
    sub = tmp_path / "class" / "20170001"
    sub.mkdir(parents=True)
    fresh = runner.Job(sub, tmp_path / "out" / "20170001")
    with pytest.raises(InterruptedError):
        runner.grade(fresh, config, judges=runner.Judges(), judge=_StoppedJudge())  # type: ignore[arg-type]
    assert not fresh.out_dir.exists()  # no empty folder for the next run to trip on
    earlier = runner.Job(sub, tmp_path / "out2" / "20170001")
    results_json.write(partial("20170001"), earlier.results_path)
    earlier.key_path.write_text("{}\n")
    kept = earlier.results_path.read_bytes(), earlier.key_path.read_bytes()
    with pytest.raises(InterruptedError):
        runner.grade(earlier, config, judges=runner.Judges(), judge=_StoppedJudge())  # type: ignore[arg-type]
    assert (earlier.results_path.read_bytes(), earlier.key_path.read_bytes()) == kept
