"""Trainings side by side (`autograder.judge.training_pool`): the same grade as one after another, and a
training that kills its worker costs its own problem only, wherever it ran.

Needs CIFAR-10 (``AUTOGRADE_DATA``), like the other training tests; skipped without it.
"""

from __future__ import annotations

import pytest

from autograder.common.results import Outcome, SubmissionResult
from conftest import ROOT, grade_folder, graded_suites as suites

pytestmark = pytest.mark.usefixtures("cifar_present")


def outcomes(result: SubmissionResult) -> dict[str, tuple[str, float]]:
    return {t.id: (t.outcome.value, t.points) for t in result.tests}


def test_grade_is_the_same_with_or_without_training_workers(tmp_path):
    problems = suites("problem2", "problem3_4", "problem3_6")
    alone = grade_folder(ROOT / "autograder" / "judge" / "reference", tmp_path / "alone", problems, train_workers=1)
    side_by_side = grade_folder(ROOT / "autograder" / "judge" / "reference", tmp_path / "pool", problems, train_workers=2)
    assert alone.not_graded == [] and side_by_side.not_graded == []
    assert outcomes(side_by_side) == outcomes(alone)
    assert [r.problem for r in side_by_side.training] == [r.problem for r in alone.training]
    for a, b in zip(alone.training, side_by_side.training):
        assert (b.losses, b.accuracy, b.per_class, b.steps_run) == (a.losses, a.accuracy, a.per_class,
                                                                    a.steps_run), a.problem
    assert "training workers (1) start" in side_by_side.timings
    assert not any(k.startswith("training workers") for k in alone.timings)


KILL_IN_TRAINING = '''

_forwards = 0
_plain_forward = Net.forward


def _dies_in_training(self, x):
    global _forwards
    _forwards += 1
    if _forwards > 200:  # well past the structure checks' few calls: only the training gets here
        import os
        os._exit(3)
    return _plain_forward(self, x)


Net.forward = _dies_in_training
'''


@pytest.mark.parametrize("train_workers", [1, 2])
def test_a_training_that_kills_its_worker_costs_only_its_problem(variant, tmp_path, train_workers):
    """With one worker the submission's own worker dies (and is restarted for the next runs); with
    two, the training worker that took 3-(4) dies (and its lane restarts it)."""
    folder = variant("dies_in_3_4", {}, {
        "problem3_4.py": (ROOT / "autograder" / "judge" / "reference" / "problem3_4.py").read_text() + KILL_IN_TRAINING})
    result = grade_folder(folder, tmp_path / "out", suites("problem3_4", "problem3_5", "problem3_6"),
                          train_workers=train_workers)
    assert result.not_graded == [], [t.message for t in result.not_graded]
    failed = {t.id.split("::")[-1]: t for t in result.tests
              if t.problem == "problem3_4" and t.outcome is Outcome.FAILED}
    assert set(failed) == {"test_accuracy_floor"}, set(failed)
    assert "worker process died while training problem3_4" in failed["test_accuracy_floor"].feedback.found
    assert "exited with status 3" in failed["test_accuracy_floor"].feedback.found
    others = [t for t in result.tests if t.problem != "problem3_4"]
    assert others and all(t.outcome is Outcome.PASSED for t in others)
    assert {r.problem for r in result.training if r.accuracy is not None} == {"problem3_5", "problem3_6"}
