"""Shared judge-side machinery of the training suites (problems 2 and 3-(1)…3-(6)).

Each problem is trained ONCE per grading session (`TrainingRuns`), however many checks look at
the run: the loss checks and the floor read the same run, and a training that failed fails each
of them with the same message. The worker returns predictions; the accuracy is computed here from
the test labels, which never leave the judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest

from autograder.common import budgets
from autograder.judge.checks import CheckFailed, as_array, fail
from autograder.judge.worker_client import ProbeFailure
from autograder.common.results import TrainingRecord

NONFINITE_HINTS = {
    "problem3_5": "NLLLoss expects log-probabilities (log_softmax of the outputs), not raw outputs",
}
"""What a non-finite loss most likely means, per problem, added to the feedback."""


@dataclass
class TrainingOutcome:
    """One training run as the judge sees it: the worker's observations and the measured accuracy."""

    problem: str
    budget: budgets.Budget
    losses: np.ndarray
    steps_run: int
    stopped: str
    nonfinite_step: int | None
    optimizer_steps: int
    stale_gradients: int
    checked_forwards: int
    accuracy: float
    per_class: list[float]
    owner: dict[str, str]
    seconds: float
    floor: float

    @property
    def where(self) -> str:
        return f"{self.problem}.py"

    @property
    def steps(self) -> int:
        """Mini-batches this problem is trained for at the budget."""
        return self.budget.steps_for(self.problem)

    def stopped_text(self) -> str:
        if self.nonfinite_step is None:
            return self.stopped
        hint = NONFINITE_HINTS.get(self.problem)
        return f"{self.stopped}: {hint}" if hint else self.stopped


@dataclass
class TrainingRuns:
    """Per-session cache of training runs, one per problem, with the failure if the run failed."""

    grading: Any
    _runs: dict[str, TrainingOutcome | ProbeFailure | CheckFailed] = field(default_factory=dict)

    def get(self, problem: str, record: Callable[[TrainingRecord], None]) -> TrainingOutcome:
        """The problem's run (training it on first use); re-raises the run's failure."""
        if problem not in self._runs:
            self._runs[problem] = self._train(problem, record)
        run = self._runs[problem]
        if isinstance(run, (ProbeFailure, CheckFailed)):
            raise run
        return run

    def _train(self, problem: str, record: Callable[[TrainingRecord], None]
               ) -> TrainingOutcome | ProbeFailure | CheckFailed:
        data = self.grading.cifar()  # NotGraded when there is no CIFAR-10
        budget = budgets.budget(self.grading.config.budget)
        floor = budgets.floor(budget.name, problem)
        try:
            reply = self.grading.training_reply(problem)
        except ProbeFailure as failure:
            record(TrainingRecord(problem=problem, pieces={}, steps=budget.steps_for(problem), steps_run=0, losses=[],
                                  accuracy=None, floor=floor, stopped_early=failure.message))
            return failure
        try:
            outcome = self._outcome(problem, budget, floor, reply, np.asarray(data.test_labels[:budget.test_images]))
        except CheckFailed as failed:
            return failed
        record(TrainingRecord(
            problem=problem, pieces=outcome.owner, steps=outcome.steps, steps_run=outcome.steps_run,
            losses=[float(x) for x in outcome.losses], accuracy=outcome.accuracy, floor=floor,
            per_class=outcome.per_class, stopped_early=outcome.stopped_text(), seconds=round(outcome.seconds, 3)))
        return outcome

    @staticmethod
    def _outcome(problem: str, budget: budgets.Budget, floor: float, reply: Any,
                 labels: np.ndarray) -> TrainingOutcome:
        """Check the reply's form (it comes from a process the student's code ran in) and score it."""
        where = f"{problem}.py"
        if type(reply) is not dict:
            fail("the training run's reply", "a dict", type(reply).__name__, where)
        predictions = as_array(reply.get("predictions"), "predictions of the test images", where,
                               shape=labels.shape)
        if not np.all((predictions >= 0) & (predictions <= 9) & (predictions == np.round(predictions))):
            fail("predictions of the test images", "class numbers 0…9", "other values", where)
        losses = as_array(reply.get("losses"), "recorded losses", where)
        correct = predictions.astype(np.int64) == labels
        per_class = [float(correct[labels == c].mean()) if np.any(labels == c) else 0.0 for c in range(10)]

        def count(key: str) -> int:
            value = reply.get(key)
            return int(value) if type(value) is int else 0

        nonfinite = reply.get("nonfinite_step")
        owner = reply.get("owner")
        return TrainingOutcome(
            problem=problem, budget=budget, losses=losses.reshape(-1), steps_run=count("steps_run"),
            stopped=str(reply.get("stopped") or ""), nonfinite_step=nonfinite if type(nonfinite) is int else None,
            optimizer_steps=count("optimizer_steps"), stale_gradients=count("stale_gradients"),
            checked_forwards=count("checked_forwards"), accuracy=float(correct.mean()), per_class=per_class,
            owner={str(k): str(v) for k, v in owner.items()} if type(owner) is dict else {},
            seconds=float(reply.get("train_seconds") or 0.0) + float(reply.get("predict_seconds") or 0.0),
            floor=floor)

    def check_floor(self, problem: str, record: Callable[[TrainingRecord], None]) -> None:
        """The run's test accuracy reaches the floor of this budget."""
        __tracebackhide__ = True
        run = self.get(problem, record)
        if run.accuracy < run.floor:
            owned = ", ".join(f"{k}: {v}" for k, v in run.owner.items())
            stop = f"; the run stopped early — {run.stopped_text()}" if run.stopped else ""
            fail(f"test accuracy after {run.steps:,} mini-batches of 4 (budget {run.budget.name}), "
                 f"on {run.budget.test_images:,} test images",
                 f"at least {100 * run.floor:.0f} %",
                 f"{100 * run.accuracy:.1f} %{stop}", run.where,
                 details=f"pieces — {owned}; per class (%): "
                         + " ".join(f"{100 * a:.0f}" for a in run.per_class))


@pytest.fixture(scope="session")
def training_runs(grading: Any) -> TrainingRuns:
    """The session's training runs, one per problem (see `TrainingRuns`)."""
    return TrainingRuns(grading)


class Optimizers:
    """Judge-side view of ``make_optimizer``: built on the homework's given Net, so a wrong Net in
    the submission is not charged a second time here."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker

    def describe(self, module: str) -> dict[str, Any]:
        d = self.worker.call("describe_optimizer", module=module, doing="calling make_optimizer(Net())")
        if not d["is_optimizer"]:
            fail("what make_optimizer(net) returns", "a torch.optim optimizer",
                 f"a {self.name(d)}", f"{module}.py:make_optimizer")
        return d

    @staticmethod
    def name(d: dict[str, Any]) -> str:
        """'torch.optim.SGD' for torch's own optimizers (not 'torch.optim.sgd.SGD'), else module.type."""
        module = "torch.optim" if str(d["module"]).startswith("torch.optim") else d["module"]
        return f"{module}.{d['type']}"

    @staticmethod
    def setting(d: dict[str, Any], key: str) -> list[Any]:
        """The value of ``key`` in each parameter group."""
        return [g["settings"].get(key) for g in d["groups"]]

    @staticmethod
    def all_close(values: list[Any], expected: float, rtol: float = 1e-9) -> bool:
        return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                    and np.isclose(v, expected, rtol=rtol, atol=0) for v in values)

    @staticmethod
    def check_covers_every_parameter(d: dict[str, Any], where: str) -> None:
        """Each of the net's parameters is in exactly one group, and nothing else is."""
        __tracebackhide__ = True
        covered, params = d["covered"], d["parameters"]
        missing = [p for p in params if p not in covered]
        twice = sorted({p for p in covered if covered.count(p) > 1})
        if missing or twice or d["foreign"]:
            found = "; ".join(filter(None, [
                f"missing {', '.join(missing)}" if missing else "",
                f"listed more than once: {', '.join(twice)}" if twice else "",
                f"{d['foreign']} tensor(s) that are not the net's" if d["foreign"] else ""]))
            fail("the parameters the optimizer updates", "every parameter of the net, once", found, where)


@pytest.fixture
def optimizers(worker: Any) -> Optimizers:
    return Optimizers(worker)


class Losses:
    """Random outputs and labels, and the cross-entropy the judge expects of them."""

    def __init__(self, worker: Any, rng: np.random.Generator) -> None:
        self.worker, self.rng = worker, rng

    def random(self, shapes: list[tuple[int, float, float]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """For each (batch, scale, shift): logits ~ shift + scale·N(0, 1), and random labels."""
        logits = [(shift + self.rng.normal(size=(n, 10)) * scale).astype(np.float32) for n, scale, shift in shapes]
        labels = [self.rng.integers(0, 10, size=n).astype(np.int64) for n, _, _ in shapes]
        return logits, labels

    @staticmethod
    def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
        import torch

        return float(torch.nn.functional.cross_entropy(torch.from_numpy(logits).double(),
                                                       torch.from_numpy(labels)))

    def student(self, module: str, logits: list[np.ndarray], labels: list[np.ndarray]) -> Any:
        return self.worker.call("criterion_values", module=module, logits=logits, labels=labels,
                                doing="calling criterion on given outputs and labels")


@pytest.fixture
def losses(worker: Any, rng: np.random.Generator) -> Losses:
    return Losses(worker, rng)


def oracle_set(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """A labelled set of 100 images (10 per class, shuffled) for the worker's `PixelOracle`, whose
    prediction is the largest of the first ten pixels of channel 0, row 0. Class c gets a different
    number of right answers (0…9 of 10, in random order), so every per-class fraction is distinct."""
    labels = rng.permutation(np.repeat(np.arange(10), 10)).astype(np.int64)
    right = rng.permutation(np.arange(10))
    inputs = rng.uniform(-1, 1, size=(100, 3, 32, 32)).astype(np.float32)
    seen = np.zeros(10, int)
    for i, label in enumerate(labels):
        prediction = label if seen[label] < right[label] else (label + 1 + rng.integers(9)) % 10
        seen[label] += 1
        inputs[i, 0, 0, :10] = rng.uniform(-1, 0, size=10)
        inputs[i, 0, 0, prediction] = 2.0
    per_class = right / 10.0
    return inputs, labels, float(per_class.mean()), per_class


@dataclass
class EvaluateCall:
    """What the student's ``evaluate`` returned for the oracle set, and what it should have."""

    reply: dict[str, Any]
    accuracy: float
    per_class: np.ndarray


@pytest.fixture
def call_evaluate(worker: Any, rng: np.random.Generator) -> Callable[[str], EvaluateCall]:
    """``call_evaluate(module)``: the student's evaluate(net, testloader) on the oracle set."""

    def call(module: str) -> EvaluateCall:
        inputs, labels, accuracy, per_class = oracle_set(rng)
        reply = worker.call("evaluate_oracle", module=module, inputs=inputs, labels=labels,
                            doing="calling evaluate(net, testloader) on 100 labelled images")
        return EvaluateCall(reply, accuracy, per_class)

    return call
