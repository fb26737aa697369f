"""The judge's handle on a worker, driven directly: deadlines on writes as well as reads, a device
that cannot start, and the memory bound a worker gets. These need bubblewrap (CI installs it)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.common import limits
from autograder.judge import memory_cgroup, sandbox
from autograder.judge.worker_client import FailureKind, ProbeFailure, SandboxFault, Worker, WorkerSettings

STOPS_READING = '''
import os
import signal
import threading
import time


def _stop_soon():
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGSTOP)


def softmax(x):
    """Returns at once, but the worker never reads another request: it stops itself a moment later."""
    threading.Thread(target=_stop_soon, daemon=True).start()
    return x
'''


@pytest.fixture
def needs_bwrap() -> None:
    path, problem = sandbox.bwrap_check()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must test the sandbox, but: {problem}")
        pytest.skip(problem)


def worker(folder: Path, **settings: object) -> Worker:
    defaults: dict[str, object] = {"mode": sandbox.SandboxMode.BWRAP, "preload": ("numpy",),
                                   "call_timeout": 5.0, "startup_timeout": 60.0}
    return Worker(WorkerSettings(submission=folder, **{**defaults, **settings}))  # type: ignore[arg-type]


def test_a_worker_that_stops_reading_cannot_stall_the_judge(needs_bwrap: None, tmp_path: Path) -> None:
    """A request far larger than the pipe's buffer, to a worker that no longer reads: the write
    keeps the probe's deadline, the worker is killed, the failure is the student's."""
    (tmp_path / "problem4.py").write_text(STOPS_READING)
    w = worker(tmp_path)
    try:
        assert w.call("call_function", module="problem4", name="softmax", args=[[1.0, 2.0]]) == [1.0, 2.0]
        time.sleep(1.0)
        big = np.zeros(2_000_000)  # 16 MB: the pipe holds 64 KiB
        started = time.monotonic()
        with pytest.raises(ProbeFailure) as failure:
            w.call("call_function", module="problem4", name="softmax", args=[big], timeout=3.0)
        assert failure.value.kind is FailureKind.TIMEOUT, failure.value.message
        assert time.monotonic() - started < 20
        # the next call gets a fresh worker
        assert w.call("call_function", module="problem4", name="softmax", args=[[3.0]]) == [3.0]
    finally:
        w.close()


def test_a_device_that_cannot_start_is_reported_within_seconds(needs_bwrap: None, tmp_path: Path) -> None:
    """CUDA asked for where it cannot start (simulated here: no GPU): the handshake says so before
    any student code runs, as a fault of the grader's — and the next call does not try again."""
    if sandbox.cuda_devices():
        pytest.skip("this machine has an NVIDIA device: CUDA may well start here")
    (tmp_path / "problem4.py").write_text("def softmax(x):\n    return x\n")
    w = worker(tmp_path, device="cuda", preload=("numpy", "torch"))
    try:
        started = time.monotonic()
        with pytest.raises(SandboxFault, match="CUDA could not start in the sandbox"):
            w.call("call_function", module="problem4", name="softmax", args=[[1.0]])
        assert time.monotonic() - started < 60
        again = time.monotonic()
        with pytest.raises(SandboxFault, match="CUDA could not start in the sandbox"):
            w.call("call_function", module="problem4", name="softmax", args=[[1.0]])
        assert time.monotonic() - again < 1  # remembered, not retried
    finally:
        w.close()


def test_the_memory_bound_is_a_cgroup_where_the_host_allows_one(needs_bwrap: None, tmp_path: Path) -> None:
    """Where the judge can make memory cgroups, each worker gets one holding its share (and it is
    gone after); elsewhere the results say the bound is per process."""
    (tmp_path / "problem4.py").write_text("def softmax(x):\n    return x\n")
    w = worker(tmp_path, memory=6 * limits.GiB)
    try:
        w.call("call_function", module="problem4", name="softmax", args=[[1.0]])
        if memory_cgroup.hierarchy() is None:
            assert "RLIMIT_AS" in w.memory_bound and "no memory cgroup" in w.memory_bound
            return
        assert w.memory_bound == "a memory cgroup of 6.0 GiB for the worker's processes"
        group = w._cgroup
        assert group is not None and group.path.is_dir()
        limit_file = "memory.max" if group.version == 2 else "memory.limit_in_bytes"
        assert int((group.path / limit_file).read_text()) == 6 * limits.GiB
    finally:
        w.close()
    assert not group.path.exists()


class _SlowGroup:
    """A memory group whose kill takes a moment (a process that is slow to leave), counting calls."""

    def __init__(self) -> None:
        self.kills = self.removals = 0

    def kill_all(self) -> None:
        self.kills += 1
        time.sleep(0.2)

    def remove(self) -> None:
        self.removals += 1


def test_a_worker_stopped_from_two_threads_at_once_is_stopped_once(tmp_path: Path) -> None:
    """The session closing while a training lane's thread stops the same worker (its run was cut
    short): neither raises, the worker's group is killed and removed once (a judge that raised
    here ended with status 1, a grader fault for the submission)."""
    import threading

    (tmp_path / "problem4.py").write_text("def softmax(x):\n    return x\n")
    w = worker(tmp_path)
    group = _SlowGroup()
    w._cgroup = group  # type: ignore[assignment]
    errors: list[BaseException] = []
    both = threading.Barrier(2)

    def stop() -> None:
        both.wait()
        try:
            w.stop()
        except BaseException as exc:  # noqa: BLE001 — recorded for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=stop) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    w.close()
    assert errors == []
    assert (group.kills, group.removals) == (1, 1)


FORGES_A_FRAME = '''
import json
import struct
import sys

HEADER = {FORGED!r}


def softmax(x):
    """Returns, but the worker's encoder now sends a forged frame in place of the real reply."""
    wire = sys.modules["autograder.common.wire"]
    header = HEADER.encode("utf-8", "surrogatepass")
    wire.encode = lambda *args, **kwargs: wire._PREFIX.pack(wire.MAGIC, len(header), 0) + header
    return x
'''


@pytest.mark.parametrize("forged", [
    # a 0-byte float64 array whose shape numpy cannot reshape into
    '{"value": {"id": %d, "ok": true, "value": {"$array": 0}}, "arrays": [{"dtype": "float64", '
    '"shape": [0, 1099511627776, 1099511627776], "offset": 0, "nbytes": 0}]}',
    # an array where ProbeReply's literal-typed and boolean fields are due
    '{"value": {"id": %d, "ok": {"$array": 0}, "value": null}, "arrays": [{"dtype": "float64", '
    '"shape": [2], "offset": 0, "nbytes": 0}]}',
    # a reply whose error holds lone surrogates and a right-to-left override
    '{"value": {"id": %d, "ok": false, "error": {"type": "E\\udcff", "message": "m\\udcff\\u202e"}}, "arrays": []}',
], ids=["impossible-shape", "array-for-a-flag", "surrogates"])
def test_a_forged_reply_is_the_students_unusable_reply(needs_bwrap: None, tmp_path: Path, forged: str) -> None:
    """Whatever frame the student's code makes the worker send, the judge refuses it as the
    student's (a failed check with its reason), never as its own fault."""
    (tmp_path / "problem4.py").write_text(FORGES_A_FRAME.replace("{FORGED!r}", repr(forged % 2)))
    w = worker(tmp_path)
    try:
        try:
            w.call("call_function", module="problem4", name="softmax", args=[[1.0]])
        except ProbeFailure as failure:
            assert failure.kind in (FailureKind.BAD_REPLY, FailureKind.RAISED), failure.message
            failure.message.encode("utf-8")
            assert "\u202e" not in failure.message
        else:
            raise AssertionError("a forged frame was taken for a reply")
    finally:
        w.close()


TAMPERS = {
    "probe-table": ('reg = sys.modules["autograder.worker.registry"]\n'
                    'real = reg.PROBES["call_function"]\n'
                    'reg.PROBES["call_function"] = lambda ctx, **kw: real(ctx, **kw)\n'),
    "probe-code": ('reg = sys.modules["autograder.worker.registry"]\n'
                   'reg.PROBES["call_function"].__code__ = (lambda ctx, **kw: [0.25] * 4).__code__\n'),
    "helper": ('import types\n'
               'probes = sys.modules["autograder.worker.probes"]\n'
               'name = next(n for n, v in vars(probes).items() if isinstance(v, types.FunctionType) and not n.startswith("__"))\n'
               'setattr(probes, name, lambda *a, **k: None)\n'),
    "module": 'sys.modules["autograder.worker.probes"] = types.ModuleType("autograder.worker.probes")\nimport types\n',
    "method": ('ctx = sys.modules["autograder.worker.context"]\n'
               'ctx.WorkerContext.module = lambda self, name: None\n'),
    "later": '',
}


@pytest.mark.parametrize("how", sorted(TAMPERS))
def test_a_submission_that_changes_the_workers_own_code_is_caught(needs_bwrap: None, tmp_path: Path, how: str) -> None:
    """At import (or in a later call), a student module swaps a probe in the table, a probe's code,
    a helper the probes call, a whole module of the worker's, a method of its context: the reply is
    refused as tampering (the student's failure), and the worker answers nothing more."""
    code = TAMPERS[how].replace('import types\n', '') if how == "module" else TAMPERS[how]
    later = ('def softmax(x):\n'
             '    reg = sys.modules["autograder.worker.registry"]\n'
             '    reg.PROBES["describe_net"] = lambda ctx, **kw: {}\n'
             '    return x\n') if how == "later" else 'def softmax(x):\n    return x\n'
    prefix = "import sys\nimport types\n"
    (tmp_path / "problem4.py").write_text(prefix + code + later)
    w = worker(tmp_path)
    try:
        with pytest.raises(ProbeFailure) as failure:
            w.call("call_function", module="problem4", name="softmax", args=[[1.0]])
        assert failure.value.kind is FailureKind.TAMPERED, failure.value.message
        assert "TAMPERING" in failure.value.message
    finally:
        w.close()


def test_a_submission_that_changes_nothing_is_not_taken_for_tampering(needs_bwrap: None, tmp_path: Path) -> None:
    """Ordinary student code at import — its own globals, monkeypatching numpy, a class of its own —
    leaves the worker's code as it was."""
    (tmp_path / "problem4.py").write_text(
        "import numpy as np\nimport sys\nCACHE = {}\nnp.set_printoptions(precision=3)\n"
        "sys.setrecursionlimit(5000)\nclass Helper:\n    pass\n"
        "def softmax(x):\n    CACHE[len(CACHE)] = x\n    return x\n")
    w = worker(tmp_path)
    try:
        for n in range(3):
            assert w.call("call_function", module="problem4", name="softmax", args=[[float(n)]]) == [float(n)]
    finally:
        w.close()
