"""The grader where users put it: a checkout under /tmp (which the sandbox mounts a tmpfs over) and a
plain, non-editable ``pip install .`` run from another folder. Each gets a virtual environment of
its own; torch and the other dependencies come from this one's site-packages through a ``.pth``
file, so that nothing is downloaded."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
import tempfile
import venv
from pathlib import Path

import pytest

from autograder.common import results_json

ROOT = Path(__file__).resolve().parents[2]
DEPENDENCIES = Path(sysconfig.get_paths()["purelib"])
"""This environment's site-packages: torch, numpy, pytest, jinja2 … for the new environments."""


def project_files() -> list[str]:
    """The files of this checkout as git sees them (tracked and not ignored)."""
    proc = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return [f for f in proc.stdout.splitlines() if (ROOT / f).is_file()]


def copy_checkout(dest: Path, *, with_data: bool = False) -> Path:
    for rel in project_files():
        if rel.startswith("data/") and not with_data:
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    return dest


def new_environment(where: Path, *, pip: bool, first: Path | None = None) -> Path:
    """A virtual environment at ``where`` seeing this one's packages after its own (and ``first``,
    e.g. a checkout to import ``autograder`` from, before them). Returns its python."""
    venv.EnvBuilder(with_pip=pip, symlinks=True).create(where)
    python = where / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    lines = ([str(first)] if first else []) + [str(DEPENDENCIES)]
    (Path(purelib) / "zz_dependencies.pth").write_text("\n".join(lines) + "\n")
    return python


def full_marks(out: Path, student: str, problems: set[str]) -> None:
    r = results_json.read(out / student / "results.json")
    assert r.status.value == "graded", r.status_reason
    assert {p.module for p in r.problems()} == problems
    assert r.score == r.max_score > 0, [(t.id, t.message, t.feedback) for t in r.tests if t.points < t.max_points]
    assert not r.not_graded


@pytest.mark.skipif(not shutil.which("git"), reason="needs git to list the checkout's files")
def test_a_checkout_under_tmp_grades() -> None:
    """The sandbox mounts a tmpfs over /tmp: a checkout and its virtual environment living there
    must still be visible to the worker (they are mounted on top of it)."""
    with tempfile.TemporaryDirectory(prefix="autograde-checkout-", dir="/tmp") as tmp:
        checkout = copy_checkout(Path(tmp) / "nc")
        python = new_environment(checkout / ".venv", pip=False, first=checkout)
        proc = subprocess.run([str(python), "-m", "autograder.orchestrator.cli", "submissions/20163140",
                               "--problems", "1,4,5", "--seed", "1", "--out", "reports"],
                              cwd=checkout, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        full_marks(checkout / "reports", "20163140", {"problem1", "problem4", "problem5"})


@pytest.mark.skipif(not shutil.which("git"), reason="needs git to list the checkout's files")
def test_a_plain_install_grades_from_another_folder(tmp_path: Path) -> None:
    """`pip install .` (not editable) carries the graded suites and the reference; `autograde` from
    an unrelated folder grades a submission given by its path."""
    checkout = copy_checkout(tmp_path / "checkout")
    python = new_environment(tmp_path / "env", pip=True)
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(checkout)],
                             capture_output=True, text=True, timeout=600)  # builds with setuptools from the index
    assert install.returncode == 0, install.stdout + install.stderr
    installed = subprocess.run([str(python), "-c", "import autograder, sys; print(autograder.__file__)"],
                               capture_output=True, text=True, cwd=tmp_path, check=True).stdout.strip()
    assert str(tmp_path / "env") in installed, installed  # not this checkout's package
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    autograde = tmp_path / "env" / "bin" / "autograde"
    proc = subprocess.run([str(autograde), str(checkout / "submissions" / "20163140"), "--problems", "1,4,5",
                           "--seed", "1", "--out", "OUT"], cwd=elsewhere, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    full_marks(elsewhere / "OUT", "20163140", {"problem1", "problem4", "problem5"})
    package = Path(installed).parent
    assert (package / "judge" / "suites" / "test_problem1.py").is_file()
    assert (package / "judge" / "reference" / "problem1.py").is_file()
