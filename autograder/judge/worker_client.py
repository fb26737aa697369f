"""The judge's handle on a worker: start it in the sandbox, send probes, read checked replies.

Everything a worker sends is the student's doing once their code has run: a probe that raises,
runs too long, stops reading, closes its pipe, dies, or sends a reply that does not fit its type
(`autograder.common.protocol.REPLIES`) becomes a `ProbeFailure` naming the file and what happened;
the worker is then discarded and the next call starts a fresh one. Every read *and write* keeps
the probe's deadline, so no worker can stall the judge. Only what happens before any student code
runs — the sandbox failing to start, the device failing to start — is a `SandboxFault`: the
grader's problem, reported as "not graded", never as the student's zero.
"""

from __future__ import annotations

import enum
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from autograder.common import channel, limits, protocol, typed, wire
from autograder.common.text import safe_name, safe_text
from autograder.common.channel import Channel
from autograder.common.contract import BY_MODULE
from autograder.common.protocol import TAMPERED, ProbeError, ProbeReply, Ready, WorkerStart
from autograder.judge import sandbox
from autograder.judge.memory_cgroup import MemoryCgroup
from autograder.judge.sandbox import SandboxMode
from autograder.judge.staging import Staging


@dataclass
class WorkerSettings:
    """Everything that decides how a submission's worker runs."""

    submission: Path
    mode: SandboxMode
    data: Path | None = None
    device: str = "cpu"
    memory: int = limits.WORKER_ADDRESS_SPACE
    """This worker's share of the machine's memory (`limits.worker_memory_share`)."""
    gpu_memory_fraction: float | None = None
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
    generation: int = 0
    """Which of the judge's submissions this worker is for (a judge server grades several in
    turn); decides its uid and the name of its memory cgroup together with ``slot``."""
    staging: Staging | None = None
    """The session's copy of the submission, shared by its workers (`autograder.judge.staging`);
    None: the worker stages a copy of its own."""
    matplotlib_cache: Path | None = None
    """matplotlib's font list, built once for every worker (`matplotlib_cache.fontlist`)."""


class SandboxFault(Exception):
    """The worker could not be started: a fault of the grader's machine, not of the student."""


class FailureKind(str, enum.Enum):
    """How a probe failed; each is the student's code's doing."""

    RAISED = "raised"
    MISSING = "missing"
    """A module or name of the contract is not there."""
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    """The worker died, or closed or stopped reading its pipes."""
    BAD_REPLY = "bad_reply"
    """A reply that is malformed, too large, or not of the probe's reply type."""
    TAMPERED = "tampered"
    """The submission changed the worker's own code (its probe table, a function it relies on), or
    a reply contradicts what another probe found: the problem fails and the TA's page says so."""


class ProbeFailure(Exception):
    """A probe did not produce a usable answer because of the submission's code."""

    def __init__(self, kind: FailureKind, message: str, *, where: str | None = None,
                 details: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.where = where
        self.details = details


class OutOfGpuMemory(Exception):
    """CUDA ran out of memory during a probe because others had taken the GPU's memory (the worker's
    own use below its share, the GPU full: `gpu_taken_by_others`): retried, then not graded."""


GPU_OWN_OVERHEAD = 2**30
"""Bytes of the GPU a worker holds that torch does not count as reserved (its CUDA context, the
allocator's rounding): a worker within this of its share used its share up itself."""


def gpu_taken_by_others(error: ProbeError) -> bool:
    """Whether a CUDA out-of-memory error is shown to be the shared GPU's, not the student's: the
    worker's own use stayed below its share (by more than `GPU_OWN_OVERHEAD`), and the GPU had less
    free memory than what was left of that share — someone else held it. Anything else — no measurement, a worker at or over its
    share, a GPU with room to spare (an OutOfMemoryError the student raised) — is the student's."""
    gpu = error.gpu_memory
    if not error.out_of_memory or gpu is None:
        return False
    if gpu.own_peak + GPU_OWN_OVERHEAD >= gpu.share:
        return False
    return gpu.free < gpu.share - gpu.own_peak - GPU_OWN_OVERHEAD


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
        text = safe_text(data.decode("utf-8", errors="replace"))
        if dropped > 0:
            text = f"[… {dropped:,} earlier bytes of output not kept …]\n" + text
        return text


class Worker:
    """A sandboxed worker for one submission, restarted on demand after a failure."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.uid = sandbox.slot_uid(settings.slot, settings.generation) if os.getuid() == 0 else None
        self._own_staging = settings.staging is None
        self.staging = settings.staging if settings.staging is not None else Staging.make(settings.submission)
        self._tmp = Path(tempfile.mkdtemp(prefix="autograde-"))
        os.chmod(self._tmp, 0o711)
        self._copy = self.staging.path
        self.skipped_files = self.staging.skipped_files
        self._link: Channel | None = None
        self._cgroup: MemoryCgroup | None = None
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
        self.memory_bound = ""
        """How this worker's memory was bounded, for the results ("a cgroup of 6.0 GiB", …)."""
        self._start_fault: SandboxFault | None = None
        self._stopping = threading.RLock()
        """`stop` runs on the thread using the worker and on the one closing the session at once
        (a training lane's run cut short): one of them at a time."""

    # -- life cycle -------------------------------------------------------------------------
    def _argv_and_env(self, scratch: Path, worker_limits: limits.ResourceLimits) -> tuple[list[str], dict[str, str]]:
        s = self.settings
        bwrap = s.mode is SandboxMode.BWRAP
        sub = sandbox.SUBMISSION_MOUNT if bwrap else str(self._copy)
        scr = sandbox.SCRATCH_MOUNT if bwrap else str(scratch)
        data = (sandbox.DATA_MOUNT if bwrap else str(s.data)) if s.data else None
        grader_parent = sandbox.GRADER_MOUNT if bwrap else str(sandbox.grader_package().parent)
        paths = sandbox.stdlib_paths() + [grader_parent] + sandbox.site_paths()
        start = WorkerStart(limits=worker_limits, uid=self.uid if bwrap else None, scratch=scr,
                            submission=sub, data=data, device=s.device, threads=s.threads,
                            preload=tuple(s.preload), gpu_memory_fraction=s.gpu_memory_fraction,
                            parent=None if bwrap else os.getpid())
        argv = [sys.executable, "-I", "-u", "-S", "-B", "-c", sandbox.bootstrap_code(paths),
                json.dumps(typed.to_plain(start))]
        env = sandbox.worker_environment(device=s.device, scratch=scr, threads=s.threads)
        if bwrap:
            path, problem = sandbox.bwrap_check()
            if path is None:
                raise SandboxFault(problem)
            argv = sandbox.bwrap_args(bwrap=path, submission=self._copy, data=s.data,
                                      grader=sandbox.grader_package(), device=s.device,
                                      matplotlib_cache=s.matplotlib_cache) + argv
        return argv, env

    def start(self) -> None:
        """Start a fresh worker and wait for its handshake; SandboxFault if it never comes. A worker
        that could not start once is not tried again: every later call fails at once with the same
        reason (no stall of a start timeout per check)."""
        if self._start_fault is not None:
            raise self._start_fault
        self.stop()
        self.starts += 1
        began = time.monotonic()
        try:
            self._start()
        except SandboxFault as fault:
            self._start_fault = fault
            raise
        finally:
            self.start_seconds += time.monotonic() - began

    def _memory(self) -> limits.ResourceLimits:
        """This start's memory bound: a cgroup of the worker's own when the host allows one."""
        s = self.settings
        name = f"autograde-{os.getpid()}-{s.generation}-{s.slot}-{self.starts}"
        self._cgroup = MemoryCgroup.create(name, s.memory)
        gib = s.memory / limits.GiB
        if self._cgroup is not None:
            self.memory_bound = f"a memory cgroup of {gib:.1f} GiB for the worker's processes"
        elif s.device == "cuda":
            self.memory_bound = f"{gib:.1f} GiB of private memory per process (RLIMIT_DATA; no memory cgroup here)"
        else:
            self.memory_bound = f"{gib:.1f} GiB of address space per process (RLIMIT_AS; no memory cgroup here)"
        return limits.limits_for(s.device, s.memory, cgroup=self._cgroup is not None)

    def _start(self) -> None:
        scratch = self._tmp / f"scratch{self.starts}"
        if self.settings.mode is SandboxMode.LIMITS_ONLY:
            sandbox.prepare_scratch(scratch, self.settings.matplotlib_cache)
        argv, env = self._argv_and_env(scratch, self._memory())
        if self._cgroup is not None:  # joined before the first instruction of the worker (or bwrap)
            argv = channel.cgroup_wrapper(self._cgroup.procs_file) + argv
        out_r, out_w = os.pipe()
        try:
            self._link = channel.spawn(argv, env=env, stdout=out_w, stderr=out_w)
        except (OSError, subprocess.SubprocessError) as exc:
            os.close(out_r)
            raise SandboxFault(f"could not start the worker: {exc}") from None
        finally:
            os.close(out_w)
        self._tails.append(OutputTail(out_r, self.settings.output_limit))
        self._imported.clear()
        try:
            hello = typed.parse(Ready, self._link.receive(self.settings.reply_limits, self.settings.startup_timeout),
                                "handshake")
        except (TimeoutError, wire.WireError, typed.TypeMismatch) as exc:
            self.stop()
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            raise SandboxFault(f"the sandboxed worker failed to start ({reason}): "
                               f"{self._tails[-1].text()[-1500:]}") from None
        if hello.device_error:
            self.stop()
            raise SandboxFault(f"CUDA could not start in the sandbox: {hello.device_error}")
        self.ready_info = typed.to_plain(hello)

    @property
    def _proc(self) -> subprocess.Popen[bytes] | None:
        return self._link.proc if self._link is not None else None

    def stop(self) -> None:
        """Kill the worker and everything it started."""
        with self._stopping:
            link, self._link = self._link, None
            if link is not None:
                link.kill()
                link.close()
                if self._tails:
                    self._tails[-1].join()
            cgroup, self._cgroup = self._cgroup, None
            if cgroup is not None:
                cgroup.kill_all()
                cgroup.remove()

    def close(self) -> None:
        """Stop the worker and remove its scratch (and its copy of the submission, if its own)."""
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)
        if self._own_staging:
            self.staging.close()

    @property
    def output(self) -> str:
        """Captured stdout/stderr of every worker this submission had (bounded tails)."""
        return "\n".join(t.text() for t in self._tails if t.total)

    @property
    def output_bytes(self) -> int:
        return sum(t.total for t in self._tails)

    # -- calls ------------------------------------------------------------------------------
    def _died(self) -> str:
        """How the worker ended, once its reply pipe closed: its exit status, or — when it is still
        alive a moment later — that it closed the pipe itself (it is killed then, so nothing here
        can hang)."""
        link, cgroup = self._link, self._cgroup
        code = None
        if link is not None:
            code = link.exit_code(wait=2.0)
            if code is None:
                link.kill()
        if cgroup is not None and cgroup.oom_kills() > 0:
            return channel.describe_exit(code, oom_killed=True)
        if code is None:
            return "it closed its reply pipe"
        return channel.describe_exit(code)

    def _exchange(self, probe: str, args: dict[str, Any], timeout: float, doing: str, where: str) -> Any:
        if self.busy_seconds >= self.settings.submission_timeout:
            raise ProbeFailure(FailureKind.TIMEOUT, f"{where}: not run — the submission used up its "
                               f"{self.settings.submission_timeout:.0f} s of grading time", where=where)
        if self._proc is None or self._proc.poll() is not None:
            self.start()
        assert self._link is not None
        timeout = min(timeout, self.settings.submission_timeout - self.busy_seconds)
        started = time.monotonic()
        self._sequence += 1
        try:
            self._link.deadline = started + timeout
            self._link.write_all(wire.encode({"probe": probe, "args": args, "id": self._sequence}))
            frame = self._read_reply(self._sequence)
            reply = typed.parse(ProbeReply, frame, "reply")
            if reply.id != self._sequence:
                raise typed.TypeMismatch("reply.id", str(self._sequence), reply.id)
        except TimeoutError:
            self.stop()
            raise ProbeFailure(FailureKind.TIMEOUT, f"{where}: {doing} took longer than {timeout:.0f} s",
                               where=where) from None
        except (wire.ClosedError, BrokenPipeError, ConnectionError) as exc:
            how = self._died()
            self.stop()
            raise ProbeFailure(FailureKind.CRASHED, f"{where}: the worker process died while {doing} "
                               f"({how})", where=where) from exc
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.EBADF):
                raise
            how = self._died()
            self.stop()
            raise ProbeFailure(FailureKind.CRASHED, f"{where}: the worker process died while {doing} "
                               f"({how})", where=where) from None
        except (wire.WireError, typed.TypeMismatch) as exc:
            self.stop()  # whatever else is in the pipe cannot be trusted to line up either
            raise ProbeFailure(FailureKind.BAD_REPLY, f"{where}: {doing} sent back an unusable reply: {exc}",
                               where=where) from None
        finally:
            self.busy_seconds += time.monotonic() - started
        if not reply.ok:
            if reply.error is None:
                raise ProbeFailure(FailureKind.BAD_REPLY, f"{where}: {doing} sent back a malformed reply", where=where)
            if self.settings.device == "cuda" and gpu_taken_by_others(reply.error):
                self.stop()  # the GPU memory it held goes back to the others
                raise OutOfGpuMemory(f"{where}: CUDA ran out of memory while {doing}, with the GPU's memory "
                                     f"taken by others: {safe_text(reply.error.message[:300])}")
            if reply.error.out_of_memory:
                self.stop()  # what it held goes back to the others either way
                raise _out_of_memory_failure(reply.error, where, doing)
            raise _failure_from_error(reply.error, where, doing)
        try:
            return typed.parse(protocol.REPLIES.get(probe, Any), reply.value, "the reply")
        except typed.TypeMismatch as exc:
            raise ProbeFailure(FailureKind.BAD_REPLY, f"{where}: {doing} sent back a reply of the wrong "
                               f"form: {exc}", where=where) from None

    def _read_reply(self, sequence: int) -> Any:
        """The next frame that is not a stale reply to an earlier request.

        Stale replies come from student code that wrote a frame of its own into the reply pipe
        (echoing the request's id) before the worker's real reply: that real reply is skipped here.
        """
        assert self._link is not None
        while True:
            reply = self._link.receive(self.settings.reply_limits)
            rid = reply.get("id") if type(reply) is dict else None
            if not (type(rid) is int and rid < sequence):
                return reply

    def require(self, module: str) -> None:
        """Make sure ``module`` imports in this worker; a failure is remembered for the submission
        (its staging decides once how each module imports: `Staging.admit`)."""
        if module in self._import_failures:
            raise self._import_failures[module]
        if module in self._imported and self._proc is not None and self._proc.poll() is None:
            return
        if self._proc is None or self._proc.poll() is not None:
            self.start()  # not counted in the import's time
        try:
            self.staging.admit(module, self)
        except ProbeFailure as failure:
            self._import_failures[module] = failure
            raise

    def try_import(self, module: str, *, baseline_problem2: bool = False) -> tuple[list[str], ProbeFailure | None]:
        """Import ``module`` in this worker now (a variation over the homework's baseline problem 2
        when ``baseline_problem2``): the stand-ins the import gave the student's code, and its
        `ProbeFailure` in the student's words if it failed (SandboxFault and OutOfGpuMemory are
        raised: they are no verdict on the module)."""
        where = f"{module}.py"
        started = time.monotonic()
        try:
            reply = self._exchange("import_module", {"module": module, "baseline_problem2": baseline_problem2},
                                   self.settings.import_timeout, "importing", where)
        except ProbeFailure as failure:
            if failure.kind is FailureKind.TIMEOUT:
                failure = ProbeFailure(
                    FailureKind.TIMEOUT, f"{where}: importing took longer than {self.settings.import_timeout:.0f} s"
                    " — move top-level work under `if __name__ == \"__main__\":`", where=where)
            elif failure.kind is FailureKind.RAISED and not failure.message.startswith(where):
                failure = ProbeFailure(failure.kind, f"{where}: importing failed — {failure.message}",
                                       where=failure.where or where, details=failure.details)
            return [], failure
        finally:
            self.import_seconds[module] = round(time.monotonic() - started, 3)
        self._imported.add(module)
        return list(reply.stand_ins), None

    def call(self, probe: str, *, module: str, timeout: float | None = None,
             doing: str | None = None, **args: Any) -> Any:
        """Run ``probe`` on ``module`` of the submission; returns its reply, typed and checked
        (`protocol.REPLIES`).

        Raises ProbeFailure (the student's code failed), SandboxFault (the grader's) or
        OutOfGpuMemory (the shared GPU's).
        """
        if module not in BY_MODULE:
            raise ValueError(f"unknown module {module!r}")
        self.require(module)
        return self._exchange(probe, {"module": module, **args},
                              self.settings.call_timeout if timeout is None else timeout,
                              doing or f"running {probe}", f"{module}.py")


def _failure_from_error(error: ProbeError, where: str, doing: str) -> ProbeFailure:
    """Turn the worker's account of an exception into the feedback a student reads (its texts are
    the student's: made safe here, where they enter)."""
    error = ProbeError(type=safe_name(error.type), message=safe_text(error.message),
                       where=safe_name(error.where) if error.where is not None else None,
                       traceback=safe_text(error.traceback),
                       missing_name=(safe_name(error.missing_name[0]), safe_name(error.missing_name[1]))
                       if error.missing_name is not None else None,
                       missing_module=safe_name(error.missing_module) if error.missing_module is not None else None,
                       out_of_memory=error.out_of_memory, gpu_memory=error.gpu_memory)
    if error.missing_name is not None:
        module, name = error.missing_name
        return ProbeFailure(FailureKind.MISSING, f"{module}.py does not define `{name}`", where=f"{module}.py")
    if error.missing_module is not None and error.missing_module in BY_MODULE:
        return ProbeFailure(FailureKind.MISSING, f"{error.missing_module}.py is missing from the submission "
                            "(or could not be found)", where=f"{error.missing_module}.py")
    loc = error.where or where
    if error.type == TAMPERED:
        return ProbeFailure(FailureKind.TAMPERED, f"{where}: TAMPERING — {error.message}", where=where)
    if error.type == "UncheckableValue":
        return ProbeFailure(FailureKind.BAD_REPLY, f"{where}: {doing} returned a value that cannot be "
                            f"checked — {error.message}", where=where)
    return ProbeFailure(FailureKind.RAISED, f"{loc}: {error.type or 'Error'}: {error.message}", where=loc,
                        details=error.traceback)


def _out_of_memory_failure(error: ProbeError, where: str, doing: str) -> ProbeFailure:
    """A CUDA out-of-memory error that is the student's (`gpu_taken_by_others` says no)."""
    gpu = error.gpu_memory
    found = (f" (this worker had reserved up to {gpu.own_peak / 2**30:.1f} GiB of its share of "
             f"{gpu.share / 2**30:.1f} GiB; the GPU had {gpu.free / 2**30:.1f} GiB free)") if gpu is not None else ""
    return ProbeFailure(FailureKind.RAISED, f"{where}: CUDA ran out of memory while {doing}{found}: "
                        f"{safe_text(error.message[:500])}", where=error.where or where,
                        details=safe_text(error.traceback))


class StartedAhead:
    """A worker made and started on a thread of its own, ahead of its first use: while the judge
    collects its checks, or while it grades the submission before (`autograder.judge.server`).

    The thread lives until `release`, after the worker is closed: bubblewrap's ``--die-with-parent``
    (and a limits-only worker's parent-death signal) follows the *thread* that started the process,
    so a thread that ended after the start would take the worker with it. A start that fails is
    kept by the worker itself (`Worker.start` raises it again on first use), so the checks report
    it exactly as they would have.
    """

    def __init__(self, make: Callable[[], Worker | None]) -> None:
        self._make = make
        self._ready = threading.Event()
        self._release = threading.Event()
        self._cancel = threading.Event()
        self._worker: Worker | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="worker-start", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._worker = self._make()
            try:
                if self._worker is not None and not self._cancel.is_set():
                    self._worker.start()
            except SandboxFault:
                pass  # the worker raises it on first use
        except BaseException as exc:  # noqa: BLE001 — raised to the first caller of `get`
            self._error = exc
        finally:
            self._ready.set()
        self._release.wait()

    def get(self) -> Worker | None:
        """The worker, once its start is over (what making it raised is raised here); None when
        there was none to make (nothing of the submission to grade)."""
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self._worker

    def release(self) -> None:
        """Close the worker if no one took it, and let the thread end. A start still under way is
        cut short (nobody will use that worker): a judge ending does not wait for it."""
        self._cancel.set()
        if not self._ready.is_set() and self._worker is not None:
            self._worker.stop()
        self._ready.wait()
        if self._worker is not None:
            self._worker.close()
        self._release.set()
        self._thread.join(timeout=10)
