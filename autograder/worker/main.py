"""The worker: the only process that imports student code.

It starts inside the sandbox (see `autograder.judge.sandbox`), applies its resource limits and drops to an
unprivileged uid *before* any student module is imported, announces itself, then answers probe
requests from the judge one at a time over the pipes on fds 3 (requests in) and 4 (replies out).
Everything it sends is plain data (`autograder.common.wire`); everything it knows comes from the request, the
read-only submission copy and the training data — never the reference, the tests or the answers.

Started as ``python -I -S -c BOOTSTRAP CONFIG_JSON`` (see `sandbox.bootstrap_code`).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from autograder.common import wire
from autograder.worker.context import MissingName, WorkerContext
from autograder.worker.registry import PROBES

REQUEST_FD = 3
REPLY_FD = 4
MAX_REPLY = 256 * 2**20
"""The worker refuses to send more than this; the judge's own limit is lower still."""


def _apply_limits(limits: dict[str, int]) -> None:
    """Set soft = hard limits (CPU keeps a grace second for SIGXCPU) before student code runs."""
    table = {
        "address_space": resource.RLIMIT_AS,
        "cpu_seconds": resource.RLIMIT_CPU,
        "processes": resource.RLIMIT_NPROC,
        "file_size": resource.RLIMIT_FSIZE,
        "open_files": resource.RLIMIT_NOFILE,
    }
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in table.items():
        value = limits.get(key)
        if not value:
            continue
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


def where_in_submission(tb: Any, submission: Path) -> str | None:
    """'problem4.py:12 in softmax' for the innermost frame of ``tb`` that lies in the submission."""
    found = None
    root = str(submission)
    for frame in traceback.extract_tb(tb):
        if frame.filename.startswith(root):
            found = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
    return found


def describe_exception(exc: BaseException, submission: Path) -> dict[str, Any]:
    """Plain-data account of an exception raised by (or through) student code."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(str(submission)):
        where = f"{Path(exc.filename).name}:{exc.lineno}"
    else:
        where = where_in_submission(exc.__traceback__, submission)
    try:
        message = str(exc)
    except BaseException:  # a hostile __str__
        message = "<the exception's message could not be read>"
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(line for line in lines if str(submission) in line or not line.startswith("  File"))
    return {
        "type": type(exc).__name__,
        "message": message[:2000],
        "where": where,
        "traceback": tail[-4000:],
        "missing_name": [exc.module, exc.attr] if isinstance(exc, MissingName) else None,
        "missing_module": exc.name
        if isinstance(exc, ModuleNotFoundError) and exc.name is not None and "." not in exc.name
        else None,
    }


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
            request = wire.read_frame(requests, limits)
        except wire.ClosedError:
            return
        started = time.perf_counter()
        rid = request.get("id")
        try:
            probe = probes[request["probe"]]
            value = probe(ctx, **request.get("args", {}))
            frame = wire.encode({"ok": True, "value": value, "id": rid,
                                 "seconds": time.perf_counter() - started}, MAX_REPLY)
        except wire.WireError as exc:
            # the student's value sits at "value" inside the reply, itself named "value"
            message = str(exc).replace("value.value", "the returned value", 1)
            frame = wire.encode({"ok": False, "id": rid, "error": {
                "type": "UncheckableValue", "message": message, "where": None, "traceback": "",
                "missing_name": None, "missing_module": None}})
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
            frame = wire.encode({"ok": False, "id": rid,
                                 "error": describe_exception(exc, ctx.submission)})
        if os.getpid() != owner:  # a fork of the student's that returned from the probe
            os._exit(0)
        replies.write(frame)
        replies.flush()


def _versions(*packages: str) -> dict[str, str]:
    """Installed versions, read from package metadata (nothing is imported)."""
    from importlib import metadata

    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def main(config_json: str) -> None:
    """Entry point inside the sandbox; see the module docstring."""
    config = json.loads(config_json)
    _apply_limits(config["limits"])
    _drop_privileges(config.get("uid"))
    os.chdir(config["scratch"])
    requests = os.fdopen(REQUEST_FD, "rb", buffering=0)
    replies = os.fdopen(REPLY_FD, "wb")
    # The heavy libraries load before the handshake (when the judge's checks need them), so that
    # a student module's import time is its own work, not torch's.
    started = time.perf_counter()
    for name in config.get("preload", ["numpy", "torch", "torchvision"]):
        importlib.import_module(name)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(config.get("threads", 1)))

    from autograder.worker import probes  # noqa: F401  (registers the probes of every problem)
    if "torch" in sys.modules:  # the training probes need torch; a NumPy-only worker has none
        from autograder.worker import training_probes  # noqa: F401

    submission = Path(config["submission"])
    sys.path.insert(0, str(submission))
    ctx = WorkerContext(
        submission=submission,
        data=Path(config["data"]) if config.get("data") else None,
        device=config.get("device", "cpu"),
        modules={},
    )
    wire.write_frame(replies, {
        "ready": True,
        "uid": os.getuid(),
        "pid": os.getpid(),
        "startup_seconds": time.perf_counter() - started,
        "versions": {"python": sys.version.split()[0], **_versions("torch", "torchvision", "numpy")},
    })
    serve(ctx, PROBES, requests, replies)
