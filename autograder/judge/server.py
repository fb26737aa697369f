"""A judge that grades submissions one after another: ``python -m autograder.judge.server``.

`autograde` starts one per submission graded at once (`autograder.orchestrator.judge_server`)
and feeds it submissions over a pipe. Each one is graded exactly as a judge process of its own
would grade it — ``pytest.main`` with the same command line, the grading plugin, a fresh
`GradingSession` with fresh sandboxed workers, its output in its own ``judge.log`` — but the
interpreter, pytest, torch, torch's ``_dynamo``, the suites and the reference are imported once
per judge instead of once per student (two to three seconds of CPU: bench/RESULTS.md, "Fixed
costs"). They are imported by the first session, not before it: that session's worker starts at
once (`GradingSession.start_worker_ahead`) and its imports in the sandbox overlap the judge's.

What the judge holds between two submissions is the grader's own: imported code, the reference
solutions, the prepared CIFAR-10 arrays. No student code ever runs here (it runs in the workers;
each sandbox and worker is one submission's and ends with its session), and every session starts
from the same state: the global random generators are re-seeded and the signal handlers put
back. With `GradeRequest.ahead`, the next submission's session is made and its worker started
while this one is graded (`session.prepare`); it is its own session, with its own uid and files,
and it is closed if that submission does not come next. A judge that crashes or hangs is the
orchestrator's to replace; the submission it was grading is recorded as a grader fault.

Requests arrive and replies leave on the pipes `autograder.common.channel` hands over (their fd
numbers in the environment), as wire frames of the typed messages of
`autograder.common.protocol` (`JudgeReady`, `GradeRequest`, `GradeDone`).
"""

from __future__ import annotations

import gc
import os
import random
import resource
import signal
import sys
import time
from pathlib import Path
from typing import BinaryIO

from autograder.common import channel, limits, typed, wire
from autograder.common.config import GradingConfig
from autograder.common.protocol import GradeDone, GradeRequest, JudgeReady
from autograder.judge import session
from autograder.judge.session import GradingSession

LIMITS = wire.Limits(4 * 2**20, 4 * 2**20)
"""A request is a command line: far below this."""
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGALRM)


def fresh_state(handlers: dict[int, object]) -> None:
    """What a judge process of its own would start from: the signal handlers it had, and the
    global random generators seeded (the checks seed their own; this is a second line)."""
    for sig, handler in handlers.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
    signal.alarm(0)
    random.seed(0)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(0)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(0)


def grade(request: GradeRequest, handlers: dict[int, object]) -> tuple[int, list[GradingSession]]:
    """Run one submission's pytest session here, its output (fds 1 and 2) into ``request.log``;
    pytest's exit status, and the sessions made ahead before it (those it did not take are stale)."""
    import pytest

    fresh_state(handlers)
    earlier = session.prepared()  # made for this request; whatever it does not take goes after it
    if request.ahead is not None:
        try:
            session.prepare(GradingConfig.from_json(request.ahead.config), Path(request.ahead.submission),
                            frozenset(request.ahead.problems))
        except Exception:  # noqa: BLE001 — only a head start: the next session starts its own worker
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        log = os.open(request.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.dup2(log, 1)
            os.dup2(log, 2)
        finally:
            os.close(log)
        status = int(pytest.main(list(request.args), plugins=[FreezeAfterCollection()]))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    return status, earlier


class FreezeAfterCollection:
    """Once a session has collected its checks, what is loaded by then — torch, the suites, the
    reference, imported by the first session — is frozen out of the collector's sight
    (`gc.freeze`): pytest collects twice at the end of every session, 0.15 s each with torch's
    hundreds of thousands of objects in view."""

    def pytest_collection_finish(self) -> None:
        gc.freeze()


def settle(handlers: dict[int, object], stale: list[GradingSession]) -> None:
    """After a session's answer is sent: close the sessions made ahead that it did not take, put
    the state back, collect what it left and freeze the rest."""
    session.discard_prepared(stale)
    fresh_state(handlers)
    gc.collect()
    gc.freeze()


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Grade each request in turn until the orchestrator closes the pipe; a session that was
    interrupted (SIGTERM: grading is being stopped) ends the judge after its answer."""
    import pytest

    handlers = {sig: signal.getsignal(sig) for sig in HANDLED_SIGNALS}
    try:
        while True:
            try:
                frame = wire.read_frame(requests, LIMITS)
            except wire.ClosedError:
                return
            request = typed.parse(GradeRequest, frame, "request")
            started = time.monotonic()
            status, stale = grade(request, handlers)
            wire.write_frame(replies, typed.to_plain(GradeDone(id=request.id, exit_status=status,
                                                              seconds=time.monotonic() - started)))
            settle(handlers, stale)  # after the answer: the orchestrator goes on meanwhile
            if status == pytest.ExitCode.INTERRUPTED:
                return
    except KeyboardInterrupt:  # SIGTERM or SIGHUP while waiting for a submission
        return
    finally:
        session.discard_prepared()  # a worker started ahead for a submission that never came


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def bound_own_memory() -> None:
    """A soft address-space bound of the judge's own (a backstop against a reply that decodes into
    far more than it should), set by the judge itself before it imports anything large; the hard
    limit stays, so that its workers can set theirs."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = limits.JUDGE_ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(limits.JUDGE_ADDRESS_SPACE, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def main() -> None:
    bound_own_memory()
    for sig in (signal.SIGTERM, signal.SIGHUP):  # as in a session: unwind, close what is open, exit
        signal.signal(sig, _interrupt)
    requests, replies = channel.child_ends()
    began = time.monotonic()
    import pytest  # noqa: F401  (the rest — torch, the suites, the reference — comes with the first
    import autograder.judge.plugin  # noqa: F401  session, while its worker starts: see the docstring)
    gc.freeze()
    wire.write_frame(replies, typed.to_plain(JudgeReady(ready=True, pid=os.getpid(),
                                                        startup_seconds=time.monotonic() - began)))
    serve(requests, replies)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # every session is closed and written; an interpreter's teardown with torch takes seconds


if __name__ == "__main__":
    main()
