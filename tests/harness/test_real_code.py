"""Real student code, graded end to end as a careful TA would: the homework's own imports, scripts
that train and plot when imported, helpers named like the standard library, display and logging
packages, and folders as they arrive (a subfolder, other spellings, re-uploads, CP949, a byte-order
mark, no code at all). Each folder is written here in the style students write, never by this
project's conventions; the reference's solutions supply the function bodies where only the form
is under test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autograder.common import results_json
from autograder.common.contract import PROBLEMS
from autograder.common.results import Status, SubmissionResult
from conftest import REFERENCE, ROOT, grade_folder, graded_suites, lost
from notebook_samples import scripts_20163140

SOFTMAX = (REFERENCE / "problem4.py").read_text(encoding="utf-8")
LOSSES = (REFERENCE / "problem5.py").read_text(encoding="utf-8")


def _write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def _remarks(result: SubmissionResult, problem: str | None = None) -> str:
    return "\n".join(r.text for r in result.remarks if problem is None or r.problem == problem)


# -- 20163140's scripts as the student ran them -------------------------------------------------
def test_20163140_scripts_that_train_at_import_earn_what_the_modules_earn(graded_20163140, tmp_path):
    """20163140's modules with the report's own top-level lines put back — problem 2 downloads
    CIFAR-10, looks at four images with matplotlib and trains two epochs when imported; problems
    1, 4 and 5 print — earn, check by check, what the submission earns (95 of 97 at `quick`).
    Problem 2 is graded without its top-level code (the download fails in the sandbox), with a
    remark for the TA and the student."""
    scripts = scripts_20163140(tmp_path / "20163140")
    assert "download = True" in (scripts / "problem2.py").read_text(encoding="utf-8")
    every = graded_suites(*(p.module for p in PROBLEMS))
    result = grade_folder(scripts, tmp_path / "out", every)
    assert result.status is Status.GRADED and result.not_graded == [], result.status_reason
    assert {t.id: t.points for t in result.tests} == {t.id: t.points for t in graded_20163140.tests}
    assert (result.score, result.max_score) == (graded_20163140.score, graded_20163140.max_score) == (95, 97)
    assert lost(result) == {"test_four_distinct_convolutions": 1, "test_output_layer_and_weights": 1}
    remark = _remarks(result, "problem2")
    assert "problem2.py runs code when it is imported" in remark and "graded without its top-level code" in remark
    assert "trainset = torchvision.datasets.CIFAR10" in remark and '`if __name__ == "__main__":`' in remark
    assert not _remarks(result, "problem1") and not _remarks(result, "problem4")  # printing imports fine
    assert "소프트맥스함수 적용 결과" in result.output  # problem 4's print ran, at import


# -- folders as they arrive ----------------------------------------------------------------------
KOREAN = "# 소프트맥스 함수: 한국어 주석 (Windows 메모장, CP949로 저장)\n"


def _class(tmp_path: Path) -> Path:
    course = tmp_path / "class"
    _write(course / "s_subfolder", {"hw3/problem4.py": SOFTMAX, "hw3/problem5.py": LOSSES, "report.pdf": b"%PDF"})
    _write(course / "s_spelling", {"Problem4.py": SOFTMAX, "problem 5.py": LOSSES})
    _write(course / "s_short", {"p4.py": SOFTMAX, "problem_5.py": LOSSES})
    _write(course / "s_reupload", {"problem4-1.py": SOFTMAX, "problem5 (1).py": "def MSE(y, t):\n    return 0\n",
                                   "problem5 (2).py": LOSSES})
    _write(course / "s_cp949", {"problem4.py": (KOREAN + SOFTMAX).encode("cp949"),
                                "problem5.py": b"\xef\xbb\xbf" + LOSSES.encode("utf-8")})
    _write(course / "s_nothing", {"report.pdf": b"%PDF", "hw3.zip": b"PK\x03\x04"})
    return course


def test_layouts_and_encodings_as_they_arrive(tmp_path):
    """A class graded on problems 4 and 5: the modules in a subfolder, other spellings, LMS
    re-uploads (the latest wins), CP949 without a coding line and a byte-order mark all earn full
    marks, each liberty said in a remark; a folder with only report.pdf and hw3.zip is graded 0
    with what it holds, never skipped."""
    course = _class(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", str(course), "--problems", "4,5",
                           "--seed", "1", "--jobs", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=1500, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = {p.parent.name: results_json.read(p) for p in out.glob("*/results.json")}
    assert set(results) == {"s_subfolder", "s_spelling", "s_short", "s_reupload", "s_cp949", "s_nothing"}
    expected = {
        "s_subfolder": "the subfolder hw3/",
        "s_spelling": "Problem4.py was read as problem4.py",
        "s_short": "p4.py was read as problem4.py",
        "s_reupload": "problem5 (2).py was used as problem5.py (the latest upload)",
        "s_cp949": "read as CP949",
    }
    for student, words in expected.items():
        r = results[student]
        assert r.status is Status.GRADED and r.score == r.max_score == 24, (student, lost(r), r.status_reason)
        assert words in _remarks(r), (student, _remarks(r))
    assert "byte-order mark" in _remarks(results["s_cp949"], "problem5")
    nothing = results["s_nothing"]
    assert nothing.status is Status.UNGRADABLE and nothing.score == 0
    assert "hw3.zip, report.pdf — unpack the archive with `autograde intake`" in nothing.status_reason
    page = (out / "s_nothing" / "feedback.html").read_text(encoding="utf-8")
    assert "hw3.zip, report.pdf" in page  # the student is told what the folder holds
    assert "s_nothing" in (out / "grades.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["20163140", "student"])
def test_one_students_folder_with_the_code_in_hw3(tmp_path, name):
    """`autograde STUDENT` on a folder holding only hw3/ grades the student, not a class of one."""
    folder = _write(tmp_path / name, {"hw3/problem4.py": SOFTMAX})
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", str(folder), "--problems", "4",
                           "--seed", "1", "--out", str(out)], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = results_json.read(out / name / "results.json")
    assert r.score == r.max_score == 10 and "hw3/" in _remarks(r)
