"""How a worker process is confined: the bubblewrap command line and the resource limits.

Two modes, and the results say which one graded a submission:

* ``bubblewrap``: a fresh mount, PID, network, IPC and UTS namespace. The worker sees, read-only,
  only the system libraries, the Python installation, the grader's own package, a copy of the
  submission and the training data; it writes only to a private scratch folder (also its
  ``/tmp``); it has no network; it dies with the judge. When the judge runs as root the worker
  drops to a uid of its own, so the process limit holds and it can signal nothing of the judge's.
* ``limits only`` (no usable ``bwrap``, e.g. on a laptop): the same resource limits and timeouts,
  a scratch folder as working directory, but no filesystem, network or uid isolation.

The limits (address space, CPU seconds, processes, file size, open files) are set by the worker
itself before it imports any student code; see `worker._apply_limits`.
"""

from __future__ import annotations

import enum
import functools
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path


class SandboxMode(str, enum.Enum):
    """How strongly a worker is confined."""

    BWRAP = "bubblewrap"
    LIMITS_ONLY = "limits only"


@dataclass(frozen=True)
class ResourceLimits:
    """Per-worker limits; every number is generous for a correct hw3 submission."""

    address_space: int = 12 * 2**30
    """Virtual memory in bytes (torch alone maps about 3.6 GiB)."""
    cpu_seconds: int = 3600
    processes: int = 256
    """Processes and threads of the worker's uid."""
    file_size: int = 256 * 2**20
    open_files: int = 512

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


GRADER_MOUNT = "/opt/autograder"
WORKER_PARTS = ("__init__.py", "common", "worker")
"""What of the `autograder` package the worker sees: its own code and what both ends share; never
the judge (reference solutions, graded suites) or the orchestrator."""
SUBMISSION_MOUNT = "/submission"
SCRATCH_MOUNT = "/scratch"
DATA_MOUNT = "/data"
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "fonts",
               "passwd", "group", "nsswitch.conf")
"""What of /etc the worker sees: the dynamic linker's and fontconfig's settings, the time zone and
the user database. Not the rest, which may hold credentials (pip.conf, npmrc, gitconfig, …) that a
submission could copy into an exception message and so into its feedback."""
UID_BASE = 200_000
"""Workers run as uids from here on (see `slot_uid`): no real account uses them, one per concurrent worker."""


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot be used here, or None when it works."""
    path = shutil.which("bwrap")
    if path is None:
        return "bwrap is not installed"
    try:
        proc = subprocess.run(
            [path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent", "true"],
            capture_output=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to run: {exc}"
    if proc.returncode != 0:
        return f"bwrap failed: {proc.stderr.decode(errors='replace').strip()[:300]}"
    return None


def choose_mode(requested: str = "auto") -> SandboxMode:
    """``auto`` takes bubblewrap when it works; ``bubblewrap`` insists on it."""
    if requested == "limits-only":
        return SandboxMode.LIMITS_ONLY
    problem = bwrap_problem()
    if problem is None:
        return SandboxMode.BWRAP
    if requested == "bubblewrap":
        raise RuntimeError(f"the bubblewrap sandbox was asked for, but {problem}")
    return SandboxMode.LIMITS_ONLY


def _python_roots() -> list[Path]:
    """Folders that hold the interpreter and its packages (the venv and its base)."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    for p in sys.path:
        if p and "site-packages" in p:
            roots.add(Path(p).resolve())
    real_python = Path(sys.executable).resolve()
    if not any(real_python.is_relative_to(r) for r in roots):
        roots.add(real_python.parent)
    # keep the outermost of nested roots only
    return sorted(r for r in roots if not any(r != o and r.is_relative_to(o) for o in roots))


def site_paths() -> list[str]:
    """The judge's own package folders, which the worker puts on its ``sys.path``."""
    return [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]


def stdlib_paths() -> list[str]:
    """The standard library folders (the worker runs with ``-S``, which keeps these)."""
    return [p for p in sys.path if p and "site-packages" not in p and "dist-packages" not in p
            and Path(p).resolve().is_relative_to(Path(sys.base_prefix).resolve())]


def _parents_0755(path: Path) -> list[str]:
    """bwrap creates missing parents 0700; make them traversable by the worker's uid."""
    args: list[str] = []
    for parent in reversed(path.parents):
        if str(parent) != "/":
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def bwrap_args(*, submission: Path, scratch: Path, data: Path | None, grader: Path,
               device: str) -> list[str]:
    """The bubblewrap command line up to (not including) the worker's own argv."""
    args = [
        "bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--die-with-parent", "--new-session",
        "--proc", "/proc", "--dev", "/dev",
    ]  # no --clearenv: bwrap is started with `worker_environment` only, which the worker must keep
    for system in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if Path(system).exists():
            args += ["--ro-bind", system, system]
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_ENTRIES:
        if Path("/etc", name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for root in _python_roots():
        if str(root).startswith(("/usr/", "/bin/", "/lib")):
            continue
        args += _parents_0755(root) + ["--ro-bind", str(root), str(root)]
    if any(grader.is_relative_to(root) for root in _python_roots()):
        args += ["--tmpfs", str(grader)]  # an installed package: the judge's half (reference, suites) stays hidden
    args += _parents_0755(Path(GRADER_MOUNT, "autograder")) + ["--perms", "0755", "--dir", f"{GRADER_MOUNT}/autograder"]
    for part in WORKER_PARTS:
        args += ["--ro-bind", str(grader / part), f"{GRADER_MOUNT}/autograder/{part}"]
    args += ["--ro-bind", str(submission), SUBMISSION_MOUNT]
    args += ["--bind", str(scratch), SCRATCH_MOUNT, "--bind", str(scratch / "tmp"), "/tmp"]
    if data is not None:
        args += ["--ro-bind", str(data), DATA_MOUNT]
    if device == "cuda":
        for dev in sorted(Path("/dev").glob("nvidia*")):
            args += ["--dev-bind", str(dev), str(dev)]
        if Path("/dev/dri").exists():
            args += ["--dev-bind", "/dev/dri", "/dev/dri"]
    args += ["--chdir", SCRATCH_MOUNT]
    return args


def worker_environment(*, device: str, scratch: str, threads: int) -> dict[str, str]:
    """A minimal environment: no secrets of the judge's leak into the worker."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": f"{scratch}/tmp" if scratch != SCRATCH_MOUNT else "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "MPLBACKEND": "Agg",
        "TORCH_HOME": scratch,
        "XDG_CACHE_HOME": scratch,
    }
    if device != "cuda":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def bootstrap_code(paths: list[str]) -> str:
    """The ``-c`` program that starts `autograder.worker.main` with only ``paths`` importable."""
    return (
        "import sys\n"
        f"sys.path[:] = {paths!r}\n"
        "from autograder.worker.main import main\n"
        "main(sys.argv[1])\n"
    )


def grader_package() -> Path:
    """The folder of the `autograder` package; the worker sees only its `WORKER_PARTS`."""
    return Path(__file__).resolve().parents[1]


WORKERS_PER_JUDGE = 8
"""The main worker and up to seven training workers: each has a uid (and so a process limit) of its own."""


def slot_uid(slot: int = 0) -> int:
    """The uid of this judge's worker number ``slot``, unique among concurrent judges on the machine."""
    if not 0 <= slot < WORKERS_PER_JUDGE:
        raise ValueError(f"worker slot {slot} out of range")
    return UID_BASE + (os.getpid() % 100_000) * WORKERS_PER_JUDGE + slot


def prepare_scratch(scratch: Path, uid: int | None) -> None:
    """Create the scratch folder (and its tmp) owned by the worker's uid."""
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    if uid is not None and os.getuid() == 0:
        for p in (scratch, scratch / "tmp"):
            os.chown(p, uid, uid)
            p.chmod(0o700)
