"""Training the selected problems side by side: the submission's own worker and training workers.

The seven trainings are nine tenths of a grading's time, and each is single-threaded (batch 4,
one torch thread), so on a machine with cores to spare several run at once. When the judge starts
(before the checks are collected) it makes a pool of the runs to do, costliest first
(`budgets.Budget.run_cost`), and starts ``lanes`` training workers (sandboxed like the
submission's own worker, CIFAR-10 mounted, a uid each), each fed by a thread of the judge. A check
that needs a run which no lane has taken yet runs it itself, in the submission's own worker; while
its run is under way in a lane, it takes the next waiting run (`TrainingPool.result`). So the
submission's worker is one more lane whenever the checks would otherwise wait, and with no training
workers at all (``lanes == 0``) the runs are simply made one after another, each when first asked for.

A run does not depend on where or after what it ran: `run_training` seeds every generator and
sets torch's kernels itself, so a grade is the same with any number of lanes (a harness test
compares them). Each run keeps its own timeout; what a run raised (the student's code failing, a
worker that died or could not start) is kept with the run and raised to the checks that read it.

A training worker is started by, and used only from, its lane's thread (bubblewrap's
``--die-with-parent`` follows the thread that started it, and that thread lives until the last
run is taken).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from autograder.common.protocol import TrainingRequest
from autograder.judge.worker_client import Worker


@dataclass(frozen=True)
class TrainingJob:
    """One training run to make."""

    problem: str
    request: TrainingRequest


@dataclass
class _Slot:
    job: TrainingJob
    done: threading.Event = field(default_factory=threading.Event)
    reply: Any = None
    error: BaseException | None = None


class TrainingPool:
    """The runs of one grading session and the lanes that make them."""

    def __init__(self, jobs: list[TrainingJob], lanes: int, make_worker: Callable[[int], Worker],
                 run: Callable[[Worker, TrainingRequest], Any]) -> None:
        self._run = run
        """How a lane's worker makes a run (`TrainingRuns._call`)."""
        self._slots = {job.problem: _Slot(job) for job in jobs}
        self._queue = [job.problem for job in jobs]
        self._lock = threading.Lock()
        self._closing = False
        self.workers = [make_worker(i) for i in range(max(0, min(lanes, len(jobs) - 1)))]
        """The training workers (the submission's own worker is not among them)."""
        self._threads = [threading.Thread(target=self._lane, args=(i,), name=f"training-lane-{i}", daemon=True)
                         for i in range(len(self.workers))]
        self.started = time.monotonic()
        self.finished: float | None = None
        for thread in self._threads:
            thread.start()

    def __contains__(self, problem: str) -> bool:
        return problem in self._slots

    def keep(self, problems: list[str]) -> None:
        """Drop the waiting runs of problems not in ``problems`` (the pool is made before the
        checks are collected, from the suites named; collection can only leave some out)."""
        with self._lock:
            self._queue = [p for p in self._queue if p in problems]
            for name in [p for p in self._slots if p not in problems]:
                del self._slots[name]

    def _take(self, prefer: str | None = None) -> _Slot | None:
        """The next waiting run (``prefer`` if it still waits), or None."""
        with self._lock:
            if self._closing or not self._queue:
                return None
            name = prefer if prefer in self._queue else self._queue[0]
            self._queue.remove(name)
            return self._slots[name]

    def _finish(self, slot: _Slot) -> None:
        slot.done.set()
        with self._lock:
            if self.finished is None and all(s.done.is_set() for s in self._slots.values()):
                self.finished = time.monotonic()

    def _lane(self, index: int) -> None:
        worker = self.workers[index]
        while (slot := self._take()) is not None:
            try:
                slot.reply = self._run(worker, slot.job.request)
            except BaseException as exc:  # kept for the checks that read this run; never lost
                slot.error = exc
            finally:
                self._finish(slot)

    def result(self, problem: str, run_here: Callable[[TrainingJob], Any]) -> Any:
        """The reply of ``problem``'s run; raises what the run raised.

        While the run waits, or is under way in a lane, the caller makes waiting runs itself with
        ``run_here`` (the submission's own worker) instead of idling.
        """
        slot = self._slots[problem]
        while not slot.done.is_set():
            other = self._take(prefer=problem)
            if other is None:
                slot.done.wait(1.0)
                if not slot.done.is_set() and not any(t.is_alive() for t in self._threads):
                    raise RuntimeError(f"the training of {problem} was never run")
                continue
            try:
                other.reply = run_here(other.job)
            except Exception as exc:  # kept for the checks that read that run
                other.error = exc
            except BaseException:  # interrupted (Ctrl-C, pytest-timeout): not the run's result
                other.error = RuntimeError(f"the training of {other.job.problem} was interrupted")
                raise
            finally:
                self._finish(other)
        if slot.error is not None:
            raise slot.error
        return slot.reply

    @property
    def wall_seconds(self) -> float:
        """From the start to the end of the last run (or until now)."""
        return (self.finished or time.monotonic()) - self.started

    def close(self) -> None:
        """Take no more runs, stop every training worker (a run under way ends with an error)."""
        with self._lock:
            self._closing = True
        for worker in self.workers:
            worker.stop()  # a lane's run under way fails (its pipe closes); the lane's thread ends
        for thread in self._threads:
            thread.join(timeout=15)
        for worker in self.workers:
            worker.close()
