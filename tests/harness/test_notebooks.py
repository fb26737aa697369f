"""Notebook submissions: split by problem, turned into the contract's modules without running them.

The notebooks are written here with nbformat, in the homework's style: Korean headings, Colab's
``!pip`` and ``%matplotlib`` lines, training at top level, and one that cannot be split.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.common import headings, results_json
from autograder.common.contract import BY_MODULE, PROBLEMS
from autograder.common.results import Status, SubmissionResult
from autograder.judge import notebooks
from autograder.judge.staging import Staging
from autograder.orchestrator.report import render
from conftest import grade_folder, graded_suites, lost
from html_tree import parse
from notebook_samples import hw3_20163140, write
from test_contract import PROBE

ROOT = Path(__file__).resolve().parents[2]

NET = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 5 * 5)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
"""

SGD = """\
LEARNING_RATE = 0.01   # 모듈 상수: sgd_step의 기본값

def sgd_step(net, learning_rate=LEARNING_RATE):
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
"""

SOFTMAX = """\
import numpy as np

def softmax(x):
    e_x = np.exp(x - np.max(x))
    return e_x / e_x.sum()

x = np.array([0.4, 2.0, 0.001, 0.32])
print("소프트맥스함수 적용 결과 : {}".format(softmax(x)))
"""

LOSSES = """\
def _pick(t):
    return list(t).index(1)

def MSE(y, t):
    return 0.5 * np.sum((np.array(y) - np.array(t)) ** 2)

def cross_entropy_error(y, t):
    return -np.sum(np.array(t) * np.log(np.array(y) + 1e-7))

def loglikelihood(y, t):
    return -np.log(y[_pick(t)])

print(MSE([0.001, 0.9, 0.001, 0.098], [0, 0, 0, 1]))
"""


def _nb(*cells: tuple[str, str]) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                               for kind, src in cells])


def _folder(tmp_path: Path, nb: nbformat.NotebookNode, name: str = "hw3.ipynb") -> Path:
    folder = tmp_path / "student"
    write(nb, folder / name)
    return folder


def _probe(folder: Path, modules: list[str]) -> dict:
    """Import ``modules`` from ``folder`` in a fresh interpreter (test_contract's probe)."""
    proc = subprocess.run([sys.executable, "-c", PROBE, str(folder), *modules], cwd=folder,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _generated(folder: Path, tmp_path: Path) -> Path:
    """The worker's copy of ``folder``: its files plus the modules made from its notebooks."""
    staging = Staging.make(folder)
    copy = tmp_path / "copy"
    shutil.copytree(staging.path, copy)
    staging.close()
    return copy


# -- headings -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, module", [
    ("1", "problem1"), ("2", "problem2"), ("3-(1) INPUT - CONV(32 3*3)", "problem3_1"),
    ("문제 3-(1)", "problem3_1"), ("problem 3_1", "problem3_1"), ("Problem 3.1", "problem3_1"),
    ("problem3_6", "problem3_6"), ("3(4) 배치정규화", "problem3_4"), ("Q4", "problem4"),
    ("5번", "problem5"), ("1-(1)", "problem1"), ("3", "problem3"), ("3. 변형들", "problem3"),
    ("3-(2) 2번 문제의 신경망에 Adam 최적화", "problem3_2"),
])
def test_headings_name_problems(text, module):
    assert headings.read_heading(text).module == module


@pytest.mark.parametrize("text", ["인공지능 hw3", "(1) 화면 출력 확인", "2019년 과제", "3-(7)", "6", "Imports"])
def test_other_headings_name_no_problem(text):
    found = headings.read_heading(text)
    assert found is None or found.module is None


@pytest.mark.parametrize("stem, module", [("problem4", "problem4"), ("hw3_problem3-1", "problem3_1"),
                                          ("4", "problem4"), ("3-2", "problem3_2"), ("hw3", None),
                                          ("Untitled1", None), ("hw3_final", None)])
def test_notebook_names_name_problems(stem, module):
    found = notebooks.problem_of_filename(stem)
    assert (found.module if found else None) == module


# -- splitting and keeping ----------------------------------------------------------------------
def test_korean_headings_split_the_notebook(tmp_path):
    nb = _nb(("md", "# 인공지능 hw3\n20163140 이수진"),
             ("md", "## 문제 1"), ("code", NET), ("md", "### 1-(1) 화면 출력 확인"),
             ("code", "net = Net()\nprint(net)"), ("code", SGD),
             ("md", "## 문제 4"), ("md", "### 1. 예제 값"),  # a step inside problem 4, not problem 1
             ("code", SOFTMAX),
             ("md", "**문제 5** 손실 함수"), ("code", LOSSES))
    conversion = notebooks.convert(_folder(tmp_path, nb))
    assert conversion.errors == []
    assert [m.module for m in conversion.modules] == ["problem1", "problem4", "problem5"]
    started = {h.text: h.problem for h in conversion.headings}
    assert started["문제 1"] == "problem1" and started["1-(1) 화면 출력 확인"] == "problem1"
    assert started["인공지능 hw3"] == "" and started["1. 예제 값"] == ""  # a step starts nothing
    read_as = {h.text: h.read_as for h in conversion.headings}
    assert read_as["1. 예제 값"] == "a step inside problem4" and read_as["문제 4"] == "starts problem4"
    p1, p4, p5 = conversion.modules
    assert {c.index for c in p1.cells} == {2, 4, 5}
    assert "LEARNING_RATE = 0.01" in p1.source  # a module constant sgd_step needs
    assert "print(" not in p4.source and "x = np.array" not in p4.source
    assert "import numpy as np" in p5.source and "def _pick" in p5.source  # from problem 4's cell
    reasons = {x.code: x.reason for x in p4.left_out}
    assert "top-level call" in reasons['print("소프트맥스함수 적용 결과 : {}".format(softmax(x)))']
    assert "no contract name of problem4.py needs" in reasons["x = np.array([0.4, 2.0, 0.001, 0.32])"]
    report = _probe(_generated(_folder(tmp_path, nb), tmp_path), ["problem1", "problem4", "problem5"])
    assert set(report["modules"]["problem5"]["names"]) >= {"MSE", "cross_entropy_error", "loglikelihood"}
    assert report["events"] == [] and report["backward_calls"] == 0


TRAINING = """\
%%time
net = Net()
optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
for epoch in range(100000):          # 한 시간 넘게 학습
    optimizer.zero_grad()
    loss = criterion(net(torch.randn(4, 3, 32, 32)), torch.randint(0, 10, (4,)))
    loss.backward()
    optimizer.step()
torch.save(net.state_dict(), "net.pt")
"""


def test_magic_lines_and_top_level_training_are_left_out(tmp_path):
    nb = _nb(("code", "!pip install -q torch torchvision\n%matplotlib inline\nfrom google.colab import drive\n"
                      "drive.mount('/content/drive')"),
             ("md", "# 2"),
             ("code", "import torch\nimport torch.nn as nn\nimport torch.optim as optim\n"
                      "import torchvision.transforms as transforms\n"
                      "transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,)*3, (0.5,)*3)])\n"
                      "classes = ('plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')\n"
                      "criterion = nn.CrossEntropyLoss()\n!nvidia-smi\n"
                      "files = !ls /content\n"),
             ("code", NET.replace("nn.Conv2d(1, 6, 5)", "nn.Conv2d(3, 6, 5)")),
             ("code", TRAINING),
             ("code", "def make_optimizer(net):\n    return optim.SGD(net.parameters(), lr=0.001, momentum=0.9)\n"),
             ("code", "with torch.no_grad():\n    print(net(torch.randn(1, 3, 32, 32)))"))
    folder = _folder(tmp_path, nb)
    conversion = notebooks.convert(folder)
    (p2,) = conversion.modules
    tree = ast.parse(p2.source)
    top = [type(n).__name__ for n in tree.body]
    assert set(top) <= {"Import", "ImportFrom", "Assign", "ClassDef", "FunctionDef"}, top
    assert "backward" not in "".join(ast.unparse(n) for n in tree.body if not isinstance(n, ast.ClassDef))
    assert "google" not in p2.source and "nvidia" not in p2.source and "torch.save" not in p2.source
    reasons = [x.reason for x in p2.left_out]
    assert sorted(x.code for x in p2.left_out if "magic" in x.reason) == ["!nvidia-smi", "%%time", "files = !ls /content"]
    assert any("top-level loop" in r for r in reasons) and any("top-level block" in r for r in reasons)
    assert p2.missing == ["train", "evaluate"]
    report = _probe(_generated(folder, tmp_path), ["problem2"])
    assert report["modules"]["problem2"]["seconds"] < 5.0
    assert report["backward_calls"] == 0 and report["events"] == []
    assert {"Net", "criterion", "transform", "classes", "make_optimizer"} <= set(report["modules"]["problem2"]["names"])


def test_a_notebook_that_cannot_be_split_names_its_headings(tmp_path):
    nb = _nb(("md", "# Homework 3"), ("code", SOFTMAX), ("md", "## Training"), ("code", NET),
             ("md", "## Results"), ("code", "print('done')"))
    folder = _folder(tmp_path, nb)
    conversion = notebooks.convert(folder)
    assert conversion.modules == []
    (error,) = conversion.errors
    assert "cannot be split" in error and "'Homework 3'; 'Training'; 'Results'" in error
    result = grade_folder(folder, tmp_path / "out", graded_suites("4"))
    assert result.status is Status.UNGRADABLE
    assert "'Homework 3'; 'Training'; 'Results'" in result.status_reason


def test_a_heading_3_without_variation_is_reported(tmp_path):
    nb = _nb(("md", "# 3"), ("code", NET), ("md", "# 4"), ("code", SOFTMAX))
    conversion = notebooks.convert(_folder(tmp_path, nb))
    assert [m.module for m in conversion.modules] == ["problem4"]
    assert any("no 3-(n) heading" in e for e in conversion.errors)


def test_first_line_comments_and_per_problem_notebooks(tmp_path):
    folder = tmp_path / "student"
    write(_nb(("code", SOFTMAX)), folder / "problem4.ipynb")
    write(_nb(("code", "# problem5\nimport numpy as np\n" + LOSSES), ("code", "# problem3_2\nimport torch.optim as optim\n"
              "def make_optimizer(net):\n    return optim.Adam(net.parameters(), lr=0.001)")), folder / "losses.ipynb")
    conversion = notebooks.convert(folder)
    assert {m.module: m.notebook for m in conversion.modules} == {
        "problem3_2": "losses.ipynb", "problem4": "problem4.ipynb", "problem5": "losses.ipynb"}


def test_a_py_file_wins_over_the_notebook(tmp_path):
    folder = _folder(tmp_path, _nb(("md", "# 4"), ("code", SOFTMAX), ("md", "# 5"), ("code", "import numpy as np\n" + LOSSES)))
    (folder / "problem4.py").write_text("def softmax(x):\n    return 'from the .py file'\n")
    conversion = notebooks.convert(folder)
    assert {m.module: m.used for m in conversion.modules} == {"problem4": False, "problem5": True}
    copy = _generated(folder, tmp_path)
    assert "from the .py file" in (copy / "problem4.py").read_text()
    assert "generated by the autograder" in (copy / "problem5.py").read_text()


def test_a_variation_takes_problem_2s_definitions_by_import(tmp_path):
    nb = _nb(("md", "# 2"),
             ("code", "import torch.nn as nn\nimport torch.optim as optim\nLR = 0.001\nMOMENTUM = 0.9\n"
                      "criterion = nn.CrossEntropyLoss()\n"
                      "def make_optimizer(net):\n    return optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)\n"),
             ("md", "## 3-(6) L2 정규화"),
             ("code", "def make_optimizer(net):\n    return optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, "
                      "weight_decay=1e-4)\n\nnet = Net()\noptimizer = make_optimizer(net)"))
    folder = _folder(tmp_path, nb)
    p36 = notebooks.convert(folder).module("problem3_6")
    assert p36.from_problem2 == ["LR", "MOMENTUM"]
    assert "from problem2 import LR, MOMENTUM" in p36.source and "import torch.optim as optim" in p36.source
    report = _probe(_generated(folder, tmp_path), ["problem2", "problem3_6"])
    assert "make_optimizer" in report["modules"]["problem3_6"]["names"]


def test_a_dependency_defined_after_its_use_is_placed_before_it(tmp_path):
    nb = _nb(("md", "# 2"),
             ("code", "transform = transforms.Compose([transforms.ToTensor()])"),
             ("code", "import torchvision.transforms as transforms"))
    p2 = notebooks.convert(_folder(tmp_path, nb)).module("problem2")
    assert p2.source.index("import torchvision.transforms") < p2.source.index("transform = ")


# -- hostile notebooks --------------------------------------------------------------------------
def test_hostile_notebooks_are_reported_not_crashed_on(tmp_path, monkeypatch):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "a_json.ipynb").write_text("{not json")
    (folder / "b_bytes.ipynb").write_bytes(b"\xff\xfe\x00garbage")
    (folder / "c_list.ipynb").write_text("[1, 2, 3]")
    big = _nb(("md", "# 4"), ("code", SOFTMAX + "#" * 5000))
    write(big, folder / "d_big.ipynb")
    invalid = json.loads(nbformat.writes(_nb(("md", "# 5"), ("code", "import numpy as np\n" + LOSSES))))
    invalid["cells"][1]["outputs"] = [{"output_type": "weird"}]  # against the schema, still readable
    (folder / "e_invalid.ipynb").write_text(json.dumps(invalid))
    del invalid["cells"][1]["metadata"]  # nbformat refuses to read this one
    (folder / "e_no_metadata.ipynb").write_text(json.dumps(invalid))
    write(_nb(("md", "# 1"), ("code", "def sgd_step(net, lr:\n    pass"), ("code", NET)), folder / "f_syntax.ipynb")
    (folder / "g_link.ipynb").symlink_to("/etc/passwd")
    monkeypatch.setattr(notebooks, "MAX_NOTEBOOK_BYTES", 4000)
    conversion = notebooks.convert(folder)
    errors = "\n".join(conversion.errors)
    assert "a_json.ipynb: not a notebook nbformat can read" in errors
    assert "b_bytes.ipynb: not UTF-8" in errors
    assert "c_list.ipynb: not a notebook" in errors
    assert "d_big.ipynb:" in errors and "over the 4,000 a notebook may have" in errors
    assert "e_invalid.ipynb: does not follow the notebook format" in errors and "read anyway" in errors
    assert "e_no_metadata.ipynb: not a notebook nbformat can read (ValidationError" in errors
    assert "f_syntax.ipynb, cell 2: does not parse as Python, line 1" in errors
    assert "g_link.ipynb" not in conversion.notebooks
    assert {m.module for m in conversion.modules} == {"problem1", "problem5"}
    assert conversion.module("problem1").missing == ["sgd_step"]
    assert any("does not parse" in x.reason for x in conversion.module("problem1").left_out)


def test_too_many_notebooks_are_not_all_read(tmp_path, monkeypatch):
    folder = tmp_path / "student"
    for i in range(4):
        write(_nb(("md", "# 4"), ("code", SOFTMAX)), folder / f"nb{i}.ipynb")
    monkeypatch.setattr(notebooks, "MAX_NOTEBOOKS", 2)
    conversion = notebooks.convert(folder)
    assert conversion.notebooks == ["nb0.ipynb", "nb1.ipynb"]
    assert any("4 notebooks; only the first 2" in e for e in conversion.errors)
    assert any("problem4: cells in nb0.ipynb, nb1.ipynb" in e for e in conversion.errors)


# -- results and the report ---------------------------------------------------------------------
def test_the_conversion_round_trips_through_results_json_and_is_shown_escaped(tmp_path):
    nb = _nb(("md", "# 4 <script>alert(1)</script>"),
             ("code", SOFTMAX.replace("print(", "print('</pre><script>alert(2)</script>', ")))
    conversion = notebooks.convert(_folder(tmp_path, nb))
    result = SubmissionResult(student="s1", submission="s1", notebook=conversion)
    back = results_json.read(results_json.write(result, tmp_path / "results.json"))
    assert back.notebook == conversion
    path = render.render_submission(back, tmp_path / "s1" / "report.html")
    doc = parse(path.read_text(encoding="utf-8"))
    assert not [el for el in doc.find_all("script") if "alert" in el.text]
    section = doc.by_id("notebook")
    module = section.find("details", data_notebook_module="problem4")
    assert "def softmax(x):" in module.find("div", class_="nb-generated").text
    assert "</pre><script>alert(2)</script>" in module.find("div", class_="nb-cells").text
    assert "top-level call" in module.find("table", class_="left-out").text
    assert "4 <script>alert(1)</script>" in section.find("table", class_="headings").text


# -- 20163140 as a notebook ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def hw3_notebook(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nb") / "20163140"
    write(hw3_20163140(), folder / "hw3.ipynb")
    return folder


def test_20163140_notebook_generates_every_contract_module(hw3_notebook, tmp_path):
    conversion = notebooks.convert(hw3_notebook)
    assert conversion.errors == []
    assert [m.module for m in conversion.modules] == [p.module for p in PROBLEMS]
    assert all(m.missing == [] and m.unresolved == [] for m in conversion.modules)
    copy = _generated(hw3_notebook, tmp_path)
    report = _probe(copy, [p.module for p in PROBLEMS])
    for spec in PROBLEMS:
        names = set(report["modules"][spec.module]["names"])
        assert set(spec.own_names or spec.names) <= names, spec.module
        assert report["modules"][spec.module]["seconds"] < 5.0, spec.module
    assert report["backward_calls"] == 0 and report["events"] == []
    for m in conversion.modules:  # nothing of the notebook's script survived
        assert "train(net, trainloader, criterion, optimizer, 2)" not in m.source
        assert "download = True" not in m.source and "imshow" not in m.source


def test_20163140_notebook_grades_full_marks_on_problems_1_4_5(hw3_notebook, tmp_path):
    result = grade_folder(hw3_notebook, tmp_path / "out", graded_suites("1", "4", "5"))
    assert result.status is Status.GRADED
    assert lost(result) == {}
    checks = sum(BY_MODULE[m].points - BY_MODULE[m].written for m in ("problem1", "problem4", "problem5"))
    assert (result.score, result.max_score) == (checks, checks)  # 36: problem 1's written 3 are a person's
    assert [m.module for m in result.notebook.modules][:1] == ["problem1"]


def test_20163140_notebook_grades_as_its_py_files_on_every_problem(hw3_notebook, graded_20163140, tmp_path):
    """The whole rubric at `quick`: the notebook earns, check by check, what the .py files earn
    (95 of the 97 automated points: 3-(1)'s two architecture points lost), with the same trainings."""
    every = graded_suites(*(p.module for p in PROBLEMS))
    from_notebook = grade_folder(hw3_notebook, tmp_path / "nb", every)
    from_files = graded_20163140
    for result in (from_notebook, from_files):
        assert result.status is Status.GRADED and result.not_graded == [], result.status_reason
    points = {t.id: t.points for t in from_files.tests}
    assert {t.id: t.points for t in from_notebook.tests} == points
    assert (from_notebook.score, from_notebook.max_score) == (from_files.score, from_files.max_score) == (95, 97)
    assert lost(from_notebook) == {"test_four_distinct_convolutions": 1, "test_output_layer_and_weights": 1}
    assert ({r.problem: r.accuracy for r in from_notebook.training}
            == {r.problem: r.accuracy for r in from_files.training})


def test_percent_continuation_lines_and_quoted_code_are_not_magics_or_headings(tmp_path):
    nb = _nb(("md", "# 5\n```python\n# 1\nprint(1)\n```"),
             ("code", "import numpy as np\n" + LOSSES + "\ndef report(a, b):\n    return ('%d / %d'\n"
                      "            % (a, b))\n%timeit MSE([1], [1])\nok = (1\n      != 2)\n"))
    folder = tmp_path / "student"
    write(nb, folder / "hw3\nimport os.ipynb")
    conversion = notebooks.convert(folder)
    assert conversion.errors == []
    assert [h.text for h in conversion.headings] == ["5"]
    (p5,) = conversion.modules
    assert [x.code for x in p5.left_out if "magic" in x.reason] == ["%timeit MSE([1], [1])"]
    assert "from hw3?import os.ipynb" in p5.source.splitlines()[0]


def test_report_style_plain_number_lines_start_problems(tmp_path):
    nb = _nb(("md", "1\n\n<코드해석>"), ("code", NET + "\n" + SGD), ("md", "**4**"), ("code", SOFTMAX),
             ("md", "5"), ("code", LOSSES))
    conversion = notebooks.convert(_folder(tmp_path, nb))
    assert [m.module for m in conversion.modules] == ["problem1", "problem4", "problem5"]


def test_a_deep_chain_of_definitions_is_reported_quickly(tmp_path):
    chain = "a0 = 1\n" + "".join(f"a{i} = a{i - 1} + 1\n" for i in range(1, 5000))
    nb = _nb(("md", "# 4"), ("code", chain + "def softmax(x):\n    return a4999\n"),
             ("md", "# 5"), ("code", "import numpy as np\n" + LOSSES))
    conversion = notebooks.convert(_folder(tmp_path, nb))
    assert [m.module for m in conversion.modules] == ["problem5"]
    assert any("problem4 needs depend on each other too deeply" in e for e in conversion.errors)
