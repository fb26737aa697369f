"""Judge-side views of the homework's pieces that several suites check: ``make_optimizer``, the
criterion and ``evaluate``. Each asks the worker through a probe and judges here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.common.protocol import EvaluateReply, OptimizerDescription
from autograder.judge.checks import fail
from autograder.judge.worker_client import Worker


class Optimizers:
    """``make_optimizer`` built on the homework's given Net, so that a wrong Net in the submission
    is not charged a second time here."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def describe(self, module: str) -> OptimizerDescription:
        d: OptimizerDescription = self.worker.call("describe_optimizer", module=module,
                                                   doing="calling make_optimizer(Net())")
        if not d.is_optimizer:
            fail("what make_optimizer(net) returns", "a torch.optim optimizer",
                 f"a {self.name(d)}", f"{module}.py:make_optimizer")
        return d

    @staticmethod
    def name(d: OptimizerDescription) -> str:
        """'torch.optim.SGD' for torch's own optimizers (not 'torch.optim.sgd.SGD'), else module.type."""
        module = "torch.optim" if d.module.startswith("torch.optim") else d.module
        return f"{module}.{d.type}"

    @staticmethod
    def setting(d: OptimizerDescription, key: str) -> list[Any]:
        """The value of ``key`` in each parameter group."""
        return [g.settings.get(key) for g in d.groups]

    @staticmethod
    def all_close(values: list[Any], expected: float, rtol: float = 1e-9) -> bool:
        return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                    and np.isclose(v, expected, rtol=rtol, atol=0) for v in values)

    @staticmethod
    def check_covers_every_parameter(d: OptimizerDescription, where: str) -> None:
        """Each of the net's parameters is in exactly one group, and nothing else is."""
        __tracebackhide__ = True
        missing = [p for p in d.parameters if p not in d.covered]
        twice = sorted({p for p in d.covered if d.covered.count(p) > 1})
        if missing or twice or d.foreign:
            found = "; ".join(filter(None, [
                f"missing {', '.join(missing)}" if missing else "",
                f"listed more than once: {', '.join(twice)}" if twice else "",
                f"{d.foreign} tensor(s) that are not the net's" if d.foreign else ""]))
            fail("the parameters the optimizer updates", "every parameter of the net, once", found, where)


class Losses:
    """Random outputs and labels, and the cross-entropy the judge expects of them."""

    def __init__(self, worker: Worker, rng: np.random.Generator) -> None:
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

    def student(self, module: str, logits: list[np.ndarray], labels: list[np.ndarray]) -> list[float]:
        return self.worker.call("criterion_values", module=module, logits=logits, labels=labels,
                                doing="calling criterion on given outputs and labels")


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

    reply: EvaluateReply
    accuracy: float
    per_class: np.ndarray


def call_evaluate(worker: Worker, rng: np.random.Generator, module: str) -> EvaluateCall:
    """The student's ``evaluate(net, testloader)`` on the oracle set."""
    inputs, labels, accuracy, per_class = oracle_set(rng)
    reply = worker.call("evaluate_oracle", module=module, inputs=inputs, labels=labels,
                        doing="calling evaluate(net, testloader) on 100 labelled images")
    return EvaluateCall(reply, accuracy, per_class)
