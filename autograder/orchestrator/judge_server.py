"""The orchestrator's handle on a judge server (`autograder.judge.server`): one process that grades
the submissions handed to it one after another, each exactly as a judge process of its own would.

A class run keeps one server per submission graded at once (a lane), so the judge's start — an
interpreter, pytest, torch, torch's ``_dynamo``, the suites, the reference: two to three seconds
of CPU on a 2-core machine (bench/RESULTS.md, "Fixed costs") — is paid once per lane, not once per
student.
What the guarantees of a judge per submission become:

* **A wall-clock bound per submission** (`Budget.judge_timeout`): past it the server is ended
  (SIGTERM to its process group, then SIGKILL: its sandboxed workers die with it) and that
  submission is a grader fault; the next submission gets a fresh server.
* **A crash costs one submission**: a server that dies while grading leaves that submission a
  grader fault (its judge.log has the server's last words); one that died between submissions is
  replaced before the next is sent, which is not charged for it.
* **No state crosses submissions**: no student code runs in the judge; each submission gets its own
  session, workers, sandboxes, copies and scratch (see `autograder.judge.server`); a server is
  also replaced after `MAX_SESSIONS` submissions, which bounds what a long class can accumulate.
* **Memory**: the server runs under the judge's address-space bound, as a judge process did.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from autograder.common import limits, typed, wire
from autograder.common.protocol import GradeAhead, GradeDone, GradeRequest, JudgeReady

STOP_GRACE = 10.0
"""Seconds a judge gets to stop its workers after SIGTERM before it is killed."""
MAX_SESSIONS = 32
"""Submissions one server grades before it is replaced by a fresh one: bounds what a long class
can accumulate in it, and keeps its sessions (each submission's own, and one made ahead for the
next: at most two per submission) within the `sandbox.GENERATIONS` whose workers' uids differ."""
START_TIMEOUT = 300.0
"""Seconds a server may take to start (pytest and the plugin: a fraction of a second on an idle
machine; a loaded one was seen tens of times slower)."""
REPLY_LIMITS = wire.Limits(1 << 20, 1 << 20)


class Judges:
    """The judge processes this run started, so that a signal can end every one of them."""

    def __init__(self) -> None:
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self.stopping = False

    def start(self, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        with self._lock:
            if self.stopping:
                raise InterruptedError("grading is being stopped")
            proc = subprocess.Popen(argv, start_new_session=True, **kwargs)  # type: ignore[call-overload]
            self._running.add(proc)
            return proc

    def done(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.discard(proc)

    def stop_all(self) -> None:
        """SIGTERM to every judge (each stops its workers and removes their files), SIGKILL to those
        still there after `STOP_GRACE`; no judge is started after this."""
        with self._lock:
            self.stopping = True
            running = list(self._running)
        for proc in running:
            end(proc)


def end(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """Stop a judge: SIGTERM to its process group, SIGKILL after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class JudgeFailed(Exception):
    """The judge could not grade a submission: it crashed, hung past its bound, or never started."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _bound_judge_memory() -> None:
    """A soft address-space bound of the judge's own (a backstop against a reply that decodes into
    far more than it should); the hard limit stays, so that its workers can set theirs."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = limits.JUDGE_ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(limits.JUDGE_ADDRESS_SPACE, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class _Pipe:
    """The reply pipe, read under a deadline (TimeoutError past it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.deadline = float("inf")

    def read(self, n: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
            raise TimeoutError
        return os.read(self.fd, n)


class JudgeServer:
    """One judge server, started on first use and replaced when it fails; used by one thread at a time."""

    def __init__(self, *, cwd: Path, env: dict[str, str], judges: Judges) -> None:
        self.cwd, self.env, self.judges = cwd, env, judges
        self._proc: subprocess.Popen[bytes] | None = None
        self._requests: Any = None
        self._replies: _Pipe | None = None
        self._output: Any = None
        self._sequence = 0
        self.sessions = 0
        """Submissions the current server has been sent."""
        self.starts = 0
        self.start_seconds = 0.0
        """Wall-clock seconds spent starting servers (their imports), over this handle's life."""

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start a server and wait for its handshake (JudgeFailed when it does not come)."""
        self.stop()
        began = time.monotonic()
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        self._output = tempfile.TemporaryFile()

        def in_child() -> None:
            _bound_judge_memory()
            a, b = os.dup(req_r), os.dup(rep_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        argv = [sys.executable, "-m", "autograder.judge.server"]
        try:
            self._proc = self.judges.start(argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                           stdout=self._output, stderr=subprocess.STDOUT,
                                           preexec_fn=in_child, pass_fds=(3, 4))
        except OSError as exc:  # InterruptedError among them: grading is being stopped
            os.close(req_w)
            os.close(rep_r)
            if isinstance(exc, InterruptedError):
                raise
            raise JudgeFailed(f"the judge could not be started: {exc}") from None
        finally:
            os.close(req_r)
            os.close(rep_w)
        self._requests = os.fdopen(req_w, "wb")
        self._replies = _Pipe(rep_r)
        self._replies.deadline = time.monotonic() + START_TIMEOUT
        self.starts += 1
        self.sessions = 0
        try:
            typed.parse(JudgeReady, wire.read_frame(self._replies, REPLY_LIMITS), "the judge's handshake")
        except (TimeoutError, wire.WireError, typed.TypeMismatch) as exc:
            why = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            tail = self._output_tail()
            self.stop()
            raise JudgeFailed(f"the judge failed to start ({why}): {tail}") from None
        finally:
            self.start_seconds += time.monotonic() - began

    def _output_tail(self, limit: int = 2000) -> str:
        """The end of what the server printed outside any submission's session."""
        if self._output is None:
            return ""
        self._output.seek(0, os.SEEK_END)
        size = self._output.tell()
        self._output.seek(max(0, size - limit))
        return self._output.read().decode(errors="replace")

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, *, grace: float = 10.0) -> None:
        """End the server: close its request pipe (it returns when idle); SIGTERM to its process
        group, then SIGKILL, when it does not."""
        proc, self._proc = self._proc, None
        self.close_requests()
        if proc is not None:
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                end(proc, grace)
            self.judges.done(proc)
        if self._replies is not None:
            os.close(self._replies.fd)
            self._replies = None
        if self._output is not None:
            self._output.close()
            self._output = None

    def close_requests(self) -> None:
        """Tell the server that no submission follows (it exits once idle); `stop` reaps it."""
        if self._requests is not None:
            try:
                self._requests.close()
            except OSError:
                pass
            self._requests = None

    def kill(self) -> None:
        """End the server at once (a submission ran past its bound)."""
        proc = self._proc
        if proc is not None:
            end(proc)
        self.stop(grace=0.0)

    # -- grading --------------------------------------------------------------------------------
    def grade(self, args: list[str], log: Path, timeout: float, ahead: GradeAhead | None = None) -> int:
        """Grade one submission (pytest's ``args``, output into ``log``); pytest's exit status.
        ``ahead``: the submission this server grades next, whose worker may start meanwhile.

        JudgeFailed when the server dies while grading it or runs past ``timeout`` seconds (it is
        ended then); a server that died before the request, or has graded `MAX_SESSIONS`, is
        replaced first, at no cost to this submission.
        """
        if not self._alive() or self.sessions >= MAX_SESSIONS:
            self.start()
        self._sequence += 1
        request = wire.encode(typed.to_plain(GradeRequest(id=self._sequence, args=list(args), log=str(log),
                                                          ahead=ahead)))
        try:
            self._requests.write(request)
            self._requests.flush()
        except BrokenPipeError:  # it died between two submissions: a fresh one gets this one
            self.start()
            self._requests.write(request)
            self._requests.flush()
        self.sessions += 1
        assert self._replies is not None
        self._replies.deadline = time.monotonic() + timeout
        try:
            done = typed.parse(GradeDone, wire.read_frame(self._replies, REPLY_LIMITS), "the judge's reply")
        except TimeoutError:
            self.kill()
            raise JudgeFailed(f"the judge ran longer than its {timeout:.0f} s and was stopped") from None
        except wire.ClosedError:
            proc = self._proc
            code = proc.wait(timeout=10) if proc is not None else None
            printed = self._output_tail()  # a traceback of its own, outside the submission's session
            self.stop()
            raise JudgeFailed(f"the judge exited with status {_status(code)} while grading"
                              + (f"; it printed: {printed.strip()}" if printed.strip() else "")) from None
        except (wire.WireError, typed.TypeMismatch) as exc:
            self.kill()
            raise JudgeFailed(f"the judge sent an unreadable reply: {exc}") from None
        if done.id != self._sequence:
            self.kill()
            raise JudgeFailed(f"the judge answered request {done.id}, not {self._sequence}")
        return done.exit_status


def _status(code: int | None) -> str:
    if code is not None and code < 0:
        return f"{code} ({signal.Signals(-code).name})" if -code in signal.Signals._value2member_map_ else str(code)
    return str(code)


def stop_judges(servers: list[JudgeServer]) -> None:
    """End every server of a run: all are told at once, then each is reaped."""
    for server in servers:
        server.close_requests()
    for server in servers:
        server.stop()
