"""The training runs of one grading session (problems 2 and 3-(1)…3-(6)), as the judge sees them.

Each problem is trained ONCE per session, however many checks look at the run: the loss checks
and the floor read the same run, and a training that failed fails each of them with the same
message. The runs start when the judge starts (`TrainingRuns.start`, before the checks are even
collected), side by side in training workers (`TrainingPool`). The worker returns predictions;
the accuracy is computed here from the test labels, which never leave the judge.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from autograder.common import budgets
from autograder.common.config import GradingConfig
from autograder.common.protocol import TrainingReply, TrainingRequest
from autograder.common.results import SubmissionResult, TrainingRecord
from autograder.judge import sequential
from autograder.judge.checks import CheckFailed, NotGraded, fail
from autograder.judge.training_cache import Entry, TrainingCache
from autograder.judge.training_pool import TrainingJob, TrainingPool
from autograder.judge.worker_client import FailureKind, OutOfGpuMemory, ProbeFailure, Worker, WorkerSettings


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


@dataclass(frozen=True)
class Reached:
    """Where a run ended: the worker's reply there, the fixed budget whose length it ran (a
    sequential run: the checkpoint that ended it), and each checkpoint's word on the way."""

    reply: TrainingReply
    stage: budgets.Budget
    words: tuple[sequential.Word, ...] = ()
    cached: str = ""
    """Whence the run came when it was not trained now (`training_cache`), or empty."""


@dataclass
class TrainingOutcome:
    """One training run as the judge sees it: what it asked for, what the worker observed, and the
    accuracy measured here."""

    request: TrainingRequest
    reply: TrainingReply
    budget: budgets.Budget
    """The fixed budget whose length the run had (under a sequential budget, where it ended)."""
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
        return self.budget.steps_for(self.problem)

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
        self._cache: TrainingCache | None | bool = False
        """The submission's training cache (False: not looked for yet; None: none)."""

    # -- the cache ------------------------------------------------------------------------------
    def cache(self) -> TrainingCache | None:
        """The training cache beside this session's results (`training_cache`), or None without a
        results file, a staged copy or CIFAR-10."""
        if self._cache is False:
            session = self.session
            path = getattr(session, "results_path", None)
            self._cache = None
            if path is not None:
                try:
                    context = {"budget": session.budget.name, "device": session.config.device,
                               "data": session.cifar().worker_dir.name,
                               "torch": importlib.metadata.version("torch")}
                    self._cache = TrainingCache(Path(path).parent / "trainings", context,
                                                session.staging().path, bool(session.config.seed_given))
                except Exception:  # noqa: BLE001 — without a cache the runs are simply made
                    self._cache = None
        return self._cache or None

    def _cached(self, request: TrainingRequest) -> Reached | None:
        cache = self.cache()
        entry = cache.get(request) if cache is not None else None
        if entry is None:
            return None
        words = tuple(sequential.Word(**w) for w in entry.words)
        return Reached(entry.reply, budgets.budget(entry.stage), words,
                       cached=f"the grading of {entry.made} (seed {entry.seed})")

    def _keep(self, request: TrainingRequest, reached: Reached) -> None:
        cache = self.cache()
        if cache is None or reached.cached:
            return
        try:
            cache.put(request, Entry(reached.reply, reached.stage.name, [dataclasses.asdict(w) for w in reached.words],
                                     request.seed, self.session.result.started_at))
        except OSError:  # a full disk costs the cache only
            pass

    def request(self, problem: str) -> TrainingRequest:
        """What training ``problem`` at the session's budget asks of a worker (a sequential budget:
        one run as long as its last stage, pausing at the others' lengths)."""
        budget, config = self.session.budget, self.session.config
        if budget.stages:
            stages = [budgets.budget(n) for n in budget.stages]
            return TrainingRequest(module=problem, steps=stages[-1].steps_for(problem), seed=config.seed,
                                   test_count=stages[-1].test_images,
                                   checkpoints=tuple((b.steps_for(problem), b.test_images) for b in stages[:-1]))
        return TrainingRequest(module=problem, steps=budget.steps_for(problem), seed=config.seed,
                               test_count=budget.test_images)

    def _call(self, worker: Worker, request: TrainingRequest) -> Reached:
        """Make the run in ``worker``: one call for a fixed budget; for a sequential one, a call per
        checkpoint until a checkpoint's word ends it (`autograder.judge.sequential`)."""
        budget, problem = self.session.budget, request.module
        if not budget.stages:
            reply = worker.call("train_and_predict", module=problem, timeout=budget.timeout(),
                                doing=f"training {problem} ({request.steps:,} mini-batches, budget {budget.name})",
                                **request.args())
            return Reached(reply, budget)
        stages = [budgets.budget(n) for n in budget.stages]
        labels = np.asarray(self.session.cifar().test_labels)
        words: list[sequential.Word] = []
        first = stages[0]
        reply = worker.call("train_and_predict", module=problem, timeout=first.timeout(),
                            doing=f"training {problem} (to {first.steps_for(problem):,} mini-batches, "
                                  f"budget {budget.name})", **request.args())
        index = 0
        while reply.paused_at is not None:
            while index < len(stages) - 1 and stages[index].steps_for(problem) < reply.paused_at:
                index += 1
            stage = stages[index]
            if stage.steps_for(problem) != reply.paused_at:
                raise ProbeFailure(FailureKind.BAD_REPLY, f"the run paused at step {reply.paused_at}, not at a checkpoint")
            said = sequential.word(problem, stage.name, sequential.accuracy(
                reply.predictions, labels[:stage.test_images]), reply.losses, last=False)
            words.append(said)
            following = stages[index + 1]
            reply = worker.call("resume_training", module=problem, go_on=not said.end,
                                timeout=60.0 if said.end else following.timeout(),
                                doing=f"training {problem} ({'ending at' if said.end else 'on to'} "
                                      f"{(stage if said.end else following).steps_for(problem):,} mini-batches, "
                                      f"budget {budget.name})")
            if said.end:
                if reply.ended_at != stage.steps_for(problem):
                    raise ProbeFailure(FailureKind.BAD_REPLY, f"the run did not end at step {stage.steps_for(problem)}")
                return Reached(reply, stage, tuple(words))
            index += 1
        last = stages[-1]
        if reply.nonfinite_step is None and not reply.stopped:
            words.append(sequential.word(problem, last.name, sequential.accuracy(
                reply.predictions, labels[:last.test_images]), reply.losses, last=True))
        return Reached(reply, last, tuple(words))

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
        jobs = [TrainingJob(p, self.request(p)) for p in order if self._cached(self.request(p)) is None]
        if not jobs:  # every run is in the cache
            return
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
    def _reply(self, request: TrainingRequest) -> Reached:
        """The worker's reply to ``request`` (ProbeFailure / SandboxFault as raised). A run that
        ran out of GPU memory (the GPU is shared) is made once more here, then not graded."""
        def here(job: TrainingJob) -> Reached:
            return self._call(self.session.worker(with_data=True), job.request)

        hit = self._cached(request)
        if hit is not None:
            return hit
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
        request = self.request(problem)
        record = self.session.result.training.append
        try:
            reached = self._reply(request)
        except ProbeFailure as failure:
            record(TrainingRecord(problem=problem, pieces={}, steps=request.steps, steps_run=0, losses=[],
                                  accuracy=None, floor=budgets.floor(budget.name, problem),
                                  stopped_early=failure.message))
            return failure
        reply, stage = reached.reply, reached.stage
        floor = budgets.floor(stage.name, problem)
        try:
            outcome = _outcome(request, reply, stage, floor, np.asarray(data.test_labels[:stage.test_images]))
        except CheckFailed as failed:
            return failed
        self._keep(request, reached)
        record(TrainingRecord(
            problem=problem, pieces=dict(reply.owner), steps=stage.steps_for(problem), steps_run=reply.steps_run,
            losses=[float(x) for x in reply.losses], accuracy=outcome.accuracy, floor=floor,
            per_class=outcome.per_class, stopped_early=outcome.stopped_text(),
            seconds=round(reply.train_seconds + reply.predict_seconds, 3),
            checkpoint=stage.name if budget.stages else "",
            checkpoints=[f"{w.stage} ({w.accuracy * 100:.1f} %): {w.why}" for w in reached.words],
            cached=reached.cached))
        return outcome

    def check_floor(self, problem: str) -> None:
        """The run's test accuracy reaches the floor of this budget."""
        __tracebackhide__ = True
        run = self.get(problem)
        if run.accuracy < run.floor:
            owned = ", ".join(f"{k}: {v}" for k, v in run.reply.owner.items())
            stop = f"; the run stopped early — {run.stopped_text()}" if run.reply.stopped else ""
            budget = self.session.budget
            named = (f"budget {budget.name}, its last checkpoint: {run.budget.name}" if budget.stages
                     else f"budget {run.budget.name}")
            fail(f"test accuracy after {run.steps:,} mini-batches of 4 ({named}), "
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
    steps = budget.steps_for(request.module)
    if reply.steps_run > steps or len(reply.losses) > steps + 1:
        fail("mini-batches the training ran", f"at most the {steps:,} asked for",
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

