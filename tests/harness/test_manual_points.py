"""Manual points: the rubric's split, the manual point file, its merge into totals, pages and exports."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from autograder.common import results_json
from autograder.common.contract import ASSIGNMENT_POINTS, PROBLEMS
from autograder.common.results import ManualScore
from autograder.orchestrator import manual
from html_tree import parse
from report_samples import rubric_result, suite_checks

HEADER = "student,problem,points,comment\n"


def test_the_rubric_adds_up_to_the_assignments_100() -> None:
    """Each problem's checks are worth its points less its written answers; together, 100."""
    checks: dict[str, float] = defaultdict(float)
    for problem, _, _, points in suite_checks():
        checks[problem] += points
    assert {p.module: p.points - p.written for p in PROBLEMS} == dict(checks)
    assert sum(p.points for p in PROBLEMS) == ASSIGNMENT_POINTS == 100
    assert [p.module for p in PROBLEMS if p.written] == ["problem1"]


def entries(text: str) -> list[manual.ManualEntry]:
    return manual.parse(text, "manual.csv")


def test_a_manual_point_file_is_read() -> None:
    got = entries("\ufeff" + HEADER + '20163140,problem1,2.5,"1-(2): 풀링의 역할, 빠짐"\n\n20160001, 1 ,3,\n')
    assert [(e.student, e.score) for e in got] == [
        ("20163140", ManualScore("problem1", 2.5, 3, "1-(2): 풀링의 역할, 빠짐", "manual.csv:2")),
        ("20160001", ManualScore("problem1", 3.0, 3, "", "manual.csv:4")),
    ]


@pytest.mark.parametrize("row, message", [
    ("20163140,problem1,3.5,too generous", "manual.csv line 2: student 20163140, problem1: 3.5 points is over "
                                           "problem1's manual maximum of 3"),
    ("20163140,problem4,1,", "manual.csv line 2: student 20163140, problem4: problem4 has no points scored by a person"),
    ("20163140,problem9,1,", "manual.csv line 2: student 20163140, problem9: unknown problem"),
    ("20163140,problem1,two,", "manual.csv line 2: student 20163140, problem1: points 'two' is not a number"),
    ("20163140,problem1,nan,", "points 'nan' is not a number"),
    ("20163140,problem1,-1,", "manual.csv line 2: student 20163140, problem1: points -1 is negative"),
    (",problem1,1,", "manual.csv line 2: student (empty), problem1: the student is empty"),
    ("20163140,problem1,1,\n20163140,1,2,", "manual.csv line 3: student 20163140, problem1: given twice (also on line 2)"),
])
def test_a_row_that_cannot_be_used_is_refused_with_where_it_is(row: str, message: str) -> None:
    with pytest.raises(manual.ManualPointsError) as caught:
        entries(HEADER + row + "\n")
    assert message in str(caught.value)


def test_a_file_without_the_columns_is_refused() -> None:
    with pytest.raises(manual.ManualPointsError, match="manual.csv line 1: the header lacks points"):
        entries("student,problem,score\n20163140,problem1,2\n")


def test_merge_adds_the_points_to_totals_and_problems() -> None:
    r = rubric_result("20163140", failed=("test_sgd_step",))
    assert (r.score, r.max_score) == (95, 97)
    manual.merge([r], entries(HEADER + "20163140,problem1,2.5,ok\n"))
    assert (r.score, r.max_score) == (97.5, 100)
    p1 = next(p for p in r.problems() if p.module == "problem1")
    assert (p1.points, p1.max_points, p1.manual) == (12.5, 15, 2.5)
    manual.merge([r], [])  # the file is the one source: merging again replaces
    assert r.manual == [] and r.score == 95


def test_manual_points_round_trip_through_results_json(tmp_path: Path) -> None:
    r = rubric_result("20163140")
    manual.merge([r], entries(HEADER + "20163140,problem1,2,\n"))
    back = results_json.read(results_json.write(r, tmp_path / "results.json"))
    assert back.manual == r.manual and back.score == r.score


# -- through `autograde report` -------------------------------------------------------------------
def autograde(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def graded_class(tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    for student, failed in (("20160001", ()), ("20163140", ("test_four_distinct_convolutions",)),
                            ("20169999", ("test_sgd_step",))):
        results_json.write(rubric_result(student, failed), out / student / "results.json")
    return out


def _grades(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(encoding="utf-8-sig", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_report_merges_the_class_manual_file_into_pages_and_grades(graded_class: Path) -> None:
    (graded_class / "manual.csv").write_text(
        HEADER + '20163140,problem1,2.5,"1-(2): 풀링의 역할이 빠짐"\n20160001,1,3,\n', encoding="utf-8")
    for _ in range(2):  # a re-rendering keeps them: the file is merged again every time
        proc = autograde("report", str(graded_class))
        assert proc.returncode == 0, proc.stderr
        grades = _grades(graded_class)
        assert (grades["20163140"]["total"], grades["20163140"]["max"], grades["20163140"]["problem1"]) == ("98.5", "100", "14.5")
        assert (grades["20169999"]["total"], grades["20169999"]["max"], grades["20169999"]["final"]) == ("95", "100", "no")
        assert grades["20169999"]["pending"] == "3" and "written answers" in grades["20169999"]["pending_reason"]
        assert (grades["20163140"]["final"], grades["20163140"]["pending"]) == ("yes", "0")
    report = parse((graded_class / "20163140" / "report.html").read_text(encoding="utf-8"))
    given = report.by_id("problem1").find("div", data_manual="2.5")
    assert "풀링의 역할이 빠짐" in given.text and "manual.csv:2" in given.text and "BY A PERSON" in given.text
    pending = parse((graded_class / "20169999" / "report.html").read_text(encoding="utf-8"))
    assert "not scored yet" in pending.by_id("problem1").find("div", data_manual="").text
    index = parse((graded_class / "index.html").read_text(encoding="utf-8"))
    row = index.find("tr", data_student="20163140")
    assert row.find("span", class_="manual-mark").attrs["title"] == "includes 2.5 points scored by a person"
    assert not index.find("tr", data_student="20169999").find_all("span", class_="manual-mark")


def test_report_refuses_points_over_the_maximum(graded_class: Path, tmp_path: Path) -> None:
    points = tmp_path / "written-answers.csv"
    points.write_text(HEADER + "20160001,problem1,3,\n20163140,problem1,4,\n", encoding="utf-8")
    proc = autograde("report", str(graded_class), "--manual", str(points), "--canvas", str(tmp_path / "c.csv"))
    assert proc.returncode == 2
    assert ("error: written-answers.csv line 3: student 20163140, problem1: 4 points is over "
            "problem1's manual maximum of 3") in proc.stderr
    assert not (tmp_path / "c.csv").exists() and not (graded_class / "index.html").exists()


def test_every_command_refuses_a_file_it_cannot_use(graded_class: Path) -> None:
    """One reader for every command: a row over the maximum stops `report`, `summary` and `merge`
    with exit status 2 and the file, line, student and problem — never a render without it."""
    (graded_class / "manual.csv").write_text(HEADER + "20160001,problem1,3,\n20163140,problem1,9,\n", encoding="utf-8")
    message = "manual.csv line 3: student 20163140, problem1: 9 points is over problem1's manual maximum of 3"
    for args in (["report", str(graded_class)], ["summary", str(graded_class)],
                 ["merge", str(graded_class), "--out", str(graded_class)]):
        proc = autograde(*args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
        assert "without manual points" not in proc.stderr + proc.stdout
    assert not (graded_class / "index.html").exists()


def test_manual_points_show_on_the_students_page_once_published(graded_class: Path) -> None:
    (graded_class / "manual.csv").write_text(HEADER + '20163140,problem1,2,"explain the pooling"\n', encoding="utf-8")
    assert autograde("report", str(graded_class)).returncode == 0
    before = parse((graded_class / "20163140" / "feedback.html").read_text(encoding="utf-8"))
    assert "explain the pooling" not in before.text
    assert autograde("report", str(graded_class), "--published").returncode == 0
    after = parse((graded_class / "20163140" / "feedback.html").read_text(encoding="utf-8"))
    assert "explain the pooling" in after.find("div", data_manual="2").text
    assert after.find("span", data_score=None).text == "98"  # 96 of the checks + 2 of the written answers
    assert "manual.csv" not in after.text
