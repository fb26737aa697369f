"""A memory cgroup of a worker's own, where the host lets the judge make one.

Resource limits bound each process; a cgroup bounds the worker's whole process tree (its forks
included) and is what the kernel's out-of-memory killer respects: a worker over its share is killed
inside its own group, never another student's worker. Both cgroup versions are handled: v2 (one
unified hierarchy, the memory controller enabled for the judge's group's children) and v1 (a
``memory`` hierarchy). Where neither can be written (an ordinary user, a container without
delegation), `MemoryCgroup.create` returns None and the worker's resource limits are the bound;
the results say which.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class _Hierarchy:
    version: int
    parent: Path
    """The judge's own group in the hierarchy, under which the workers' groups are made."""


def _own_group(version: int, proc_cgroup: str) -> str | None:
    for line in proc_cgroup.splitlines():
        number, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if version == 2 and number == "0" and controllers == "":
            return path
        if version == 1 and "memory" in controllers.split(","):
            return path
    return None


@functools.lru_cache(maxsize=1)
def hierarchy() -> _Hierarchy | None:
    """Where this judge may make memory cgroups, or None."""
    try:
        proc_cgroup = Path("/proc/self/cgroup").read_text()
    except OSError:
        return None
    if (CGROUP_ROOT / "cgroup.controllers").is_file():
        own = _own_group(2, proc_cgroup)
        if own is None:
            return None
        parent = CGROUP_ROOT / own.lstrip("/")
        try:
            if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
                (parent / "cgroup.subtree_control").write_text("+memory")
        except OSError:
            return None  # not ours to change (no delegation, or processes in the group)
        return _Hierarchy(2, parent) if os.access(parent, os.W_OK) else None
    v1 = CGROUP_ROOT / "memory"
    own = _own_group(1, proc_cgroup)
    if own is None or not (v1 / "memory.limit_in_bytes").exists():
        return None
    parent = v1 / own.lstrip("/")
    if not parent.is_dir():  # a container whose /proc shows the host's path: its root is ours
        parent = v1
    return _Hierarchy(1, parent) if os.access(parent, os.W_OK) else None


class MemoryCgroup:
    """One worker's memory cgroup: made before the worker starts, removed after it ends."""

    def __init__(self, path: Path, version: int, limit: int) -> None:
        self.path, self.version, self.limit = path, version, limit

    @classmethod
    def create(cls, name: str, limit: int) -> MemoryCgroup | None:
        """A group ``name`` bounded at ``limit`` bytes (swap included), or None where none can be made."""
        h = hierarchy()
        if h is None:
            return None
        path = h.parent / name
        try:
            path.mkdir(exist_ok=True)
            if h.version == 2:
                (path / "memory.max").write_text(str(limit))
                if (path / "memory.swap.max").exists():
                    (path / "memory.swap.max").write_text("0")
            else:
                (path / "memory.limit_in_bytes").write_text(str(limit))
                if (path / "memory.memsw.limit_in_bytes").exists():
                    (path / "memory.memsw.limit_in_bytes").write_text(str(limit))
        except OSError:
            try:
                path.rmdir()
            except OSError:
                pass
            return None
        return cls(path, h.version, limit)

    @property
    def procs_file(self) -> Path:
        """Writing a pid here moves that process (and so its future children) into the group."""
        return self.path / "cgroup.procs"

    def join(self) -> None:
        """Move the calling process into the group (called in the worker's child before exec)."""
        with open(self.procs_file, "w") as f:
            f.write(str(os.getpid()))

    def oom_kills(self) -> int:
        """How many processes of the group the kernel killed for memory."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and value.strip().isdigit():
                    return int(value)
        except OSError:
            pass
        return 0

    def kill_all(self) -> None:
        """SIGKILL every process still in the group: a student's process that left the worker's
        process group (setsid, a double fork) cannot outlive the grading."""
        kill = self.path / "cgroup.kill"
        if self.version == 2 and kill.exists():
            try:
                kill.write_text("1")
                return
            except OSError:
                pass
        for _ in range(3):
            try:
                pids = [int(p) for p in self.procs_file.read_text().split()]
            except OSError:
                return
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        """Remove the group (its processes are gone; a dying one may take a moment to leave)."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)
