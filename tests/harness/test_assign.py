"""`autograde assign`: the handout and its self-check.

The starters graded by the grader earn only what the homework gives and lose the rest with the
NotImplementedError they raise, never a grader fault; the reference and submission 20163140 pass
the self-check; each contract mistake the grader charges is caught by it; check.py reads folders
and notebooks with the grader's own rules (they agree on every listing tried); and nothing of the
reference solutions or of the checks' hidden values is in the handout.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from autograder.common import contract, layout
from autograder.common.budgets import FLOORS
from autograder.common.results import Outcome
from autograder.judge import notebooks
from autograder.orchestrator import assign, cli

from conftest import GRADED, REFERENCE, ROOT, grade_folder

STARTERS = [f"{p.module}.py" for p in contract.PROBLEMS]


@pytest.fixture(scope="module")
def handout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("handout") / "h"
    assert cli.main(["assign", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def check_module(handout: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("hw3_check_under_test", handout / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def self_check(handout: Path, target: Path) -> tuple[int, str]:
    done = subprocess.run([sys.executable, str(handout / "check.py"), str(target)], capture_output=True,
                          text=True, timeout=600, cwd=target if target.is_dir() else target.parent)
    return done.returncode, done.stdout + done.stderr


def test_the_handout_holds_what_the_issue_names(handout: Path) -> None:
    names = sorted(p.name for p in handout.iterdir())
    assert names == sorted(["ASSIGNMENT.md", "check.py", "hw3.ipynb", *STARTERS])
    text = (handout / "ASSIGNMENT.md").read_text(encoding="utf-8")
    for spec in contract.PROBLEMS:
        assert f"`{spec.module}.py`" in text
    for package in contract.GRADING_ENVIRONMENT:
        assert package in text
    assert "train(net, trainloader, criterion, optimizer, epochs)" in text
    assert "must not train" in text


def test_starter_signatures_are_the_contracts(handout: Path) -> None:
    for spec in contract.PROBLEMS:
        tree = ast.parse((handout / f"{spec.module}.py").read_text(encoding="utf-8"))
        defined = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assigned = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                    if isinstance(t, ast.Name)}
        for name in spec.own_names or spec.names:
            assert name in defined or name in assigned, f"{spec.module}.py lacks {name}"
            node = defined.get(name)
            if isinstance(node, ast.FunctionDef):
                assert tuple(a.arg for a in node.args.args) == contract.SIGNATURES[name], (spec.module, name)
                assert ast.get_docstring(node), f"{spec.module}.{name} has no docstring"


def test_the_reference_takes_the_contracts_arguments() -> None:
    for spec in contract.PROBLEMS:
        tree = ast.parse((REFERENCE / f"{spec.module}.py").read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in contract.SIGNATURES:
                assert tuple(a.arg for a in node.args.args) == contract.SIGNATURES[node.name]


def test_check_py_carries_the_graders_limits_and_words(check_module: types.ModuleType) -> None:
    from autograder.judge.worker_client import WorkerSettings
    from autograder.worker.main import ENVIRONMENT_HINT

    import dataclasses

    default = {f.name: f.default for f in dataclasses.fields(WorkerSettings)}["import_timeout"]
    assert check_module.IMPORT_SECONDS == default
    assert check_module.environment_hint(check_module.grader("contract")) == ENVIRONMENT_HINT
    for name, path in assign.EMBEDDED.items():
        embedded = check_module.GRADER_SOURCES[name]
        assert "autograder." not in "\n".join(l for l in embedded.splitlines() if l.startswith(("from ", "import ")))
        assert len(embedded.splitlines()) == len((ROOT / path).read_text(encoding="utf-8").splitlines())


LISTINGS = [
    STARTERS,
    ["Problem4.py", "problem 5.py", "p1.py", "3-1.py", "problem3-2.py", "problem3.3.py", "hw3_problem3-4.py"],
    ["problem5 (1).py", "problem5.py", "problem5-1.py", "problem3_1-2.py", "problem4_final.py"],
    ["hw3/problem1.py", "hw3/problem2.py", "other/problem4.py", "report.pdf"],
    ["HW3_20163140/hw3/problem1.py", "__MACOSX/problem1.py", ".hidden/problem2.py"],
    ["hw3.ipynb", "problem2.py", "문제4.py", "q5.py", "problem3.py"],
    ["hw3.zip", "report.pdf"],
    [],
]


@pytest.mark.parametrize("files", LISTINGS, ids=[str(i) for i in range(len(LISTINGS))])
def test_check_py_reads_a_folder_as_the_grader_does(check_module: types.ModuleType, files: list[str]) -> None:
    theirs = check_module.grader("layout").plan(files)
    ours = layout.plan(files)
    assert (theirs.root, theirs.modules, theirs.notebooks, [(n.module, n.text) for n in theirs.notes]) == \
        (ours.root, ours.modules, ours.notebooks, [(n.module, n.text) for n in ours.notes])
    assert theirs.no_code_reason() == ours.no_code_reason()


def test_the_notebook_splits_into_every_module(handout: Path, tmp_path: Path,
                                               check_module: types.ModuleType) -> None:
    shutil.copy(handout / "hw3.ipynb", tmp_path / "hw3.ipynb")
    conversion = notebooks.convert(tmp_path)
    assert conversion is not None and not conversion.errors
    by_module = {m.module: m for m in conversion.modules}
    assert sorted(by_module) == sorted(p.module for p in contract.PROBLEMS)
    for spec in contract.PROBLEMS:
        made = by_module[spec.module]
        assert made.used and not made.missing, (spec.module, made.missing)
        assert "__main__" not in made.source
    theirs = check_module.grader("notebooks").convert(tmp_path)
    assert [(m.module, m.source) for m in theirs.modules] == [(m.module, m.source) for m in conversion.modules]


def _bodies(tree: ast.AST) -> list[tuple[str, str]]:
    return [(node.name, ast.dump(ast.Module(body=node.body, type_ignores=[])))
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


def _normalised(text: str) -> str:
    return " ".join(text.split())


HIDDEN = ({f"{v:g}" for floors in FLOORS.values() for v in floors.values()}
          | {f"{100 * v:g} %" for floors in FLOORS.values() for v in floors.values()}
          | {"5e-4", "0.0005", "36,650", "36650"})
"""Values the checks hold that the homework never prints: the accuracy floors, the reference's
weight decay, 3-(1)'s weight count."""


def leaks(handout: Path) -> list[str]:
    """What of the reference solutions and of the checks' hidden values the handout holds."""
    import nbformat

    bodies: set[str] = set()
    sources = [(handout / n).read_text(encoding="utf-8") for n in STARTERS]
    sources += [c.source for c in nbformat.read(handout / "hw3.ipynb", as_version=4).cells if c.cell_type == "code"]
    sources.append((handout / "check.py").read_text(encoding="utf-8"))
    for source in sources:
        bodies |= {dump for _, dump in _bodies(ast.parse(source))}
    everything = _normalised("\n".join(p.read_text(encoding="utf-8") for p in handout.iterdir()))
    found = []
    for path in sorted(REFERENCE.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                if ast.dump(ast.Module(body=node.body, type_ignores=[])) in bodies:
                    found.append(f"the body of {path.name}:{node.name}")
                text = textwrap.dedent("\n".join((ast.get_source_segment(source, node) or "").splitlines()[1:]))
                if _normalised(text) in everything:
                    found.append(f"the text of {path.name}:{node.name}")
    shown = "\n".join((handout / n).read_text(encoding="utf-8") for n in [*STARTERS, "ASSIGNMENT.md", "hw3.ipynb"])
    shown += (assign.TEMPLATES / "check.py.in").read_text(encoding="utf-8")
    found += [f"the value {v}" for v in sorted(HIDDEN) if v in shown]
    return found


def test_no_reference_code_nor_hidden_value_in_the_handout(handout: Path) -> None:
    assert leaks(handout) == []


def test_a_leak_is_found(handout: Path, tmp_path: Path) -> None:
    """The test above can fail: the reference's softmax, or a floor, in a starter is found."""
    copy = tmp_path / "h"
    shutil.copytree(handout, copy)
    shutil.copy(REFERENCE / "problem4.py", copy / "problem4.py")
    with (copy / "problem3_2.py").open("a", encoding="utf-8") as f:
        f.write(f"\n# reach {100 * FLOORS['quick']['problem3_2']:g} %\n")
    found = leaks(copy)
    assert "the body of problem4.py:softmax" in found and "the text of problem4.py:softmax" in found
    assert f"the value {100 * FLOORS['quick']['problem3_2']:g} %" in found


GIVEN_CHECKS = {
    "test_problem1.py::test_module_tree", "test_problem1.py::test_parameters", "test_problem1.py::test_output_shape",
    "test_problem1.py::test_forward_equivalence", "test_problem1.py::test_loss_and_gradients",
    "test_problem2.py::test_transform_maps_pixels_into_minus_one_to_one",
    "test_problem2.py::test_network_layers_and_weights", "test_problem2.py::test_forward_matches_the_reference",
    "test_problem2.py::test_criterion_is_cross_entropy",
}
"""The checks of the code the homework gives (the tutorial's networks, transform and loss), which
the starters keep: the only ones they pass."""


@pytest.mark.usefixtures("cifar_present")
def test_starters_graded_lose_what_the_student_writes(handout: Path, tmp_path: Path) -> None:
    folder = tmp_path / "starter"
    folder.mkdir()
    for name in STARTERS:
        shutil.copy(handout / name, folder / name)
    result = grade_folder(folder, tmp_path / "out", [str(p) for p in sorted(GRADED.glob("test_problem*.py"))])
    assert result.status.value != "grader_fault"
    scored = [t for t in result.tests if not t.advisory]
    assert {t.id.rpartition("/")[2] for t in scored if t.outcome is Outcome.PASSED} == GIVEN_CHECKS
    earned = sum(t.points for t in scored)
    assert f"the given code ({earned:g} of the 100" in _normalised((ROOT / "README.md").read_text(encoding="utf-8"))
    for test in scored:
        assert test.outcome is not Outcome.NOT_GRADED, (test.id, test.message)
        if test.id.rpartition("/")[2] not in GIVEN_CHECKS:
            assert test.outcome is Outcome.FAILED and test.points == 0, test.id
            text = test.message + (str(test.feedback) if test.feedback else "")
            assert "NotImplementedError" in text and "write " in text, (test.id, text[:300])


@pytest.mark.parametrize("folder", [REFERENCE, ROOT / "submissions" / "20163140"], ids=["reference", "20163140"])
def test_the_reference_passes_the_self_check(handout: Path, folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
    code, output = self_check(handout, copy)
    assert code == 0, output
    assert output.strip().splitlines()[-1].startswith("ready"), output
    assert "FIX" not in output


def _reference_module(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


MISTAKES = {
    "misnamed file": ({"problem4_final.py": _reference_module("problem4.py")},
                      ["problem4_final.py looks like problem4.py but has more in its name",
                       "problem4.py is missing from the submission"]),
    "missing name": ({"problem1.py": _reference_module("problem1.py").replace("def sgd_step", "def sgd_stepp")},
                     ["problem1.py does not define `sgd_step`"]),
    "wrong signature": ({"problem5.py": _reference_module("problem5.py").replace("def MSE(y, t)", "def MSE(y)")},
                        ["problem5.py: `MSE` cannot be called as the grader calls it, MSE(y, t)"]),
    "training at import": ({"problem2.py": _reference_module("problem2.py") + textwrap.dedent("""
                                _x = torch.randn(40, 3, 32, 32)
                                _loader = torch.utils.data.DataLoader(
                                    torch.utils.data.TensorDataset(_x, torch.arange(40) % 10), batch_size=4)
                                net = Net()
                                train(net, _loader, criterion, make_optimizer(net), 1)
                                """)},
                           ["problem2.py trains when it is imported (a backward pass at problem2.py line"]),
    "unavailable import": ({"problem4.py": "import sklearn.utils\n" + _reference_module("problem4.py")},
                           ["problem4.py: No module named 'sklearn' — the grading environment provides"]),
    "download at import": ({"problem4.py": _reference_module("problem4.py") + textwrap.dedent("""
                                import urllib.request
                                urllib.request.urlopen("http://127.0.0.1:9/cifar-10-python.tar.gz")
                                """)},
                           ["problem4.py downloads when it is imported"]),
    "exit at import, after plt.show()": ({"problem4.py": _reference_module("problem4.py") + textwrap.dedent("""
                                import matplotlib.pyplot as plt
                                plt.plot([1, 2])
                                plt.show()
                                import os
                                os._exit(3)
                                """)},
                           ["problem4.py: importing failed — the Python importing it ended without a word "
                            "(exit status 3)"]),
    "download by name": ({"problem4.py": _reference_module("problem4.py") + textwrap.dedent("""
                                import socket
                                socket.getaddrinfo("localhost", 80)
                                """)},
                           ["problem4.py downloads when it is imported"]),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_the_self_check_catches_each_contract_mistake(handout: Path, tmp_path: Path, mistake: str) -> None:
    files, expected = MISTAKES[mistake]
    folder = tmp_path / "submission"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    code, output = self_check(handout, folder)
    assert code == 1, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("to fix"), output
    for words in expected:
        assert words in last, (words, output)


def test_the_self_check_reads_a_notebook(handout: Path, tmp_path: Path) -> None:
    """The handout's own notebook: every module found, every name there, each not implemented yet."""
    notebook = tmp_path / "hw3.ipynb"
    shutil.copy(handout / "hw3.ipynb", notebook)
    code, output = self_check(handout, notebook)
    assert code == 1, output
    assert "is missing" not in output and "does not define" not in output, output
    assert "problem4.py: `softmax` is not implemented yet" in output
    assert "problem1.py: Net has 61,706 weights" in output


def test_assign_is_a_command() -> None:
    assert "assign" in cli.SUBCOMMANDS
    done = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", "assign", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--out" in done.stdout
    assert inspect.isfunction(cli.assign_main)


def test_an_import_that_blocks_is_stopped_at_the_graders_limit(handout: Path, tmp_path: Path) -> None:
    """A module that neither trains nor connects but does not end (a sleep, a plot window) is
    stopped at the limit; a copy of check.py with a 3 s limit keeps the test short."""
    text = (handout / "check.py").read_text(encoding="utf-8")
    assert f"IMPORT_SECONDS = {assign.IMPORT_SECONDS!r}\n" in text
    quick = tmp_path / "h"
    quick.mkdir()
    (quick / "check.py").write_text(text.replace(f"IMPORT_SECONDS = {assign.IMPORT_SECONDS!r}\n",
                                                 "IMPORT_SECONDS = 3.0\n", 1), encoding="utf-8")
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "problem4.py").write_text("import time\n\ntime.sleep(120)\n" + _reference_module("problem4.py"),
                                        encoding="utf-8")
    code, output = self_check(quick, folder)
    assert code == 1
    assert ("problem4.py runs code when it is imported (importing it did not end in 3 s): put such code under "
            "`if __name__ == \"__main__\":`") in output.strip().splitlines()[-1], output


def test_check_py_needs_only_the_homeworks_packages(check_module: types.ModuleType, handout: Path) -> None:
    """The standard library, torch, torchvision, numpy and PIL (torchvision's), and nbformat for a notebook."""
    sources = [(handout / "check.py").read_text(encoding="utf-8"), *check_module.GRADER_SOURCES.values()]
    tops = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                tops |= {a.name.partition(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                tops.add(node.module.partition(".")[0])
    assert tops - set(sys.stdlib_module_names) == {"torch", "torchvision", "numpy", "PIL", "nbformat", "_hw3_grader"}


def test_the_self_check_grades_from_where_the_grader_does(handout: Path, tmp_path: Path) -> None:
    """A subfolder, another spelling of a name and a CP949 source: read, said, and checked as the grader would."""
    folder = tmp_path / "submission" / "hw3"
    folder.mkdir(parents=True)
    (folder / "Problem4.py").write_bytes(("# 소프트맥스\n" + _reference_module("problem4.py")).encode("cp949"))
    shutil.copy(REFERENCE / "problem5.py", folder / "problem5.py")
    code, output = self_check(handout, folder.parent)
    assert code == 1, output
    assert "note  the code is in the subfolder hw3/" in output
    assert "note  hw3/Problem4.py is not UTF-8: it was read as CP949" in output
    assert "note  Problem4.py was read as problem4.py" in output
    assert "ok    problem4.py: softmax([0.4, 2.0, 0.001, 0.32]) is the homework's" in output
    assert "ok    problem5.py: loglikelihood(y, t) on the homework's example is" in output
    fixes = [line for line in output.splitlines() if line.startswith("  FIX")]
    assert fixes and all("problem4" not in line and "problem5" not in line for line in fixes), fixes
