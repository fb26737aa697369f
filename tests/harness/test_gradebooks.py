"""Canvas's and Moodle's gradebook CSVs, checked against the columns each documents."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.common import results_json
from autograder.common.contract import ASSIGNMENT_POINTS
from autograder.common.results import Outcome
from autograder.orchestrator import gradebooks, manual
from autograder.orchestrator.gradebooks import canvas, moodle
from report_samples import class_results, rubric_result

MANUAL = "student,problem,points,comment\n"

# The documented columns (see gradebooks' docstring for the sources).
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_HEADER = ["First name", "Last name", "ID number", "Institution", "Department", "Email address"]


def complete(student: str, failed: tuple[str, ...] = (), written: float = 3) -> object:
    r = rubric_result(student, failed)
    manual.merge([r], manual.parse(MANUAL + f"{student},problem1,{written},good\n", "manual.csv"))
    return r


def read(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_canvas_file_has_canvas_columns_and_points_possible_100(tmp_path: Path) -> None:
    results = [complete("20163140", ("test_sgd_step",), written=2.5), complete("20160001")]
    rows = read(gradebooks.write(canvas(results, column="hw3 (12345)"), tmp_path / "canvas.csv"))
    assert rows[0] == [*CANVAS_HEADER, "hw3 (12345)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "100"]
    assert rows[2:] == [["20160001", "", "20160001", "", "", "100"],
                        ["20163140", "", "20163140", "", "", "97.5"]]  # 95 of the checks + 2.5 written


def test_moodle_file_has_moodle_columns_grade_and_feedback(tmp_path: Path) -> None:
    results = [complete("20163140", ("test_sgd_step",), written=2.5)]
    rows = read(gradebooks.write(moodle(results, column="hw3"), tmp_path / "moodle.csv"))
    assert rows[0] == [*MOODLE_HEADER, "hw3", "Feedback: hw3"]
    first, last, idnumber, institution, department, email, grade, feedback = rows[1]
    assert (idnumber, grade) == ("20163140", "97.5")
    assert feedback.startswith("20163140: 97.5 / 100 (grade)")
    assert "problem1    12.5 / 15  (written answers 2.5 / 3, scored by a person)" in feedback
    assert "good" in feedback


def test_the_maximum_is_always_100_never_the_graded_checks(tmp_path: Path) -> None:
    """A run of some problems only (--problems 1,4,5) is not a grade out of 36: it is left out."""
    partial = complete("20163140")
    partial.tests = [t for t in partial.tests if t.problem in ("problem1", "problem4", "problem5")]
    assert partial.max_score == 39
    export = canvas([partial, complete("20160001")])
    assert export.rows[0][-1] == f"{ASSIGNMENT_POINTS:g}"
    assert export.final == ["20160001"]
    assert "not graded at all: problem2, problem3_1" in export.left_out["20163140"][0]


def test_grades_that_are_not_final_are_left_out_with_the_reason() -> None:
    pending = complete("20169999")
    next(t for t in pending.tests if t.problem == "problem2").outcome = Outcome.NOT_GRADED
    unscored = rubric_result("20163141")
    ungradable, fault = class_results()[3:5]
    for make in (canvas, moodle):
        export = make([pending, unscored, ungradable, fault, complete("20160001")])
        assert export.final == ["20160001"]
        assert export.left_out == {
            "20160002": ["ungradable: no module of the contract in the folder — decide by hand"],
            "20160003": ["the grader failed on it — regrade"],
            "20163141": ["written answers not scored: problem1 — add them to the manual point file"],
            "20169999": ["1 check(s) not graded — regrade"],
        }
        assert all(row[-1 if make is canvas else -2] for row in export.rows)  # no empty grade cell


def test_a_roster_gives_the_lms_ids(tmp_path: Path) -> None:
    roster = tmp_path / "canvas-export.csv"
    roster.write_text(
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,hw2 (111)\n"
        "    Points Possible,,,,,10\n"
        '"Kim, Minji",4711,20163140,minji,AI 01,9\n'
        '"Lee, Jun",4712,20160001,jun,AI 02,8\n'
        '"Park, Absent",4713,20165555,park,AI 01,7\n', encoding="utf-8")
    people = gradebooks.read_roster(roster)
    assert set(people) == {"20163140", "20160001", "20165555"}
    export = canvas([complete("20163140"), complete("20169999")], roster=people)
    assert export.rows[1:] == [["Kim, Minji", "4711", "20163140", "minji", "AI 01", "100"]]
    assert export.left_out == {"20169999": ["not in the roster"]}
    assert export.not_submitted == ["20160001", "20165555"]

    moodle_roster = tmp_path / "moodle-export.csv"
    moodle_roster.write_text("First name,Last name,ID number,Institution,Department,Email address\n"
                             "민지,김,20163140,국민대학교,소프트웨어학부,minji@example.org\n", encoding="utf-8")
    row = moodle([complete("20163140")], roster=gradebooks.read_roster(moodle_roster)).rows[0]
    assert row[:7] == ["민지", "김", "20163140", "국민대학교", "소프트웨어학부", "minji@example.org", "100"]


def test_a_roster_without_an_id_column_is_refused(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nKim,k@example.org\n", encoding="utf-8")
    with pytest.raises(gradebooks.RosterError, match="no column 'SIS User ID', 'ID number', 'student'"):
        gradebooks.read_roster(roster)


def test_cells_a_spreadsheet_would_run_are_neutralised(tmp_path: Path) -> None:
    hostile = complete("=HYPERLINK(1)")
    roster = tmp_path / "roster.csv"
    roster.write_text('student,Student,Section\n"=HYPERLINK(1)",@SUM(A1),+1\n', encoding="utf-8")
    rows = read(gradebooks.write(canvas([hostile], roster=gradebooks.read_roster(roster)), tmp_path / "c.csv"))
    assert rows[2][:5] == ["'@SUM(A1)", "", "'=HYPERLINK(1)", "", "'+1"]
    rows = read(gradebooks.write(moodle([hostile], column="-hw3"), tmp_path / "m.csv"))
    assert rows[0][-2:] == ["'-hw3", "Feedback: -hw3"] and rows[1][2] == "'=HYPERLINK(1)"
    assert rows[1][-1].startswith("'=HYPERLINK(1): 100 / 100")


def test_report_writes_both_gradebooks_and_warns_about_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    for student, failed in (("20160001", ()), ("20163140", ("test_four_distinct_convolutions",)),
                            ("20169999", ("test_sgd_step",))):
        results_json.write(rubric_result(student, failed), out / student / "results.json")
    (out / "manual.csv").write_text(MANUAL + "20160001,problem1,3,\n20163140,problem1,2.5,\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", "report", str(out),
                           "--canvas", str(tmp_path / "canvas.csv"), "--moodle", str(tmp_path / "moodle.csv"),
                           "--column", "hw3 (12345)"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "canvas.csv: 2 final grade(s) out of 100" in proc.stdout
    assert "canvas.csv: 1 student(s) left out" in proc.stderr
    assert "20169999: written answers not scored: problem1" in proc.stderr
    canvas_rows = read(tmp_path / "canvas.csv")
    assert [r[2] for r in canvas_rows[2:]] == ["20160001", "20163140"] and canvas_rows[0][-1] == "hw3 (12345)"
    assert [(r[2], r[6]) for r in read(tmp_path / "moodle.csv")[1:]] == [("20160001", "100"), ("20163140", "98.5")]
