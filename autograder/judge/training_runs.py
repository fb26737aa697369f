"""The training runs of one grading session (problems 2 and 3-(1)…3-(6)), as the judge sees them.

Each problem is trained ONCE per session, however many checks look at the run: the loss checks
and the floor read the same run, and a training that failed fails each of them with the same
message. The runs start when the judge starts (`TrainingRuns.start`, before the checks are even
collected), side by side in training workers (`TrainingPool`). The worker returns predictions;
the accuracy is computed here from the test labels, which never leave the judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from autograder.common import budgets
from autograder.common.config import GradingConfig
from autograder.common.protocol import TrainingReply, TrainingRequest
from autograder.common.results import SubmissionResult, TrainingRecord
from autograder.judge.checks import CheckFailed, NotGraded, fail
from autograder.judge.training_pool import TrainingJob, TrainingPool
from autograder.judge.worker_client import OutOfGpuMemory, ProbeFailure, Worker, WorkerSettings


class Grading(Protocol):
    """What the training runs use of their grading session (`autograder.judge.session`)."""

    config: GradingConfig
    budget: budgets.Budget
    result: SubmissionResult
    needs_data: bool

    def cifar(self) -> Any: ...

    def worker(self, *, with_data: bool = False) -> Worker: ...

    def worker_settings(self, data_dir: Path | None, slot: int = 0) -> WorkerSettings: ...

NONFINITE_HINTS = {
    "problem3_5": "NLLLoss expects log-probabilities (log_softmax of the outputs), not raw outputs",
}
"""What a non-finite loss most likely means, per problem, added to the feedback."""


@dataclass
class TrainingOutcome:
    """One training run as the judge sees it: what it asked for, what the worker observed, and the
    accuracy measured here."""

    request: TrainingRequest
    reply: TrainingReply
    budget: budgets.Budget
    accuracy: float
    per_class: list[float]
    floor: float

    @property
    def problem(self) -> str:
        return self.request.module

    @property
    def where(self) -> str:
        return f"{self.problem}.py"

    @property
    def steps(self) -> int:
        """Mini-batches this problem was trained for (what the judge asked, not what came back)."""
        return self.request.steps

    @property
    def losses(self) -> np.ndarray:
        return self.reply.losses

    def stopped_text(self) -> str:
        if self.reply.nonfinite_step is None:
            return self.reply.stopped
        hint = NONFINITE_HINTS.get(self.problem)
        return f"{self.reply.stopped}: {hint}" if hint else self.reply.stopped


class TrainingRuns:
    """The session's training runs, one per problem, with the failure if the run failed."""

    def __init__(self, session: Grading) -> None:
        self.session = session
        self._pool: TrainingPool | None = None
        self._runs: dict[str, TrainingOutcome | ProbeFailure | CheckFailed | NotGraded] = {}

    def request(self, problem: str) -> TrainingRequest:
        """What training ``problem`` at the session's budget asks of a worker."""
        budget, config = self.session.budget, self.session.config
        return TrainingRequest(module=problem, steps=budget.steps_for(problem), seed=config.seed,
                               test_count=budget.test_images)

    def _call(self, worker: Worker, request: TrainingRequest) -> TrainingReply:
        budget = self.session.budget
        return worker.call("train_and_predict", module=request.module, timeout=budget.timeout(),
                           doing=f"training {request.module} ({request.steps:,} mini-batches, "
                                 f"budget {budget.name})", **request.args())

    # -- side by side -------------------------------------------------------------------------
    def start(self, problems: list[str]) -> None:
        """Make the pool of this session's runs, costliest first, with one training worker fewer
        than ``train_workers`` (the submission's own worker makes runs too); the training workers
        start at once."""
        session = self.session
        if not problems:
            return
        try:
            data_dir = session.cifar().worker_dir
            session.worker_settings(data_dir)  # stages the submission: is there anything to train?
        except Exception:  # noqa: BLE001 — each training check meets the same problem and reports it
            return
        if session.result.status.value != "graded":
            return
        order = sorted(problems, key=session.budget.run_cost, reverse=True)
        jobs = [TrainingJob(p, self.request(p)) for p in order]
        self._pool = TrainingPool(jobs, session.config.train_workers - 1,
                                  lambda lane: Worker(session.worker_settings(data_dir, slot=1 + lane)),
                                  self._call)

    def keep(self, problems: list[str]) -> None:
        """Collection's final word on which problems are trained: the others' runs are dropped, and
        the main worker, which makes runs too, mounts CIFAR-10 at its first start (not by a restart)."""
        self.session.needs_data = bool(problems)
        if self._pool is not None:
            self._pool.keep(problems)

    @property
    def workers(self) -> list[Worker]:
        """The training workers (the submission's own worker is not among them)."""
        return self._pool.workers if self._pool is not None else []

    def timings(self) -> dict[str, float]:
        if self._pool is None:
            return {}
        out = {"trainings (wall)": round(self._pool.wall_seconds, 3)}
        if self._pool.workers:
            out[f"training workers ({len(self._pool.workers)}) start"] = round(
                sum(w.start_seconds for w in self._pool.workers), 3)
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # -- the runs, as the checks read them ----------------------------------------------------
    def _reply(self, request: TrainingRequest) -> TrainingReply:
        """The worker's reply to ``request`` (ProbeFailure / SandboxFault as raised). A run that
        ran out of GPU memory (the GPU is shared) is made once more here, then not graded."""
        def here(job: TrainingJob) -> TrainingReply:
            return self._call(self.session.worker(with_data=True), job.request)

        try:
            if self._pool is not None and request.module in self._pool:
                return self._pool.result(request.module, here)
            return here(TrainingJob(request.module, request))
        except OutOfGpuMemory:
            try:
                return here(TrainingJob(request.module, request))
            except OutOfGpuMemory as again:
                raise NotGraded(f"{again} (twice; the GPU is shared with other trainings — "
                                "regrade with fewer --jobs)") from None

    def get(self, problem: str) -> TrainingOutcome:
        """The problem's run (training it on first use); re-raises the run's failure."""
        if problem not in self._runs:
            try:
                self._runs[problem] = self._train(problem)
            except NotGraded as exc:
                self._runs[problem] = exc
        run = self._runs[problem]
        if isinstance(run, (ProbeFailure, CheckFailed, NotGraded)):
            raise run
        return run

    def _train(self, problem: str) -> TrainingOutcome | ProbeFailure | CheckFailed:
        data = self.session.cifar()  # NotGraded when there is no CIFAR-10
        budget = self.session.budget
        floor = budgets.floor(budget.name, problem)
        request = self.request(problem)
        record = self.session.result.training.append
        try:
            reply = self._reply(request)
        except ProbeFailure as failure:
            record(TrainingRecord(problem=problem, pieces={}, steps=request.steps, steps_run=0, losses=[],
                                  accuracy=None, floor=floor, stopped_early=failure.message))
            return failure
        try:
            outcome = _outcome(request, reply, budget, floor, np.asarray(data.test_labels[:budget.test_images]))
        except CheckFailed as failed:
            return failed
        record(TrainingRecord(
            problem=problem, pieces=dict(reply.owner), steps=request.steps, steps_run=reply.steps_run,
            losses=[float(x) for x in reply.losses], accuracy=outcome.accuracy, floor=floor,
            per_class=outcome.per_class, stopped_early=outcome.stopped_text(),
            seconds=round(reply.train_seconds + reply.predict_seconds, 3)))
        return outcome

    def check_floor(self, problem: str) -> None:
        """The run's test accuracy reaches the floor of this budget."""
        __tracebackhide__ = True
        run = self.get(problem)
        if run.accuracy < run.floor:
            owned = ", ".join(f"{k}: {v}" for k, v in run.reply.owner.items())
            stop = f"; the run stopped early — {run.stopped_text()}" if run.reply.stopped else ""
            fail(f"test accuracy after {run.steps:,} mini-batches of 4 (budget {run.budget.name}), "
                 f"on {run.budget.test_images:,} test images",
                 f"at least {100 * run.floor:.0f} %",
                 f"{100 * run.accuracy:.1f} %{stop}", run.where,
                 details=f"pieces — {owned}; per class (%): "
                         + " ".join(f"{100 * a:.0f}" for a in run.per_class))


def _outcome(request: TrainingRequest, reply: TrainingReply, budget: budgets.Budget, floor: float,
             labels: np.ndarray) -> TrainingOutcome:
    """Score a (validated) reply: its predictions against the test labels the judge keeps."""
    where = f"{request.module}.py"
    predictions = reply.predictions
    if predictions.shape != labels.shape:
        fail("predictions of the test images", f"{labels.shape[0]:,} class numbers",
             f"an array of shape {tuple(predictions.shape)}", where)
    if reply.steps_run > request.steps or len(reply.losses) > request.steps + 1:
        fail("mini-batches the training ran", f"at most the {request.steps:,} asked for",
             f"{max(reply.steps_run, len(reply.losses)):,}", where)
    if predictions.size and (predictions.min() < 0 or predictions.max() > 9):
        fail("predictions of the test images", "class numbers 0…9", "other values", where)
    correct = predictions.astype(np.int64) == labels
    per_class = [float(correct[labels == c].mean()) if np.any(labels == c) else 0.0 for c in range(10)]
    accuracy = float(correct.mean())
    if not math.isfinite(accuracy):  # no test images at all
        accuracy = 0.0
    return TrainingOutcome(request=request, reply=reply, budget=budget, accuracy=accuracy,
                           per_class=per_class, floor=floor)

