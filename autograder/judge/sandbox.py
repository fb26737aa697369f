"""How a worker process is confined: the bubblewrap command line, its environment and its uid.

Two modes, and the results say which one graded a submission:

* ``bubblewrap`` (the default, and required unless the other is asked for by name): a fresh
  mount, PID, network, IPC and UTS namespace. The worker sees, read-only, only the system
  libraries, the Python installation, the worker's half of the grader's package, a copy of the
  submission and the training data; it writes only to two size-bounded tmpfs (its scratch folder
  and ``/tmp``); it has no network; it dies with the judge. When the judge runs as root the worker
  drops to a uid of its own, so the process limit holds and it can signal nothing of the judge's.
* ``limits only``: the same resource limits and timeouts, a scratch folder as working directory,
  but no filesystem, network or uid isolation. Only when asked for by name
  (``--sandbox limits-only``), refused as root, and announced on every page.

The limits (memory, CPU seconds, processes, file size, open files) are set by the worker itself
before it imports any student code (`autograder.worker.main.apply_limits`); memory may also be
bounded by a cgroup of the worker's own (`memory_cgroup`).
"""

from __future__ import annotations

import enum
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.common.limits import SCRATCH_BYTES


class SandboxMode(str, enum.Enum):
    """How strongly a worker is confined."""

    BWRAP = "bubblewrap"
    LIMITS_ONLY = "limits only"


class SandboxUnavailable(RuntimeError):
    """The sandbox asked for cannot be used here; the message says why and how to fix it."""


GRADER_MOUNT = "/opt/autograder"
WORKER_PARTS = ("__init__.py", "common", "worker")
"""What of the `autograder` package the worker sees: its own code and what both ends share; never
the judge (reference solutions, graded suites) or the orchestrator."""
SUBMISSION_MOUNT = "/submission"
SCRATCH_MOUNT = "/scratch"
MATPLOTLIB_DIR = ".matplotlib"
"""matplotlib's configuration and cache folder inside the scratch folder (``MPLCONFIGDIR``): the
font list built once for every worker (`matplotlib_cache`) is mounted in it, read-only."""
DATA_MOUNT = "/data"
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "fonts",
               "passwd", "group", "nsswitch.conf")
"""What of /etc the worker sees: the dynamic linker's and fontconfig's settings, the time zone and
the user database. Not the rest, which may hold credentials (pip.conf, npmrc, gitconfig, …) that a
submission could copy into an exception message and so into its feedback."""
CUDA_DEVICES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset", "nvidia-caps", "dri")
"""Device nodes the NVIDIA driver needs besides the GPUs' own ``/dev/nvidia<N>``."""
UID_BASE = 200_000
"""Workers run as uids from here on (see `slot_uid`): no real account uses them, one per concurrent worker."""

FIX_BWRAP = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow unprivileged "
             "user namespaces (Ubuntu 24.04: sysctl kernel.apparmor_restrict_unprivileged_userns=0), "
             "or grade as root; --sandbox limits-only grades without isolation (not as root)")
LIMITS_ONLY_NOTE = ("limits-only mode, asked for by name: resource limits and timeouts only — no "
                    "filesystem, network or uid isolation; the student's code ran with the grader's "
                    "rights")


@functools.lru_cache(maxsize=1)
def bwrap_check() -> tuple[str | None, str]:
    """(absolute path of a working ``bwrap``, "") or (None, why it cannot be used here)."""
    path = shutil.which("bwrap")
    if path is None:
        return None, "bwrap is not installed (not on PATH)"
    path = str(Path(path).resolve())
    try:
        proc = subprocess.run(
            [path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent", "true"],
            capture_output=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"bwrap ({path}) failed to run: {exc}"
    if proc.returncode != 0:
        return None, f"bwrap ({path}) failed: {proc.stderr.decode(errors='replace').strip()[:300]}"
    return path, ""


def mode_for(requested: str) -> SandboxMode:
    """The sandbox ``requested`` ("bubblewrap" or "limits-only"), or SandboxUnavailable saying why not."""
    if requested == "limits-only":
        if os.getuid() == 0:
            raise SandboxUnavailable("--sandbox limits-only is refused as root: the student's code "
                                     "would run as root with nothing to confine it; " + FIX_BWRAP)
        return SandboxMode.LIMITS_ONLY
    path, problem = bwrap_check()
    if path is None:
        raise SandboxUnavailable(f"the bubblewrap sandbox cannot run here: {problem}. To fix: {FIX_BWRAP}")
    return SandboxMode.BWRAP


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


def _tmpfs(path: str, size: int = SCRATCH_BYTES, perms: str = "1777") -> list[str]:
    """A size-bounded tmpfs at ``path`` (its pages are memory, so it counts in the worker's share)."""
    return ["--perms", perms, "--size", str(size), "--tmpfs", path]


def cuda_devices(dev: Path = Path("/dev")) -> list[Path]:
    """The device nodes a CUDA worker needs, those present on this machine."""
    found = sorted(dev.glob("nvidia[0-9]*"))
    return found + [dev / name for name in CUDA_DEVICES if (dev / name).exists()]


def bwrap_args(*, bwrap: str, submission: Path, data: Path | None, grader: Path, device: str,
               matplotlib_cache: Path | None = None) -> list[str]:
    """The bubblewrap command line up to (not including) the worker's own argv. ``bwrap`` is the
    absolute path that `bwrap_check` found working (the worker's own PATH is not searched);
    ``matplotlib_cache``: the font list matplotlib would otherwise build in every worker."""
    args = [
        bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--die-with-parent", "--new-session",
        "--proc", "/proc", "--dev", "/dev",
    ]  # no --clearenv: bwrap is started with `worker_environment` only, which the worker must keep
    # /tmp first: the Python installation may live under it (a checkout in /tmp), mounted on top
    args += _tmpfs("/tmp") + _tmpfs("/dev/shm")
    for system in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if Path(system).exists():
            args += ["--ro-bind", system, system]
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_ENTRIES:
        if Path("/etc", name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    roots = _python_roots()
    for root in roots:
        if str(root).startswith(("/usr/", "/bin/", "/lib")):
            continue
        args += _parents_0755(root) + ["--ro-bind", str(root), str(root)]
    if any(grader.is_relative_to(root) for root in roots):
        args += ["--tmpfs", str(grader)]  # an installed package: its judge half (reference, suites) stays hidden
    args += _parents_0755(Path(GRADER_MOUNT, "autograder")) + ["--perms", "0755", "--dir", f"{GRADER_MOUNT}/autograder"]
    for part in WORKER_PARTS:
        args += ["--ro-bind", str(grader / part), f"{GRADER_MOUNT}/autograder/{part}"]
    args += ["--ro-bind", str(submission), SUBMISSION_MOUNT]
    args += _tmpfs(SCRATCH_MOUNT)
    args += ["--perms", "1777", "--dir", f"{SCRATCH_MOUNT}/{MATPLOTLIB_DIR}"]
    if matplotlib_cache is not None:
        args += ["--ro-bind", str(matplotlib_cache), f"{SCRATCH_MOUNT}/{MATPLOTLIB_DIR}/{matplotlib_cache.name}"]
    if data is not None:
        args += ["--ro-bind", str(data), DATA_MOUNT]
    if device == "cuda":
        for node in cuda_devices():
            args += ["--dev-bind", str(node), str(node)]
        args += ["--ro-bind-try", "/sys", "/sys"]  # the driver reads the GPUs' PCI and NUMA facts there
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
        "MPLCONFIGDIR": f"{scratch}/{MATPLOTLIB_DIR}",
        "TORCH_HOME": scratch,
        "XDG_CACHE_HOME": scratch,
    }
    if device == "cuda":
        if os.environ.get("CUDA_VISIBLE_DEVICES"):  # the GPUs this judge was given (a Slurm job's)
            env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    else:
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
GENERATIONS = 64
"""Sessions a judge runs before its workers' uids repeat (a judge server is replaced before: see
`judge_server.MAX_SESSIONS`): no two submissions a judge grades share a uid, and so nothing the
kernel keeps per uid (a process count, a user keyring) passes from one to another."""


JUDGE_BLOCKS = 100_000
"""Blocks of worker uids, one per judge running on the machine at once."""
LEASE_DIRS = (Path("/run/autograde-uids"), Path("/tmp/autograde-uids"))
"""Where judges record which block each holds (the first that can be made): one place per machine,
whatever a judge's TMPDIR."""


class UidLease:
    """A block of worker uids held by one judge process for its life, unique on the machine: the
    judge holds an exclusive lock (``flock``) on the block's file, which the kernel lets go when the
    process ends, however it ends. Two judges never share a block whatever their pids (``pid %
    100_000`` collides where pid_max is 4,194,304); the pid is only where the search starts."""

    def __init__(self, directory: Path, hint: int, blocks: int = JUDGE_BLOCKS) -> None:
        import fcntl

        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for step in range(blocks):
            block = (hint + step) % blocks
            fd = os.open(directory / f"{block}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.block, self._fd = block, fd
            return
        raise RuntimeError(f"every one of the {blocks:,} blocks of worker uids is held by a running judge")

    def uid(self, slot: int = 0, generation: int = 0) -> int:
        """The uid of worker number ``slot`` for the judge's submission number ``generation``."""
        if not 0 <= slot < WORKERS_PER_JUDGE:
            raise ValueError(f"worker slot {slot} out of range")
        return UID_BASE + (self.block * GENERATIONS + generation % GENERATIONS) * WORKERS_PER_JUDGE + slot

    def close(self) -> None:
        os.close(self._fd)


@functools.lru_cache(maxsize=1)
def judge_lease() -> UidLease:
    """This judge process's block of worker uids (taken on first use, held until it exits)."""
    for directory in LEASE_DIRS:
        try:
            return UidLease(directory, os.getpid())
        except OSError:
            continue
    raise RuntimeError(f"no folder for the leases of worker uids could be made ({', '.join(map(str, LEASE_DIRS))})")


def slot_uid(slot: int = 0, generation: int = 0) -> int:
    """The uid of this judge's worker number ``slot`` for its submission number ``generation``:
    unique among concurrent judges on the machine (`UidLease`), and among a judge's last
    `GENERATIONS` submissions."""
    return judge_lease().uid(slot, generation)


def prepare_scratch(scratch: Path, matplotlib_cache: Path | None = None) -> None:
    """The scratch folder of a limits-only worker (its tmp, matplotlib's folder with the font list
    built once); bubblewrap workers get a tmpfs."""
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    (scratch / MATPLOTLIB_DIR).mkdir(exist_ok=True)
    if matplotlib_cache is not None:
        shutil.copyfile(matplotlib_cache, scratch / MATPLOTLIB_DIR / matplotlib_cache.name)
