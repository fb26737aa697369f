"""The worker: the only process that imports student code.

It starts inside the sandbox (see `autograder.judge.sandbox`), applies its resource limits and
drops to an unprivileged uid *before* any student module is imported, loads everything it will
ever use itself, starts its device, announces itself (`protocol.Ready`), then answers probe
requests from the judge one at a time over the pipes on fds 3 (requests in) and 4 (replies out).
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

from autograder.common import typed, wire
from autograder.common.contract import BY_MODULE, GRADING_ENVIRONMENT, STAND_INS
from autograder.common.limits import ResourceLimits
from autograder.common.protocol import ProbeError, ProbeReply, ProbeRequest, Ready, WorkerStart
from autograder.worker.context import MissingName, WorkerContext, where_in_submission
from autograder.worker.registry import PROBES
from autograder.worker.stand_ins import StandInFinder
from autograder.worker.student_imports import StudentImports

REQUEST_FD = 3
REPLY_FD = 4
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


def describe_exception(exc: BaseException, submission: Path) -> ProbeError:
    """The account of an exception raised by (or through) student code that the judge receives."""
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
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(line for line in lines if str(submission) in line or not line.startswith("  File"))
    missing_module = (exc.name if isinstance(exc, ModuleNotFoundError) and exc.name is not None
                      and "." not in exc.name else None)
    return ProbeError(
        type=type(exc).__name__[:200], message=message[:2000], where=where[:200] if where else None,
        traceback=tail[-4000:],
        missing_name=(exc.module, exc.attr) if isinstance(exc, MissingName) else None,
        missing_module=missing_module[:200] if missing_module else None,
        out_of_memory=_is_cuda_oom(exc))


def _error_frame(rid: Any, error: ProbeError) -> bytes:
    return wire.encode(typed.to_plain(ProbeReply(id=rid if type(rid) is int else -1, ok=False, error=error)))


def serve(ctx: WorkerContext, probes: dict[str, Callable[..., Any]], requests: io.BufferedReader,
          replies: io.BufferedWriter) -> None:
    """Answer requests until the judge closes the pipe.

    Each reply carries its request's ``id``, so that the judge can tell a reply from a stale or
    forged frame. A process forked by student code that returns into this loop exits at once:
    only the worker itself answers.
    """
    limits = wire.Limits(max_header=64 * 2**20, max_body=4 * 2**30)
    owner = os.getpid()
    while True:
        try:
            frame = wire.read_frame(requests, limits)
        except wire.ClosedError:
            return
        started = time.perf_counter()
        rid = frame.get("id") if type(frame) is dict else None
        try:
            request = typed.parse(ProbeRequest, frame, "request")
            probe = probes[request.probe]
            value = typed.to_plain(probe(ctx, **request.args))
            reply = wire.encode(typed.to_plain(ProbeReply(id=request.id, ok=True, value=value,
                                                            seconds=time.perf_counter() - started)), MAX_REPLY)
        except wire.WireError as exc:
            # the student's value sits at "value" inside the reply, itself named "value"
            message = str(exc).replace("value.value", "the returned value", 1)
            reply = _error_frame(rid, ProbeError(type="UncheckableValue", message=message[:2000]))
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
            reply = _error_frame(rid, describe_exception(exc, ctx.submission))
        if os.getpid() != owner:  # a fork of the student's that returned from the probe
            os._exit(0)
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
    apply_limits(start.limits)
    _drop_privileges(start.uid)
    os.chdir(start.scratch)
    requests = os.fdopen(REQUEST_FD, "rb", buffering=0)
    replies = os.fdopen(REPLY_FD, "wb")
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
    serve(ctx, PROBES, requests, replies)
