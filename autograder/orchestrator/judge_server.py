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
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from autograder.common import channel, typed, wire
from autograder.common.channel import Channel
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

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """`subprocess.Popen`, recorded; InterruptedError once grading is being stopped. (The lock
        only orders starts against `stop_all`: a start runs no code in the child before exec.)"""
        with self._lock:
            if self.stopping:
                raise InterruptedError("grading is being stopped")
            proc = subprocess.Popen(argv, **kwargs)
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
    channel.end_group(proc, grace)


class JudgeFailed(Exception):
    """The judge could not grade a submission: it crashed, hung past its bound, or never started."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JudgeServer:
    """One judge server, started on first use and replaced when it fails; used by one thread at a time."""

    def __init__(self, *, cwd: Path, env: dict[str, str], judges: Judges) -> None:
        self.cwd, self.env, self.judges = cwd, env, judges
        self._channel: Channel | None = None
        self._output: IO[bytes] | None = None
        self._sequence = 0
        self.sessions = 0
        """Submissions the current server has been sent."""
        self.starts = 0
        self.start_seconds = 0.0
        """Wall-clock seconds spent starting servers (their imports), over this handle's life."""

    @property
    def pid(self) -> int | None:
        return self._channel.pid if self._channel is not None else None

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start a server and wait for its handshake (JudgeFailed when it does not come)."""
        self.stop()
        began = time.monotonic()
        self._output = tempfile.TemporaryFile()
        argv = [sys.executable, "-m", "autograder.judge.server"]
        try:
            self._channel = channel.spawn(argv, env=self.env, cwd=self.cwd, stdout=self._output,
                                          stderr=subprocess.STDOUT, popen=self.judges.popen)
        except InterruptedError:  # grading is being stopped
            raise
        except (OSError, subprocess.SubprocessError) as exc:
            raise JudgeFailed(f"the judge could not be started: {exc}") from None
        self.starts += 1
        self.sessions = 0
        try:
            typed.parse(JudgeReady, self._channel.receive(REPLY_LIMITS, START_TIMEOUT), "the judge's handshake")
        except (TimeoutError, wire.WireError, typed.TypeMismatch) as exc:
            why = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            code = self._channel.exit_code(wait=1.0)
            tail = self._output_tail()
            self.stop()
            exited = f", exit status {channel.status_text(code)}" if code is not None else ""
            raise JudgeFailed(f"the judge failed to start ({why}{exited}): {tail}") from None
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
        return self._channel is not None and self._channel.proc.poll() is None

    def stop(self, *, grace: float = 10.0) -> None:
        """End the server: close its request pipe (it returns when idle); SIGTERM to its process
        group, then SIGKILL, when it does not."""
        link, self._channel = self._channel, None
        if link is not None:
            link.close_requests()
            if link.exit_code(wait=2.0) is None:
                link.end(grace)
            self.judges.done(link.proc)
            link.close()
        if self._output is not None:
            self._output.close()
            self._output = None

    def close_requests(self) -> None:
        """Tell the server that no submission follows (it exits once idle); `stop` reaps it."""
        if self._channel is not None:
            self._channel.close_requests()

    def kill(self) -> None:
        """End the server at once (a submission ran past its bound)."""
        if self._channel is not None:
            self._channel.end(STOP_GRACE)
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
        request = typed.to_plain(GradeRequest(id=self._sequence, args=list(args), log=str(log), ahead=ahead))
        assert self._channel is not None
        try:
            self._channel.send(request, timeout)
        except (BrokenPipeError, OSError):  # it died between two submissions: a fresh one gets this one
            self.start()
            assert self._channel is not None
            self._channel.send(request, timeout)
        self.sessions += 1
        link = self._channel
        try:
            done = typed.parse(GradeDone, link.receive(REPLY_LIMITS, timeout), "the judge's reply")
        except TimeoutError:
            self.kill()
            raise JudgeFailed(f"the judge ran longer than its {timeout:.0f} s and was stopped") from None
        except wire.ClosedError:
            code = link.exit_code(wait=10.0)
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
    return channel.status_text(code)


def stop_judges(servers: list[JudgeServer]) -> None:
    """End every server of a run: all are told at once, then each is reaped."""
    for server in servers:
        server.close_requests()
    for server in servers:
        server.stop()
