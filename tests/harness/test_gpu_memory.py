"""A CUDA out-of-memory error is "not graded" only when the grader can show that others took the
GPU's memory (the worker's own use below its share, the GPU full); a student's own, raised or real,
is the student's failure. Driven on the CPU: the worker's meter and the judge's CUDA path with fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from autograder.common import typed
from autograder.common.protocol import GpuMemory, ProbeError, ProbeReply
from autograder.judge import sandbox
from autograder.judge.worker_client import (FailureKind, OutOfGpuMemory, ProbeFailure, Worker, WorkerSettings,
                                            gpu_taken_by_others)
from autograder.worker.main import GpuMeter, describe_exception

GiB = 2**30
TOTAL = 80 * GiB
SHARE = 20 * GiB

CASES = {
    # (own peak, free): taken by others?
    "others-filled-the-gpu": (2 * GiB, 1 * GiB, True),
    "student-used-its-share": (SHARE - GiB // 2, 40 * GiB, False),
    "student-filled-its-share-and-the-gpu": (SHARE - GiB // 4, 0, False),
    "one-huge-tensor-past-the-share": (GiB // 2, 70 * GiB, False),
    "raised-by-the-student": (GiB // 8, TOTAL - GiB, False),
}


def _error(own: int, free: int, *, oom: bool = True, measured: bool = True) -> ProbeError:
    return ProbeError(type="OutOfMemoryError", message="CUDA out of memory. Tried to allocate 2.00 GiB",
                      out_of_memory=oom,
                      gpu_memory=GpuMemory(own_peak=own, share=SHARE, free=free, total=TOTAL) if measured else None)


@pytest.mark.parametrize("case", sorted(CASES))
def test_only_memory_shown_taken_by_others_is_the_gpus(case: str) -> None:
    own, free, others = CASES[case]
    assert gpu_taken_by_others(_error(own, free)) is others


def test_no_measurement_is_no_evidence() -> None:
    assert gpu_taken_by_others(_error(GiB, 0, measured=False)) is False
    assert gpu_taken_by_others(_error(GiB, 0, oom=False)) is False


def test_the_worker_measures_with_the_functions_it_held_before_student_code(tmp_path: Path) -> None:
    """An OutOfMemoryError (here one the student raised) is described with the GPU's memory read
    through the meter's own functions; a student's patch of torch.cuda changes nothing."""
    meter = GpuMeter(lambda: 3 * GiB, lambda: (50 * GiB, TOTAL), 0.25)
    saved = torch.cuda.mem_get_info
    torch.cuda.mem_get_info = lambda *a, **k: (0, TOTAL)  # the student's lie
    try:
        error = describe_exception(torch.OutOfMemoryError("CUDA out of memory"), tmp_path, meter)
    finally:
        torch.cuda.mem_get_info = saved
    assert error.out_of_memory
    assert error.gpu_memory == GpuMemory(own_peak=3 * GiB, share=SHARE, free=50 * GiB, total=TOTAL)
    assert not gpu_taken_by_others(error)
    assert describe_exception(ValueError("x"), tmp_path, meter).gpu_memory is None
    broken = GpuMeter(lambda: 1 / 0, lambda: (0, 0), None)  # type: ignore[arg-type, return-value]
    assert describe_exception(torch.OutOfMemoryError("x"), tmp_path, broken).gpu_memory is None


class _Proc:
    pid = 1 << 22
    returncode = None

    def poll(self) -> None:
        return None


class _Link:
    """A worker's channel that answers every probe with one CUDA out-of-memory error."""

    def __init__(self, error: ProbeError) -> None:
        self.proc, self.error, self.deadline, self.killed = _Proc(), error, 0.0, False

    def write_all(self, data: bytes) -> None:
        pass

    def receive(self, limits: Any, timeout: float | None = None) -> Any:
        return typed.to_plain(ProbeReply(id=1, ok=False, error=self.error))

    def kill(self) -> None:
        self.killed = True

    def close(self) -> None:
        pass


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_judges_cuda_path_charges_the_student_unless_others_took_the_memory(tmp_path: Path, case: str) -> None:
    own, free, others = CASES[case]
    (tmp_path / "problem4.py").write_text("def softmax(x):\n    return x\n")
    w = Worker(WorkerSettings(submission=tmp_path, mode=sandbox.SandboxMode.BWRAP, device="cuda"))
    link = _Link(_error(own, free))
    w._link = link  # type: ignore[assignment]
    try:
        with pytest.raises((OutOfGpuMemory, ProbeFailure)) as raised:
            w._exchange("call_function", {"module": "problem4"}, 5.0, "running softmax", "problem4.py")
        if others:
            assert isinstance(raised.value, OutOfGpuMemory)
        else:
            assert isinstance(raised.value, ProbeFailure) and raised.value.kind is FailureKind.RAISED
            assert "CUDA ran out of memory" in raised.value.message and "GiB" in raised.value.message
        assert link.killed  # its memory goes back to the others either way
    finally:
        w._link = None
        w.close()
