"""Shared helpers of the harness's own tests: grading a folder end to end, building variants."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

from autograder.judge import cifar
from autograder.common import config as cfg
from autograder.orchestrator import runner
from autograder.common.results import Outcome, SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "autograder" / "judge" / "reference"
GRADED = ROOT / "autograder" / "judge" / "suites"


def graded_suites(*problems: str) -> list[str]:
    """Paths of the graded suite files for the given problems ("1", "4", or "problem3_2")."""
    return [str(GRADED / f"test_{p if p.startswith('problem') else f'problem{p}'}.py") for p in problems]


@pytest.fixture(scope="module")
def cifar_present() -> None:
    """CIFAR-10 as grading finds it (``AUTOGRADE_DATA``, else the project's own copy); without it
    the test skips — or fails in CI (``CI=true``), which must train. Never downloads.
    Training tests use it with ``pytestmark = pytest.mark.usefixtures("cifar_present")``."""
    data = cfg.resolve({"device": "cpu"}).data
    try:
        cifar.find_source(data, download=False)
    except cifar.DataUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must grade the training problems, but: {exc}")
        pytest.skip(f"needs CIFAR-10 (data/cifar10-jpeg.tar.gz or AUTOGRADE_DATA): {exc}")


def grade_folder(submission: Path, out: Path, suites: list[str], **options: object) -> SubmissionResult:
    """Grade ``submission`` end to end in a judge subprocess, as `autograde` does."""
    config = cfg.resolve({"seed": 7, "budget": "quick", "device": "cpu", **options})
    return runner.grade(runner.Job(submission.resolve(), out.resolve()), config, suites)


@pytest.fixture(scope="session")
def graded_20163140(tmp_path_factory: pytest.TempPathFactory) -> SubmissionResult:
    """Submission 20163140 graded on the whole rubric at ``quick`` (seed 7), once per test run: what
    other forms of the same code (a notebook, scripts that train at import) must earn check by check."""
    data = cfg.resolve({"device": "cpu"}).data
    try:
        cifar.find_source(data, download=False)
    except cifar.DataUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must grade the training problems, but: {exc}")
        pytest.skip(f"needs CIFAR-10 (data/cifar10-jpeg.tar.gz or AUTOGRADE_DATA): {exc}")
    every = [str(p) for p in sorted(GRADED.glob("test_problem*.py"))]
    return grade_folder(ROOT / "submissions" / "20163140", tmp_path_factory.mktemp("graded") / "py", every)


def lost(result: SubmissionResult) -> dict[str, float]:
    """Points lost per check (by test function name), for checks that did not pass."""
    return {t.id.split("::")[-1]: t.max_points - t.points for t in result.tests
            if t.outcome is not Outcome.PASSED}


@pytest.fixture
def variant(tmp_path: Path) -> Callable[..., Path]:
    """``variant(name, {"problem1.py": [(old, new), …]}, extra_files)`` → a patched copy of reference/."""

    def make(name: str, patches: dict[str, list[tuple[str, str]]],
             files: dict[str, str] | None = None) -> Path:
        folder = tmp_path / name
        shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns("__pycache__"))
        for module, edits in patches.items():
            path = folder / module
            text = path.read_text()
            for old, new in edits:
                assert old in text, f"variant {name}: {old!r} not found in {module}"
                text = text.replace(old, new)
            path.write_text(text)
        for module, text in (files or {}).items():
            (folder / module).write_text(text)
        return folder

    return make
