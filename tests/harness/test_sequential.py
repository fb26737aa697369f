"""The adaptive budget's checkpoints (`autograder.judge.sequential`, `TrainingRuns._call`): a run
ends early only with a pass that is certain, and the last checkpoint's floor decides the rest."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from autograder.common import budgets
from autograder.common.protocol import TrainingReply
from autograder.judge import sequential
from autograder.judge.training_runs import TrainingRuns

FALLING = np.linspace(2.3, 1.6, 2500).astype(np.float32)
RISING = np.concatenate([np.linspace(2.3, 1.6, 2000), np.linspace(1.6, 2.0, 500)]).astype(np.float32)


def test_the_adaptive_budget_is_the_fixed_ones_in_turn():
    adaptive = budgets.budget("adaptive")
    stages = [budgets.budget(n) for n in adaptive.stages]
    assert [b.name for b in stages] == ["quick", "standard", "full"] and "adaptive" not in budgets.FIXED
    for problem in budgets.TRAINED:
        steps = [b.steps_for(problem) for b in stages]
        assert steps == sorted(set(steps)) and adaptive.steps_for(problem) == steps[-1]
        assert budgets.floor("adaptive", problem) == budgets.floor("full", problem)
        for b in stages[:-1]:  # an early pass asks for more than the floor
            assert budgets.early_pass(b.name, problem) > budgets.floor(b.name, problem), (b.name, problem)
    assert adaptive.check_timeout == budgets.budget("full").check_timeout


def test_a_checkpoint_ends_a_run_only_with_a_certain_pass():
    bar = budgets.early_pass("quick", "problem2")
    passed = sequential.word("problem2", "quick", bar + 0.01, FALLING, last=False)
    assert passed.end and "passed early" in passed.why
    low = sequential.word("problem2", "quick", bar - 0.01, FALLING, last=False)
    assert not low.end and "below" in low.why
    rising = sequential.word("problem2", "quick", bar + 0.1, RISING, last=False)
    assert not rising.end and "rising" in rising.why
    nan = sequential.word("problem2", "quick", bar + 0.1, np.append(FALLING, np.nan), last=False)
    assert not nan.end and "not finite" in nan.why
    floor = budgets.floor("full", "problem2")
    assert sequential.word("problem2", "full", floor - 0.01, FALLING, last=True).why.endswith(
        f"does not reach the floor, {100 * floor:.0f} %")


def reply(steps: int, predictions: np.ndarray, paused: bool, ended: bool = False) -> TrainingReply:
    return TrainingReply(losses=FALLING[:1].repeat(steps) - np.linspace(0, 0.5, steps, dtype=np.float32),
                         steps_run=steps, stopped="", nonfinite_step=None, optimizer_steps=steps, stale_gradients=0,
                         checked_forwards=min(steps, 100), predictions=predictions, owner={"Net": "student"},
                         train_seconds=1.0, predict_seconds=0.1, paused_at=steps if paused else None,
                         ended_at=steps if ended else None)


class FakeWorker:
    """Answers the sequential run's calls with predictions right on a given fraction of images."""

    def __init__(self, labels: np.ndarray, right: dict[str, float]) -> None:
        self.labels, self.right, self.calls = labels, right, []
        self.stages = [budgets.budget(n) for n in budgets.budget("adaptive").stages]
        self.at = 0

    def predictions(self, stage: budgets.Budget) -> np.ndarray:
        labels = self.labels[:stage.test_images]
        n = int(round(self.right[stage.name] * len(labels)))
        return np.concatenate([labels[:n], (labels[n:] + 1) % 10])

    def call(self, probe: str, *, module: str, timeout: float, doing: str, **args) -> TrainingReply:
        self.calls.append((probe, args.get("go_on")))
        if probe == "resume_training" and not args["go_on"]:
            stage = self.stages[self.at]
            return reply(stage.steps_for(module), self.predictions(stage), paused=False, ended=True)
        if probe == "resume_training":
            self.at += 1
        stage = self.stages[self.at]
        return reply(stage.steps_for(module), self.predictions(stage), paused=self.at < len(self.stages) - 1)


@pytest.mark.parametrize("right, ended, calls", [
    ({"quick": 0.40, "standard": 0.0, "full": 0.0}, "quick", [("train_and_predict", None), ("resume_training", False)]),
    ({"quick": 0.20, "standard": 0.50, "full": 0.0}, "standard",
     [("train_and_predict", None), ("resume_training", True), ("resume_training", False)]),
    ({"quick": 0.20, "standard": 0.30, "full": 0.12}, "full",
     [("train_and_predict", None), ("resume_training", True), ("resume_training", True)]),
])
def test_the_judge_goes_on_until_a_checkpoint_ends_the_run(right, ended, calls):
    labels = np.random.default_rng(0).integers(0, 10, size=10_000)
    session = SimpleNamespace(budget=budgets.budget("adaptive"), config=SimpleNamespace(seed=5),
                              cifar=lambda: SimpleNamespace(test_labels=labels))
    runs = TrainingRuns(session)
    worker = FakeWorker(labels, right)
    reached = runs._call(worker, runs.request("problem2"))
    assert reached.stage.name == ended and worker.calls == calls
    assert [w.stage for w in reached.words] == ["quick", "standard", "full"][:len(reached.words)]
    assert reached.words[-1].end and all(not w.end for w in reached.words[:-1])
    assert reached.reply.steps_run == budgets.budget(ended).steps_for("problem2")
