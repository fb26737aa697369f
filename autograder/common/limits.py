"""What a sandboxed worker may use, and how those bounds add up on one machine.

Every worker's memory bound is a share of the machine: the orchestrator divides what the machine
has (less what the judges need) by the workers that may run at once, so that the bounds together
fit in memory and one student's hog can only hurt their own grade, never push the kernel's
out-of-memory killer onto another student's worker (`worker_memory_share`).

How the share is enforced (`limits_for`):

* where the judge can make a memory cgroup for each worker (`autograder.judge.memory_cgroup`), the
  cgroup holds the share for the worker's whole process tree, and the resource limits below are
  only a per-process backstop;
* otherwise, on the CPU, as the address-space limit (``RLIMIT_AS``) of each process: resident
  memory can never exceed the address space. That bounds each process, not a worker that forks;
* with CUDA, the driver reserves tens of GiB of address space up front (a 12 GiB ``RLIMIT_AS``
  makes ``cudaGetDeviceCount`` fail with "out of memory"; 64 GiB works, measured on an H200), so
  the address space gets `CUDA_ADDRESS_SPACE` and the share goes to the data limit
  (``RLIMIT_DATA``: private writable memory — what numpy, torch's CPU tensors and Python objects
  use; the driver's reservations are not writable mappings and are not counted).

Nothing here imports torch: the orchestrator uses it before any judge starts.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

GiB = 2**30

WORKER_ADDRESS_SPACE = 12 * GiB
"""The most a worker may map: torch alone maps about 3.5 GiB, a training at `full` about 4 GiB."""
WORKER_MEMORY_MIN = 5 * GiB
"""The least a worker can be given: torch's 3.5 GiB of mappings plus a training's working set."""
CUDA_ADDRESS_SPACE = 64 * GiB
"""Address space for a CUDA worker: the driver's reservations need far more than 12 GiB."""
JUDGE_MEMORY = 2 * GiB
"""What one judge process is set aside (torch imported for the reference, decoded replies; its
resident peak measured at about 1 GiB)."""
JUDGE_ADDRESS_SPACE = 10 * GiB
"""The judge's own address-space bound: a backstop should a reply decode into far more than the
wire's frame bound (torch's mappings are 3.5 GiB of it)."""
HOST_RESERVE = 2 * GiB
"""Memory left to the orchestrator, the page cache of CIFAR-10 and the rest of the machine."""
SCRATCH_BYTES = 256 * 2**20
"""Size of each tmpfs a worker may write to (its scratch and its /tmp): memory, counted in the share."""


@dataclass(frozen=True)
class ResourceLimits:
    """Per-worker limits, set by the worker itself before any student import (see `worker.main`)."""

    address_space: int = WORKER_ADDRESS_SPACE
    """Virtual memory in bytes (``RLIMIT_AS``)."""
    data: int = 0
    """Private writable memory in bytes (``RLIMIT_DATA``); 0: not limited beyond the address space."""
    cpu_seconds: int = 3600
    processes: int = 256
    """Processes and threads of the worker's uid."""
    file_size: int = 256 * 2**20
    open_files: int = 512

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def machine_memory() -> int:
    """Bytes of memory this process tree may use: the machine's, or less under a memory cgroup
    (a container, a Slurm allocation)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")):
        try:
            text = limit.read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def worker_memory_share(workers: int, judges: int, memory: int | None = None) -> int:
    """Bytes each of ``workers`` sandboxed workers may use when ``judges`` judges run beside them:
    the machine's memory less the judges' and the host's, shared equally, at most
    `WORKER_ADDRESS_SPACE`. May come out below `WORKER_MEMORY_MIN`: see `MemoryPlanError`."""
    memory = machine_memory() if memory is None else memory
    spare = memory - HOST_RESERVE - judges * JUDGE_MEMORY - 2 * workers * SCRATCH_BYTES
    return max(0, min(WORKER_ADDRESS_SPACE, spare // max(1, workers)))


def workers_that_fit(judges: int, memory: int | None = None) -> int:
    """How many workers fit at once beside ``judges`` judges, each with at least `WORKER_MEMORY_MIN`."""
    memory = machine_memory() if memory is None else memory
    spare = memory - HOST_RESERVE - judges * JUDGE_MEMORY
    return max(0, spare // (WORKER_MEMORY_MIN + 2 * SCRATCH_BYTES))


def limits_for(device: str, share: int, *, cgroup: bool = False) -> ResourceLimits:
    """The limits of a worker given ``share`` bytes of memory on ``device``; with a ``cgroup`` holding
    the share, the address space is only a backstop (see the module docstring)."""
    if device == "cuda":
        return ResourceLimits(address_space=max(CUDA_ADDRESS_SPACE, share), data=share)
    return ResourceLimits(address_space=WORKER_ADDRESS_SPACE if cgroup else share)
