"""The class roster: reading it, matching LMS names and ids, and listing who submitted nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autograder.common import results_json
from autograder.common.contract import ASSIGNMENT_POINTS, PROBLEMS
from autograder.common import results as model
from autograder.common.results import Outcome, Status, SubmissionResult
from autograder.orchestrator import cli, exports, roster
from autograder.orchestrator.report import views
from conftest import GRADED


def write_roster(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode(encoding))
    return path


def graded(student: str, points: float = 20.0) -> SubmissionResult:
    return SubmissionResult(student=student, submission=student, tests=[
        model.TestResult(id=f"test_problem4.py::t_{student}", name="softmax", problem="problem4", max_points=24,
                   points=points, outcome=Outcome.PASSED if points == 24 else Outcome.FAILED)])


# -- reading ------------------------------------------------------------------------------------
def test_korean_headers_with_a_byte_order_mark(tmp_path):
    path = write_roster(tmp_path, "\ufeff학번,이름,학과\n20163140,이수진,컴퓨터공학부\n20190002, 김 민수 ,\n")
    r = roster.load(path)
    assert [(e.student, e.name, e.lms_ids) for e in r.entries] == [
        ("20163140", "이수진", ()), ("20190002", "김 민수", ())]


def test_english_headers_without_a_mark_and_several_lms_ids(tmp_path):
    path = write_roster(tmp_path, "name,Student_ID,lms_id\nSujin Lee,20163140,1002; 2001\n\n")
    (entry,) = roster.load(path).entries
    assert entry == roster.RosterEntry("20163140", "Sujin Lee", ("1002", "2001"))


@pytest.mark.parametrize("text, message", [
    ("name,id\n이수진,1\n", "no 'student_id' (or '학번') column; found: name, id"),
    ("student_id\n20163140\n20190002\n20163140\n", "line 4: student 20163140 is also on line 2"),
    ("student_id\n=HYPERLINK(\"x\")\n", "line 2: student id '=HYPERLINK(\"x\")' is not usable"),
    ("student_id\n../etc\n", "line 2: student id '../etc' is not usable"),
    ("student_id\n-rf\n", "line 2: student id '-rf' is not usable"),
    ("student_id\n", "no students"),
])
def test_bad_rosters_say_what_and_where(tmp_path, text, message):
    with pytest.raises(roster.RosterError) as info:
        roster.load(write_roster(tmp_path, text))
    assert message in str(info.value) and str(tmp_path / "roster.csv") in str(info.value)


def test_a_roster_saved_in_the_korean_code_page_is_refused(tmp_path):
    with pytest.raises(roster.RosterError, match="not UTF-8"):
        roster.load(write_roster(tmp_path, "학번,이름\n20163140,이수진\n", encoding="cp949"))


def test_lms_names_and_ids_find_students(tmp_path):
    r = roster.load(write_roster(tmp_path, "student_id,name,lms_id\n1,Sujin Lee,\n2,이수진,\n3,Min Kim,77\n4,Min Kim,\n"))
    assert r.match("leesujin", "5").student == "1"        # Canvas's lastfirst
    assert r.match("Sujin Lee", "5").student == "1"       # Moodle's full name
    assert r.match("이수진", "5").student == "2"
    assert r.match("kimmin", "77").student == "3"          # the LMS id first
    assert r.match("kimmin", "78") is None                 # two students of that name
    assert r.match("someone", "1") is None


# -- grading with a roster ----------------------------------------------------------------------
def test_apply_lists_absent_students_and_flags_unlisted_folders(tmp_path, capsys):
    r = roster.load(write_roster(tmp_path, "student_id,name\nA,Ann\nB,Bo\nC,Cy\nD,Di\n"))
    out = tmp_path / "reports"
    for result in (graded("A"), graded("X"), graded("C")):  # C: graded earlier from another folder
        results_json.write(result, out / result.student / "results.json")
    check = roster.apply(r, ["A", "X"], out, owns=lambda s: s != "D")
    assert check.absent == ["B", "C", "D"] and check.unlisted == ["X"]
    b = results_json.read(out / "B" / "results.json")
    assert (b.status, b.score, b.max_score, b.on_roster) == (Status.NOT_SUBMITTED, 0, ASSIGNMENT_POINTS, True)
    assert "Bo" in b.status_reason
    assert results_json.read(out / "C" / "results.json").status is Status.GRADED  # not overwritten
    assert not (out / "D").exists()  # another shard's student
    assert results_json.read(out / "X" / "results.json").on_roster is False
    assert results_json.read(out / "A" / "results.json").on_roster is True
    assert "submission folder 'X' is not on the roster" in capsys.readouterr().err


def test_not_submitted_in_grades_csv_and_the_class_summary():
    absent = roster.not_submitted(roster.RosterEntry("B", "Bo"))
    unlisted = graded("X", 24)
    unlisted.on_roster = False
    results = [graded("A", 12), absent, unlisted]
    rows = {row[0]: row for row in exports.grade_rows(results)}
    assert rows["B"][:4] == ["B", "0", "100", "not_submitted"] and rows["B"][-3:] == ["yes", "0", ""]
    view = views.class_view(results)
    assert view.summary["not_submitted"] == 1 and view.summary["not_on_roster"] == 1
    assert (view.summary["final"], view.summary["mean"]) == (1, 0)  # a missing submission is a final 0
    assert view.summary["mean_so_far"] == pytest.approx((12 + 24) / 2)  # the others wait for problems 1–3, 5
    assert sum(b.complete for b in view.histogram.bins) == 1  # nothing submitted is a complete 0
    row = next(r for r in view.rows if r.student == "X")
    assert row.on_roster is False and any("not on the class roster" in a for a in row.attention)


def test_a_bad_roster_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "s" / "A").mkdir(parents=True)
    (tmp_path / "s" / "A" / "problem4.py").write_text("")
    code = cli.main([str(tmp_path / "s"), "--roster", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o")])
    assert code == cli.EXIT_USAGE
    assert "cannot read the roster" in capsys.readouterr().err


COLLECT = """
import sys, pytest
points = []
class Points:
    def pytest_collection_modifyitems(self, items):
        points.extend(float(m.args[0]) for i in items if (m := i.get_closest_marker("points")))
suites = sys.argv[1]
pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-c", suites + "/pytest.ini", "--rootdir", suites,
             suites], plugins=[Points()])
print("TOTAL", sum(points))
"""


def test_the_rubric_adds_up_to_the_total_a_missing_submission_is_out_of(tmp_path):
    proc = subprocess.run([sys.executable, "-c", COLLECT, str(GRADED)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    total = [line for line in proc.stdout.splitlines() if line.startswith("TOTAL ")]
    assert total, proc.stdout[-2000:] + proc.stderr[-2000:]
    written = sum(p.written for p in PROBLEMS)  # scored by a person, not by checks
    assert float(total[0].split()[1]) + written == ASSIGNMENT_POINTS
