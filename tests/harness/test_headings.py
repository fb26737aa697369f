"""One reading of the headings students write (`autograder.common.headings`): the notebook
splitter and the report.md reader agree on every heading, a heading naming no problem ends the
problem's cells, the headings table says what each heading was read as, a cell that cannot be
used is said to the student — and reading is linear in the text, whatever the text."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.common import results_json
from autograder.common.headings import read_heading
from autograder.common.results import SubmissionResult
from autograder.common.student_view import student_view
from autograder.judge import notebooks
from autograder.judge.staging import Staging
from autograder.orchestrator.report import answers

PACKAGE = Path(__file__).resolve().parents[2] / "autograder"

HEADINGS = {
    "1": "problem1", "2. CIFAR-10 분류기": "problem2", "3-(1) INPUT - CONV(32 3*3)": "problem3_1",
    "문제 3-(1)": "problem3_1", "문제 3 (2)": "problem3_2", "3 - (6)": "problem3_6", "Problem 3.4": "problem3_4",
    "problem3_5": "problem3_5", "Part 2: problem 4": "problem4", "인공지능 hw3 문제 1": "problem1",
    "[과제] Q5": "problem5", "5번": "problem5", "1-(4) 구조 설명": "problem1",
    "3-(2) 2번 문제의 신경망에 Adam 최적화": "problem3_2",
    "Other experiments": None, "Compare with problem 2": None, "2019년 소감": None, "3-(7)": None,
    "3D plots": None, "hw3 notes": None, "6": None, "기타": None,
}
"""Headings and the contract module each names (None: no module; "3" alone is not one either)."""


def _nb(*cells: tuple[str, str]) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                               for kind, src in cells])


def _folder(tmp_path: Path, nb: nbformat.NotebookNode, name: str = "hw3.ipynb") -> Path:
    folder = tmp_path / "student"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(nbformat.writes(nb), encoding="utf-8")
    return folder


@pytest.mark.parametrize("text, module", list(HEADINGS.items()))
def test_notebooks_and_report_md_read_a_heading_alike(tmp_path, text, module):
    assert answers.problem_of_heading(text) == module
    nb = _nb(("md", f"## {text}"), ("code", "x = 1"))
    (heading,) = notebooks.convert(_folder(tmp_path, nb)).headings
    assert (heading.problem or None) == module
    assert heading.read_as == (f"starts {module}" if module else "names no problem")


def test_a_heading_naming_no_problem_ends_the_problems_cells(tmp_path):
    """'## Other experiments' at the problem's level ends its cells: the experiments there do not
    redefine problem 2's Net; a deeper step heading stays inside the problem and says so."""
    nb = _nb(("md", "## 2"), ("md", "### 1. Load and normalize CIFAR10"),
             ("code", "import torch.nn as nn\nclass Net(nn.Module):\n    size = 'the homework'\n"),
             ("md", "## Other experiments"),
             ("code", "class Net(nn.Module):\n    size = 'an experiment'\n"))
    conversion = notebooks.convert(_folder(tmp_path, nb))
    p2 = conversion.module("problem2")
    assert "'the homework'" in p2.source and "'an experiment'" not in p2.source
    read_as = {h.text: (h.problem, h.read_as) for h in conversion.headings}
    assert read_as["2"] == ("problem2", "starts problem2")
    assert read_as["1. Load and normalize CIFAR10"] == ("", "a step inside problem2")  # never "problem1"
    assert read_as["Other experiments"] == ("", "names no problem: ends problem2's cells")


def test_names_missing_from_the_problems_cells_are_taken_after_its_end(tmp_path):
    """'# 2' then '# Training' at the same level: the definitions under 'Training' that problem 2's
    own cells lack are still its, and the report says where they came from."""
    nb = _nb(("md", "# 2"), ("code", "import torch.nn as nn\ncriterion = nn.CrossEntropyLoss()\n"),
             ("md", "# Training"),
             ("code", "import torch.optim as optim\ndef make_optimizer(net):\n    return optim.SGD(net.parameters(), lr=0.01)\n"
                      "criterion = nn.MSELoss()\n"))
    folder = _folder(tmp_path, nb)
    p2 = notebooks.convert(folder).module("problem2")
    assert p2.after_end == ["make_optimizer"]
    assert "def make_optimizer" in p2.source and "CrossEntropyLoss" in p2.source and "MSELoss" not in p2.source
    staging = Staging.make(folder)
    try:
        assert any(r.problem == "problem2" and "make_optimizer: not in problem2's own cells" in r.text
                   for r in staging.remarks)
    finally:
        staging.close()


def test_the_student_is_told_when_a_cell_could_not_be_used(tmp_path):
    nb = _nb(("md", "# 5"), ("code", "import numpy as np\ndef MSE(y, t):\n    return 0.5 * np.sum((y - t) ** 2)\n"),
             ("code", "def cross_entropy_error(y, t:\n    return 0\n"))
    folder = _folder(tmp_path, nb)
    staging = Staging.make(folder)
    try:
        result = SubmissionResult(student="s", submission="s", remarks=list(staging.remarks))
    finally:
        staging.close()
    (remark,) = [r for r in result.remarks if r.problem == "problem5"]
    assert remark.text.startswith("hw3.ipynb cell 3 could not be used: it does not parse as Python, line 1")
    from autograder.common.results import Outcome, TestResult
    result.tests.append(TestResult(id="t", name="MSE", problem="problem5", max_points=1, points=0,
                                   outcome=Outcome.FAILED, message="problem5.py does not define `cross_entropy_error`"))
    view = student_view(result)
    assert view.problems[0].remarks == [remark.text]  # beside the check that failed for it


# -- hostile text ------------------------------------------------------------------------------
SPACES = " " * 100_000


@pytest.mark.timeout(120)
def test_reading_is_linear_in_hostile_text(tmp_path):
    """100,000-character headings, comment lines, bold, magic-looking and plain lines: the cubic
    patterns this replaced took 20 s for 2,000 spaces (hours for these); a linear reading takes
    well under a second for each. The bound is the suite's timeout, generous on purpose."""
    markdown = [
        "#" + SPACES + "x", "##" + SPACES + "3" + SPACES + "-" + SPACES + "(1)" + SPACES + "#" * 1000,
        "# " + "problem" + SPACES + "3" + SPACES, "**" + "a" * 100_000, "- " + "#" * 100_000,
        "문제" + SPACES + "3" + SPACES + "(" + SPACES, "Part 2:" + SPACES + "problem 4",
        "p " * 50_000, "3" + " -" * 50_000, "1." + SPACES + "x", "```" + SPACES,
    ]
    code = ["#" + SPACES + "problem3_1", "# " + "p " * 50_000, "x" + SPACES + "=" + SPACES + "!ls",
            "a, " * 30_000 + "b = %time f()", "%" + "%" * 100_000, "!" + "=" * 100_000,
            "\n".join("# comment " + "c" * 1000 for _ in range(100)) + "\ndef softmax(x):\n    return x\n"]
    cases = [("md", t) for t in markdown] + [("code", t) for t in code]
    for i, (kind, text) in enumerate(cases):
        folder = _folder(tmp_path / str(i), _nb((kind, text), ("md", "# 문제 4"), ("code", "def softmax(x):\n    return x\n")))
        conversion = notebooks.convert(folder)
        assert conversion is not None and conversion.module("problem4") is not None, (kind, text[:40])
    assert notebooks.convert(_folder(tmp_path / "h", _nb(("md", markdown[1]), ("code", "x = 1")))).headings[0].problem \
        == "problem3_1"
    for text in markdown:
        read_heading(text)
        answers.problem_of_heading(text)
    answers.answer_sections("\n\n".join("## " + line for line in markdown))


def test_no_regular_expression_reads_student_text_in_the_conversion():
    """By construction: the heading reader, the layout rules and the notebook conversion use no
    regular expression at all (none can backtrack)."""
    for rel in ("common/headings.py", "common/layout.py", "common/text.py", "judge/notebooks.py"):
        tree = ast.parse((PACKAGE / rel).read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "re" not in imported and "regex" not in imported, rel


def test_a_lone_surrogate_in_a_notebook_cannot_fail_the_results(tmp_path):
    """A heading holding the JSON escape \\udcff (no code of it runs), and a notebook file name that
    is not UTF-8: replaced where they are read, so results.json is written whole."""
    text = json.dumps(_nb(("md", "## 4 \udcff"), ("code", "import numpy as np\ndef softmax(x):\n    return x\n"
                                                          "# \udcff\n")), ensure_ascii=True)
    assert "\\udcff" in text
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / os.fsdecode(b"hw3\xff.ipynb")).write_text(text, encoding="utf-8")
    conversion = notebooks.convert(folder)
    assert [m.module for m in conversion.modules] == ["problem4"]
    assert conversion.headings[0].text == "4 \ufffd" and conversion.headings[0].problem == "problem4"
    result = SubmissionResult(student="s", submission="s", notebook=conversion)
    back = results_json.read(results_json.write(result, tmp_path / "results.json"))
    assert back.notebook.headings[0].text == "4 \ufffd" and "\ufffd" in back.notebook.notebooks[0]


def test_a_notebook_is_converted_in_its_own_submissions_time_not_ahead_of_it(tmp_path, monkeypatch):
    """A judge server makes the next submission's session, and starts its worker, while it grades
    the one before: a submission with notebooks gets no head start, so its conversion runs when its
    own grading asks for its files (on its own clock), never on the head start's thread during
    another submission's grading."""
    import threading

    from autograder.common import config as cfg
    from autograder.judge import session as session_module

    threads: list[str] = []
    real = Staging.make

    def recording(submission: Path) -> Staging:
        threads.append(threading.current_thread().name)
        return real(submission)

    monkeypatch.setattr(session_module.Staging, "make", staticmethod(recording))
    folder = _folder(tmp_path / "s", _nb(("md", "# 문제 4" + SPACES), ("code", "def softmax(x):\n    return x\n")))
    made = session_module.GradingSession(cfg.resolve({"seed": 1, "budget": "quick", "device": "cpu"}), folder, None)
    try:
        made.start_worker_ahead(frozenset({"problem4"}))
        assert made._ahead is not None and made._ahead.get() is None
        assert threads == []  # nothing of the notebook was read ahead
        assert made.staging().notebook is not None
        assert threads == [threading.current_thread().name]
    finally:
        made.close()
