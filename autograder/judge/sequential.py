"""A sequential budget's word at each checkpoint of a run: end it with a pass, go on, or (at the
last checkpoint) let the floor decide.

The worker trains one run and pauses at each checkpoint (quick's length, then standard's, then
full's) with the predictions of that checkpoint's test images; the judge, which alone holds the
test labels, scores them and says whether the run goes on. A run ends with a pass as soon as its
accuracy is above the checkpoint's floor by `budgets.EARLY_MARGIN` and its loss is finite and
not rising; otherwise it goes on, and at the last checkpoint the floor decides, as for a fixed
budget of that length. No checkpoint but the last can fail a run: an early checkpoint only ends
it sooner, so the verdict is that of the last one whenever the pass was not certain before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from autograder.common import budgets


@dataclass(frozen=True)
class Word:
    """What a checkpoint says about its run."""

    stage: str
    """The fixed budget whose length this checkpoint is."""
    accuracy: float
    end: bool
    why: str


def loss_rising(losses: np.ndarray) -> bool:
    """Whether the mean loss of the last `budgets.RISING_WINDOW` of the mini-batches is above that
    of the same number before them (a run whose loss climbs is not ended early)."""
    n = int(len(losses) * budgets.RISING_WINDOW)
    if n < 1 or 2 * n > len(losses):
        return False
    return float(np.mean(losses[-n:])) > float(np.mean(losses[-2 * n:-n]))


def word(problem: str, stage: str, accuracy: float, losses: np.ndarray, last: bool) -> Word:
    """The checkpoint ``stage``'s word on a run of ``problem`` that reached ``accuracy`` there."""
    floor = budgets.floor(stage, problem)
    if last:
        verdict = "reaches" if accuracy >= floor else "does not reach"
        return Word(stage, accuracy, True, f"the last checkpoint: the accuracy, {100 * accuracy:.1f} %, "
                                           f"{verdict} the floor, {100 * floor:.0f} %")
    bar = budgets.early_pass(stage, problem)
    finite = bool(np.all(np.isfinite(losses)))
    rising = finite and loss_rising(losses)
    if accuracy >= bar and finite and not rising:
        margin = budgets.EARLY_MARGIN[stage][problem]
        return Word(stage, accuracy, True,
                    f"passed early: {100 * accuracy:.1f} % is at least {100 * bar:.0f} % (the floor, "
                    f"{100 * floor:.0f} %, and a margin of {100 * margin:.0f} points) and the loss is "
                    "finite and not rising")
    reasons = []
    if accuracy < bar:
        reasons.append(f"{100 * accuracy:.1f} % is below {100 * bar:.0f} % (the floor and the margin)")
    if not finite:
        reasons.append("a loss is not finite")
    elif rising:
        reasons.append("the loss is rising")
    return Word(stage, accuracy, False, "went on: " + "; ".join(reasons))


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of ``predictions`` equal to ``labels`` (0 when the shapes differ: the run's own
    checks say what is wrong with them)."""
    if predictions.shape != labels.shape or not labels.size:
        return 0.0
    value = float(np.mean(predictions.astype(np.int64) == labels))
    return value if math.isfinite(value) else 0.0
