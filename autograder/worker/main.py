"""The worker: the only process that imports student code.

It starts inside the sandbox (see `autograder.judge.sandbox`), applies its resource limits and
drops to an unprivileged uid *before* any student module is imported, loads everything it will
ever use itself, starts its device, announces itself (`protocol.Ready`), then answers probe
requests from the judge one at a time over the pipes `autograder.common.channel` handed over.
Everything it sends is plain data (`autograder.common.wire`) in the shapes of
`autograder.common.protocol`; everything it knows comes from the request, the read-only
submission copy and the training data — never the reference, the tests or the answers.

The submission's folder joins ``sys.path`` last, after every import of the worker's own, so a
student's ``random.py`` or ``tempfile.py`` can neither break the worker nor stand in for a module
it uses; yet the student's own code, importing ``random``, gets their ``random.py``, as on their
machine (`autograder.worker.student_imports`). Display and logging packages grading never needs
get inert stand-ins (`autograder.worker.stand_ins`); matplotlib draws to no screen.

Started as ``python -I -S -c BOOTSTRAP START_JSON`` (see `sandbox.bootstrap_code`).
"""

from __future__ import annotations

import gc
import importlib
import importlib.metadata
import io
import json
import os
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable

from autograder.common import channel, typed, wire
from autograder.common.contract import BY_MODULE, GRADING_ENVIRONMENT, STAND_INS
from autograder.common.limits import ResourceLimits
from autograder.common.protocol import TAMPERED, GpuMemory, ProbeError, ProbeReply, ProbeRequest, Ready, WorkerStart
from autograder.worker.context import MissingName, WorkerContext, where_in_submission
from autograder.worker.integrity import Integrity
from autograder.worker.registry import PROBES
from autograder.worker.stand_ins import StandInFinder
from autograder.worker.student_imports import StudentImports

MAX_REPLY = 256 * 2**20
"""The worker refuses to send more than this; the judge's own limit is lower still."""

_RLIMITS = {
    "address_space": resource.RLIMIT_AS,
    "data": resource.RLIMIT_DATA,
    "cpu_seconds": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
    "file_size": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
}


def apply_limits(limits: ResourceLimits) -> None:
    """Set soft = hard limits (CPU keeps a grace second for SIGXCPU) before student code runs."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, value in limits.as_dict().items():
        if not value:
            continue
        which = _RLIMITS[key]
        hard = value + 5 if key == "cpu_seconds" else value
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY and current_hard < hard:
            hard = current_hard
        resource.setrlimit(which, (min(value, hard), hard))


def _drop_privileges(uid: int | None) -> None:
    """As root, become ``uid`` with no groups and no capabilities; otherwise stay as we are."""
    if uid is None or os.getuid() != 0:
        return
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise RuntimeError("could not drop privileges")


def _is_cuda_oom(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")
    kind = getattr(torch, "OutOfMemoryError", None) or getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    return kind is not None and isinstance(exc, kind)


ENVIRONMENT_HINT = ("the grading environment provides the standard library, " + ", ".join(GRADING_ENVIRONMENT)
                    + " and the submission's own modules, and inert stand-ins for " + ", ".join(STAND_INS))
"""Said with a module that is not installed: what a submission may import (`contract.GRADING_ENVIRONMENT`)."""


class GpuMeter:
    """The GPU's memory as this worker sees it, read through the functions torch had before any
    student code ran (a student's own ``torch.cuda.mem_get_info`` cannot speak for the GPU)."""

    def __init__(self, peak: Callable[[], int], info: Callable[[], tuple[int, int]], fraction: float | None) -> None:
        self._peak, self._info, self._fraction = peak, info, fraction

    @classmethod
    def for_cuda(cls, fraction: float | None) -> GpuMeter:
        import torch

        return cls(torch.cuda.max_memory_reserved, torch.cuda.mem_get_info, fraction)

    def read(self) -> GpuMemory | None:
        """The memory now (None when it cannot be read)."""
        try:
            free, total = self._info()
            share = int(total * self._fraction) if self._fraction is not None else int(total)
            return GpuMemory(own_peak=int(self._peak()), share=share, free=int(free), total=int(total))
        except Exception:  # noqa: BLE001 — no evidence: the judge then charges the student's code
            return None


def describe_exception(exc: BaseException, submission: Path, gpu: GpuMeter | None = None) -> ProbeError:
    """The account of an exception raised by (or through) student code that the judge receives;
    a CUDA out-of-memory error comes with what ``gpu`` measured of the GPU's memory."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(str(submission)):
        where = f"{Path(exc.filename).name}:{exc.lineno}"
    else:
        where = where_in_submission(exc.__traceback__, submission)
    try:
        message = str(exc)
    except BaseException:  # a hostile __str__
        message = "<the exception's message could not be read>"
    if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.partition(".")[0] not in BY_MODULE:
        message += " — " + ENVIRONMENT_HINT
    oom = _is_cuda_oom(exc)
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(line for line in lines if str(submission) in line or not line.startswith("  File"))
    missing_module = (exc.name if isinstance(exc, ModuleNotFoundError) and exc.name is not None
                      and "." not in exc.name else None)
    return ProbeError(
        type=type(exc).__name__[:200], message=message[:2000], where=where[:200] if where else None,
        traceback=tail[-4000:],
        missing_name=(exc.module, exc.attr) if isinstance(exc, MissingName) else None,
        missing_module=missing_module[:200] if missing_module else None,
        out_of_memory=oom, gpu_memory=gpu.read() if oom and gpu is not None else None)


def _error_frame(rid: Any, error: ProbeError) -> bytes:
    return wire.encode(typed.to_plain(ProbeReply(id=rid if type(rid) is int else -1, ok=False, error=error)))


def serve(ctx: WorkerContext, probes: dict[str, Callable[..., Any]], requests: io.BufferedReader,
          replies: io.BufferedWriter, integrity: Integrity | None = None, gpu: GpuMeter | None = None) -> None:
    """Answer requests until the judge closes the pipe.

    Each reply carries its request's ``id``, so that the judge can tell a reply from a stale or
    forged frame. A process forked by student code that returns into this loop exits at once:
    only the worker itself answers. The loop holds its own references to what it calls, and
    dispatches from ``integrity``'s copy of the probes; before each reply it asks ``integrity``
    whether the worker's code is still its own, and if not, says so in place of the reply and
    ends (`autograder.worker.integrity`).
    """
    integrity = integrity if integrity is not None else Integrity(probes)
    own = integrity.probes
    read_frame, encode, parse, to_plain = wire.read_frame, wire.encode, typed.parse, typed.to_plain
    changed, exit_now, perf_counter, getpid = integrity.changed, os._exit, time.perf_counter, os.getpid
    limits = wire.Limits(max_header=64 * 2**20, max_body=4 * 2**30)
    owner = getpid()
    while True:
        try:
            frame = read_frame(requests, limits)
        except wire.ClosedError:
            return
        started = perf_counter()
        rid = frame.get("id") if type(frame) is dict else None
        try:
            request = parse(ProbeRequest, frame, "request")
            probe = own[request.probe]
            value = to_plain(probe(ctx, **request.args))
            reply = encode(to_plain(ProbeReply(id=request.id, ok=True, value=value,
                                               seconds=perf_counter() - started)), MAX_REPLY)
        except wire.WireError as exc:
            # the student's value sits at "value" inside the reply, itself named "value"
            message = str(exc).replace("value.value", "the returned value", 1)
            reply = _error_frame(rid, ProbeError(type="UncheckableValue", message=message[:2000]))
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
            reply = _error_frame(rid, describe_exception(exc, ctx.submission, gpu))
        if getpid() != owner:  # a fork of the student's that returned from the probe
            exit_now(0)
        try:
            tampered = changed()
        except BaseException:  # noqa: BLE001 — a snapshot that cannot even be compared was tampered with
            tampered = ["the worker's record of its own code"]
        if tampered:
            replies.write(_error_frame(rid, ProbeError(
                type=TAMPERED, message=("the submission changed the grader's own code in the worker: "
                                        + ", ".join(tampered[:8]))[:2000])))
            replies.flush()
            exit_now(0)
        replies.write(reply)
        replies.flush()


def _versions(*packages: str) -> dict[str, str]:
    """Installed versions, read from package metadata (nothing is imported)."""
    out = {}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _start_device(start: WorkerStart) -> str:
    """Start CUDA in the sandbox before any student code (so a failure is the grader's, reported at
    once); bound this worker's share of the GPU's memory. Returns why it failed, or ""."""
    if start.device != "cuda":
        return ""
    try:
        import torch

        torch.cuda.init()
        torch.zeros(1, device="cuda")
        if start.gpu_memory_fraction is not None:
            torch.cuda.set_per_process_memory_fraction(start.gpu_memory_fraction)
    except Exception as exc:  # noqa: BLE001 — every failure to start is reported, none is fatal
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:500] if str(exc).strip() else ''}"
    return ""


def main(start_json: str) -> None:
    """Entry point inside the sandbox; see the module docstring."""
    start = typed.parse(WorkerStart, json.loads(start_json), "start")
    if start.parent is not None:
        channel.die_with_parent(start.parent)
    apply_limits(start.limits)
    _drop_privileges(start.uid)
    os.chdir(start.scratch)
    requests, replies = channel.child_ends()
    # The heavy libraries load before the handshake (when the judge's checks need them), so that
    # a student module's import time is its own work, not torch's.
    started = time.perf_counter()
    for name in start.preload:
        importlib.import_module(name)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(start.threads)
    device_error = _start_device(start)
    from autograder.worker import probes  # noqa: F401  (registers the probes of every problem)
    if "torchvision" in start.preload:  # the training probes (and the homework's baseline they
        from autograder.worker import training_probes  # noqa: F401  use) need torch and torchvision
    integrity = Integrity(PROBES)  # before any student code: what "the worker's own" means
    gpu = GpuMeter.for_cuda(start.gpu_memory_fraction) if start.device == "cuda" and not device_error else None
    gc.freeze()  # the collector need never scan torch's objects again while student code runs

    submission = Path(start.submission)
    sys.path.append(str(submission))
    stand_ins = StandInFinder()
    sys.meta_path.insert(0, stand_ins)
    StudentImports(submission).install()
    warnings.filterwarnings("ignore", message=".*non-interactive, and thus cannot be shown")  # plt.show()
    ctx = WorkerContext(submission=submission, data=Path(start.data) if start.data else None,
                        device=start.device, modules={}, stand_ins=lambda: list(stand_ins.used))
    wire.write_frame(replies, typed.to_plain(Ready(
        ready=True, uid=os.getuid(), pid=os.getpid(), startup_seconds=time.perf_counter() - started,
        versions={"python": sys.version.split()[0], **_versions("torch", "torchvision", "numpy")},
        device=start.device, device_error=device_error)))
    if device_error:
        return
    serve(ctx, PROBES, requests, replies, integrity, gpu)
