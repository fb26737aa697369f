"""Fixtures of the graded suites: the judge-side helpers each check asks for by name.

The machinery behind them lives in the judge (`autograder.judge.training_runs`,
`autograder.judge.pieces`); the plugin provides ``grading``, ``worker``, ``reference``, ``rng``
and ``remark``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from autograder.judge.pieces import EvaluateCall, Losses, Optimizers, call_evaluate as evaluate_on_oracle
from autograder.judge.session import GradingSession
from autograder.judge.training_runs import TrainingRuns
from autograder.judge.worker_client import Worker


@pytest.fixture(scope="session")
def training_runs(grading: GradingSession) -> TrainingRuns:
    """The session's training runs, one per problem, trained on first use."""
    return grading.trainings


@pytest.fixture
def optimizers(worker: Worker) -> Optimizers:
    """``make_optimizer`` of a module, described on the homework's given Net."""
    return Optimizers(worker)


@pytest.fixture
def losses(worker: Worker, rng: np.random.Generator) -> Losses:
    """Random outputs and labels, the student's criterion on them, and the expected cross-entropy."""
    return Losses(worker, rng)


@pytest.fixture
def call_evaluate(worker: Worker, rng: np.random.Generator) -> Callable[[str], EvaluateCall]:
    """``call_evaluate(module)``: the student's evaluate(net, testloader) on the oracle set."""
    return lambda module: evaluate_on_oracle(worker, rng, module)
