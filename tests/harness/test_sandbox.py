"""The sandbox's command line and the bounds it sets, checked without starting anything (the
red-team suite starts real ones): bubblewrap by the absolute path that was checked, /tmp as a
bounded tmpfs under the Python installation, only the worker's half of the package, the GPU's
device nodes for CUDA, and memory bounds that add up on one machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.common import config as cfg
from autograder.common import limits
from autograder.judge import sandbox

GiB = limits.GiB


def args_for(device: str = "cpu", bwrap: str = "/opt/bin/bwrap") -> list[str]:
    return sandbox.bwrap_args(bwrap=bwrap, submission=Path("/x/sub"), data=Path("/x/data"),
                              grader=sandbox.grader_package(), device=device)


def test_bwrap_runs_by_the_absolute_path_that_was_checked() -> None:
    assert args_for(bwrap="/opt/bin/bwrap")[0] == "/opt/bin/bwrap"
    path, problem = sandbox.bwrap_check()
    if path is not None:
        assert os.path.isabs(path) and Path(path).is_file(), path


def _mounts(args: list[str], op: str) -> list[str]:
    """The destinations of every ``op`` (``--tmpfs`` has one operand, binds two)."""
    out = []
    for i, a in enumerate(args):
        if a == op:
            out.append(args[i + 1] if op == "--tmpfs" else args[i + 2])
    return out


def test_tmp_is_a_bounded_tmpfs_mounted_before_the_python_installation() -> None:
    """A checkout (and its virtual environment) under /tmp stays visible: /tmp is mounted first and
    the installation on top of it; every writable place is a tmpfs with a size."""
    args = args_for()
    tmpfs = _mounts(args, "--tmpfs")
    assert {"/tmp", "/dev/shm", sandbox.SCRATCH_MOUNT} <= set(tmpfs)
    for i, a in enumerate(args):
        if a == "--tmpfs" and args[i + 1] in ("/tmp", "/dev/shm", sandbox.SCRATCH_MOUNT):
            assert args[i - 2:i] == ["--size", str(limits.SCRATCH_BYTES)], args[i - 4:i + 2]
    first_root = min(i for i, a in enumerate(args) if a == "--ro-bind" and args[i + 2] not in
                     ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64") and not args[i + 2].startswith("/etc"))
    assert args.index("/tmp") < first_root
    assert "--bind" not in args  # nothing of the host is writable


def test_the_worker_sees_its_own_half_of_the_package_only() -> None:
    args = args_for()
    grader = sandbox.grader_package()
    bound = {args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"}
    assert str(grader / "worker") in bound and str(grader / "common") in bound
    assert not any(str(grader / part) in bound for part in ("judge", "orchestrator", "judge/reference"))
    assert str(grader) not in bound


def test_cuda_binds_the_devices_present(tmp_path: Path) -> None:
    """The GPU's nodes and the driver's are bound for CUDA workers, and only for them."""
    dev = tmp_path / "dev"
    dev.mkdir()
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "null"):
        (dev / name).touch()
    found = [p.name for p in sandbox.cuda_devices(dev)]
    assert found == ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"]
    cpu, cuda = args_for("cpu"), args_for("cuda")
    assert "--dev-bind" not in cpu
    assert _mounts(cuda, "--dev-bind") == [str(p) for p in sandbox.cuda_devices()]


def test_cuda_workers_get_an_address_space_cuda_can_live_with() -> None:
    """12 GiB of address space makes cudaGetDeviceCount fail; a CUDA worker gets 64 GiB of it and
    its share of memory as a data limit instead."""
    cuda = limits.limits_for("cuda", 6 * GiB)
    assert cuda.address_space == limits.CUDA_ADDRESS_SPACE == 64 * GiB
    assert cuda.data == 6 * GiB
    cpu = limits.limits_for("cpu", 6 * GiB)
    assert cpu.address_space == 6 * GiB and cpu.data == 0
    assert limits.limits_for("cpu", 6 * GiB, cgroup=True).address_space == limits.WORKER_ADDRESS_SPACE


@pytest.mark.parametrize("memory_gib, jobs, workers", [(24, 2, 2), (128, 16, 16), (128, 4, 16), (64, 8, 8)])
def test_memory_shares_add_up_to_the_machine(memory_gib: int, jobs: int, workers: int) -> None:
    """Every worker's share, the judges' and the host's together fit in the machine's memory."""
    memory = memory_gib * GiB
    share = limits.worker_memory_share(workers, jobs, memory)
    total = workers * (share + 2 * limits.SCRATCH_BYTES) + jobs * limits.JUDGE_MEMORY + limits.HOST_RESERVE
    assert total <= memory
    assert share <= limits.WORKER_ADDRESS_SPACE


def test_too_many_workers_for_the_memory_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Asking for more submissions at once than the memory holds is a usage error naming the numbers."""
    from autograder.orchestrator import class_run

    monkeypatch.setattr(limits, "machine_memory", lambda: 16 * GiB)
    (tmp_path / "class" / "s1").mkdir(parents=True)
    (tmp_path / "class" / "s1" / "problem4.py").write_text("def softmax(x):\n    return x\n")
    with pytest.raises(class_run.UsageError, match="need 5 GiB per worker"):
        class_run.plan([tmp_path / "class"], options={"device": "cpu", "train_workers": 4}, out=tmp_path / "o", jobs=8,
                       problems="4", shard=None, changed=None, force=False, fail_under=None)


def test_gpu_memory_is_shared_among_the_workers_at_once() -> None:
    config = cfg.GradingConfig(device="cuda", workers_at_once=8)
    assert config.gpu_memory_fraction() == pytest.approx(cfg.GPU_MEMORY_SHARED / 8)
    assert cfg.GradingConfig(device="cpu").gpu_memory_fraction() is None


def test_limits_only_is_refused_as_root_and_bubblewrap_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.getuid() == 0:
        with pytest.raises(sandbox.SandboxUnavailable, match="refused as root"):
            sandbox.mode_for("limits-only")
    monkeypatch.setattr(sandbox, "bwrap_check", lambda: (None, "bwrap is not installed (not on PATH)"))
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox.mode_for("bubblewrap")


def test_worker_uids_are_unique_whatever_the_pids(tmp_path: Path) -> None:
    """Judges whose pids collide (the same pid modulo 100,000 where pid_max is 4,194,304; here the
    very same hint) get blocks of their own: no uid of one is another's. A block is free again once
    its judge has gone."""
    leases = [sandbox.UidLease(tmp_path, hint) for hint in (1234, 101_234, 1234, 4_001_234)]
    uids = [{lease.uid(slot, gen) for slot in range(sandbox.WORKERS_PER_JUDGE) for gen in range(sandbox.GENERATIONS)}
            for lease in leases]
    assert len({lease.block for lease in leases}) == 4
    assert all(a.isdisjoint(b) for i, a in enumerate(uids) for b in uids[i + 1:])
    assert all(len(u) == sandbox.WORKERS_PER_JUDGE * sandbox.GENERATIONS for u in uids)
    first = leases[0].block
    leases[0].close()
    assert sandbox.UidLease(tmp_path, 1234).block == first
    assert max(max(u) for u in uids) < 2**31


def test_a_lease_is_held_across_processes(tmp_path: Path) -> None:
    """Another process (another judge) with the same pid hint does not get the block held here."""
    import subprocess
    import sys

    held = sandbox.UidLease(tmp_path, 77)
    code = ("import sys; from pathlib import Path; from autograder.judge import sandbox; "
            f"print(sandbox.UidLease(Path({str(tmp_path)!r}), 77).block)")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert int(other.stdout) != held.block
