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


# -- the homework's environment and the student's own helpers ------------------------------------
HELPERS = {
    "random.py": "def seed_everything():\n    return 0\n",
    "copy.py": "def clone(values):\n    return [v for v in values]\n",
    "code.py": "EPSILON = 0.0\n",
    "test.py": "import random\n\ndef check(x):\n    random.seed_everything()\n    return x\n",
    "tempfile.py": "def scratch_name():\n    return 'mine'\n",
}
"""Helpers named like the standard library's random, copy, code, test and tempfile — modules numpy,
torch and the grader use themselves."""

LENET = (REFERENCE / "problem1.py").read_text(encoding="utf-8")

PROBLEM1_SCRIPT = '''\
# a Colab script with its logging and display, as the student ran it
from torch.utils.tensorboard import SummaryWriter
import wandb
from google.colab import drive
from IPython.display import display, clear_output
import matplotlib.pyplot as plt
from tqdm import tqdm
import copy
import tempfile

drive.mount("/content/drive")
writer = SummaryWriter("runs/lenet")
wandb.init(project="hw3", config={"lr": 0.01})

''' + LENET + '''

net = Net()
for step in tqdm(range(3)):
    writer.add_scalar("loss", 1.0 / (step + 1), step)
    wandb.log({"step": step})
plt.plot([1, 2, 3])
plt.show()
display(net)
clear_output(wait=True)
print(copy.clone([1, 2]), tempfile.scratch_name())
'''

PROBLEM4_WITH_HELPERS = '''\
import random
import code
import test

''' + SOFTMAX.replace("def softmax(x):", "def softmax(x):\n    random.seed_everything()\n    x = test.check(x)") + '''

EPS = code.EPSILON
'''

PROBLEM5_MISSING = LOSSES + '''

import seaborn as sns


def plot_losses(values):
    sns.lineplot(values)
'''


def test_the_homeworks_imports_and_stdlib_named_helpers(tmp_path):
    """Problem 1 as a Colab script (TensorBoard, wandb, Drive, IPython.display, matplotlib, tqdm),
    problem 4 using the student's own random.py, code.py and test.py, beside copy.py and
    tempfile.py: full marks, a remark per stand-in. A module nobody provides (seaborn) fails with
    its name and what the grading environment has — here in code no contract name needs, so it is
    left out and problem 5 still earns its points."""
    folder = _write(tmp_path / "student", {**HELPERS, "problem1.py": PROBLEM1_SCRIPT,
                                           "problem4.py": PROBLEM4_WITH_HELPERS, "problem5.py": PROBLEM5_MISSING})
    result = grade_folder(folder, tmp_path / "out", graded_suites("1", "4", "5"))
    assert result.status is Status.GRADED and result.not_graded == [], result.status_reason
    assert lost(result) == {}, [(t.id, t.message, t.feedback) for t in result.tests if t.points < t.max_points]
    remarks = _remarks(result, "problem1")
    for what in ("TensorBoard's SummaryWriter", "Weights & Biases", "google.colab", "IPython"):
        assert what in remarks and "inert stand-in" in remarks, (what, remarks)
    assert "[1, 2] mine" in result.output  # the student's copy.py and tempfile.py, at import
    assert "seaborn" in _remarks(result, "problem5") and "No module named 'seaborn'" in _remarks(result, "problem5")


def test_a_missing_module_a_definition_needs_names_the_environment(tmp_path):
    folder = _write(tmp_path / "student", {"problem4.py": "import seaborn\n\n" + SOFTMAX.replace(
        "def softmax(x):", "def softmax(x):\n    seaborn.set_theme()")})
    result = grade_folder(folder, tmp_path / "out", graded_suites("4"))
    text = " ".join(t.message + (t.feedback.found if t.feedback else "") for t in result.tests)
    assert "No module named 'seaborn'" in text
    assert "the grading environment provides the standard library, torch, torchvision, numpy, PIL, matplotlib" in text


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
    assert proc.returncode == 5, proc.stdout + proc.stderr  # a folder could not be graded: said in the status
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
    used_py = {student: [f for f in r.unused_files if f.endswith(".py")] for student, r in results.items()}
    assert used_py == {"s_subfolder": [], "s_spelling": [], "s_short": [], "s_cp949": [], "s_nothing": [],
                       "s_reupload": ["problem5 (1).py"]}  # only the upload passed over is "not used"
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
