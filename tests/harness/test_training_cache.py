"""A training is computed once (`autograder.judge.training_cache`): keyed by what the run executes,
kept beside the submission's results, found again by a regrade that changed nothing the run uses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.common.protocol import TrainingRequest
from autograder.judge import training_cache
from autograder.judge.training_cache import TrainingCache
from autograder.orchestrator.report import render

from conftest import REFERENCE, grade_folder, graded_suites


def staged(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "staged"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def request(problem: str, seed: int = 3) -> TrainingRequest:
    return TrainingRequest(module=problem, steps=2500, seed=seed, test_count=2000)


def test_a_run_is_keyed_by_the_files_it_imports(tmp_path):
    """problem 2's run reads problem2.py, the helpers and what they import; not problem4.py."""
    folder = staged(tmp_path, {"problem2.py": "import helper\n", "helper.py": "import problem5\n",
                               "problem5.py": "x = 1\n", "problem4.py": "y = 1\n", "problem3_1.py": "z = 1\n"})
    names = {p.name for p in training_cache.run_files(folder, "problem2")}
    assert names == {"problem2.py", "helper.py", "problem5.py"}
    assert {p.name for p in training_cache.run_files(folder, "problem3_1")} == names | {"problem3_1.py"}

    def key(seed_given: bool = True, seed: int = 3) -> str:
        return TrainingCache(tmp_path / "trainings", {"budget": "quick", "device": "cpu"}, folder,
                             seed_given).key(request("problem2", seed))

    before = key()
    (folder / "problem4.py").write_text("y = 2\n")
    assert key() == before  # another problem's module
    (folder / "problem5.py").write_text("x = 2\n")
    assert key() != before  # imported by a helper the run imports
    assert key(seed=4) != key(seed=3)
    assert key(seed_given=False, seed=4) == key(seed_given=False, seed=3)  # no --seed: any earlier seed's run
    assert not any("suites" in name for name in training_cache.TRAINING_CODE)


@pytest.mark.usefixtures("cifar_present")
def test_a_regrade_after_a_change_outside_training_does_not_train_again(tmp_path):
    """The suites graded change (another problem added: the submission's own cache is stale): the
    run of problem 2 comes from the training cache — no training — with the same losses, accuracy
    and points, and the TA's page says so; a change to problem2.py trains again."""
    folder = tmp_path / "submission"
    shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    first = grade_folder(folder, out, graded_suites("2"))
    run = next(r for r in first.training if r.problem == "problem2")
    assert run.cached == ""
    entry = out / "trainings" / "problem2.json"
    made = entry.stat().st_mtime_ns

    second = grade_folder(folder, out, graded_suites("2", "4"))
    again = next(r for r in second.training if r.problem == "problem2")
    assert again.cached.startswith("the grading of ") and "(seed 7)" in again.cached
    assert entry.stat().st_mtime_ns == made
    assert (again.losses, again.accuracy, again.steps_run) == (run.losses, run.accuracy, run.steps_run)
    points = lambda r: {t.id: t.points for t in r.tests if t.problem == "problem2"}  # noqa: E731
    assert points(second) == points(first)
    html = render.render_submission(second, tmp_path / "page" / "report.html").read_text()
    assert 'data-cached="problem2"' in html and "Not trained again" in html

    (folder / "problem2.py").write_text((folder / "problem2.py").read_text() + "\n# edited\n")
    third = grade_folder(folder, out, graded_suites("2"))
    assert next(r for r in third.training if r.problem == "problem2").cached == ""
    assert entry.stat().st_mtime_ns != made
