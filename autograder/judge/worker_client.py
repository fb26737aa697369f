"""The judge's handle on a worker: start it in the sandbox, send probes, read checked replies.

A probe that raises, runs too long, sends a bad reply or kills the worker becomes a
`ProbeFailure` naming the file and what happened; the worker is then discarded and the next call
starts a fresh one. A worker that cannot even start is a `SandboxFault`: the grader's problem,
reported as "not graded", never as the student's zero.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.judge import notebooks, sandbox
from autograder.common import wire
from autograder.common.contract import BY_MODULE
from autograder.judge.sandbox import ResourceLimits, SandboxMode

MAX_SUBMISSION_BYTES = 50 * 2**20
"""A submission folder larger than this is not copied in full (files past it are left out)."""


@dataclass
class WorkerSettings:
    """Everything that decides how a submission's worker runs."""

    submission: Path
    mode: SandboxMode
    data: Path | None = None
    device: str = "cpu"
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    threads: int = 1
    startup_timeout: float = 180.0
    import_timeout: float = 20.0
    call_timeout: float = 60.0
    submission_timeout: float = 3600.0
    """Wall-clock seconds all probes of one submission may take together."""
    output_limit: int = 2**20
    """Bytes of the worker's stdout/stderr kept (the tail)."""
    reply_limits: wire.Limits = field(default_factory=lambda: wire.Limits(4 * 2**20, 64 * 2**20))
    preload: tuple[str, ...] = ("numpy", "torch", "torchvision")
    """Libraries the worker imports before its handshake (not counted in a student's import time)."""
    slot: int = 0
    """Which of the judge's workers this is (0: the main one); decides its uid."""


class SandboxFault(Exception):
    """The worker could not be started: a fault of the grader's machine, not of the student."""


class ProbeFailure(Exception):
    """A probe did not produce a usable answer because of the submission's code."""

    def __init__(self, kind: str, message: str, *, where: str | None = None,
                 details: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        """'raised', 'missing', 'timeout', 'crashed' or 'bad_reply'."""
        self.message = message
        self.where = where
        self.details = details


class OutputTail:
    """Drains a pipe on a thread, keeping the last ``limit`` bytes and counting the rest."""

    def __init__(self, fd: int, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, args=(fd,), daemon=True)
        self._thread.start()

    def _drain(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as stream:
            while chunk := stream.read(1 << 16):
                with self._lock:
                    self.total += len(chunk)
                    self._buf += chunk
                    if len(self._buf) > 2 * self.limit:
                        del self._buf[: len(self._buf) - self.limit]

    def join(self, timeout: float = 2.0) -> None:
        self._thread.join(timeout)

    def text(self) -> str:
        """The kept tail, decoded leniently, with a note of what was dropped."""
        with self._lock:
            data = bytes(self._buf[-self.limit:])
            dropped = self.total - len(data)
        text = data.decode("utf-8", errors="replace")
        if dropped > 0:
            text = f"[… {dropped:,} earlier bytes of output not kept …]\n" + text
        return text


class _DeadlineReader:
    """A file-like ``read`` over a pipe that raises TimeoutError past a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.deadline = float("inf")

    def read(self, n: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([self.fd], [], [], remaining)
        if not ready:
            raise TimeoutError
        return os.read(self.fd, n)


def copy_submission(src: Path, dst: Path) -> list[str]:
    """Copy regular files only (never following links), up to a size cap, plus the modules generated
    from the folder's notebooks where no ``.py`` of that name is; returns what was skipped."""
    skipped: list[str] = []
    total = 0
    dst.mkdir(parents=True, exist_ok=True)
    for root, dirs, files in os.walk(src, followlinks=False):
        rel = Path(root).relative_to(src)
        dirs[:] = [d for d in sorted(dirs) if d != "__pycache__" and not (Path(root) / d).is_symlink()]
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                skipped.append(str(rel / name))
                continue
            size = path.stat().st_size
            if total + size > MAX_SUBMISSION_BYTES:
                skipped.append(str(rel / name))
                continue
            total += size
            shutil.copyfile(path, dst / rel / name)
    notebooks.write_modules(notebooks.convert(src), dst)  # a notebook's problems as modules
    for p in [dst, *dst.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return skipped


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hints = {
            "SIGKILL": "killed — most often for using too much memory",
            "SIGXCPU": "killed for using more CPU time than allowed",
            "SIGXFSZ": "killed for writing a file larger than allowed",
            "SIGSEGV": "crashed with a segmentation fault",
        }
        return f"{name}: {hints.get(name, 'killed by a signal')}"
    return f"it exited with status {code}"


class Worker:
    """A sandboxed worker for one submission, restarted on demand after a failure."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.uid = sandbox.slot_uid(settings.slot) if os.getuid() == 0 else None
        self._tmp = Path(tempfile.mkdtemp(prefix="autograde-"))
        os.chmod(self._tmp, 0o711)
        self._copy = self._tmp / "submission"
        self.skipped_files = copy_submission(settings.submission, self._copy)
        self._proc: subprocess.Popen[bytes] | None = None
        self._requests: Any = None
        self._replies: _DeadlineReader | None = None
        self._tails: list[OutputTail] = []
        self._imported: set[str] = set()
        self._import_failures: dict[str, ProbeFailure] = {}
        self.busy_seconds = 0.0
        self.start_seconds = 0.0
        """Wall-clock seconds spent starting workers (sandbox, interpreter, preloads, handshake)."""
        self.import_seconds: dict[str, float] = {}
        """Seconds each module's (last) import took, for the timings of the report."""
        self.starts = 0
        self._sequence = 0
        """The id of the last request sent; replies echo it."""
        self.ready_info: dict[str, Any] = {}

    # -- life cycle -------------------------------------------------------------------------
    def _argv_and_env(self, scratch: Path) -> tuple[list[str], dict[str, str]]:
        s = self.settings
        bwrap = s.mode is SandboxMode.BWRAP
        sub = sandbox.SUBMISSION_MOUNT if bwrap else str(self._copy)
        scr = sandbox.SCRATCH_MOUNT if bwrap else str(scratch)
        data = (sandbox.DATA_MOUNT if bwrap else str(s.data)) if s.data else None
        grader_parent = sandbox.GRADER_MOUNT if bwrap else str(sandbox.grader_package().parent)
        paths = sandbox.stdlib_paths() + [grader_parent] + sandbox.site_paths()
        config = {
            "limits": s.limits.as_dict(), "uid": self.uid if bwrap else None,
            "scratch": scr, "submission": sub, "data": data, "device": s.device,
            "threads": s.threads, "preload": list(s.preload),
        }
        argv = [sys.executable, "-I", "-u", "-S", "-B", "-c", sandbox.bootstrap_code(paths), json.dumps(config)]
        env = sandbox.worker_environment(device=s.device, scratch=scr, threads=s.threads)
        if bwrap:
            argv = sandbox.bwrap_args(submission=self._copy, scratch=scratch, data=s.data,
                                      grader=sandbox.grader_package(), device=s.device) + argv
        return argv, env

    def start(self) -> None:
        """Start a fresh worker and wait for its handshake; SandboxFault if it never comes."""
        self.stop()
        self.starts += 1
        began = time.monotonic()
        try:
            self._start()
        finally:
            self.start_seconds += time.monotonic() - began

    def _start(self) -> None:
        scratch = self._tmp / f"scratch{self.starts}"
        sandbox.prepare_scratch(scratch, self.uid if self.settings.mode is SandboxMode.BWRAP else None)
        argv, env = self._argv_and_env(scratch)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()

        def child_fds() -> None:
            a, b = os.dup(req_r), os.dup(rep_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        try:
            self._proc = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                preexec_fn=child_fds, pass_fds=(3, 4), start_new_session=True,
            )
        except OSError as exc:
            raise SandboxFault(f"could not start the worker: {exc}") from None
        finally:
            for fd in (req_r, rep_w, out_w):
                os.close(fd)
        self._requests = os.fdopen(req_w, "wb")
        self._replies = _DeadlineReader(rep_r)
        self._tails.append(OutputTail(out_r, self.settings.output_limit))
        self._imported.clear()
        self._replies.deadline = time.monotonic() + self.settings.startup_timeout
        try:
            hello = wire.read_frame(self._replies, self.settings.reply_limits)
        except (TimeoutError, wire.WireError) as exc:
            self.stop()
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            raise SandboxFault(f"the sandboxed worker failed to start ({reason}): "
                               f"{self._tails[-1].text()[-1500:]}") from None
        if type(hello) is not dict or hello.get("ready") is not True:
            self.stop()
            raise SandboxFault("the worker's handshake was not understood")
        self.ready_info = hello

    def stop(self) -> None:
        """Kill the worker and everything it started."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self._requests,):
            try:
                stream.close()
            except OSError:
                pass
        if self._replies is not None:
            os.close(self._replies.fd)
            self._replies = None
        if self._tails:
            self._tails[-1].join()

    def close(self) -> None:
        """Stop the worker and remove its copy of the submission and its scratch."""
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    @property
    def output(self) -> str:
        """Captured stdout/stderr of every worker this submission had (bounded tails)."""
        return "\n".join(t.text() for t in self._tails if t.total)

    @property
    def output_bytes(self) -> int:
        return sum(t.total for t in self._tails)

    # -- calls ------------------------------------------------------------------------------
    def _exchange(self, probe: str, args: dict[str, Any], timeout: float, doing: str,
                  where: str) -> Any:
        if self.busy_seconds >= self.settings.submission_timeout:
            raise ProbeFailure("timeout", f"{where}: not run — the submission used up its "
                               f"{self.settings.submission_timeout:.0f} s of grading time", where=where)
        if self._proc is None or self._proc.poll() is not None:
            self.start()
        assert self._replies is not None and self._proc is not None
        timeout = min(timeout, self.settings.submission_timeout - self.busy_seconds)
        started = time.monotonic()
        self._sequence += 1
        try:
            self._requests.write(wire.encode({"probe": probe, "args": args, "id": self._sequence}))
            self._requests.flush()
            self._replies.deadline = started + timeout
            reply = self._read_reply(self._sequence)
        except TimeoutError:
            self.stop()
            raise ProbeFailure("timeout", f"{where}: {doing} took longer than {timeout:.0f} s",
                               where=where) from None
        except (wire.ClosedError, BrokenPipeError):
            proc = self._proc
            code = proc.wait(timeout=10) if proc is not None else None
            self.stop()
            raise ProbeFailure("crashed", f"{where}: the worker process died while {doing} "
                               f"({_describe_exit(code)})", where=where) from None
        except wire.WireError as exc:
            self.stop()
            raise ProbeFailure("bad_reply", f"{where}: {doing} sent back an unusable reply: {exc}",
                               where=where) from None
        finally:
            self.busy_seconds += time.monotonic() - started
        if (type(reply) is not dict or type(reply.get("ok")) is not bool
                or type(reply.get("id")) is not int or reply["id"] != self._sequence
                or (not reply["ok"] and type(reply.get("error")) is not dict)):
            self.stop()  # whatever else is in the pipe cannot be trusted to line up either
            raise ProbeFailure("bad_reply", f"{where}: {doing} sent back a malformed reply", where=where)
        if not reply["ok"]:
            raise _failure_from_error(reply["error"], where, doing)
        return reply.get("value")

    def _read_reply(self, sequence: int) -> Any:
        """The next frame that is not a stale reply to an earlier request.

        Stale replies come from student code that wrote a frame of its own into the reply pipe
        (echoing the request's id) before the worker's real reply: that real reply is skipped here.
        """
        assert self._replies is not None
        while True:
            reply = wire.read_frame(self._replies, self.settings.reply_limits)
            rid = reply.get("id") if type(reply) is dict else None
            if not (type(rid) is int and rid < sequence):
                return reply

    def require(self, module: str) -> None:
        """Make sure ``module`` imports in this worker; a failure is remembered for the submission."""
        if module in self._import_failures:
            raise self._import_failures[module]
        if module in self._imported and self._proc is not None and self._proc.poll() is None:
            return
        where = f"{module}.py"
        if self._proc is None or self._proc.poll() is not None:
            self.start()  # not counted in the import's time
        started = time.monotonic()
        try:
            self._exchange("import_module", {"module": module}, self.settings.import_timeout,
                           "importing", where)
        except ProbeFailure as failure:
            if failure.kind == "timeout":
                failure = ProbeFailure(
                    "timeout", f"{where}: importing took longer than {self.settings.import_timeout:.0f} s"
                    " — move top-level work under `if __name__ == \"__main__\":`", where=where)
            elif failure.kind == "raised" and not failure.message.startswith(where):
                failure = ProbeFailure(failure.kind, f"{where}: importing failed — {failure.message}",
                                       where=failure.where or where, details=failure.details)
            self._import_failures[module] = failure
            raise failure from None
        finally:
            self.import_seconds[module] = round(time.monotonic() - started, 3)
        self._imported.add(module)

    def call(self, probe: str, *, module: str, timeout: float | None = None,
             doing: str | None = None, **args: Any) -> Any:
        """Run ``probe`` on ``module`` of the submission; returns its plain-data answer.

        Raises ProbeFailure (the student's code failed) or SandboxFault (the grader's).
        """
        if module not in BY_MODULE:
            raise ValueError(f"unknown module {module!r}")
        self.require(module)
        return self._exchange(probe, {"module": module, **args},
                              self.settings.call_timeout if timeout is None else timeout,
                              doing or f"running {probe}", f"{module}.py")


def _failure_from_error(error: dict[str, Any], where: str, doing: str) -> ProbeFailure:
    """Turn the worker's account of an exception into the feedback a student reads."""
    def text(key: str) -> str:
        value = error.get(key)
        return value if type(value) is str else ""

    missing_name = error.get("missing_name")
    if (type(missing_name) is list and len(missing_name) == 2
            and all(type(x) is str for x in missing_name)):
        return ProbeFailure("missing", f"{missing_name[0]}.py does not define `{missing_name[1]}`",
                            where=f"{missing_name[0]}.py")
    missing_module = error.get("missing_module")
    if type(missing_module) is str and missing_module in BY_MODULE:
        return ProbeFailure("missing", f"{missing_module}.py is missing from the submission "
                            "(or could not be found)", where=f"{missing_module}.py")
    loc = text("where") or where
    message = f"{text('type') or 'Error'}: {text('message')}"
    if text("type") == "UncheckableValue":
        return ProbeFailure("bad_reply", f"{where}: {doing} returned a value that cannot be "
                            f"checked — {text('message')}", where=where)
    return ProbeFailure("raised", f"{loc}: {message}", where=loc, details=text("traceback"))
