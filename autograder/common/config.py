"""One typed grading configuration, resolved once, with one precedence: command line > environment > default.

`autograde` resolves it (`resolve`) — the device, the budget, the seed, the data set, how many
trainings run at once and each worker's share of memory — and hands it to every judge whole, as
JSON (`GradingConfig.to_json`); a judge never resolves anything again, so every result records
the values that graded it. A judge started by hand (``pytest --submission DIR``) resolves the
same way for a single submission. A bad value is reported with where it came from
("--budget 'fast'" or "AUTOGRADE_BUDGET='fast'").
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from autograder.common import limits
from autograder.common.budgets import BUDGETS as BUDGET_TABLE
from autograder.common.budgets import TRAINED

BUDGETS = tuple(BUDGET_TABLE)
DEFAULT_BUDGET = "adaptive"
DEVICES = ("auto", "cpu", "cuda")
SANDBOXES = ("bubblewrap", "limits-only")

ENV = {
    "data": "AUTOGRADE_DATA",
    "budget": "AUTOGRADE_BUDGET",
    "device": "AUTOGRADE_DEVICE",
    "sandbox": "AUTOGRADE_SANDBOX",
    "seed": "AUTOGRADE_SEED",
    "cache": "AUTOGRADE_CACHE",
    "train_workers": "AUTOGRADE_TRAIN_WORKERS",
}
"""Environment variables, each the fallback for the option of the same name."""

EMBEDDED_DATA = Path(__file__).resolve().parents[2] / "data" / "cifar10-jpeg.tar.gz"
"""The project's own copy of CIFAR-10 (data/README.md), the default in a checkout."""

HELP = {
    "data": "CIFAR-10: a torchvision root (with cifar-10-batches-py), an image-folder tree "
            "(train/<class>/*.jpg, test/<class>/*.jpg) or that tree as .tar.gz; a relative path is "
            f"taken from the current folder [env {ENV['data']}; default: the project's own "
            "data/cifar10-jpeg.tar.gz, else ./data as a torchvision root]",
    "budget": f"training budget: adaptive (default: one run checked at quick's, standard's and "
              f"full's lengths, ended as soon as its pass is certain), or one fixed length: quick "
              f"(CI), standard or full (the homework's 2 epochs) [env {ENV['budget']}]",
    "device": "where training runs: auto (CUDA when a GPU is usable), cpu or cuda "
              f"[env {ENV['device']}]",
    "sandbox": "bubblewrap (default; grading stops when it cannot run) or limits-only (no "
               "filesystem, network or uid isolation: asked for by name only, refused as root) "
               f"[env {ENV['sandbox']}]",
    "seed": "seed for the inputs drawn and the training run; recorded in the results so a run can "
            f"be reproduced [env {ENV['seed']}; default: fresh each run]",
    "cache": "folder for decoded CIFAR-10 arrays [env "
             f"{ENV['cache']}; default ~/.cache/hw3-autograder]",
    "train_workers": "trainings of one submission run side by side: 1 makes them one after another "
                     "in the submission's worker, N adds N-1 sandboxed training workers "
                     f"[env {ENV['train_workers']}; default: the cores each submission gets]",
}


GPU_MEMORY_SHARED = 0.9
"""Of one GPU's memory, what the workers share (the rest is the CUDA contexts' and headroom)."""
MAX_TRAIN_WORKERS = len(TRAINED)
"""No more trainings than problems 2 and 3-(1)…3-(6) can run at once."""


def available_cores() -> int:
    """CPU cores this process may run on (its affinity, e.g. a Slurm allocation), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def gpu_device_nodes() -> bool:
    """Whether the machine has a device node CUDA could use (``/dev/nvidia0`` …, or WSL's ``/dev/dxg``)."""
    dev = Path("/dev")
    return any(dev.glob("nvidia[0-9]*")) or (dev / "dxg").exists()


def cuda_usable() -> tuple[bool, str]:
    """Whether torch can use a GPU here, asked in a child process (the caller never imports torch);
    False at once without an NVIDIA device node. Returns (usable, why not)."""
    if not gpu_device_nodes():
        return False, "no NVIDIA device node (/dev/nvidia*)"
    code = "import torch; torch.cuda.init(); print(torch.cuda.device_count())"
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"asking torch failed: {exc}"
    if proc.returncode != 0 or not proc.stdout.strip().isdigit() or int(proc.stdout) < 1:
        return False, (proc.stderr.strip().splitlines() or ["torch sees no GPU"])[-1][:300]
    return True, ""


def _default_cache() -> Path:
    return Path.home() / ".cache" / "hw3-autograder"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names its source."""


@dataclass(frozen=True)
class GradingConfig:
    """How to grade, fully resolved: shared by every submission of one run."""

    budget: str = DEFAULT_BUDGET
    device: str = "cpu"
    """``cpu`` or ``cuda`` — never ``auto``: resolved once by `resolve`."""
    sandbox: str = "bubblewrap"
    data: Path | None = None
    """CIFAR-10's source, an absolute path; None: none given or found (training checks cannot run)."""
    seed: int = 0
    seed_given: bool = False
    """Whether the seed was chosen (then cached results must match it) or drawn fresh."""
    cache: Path = field(default_factory=_default_cache)
    train_workers: int = 1
    """Trainings of one submission at once (its own worker and train_workers − 1 training workers)."""
    train_workers_given: bool = False
    """Whether that number was chosen (then kept) or follows the cores each submission gets."""
    worker_memory: int = limits.WORKER_ADDRESS_SPACE
    """Bytes of memory each sandboxed worker may use (`limits.worker_memory_share`)."""
    workers_at_once: int = 1
    """Sandboxed workers of this run that may run at once (submissions × their training workers)."""
    device_note: str = ""
    """Why ``auto`` chose the CPU on a machine with a GPU, for the console and the reports."""

    def gpu_memory_fraction(self) -> float | None:
        """Each CUDA worker's share of the one GPU's memory (most of it, shared equally)."""
        return GPU_MEMORY_SHARED / self.workers_at_once if self.device == "cuda" else None

    def to_json(self) -> str:
        """The configuration as the judge receives it (``--grading-config``)."""
        data = asdict(self)
        data["data"] = str(self.data) if self.data is not None else None
        data["cache"] = str(self.cache)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GradingConfig:
        data = json.loads(text)
        data["data"] = Path(data["data"]) if data.get("data") else None
        data["cache"] = Path(data["cache"])
        return cls(**data)


def resolve(options: Mapping[str, Any], environ: Mapping[str, str] | None = None, *,
            concurrent: int = 1, cwd: Path | None = None) -> GradingConfig:
    """Build the configuration from command-line ``options`` (None = not given) and the environment,
    for ``concurrent`` submissions graded at once. Relative paths are taken from ``cwd`` (default:
    the current folder), where the user typed them."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd

    def pick(key: str) -> tuple[Any, str] | None:
        value = options.get(key)
        if value is not None:
            return value, f"--{key.replace('_', '-')} {value!r}"
        if environ.get(ENV[key]):
            return environ[ENV[key]], f"{ENV[key]}={environ[ENV[key]]!r}"
        return None

    def choice(key: str, allowed: tuple[str, ...], default: str) -> str:
        got = pick(key)
        if got is None:
            return default
        value, source = got
        if value == "auto" and key == "sandbox":  # the old default: bubblewrap is required now
            return "bubblewrap"
        if value not in allowed:
            raise ConfigError(f"{source}: expected one of {', '.join(allowed)}")
        return str(value)

    def number(key: str, low: int, high: int) -> int | None:
        got = pick(key)
        if got is None:
            return None
        try:
            value = int(got[0])
        except (TypeError, ValueError):
            raise ConfigError(f"{got[1]}: expected a whole number") from None
        if not low <= value <= high:
            raise ConfigError(f"{got[1]}: expected {low} to {high}")
        return value

    def path(key: str) -> Path | None:
        got = pick(key)
        return None if got is None else (cwd / Path(str(got[0])).expanduser()).resolve()

    seed = number("seed", 0, 2**63 - 1)
    device, device_note = choice("device", DEVICES, "auto"), ""
    if device == "auto":
        usable, why = cuda_usable()
        device = "cuda" if usable else "cpu"
        if not usable and gpu_device_nodes():
            device_note = f"a GPU is present but not usable ({why}): training on the CPU"
    given_workers = number("train_workers", 1, MAX_TRAIN_WORKERS)
    train_workers = given_workers or core_share(concurrent)
    workers = max(1, concurrent) * train_workers
    return GradingConfig(
        budget=choice("budget", BUDGETS, DEFAULT_BUDGET),
        device=device,
        sandbox=choice("sandbox", SANDBOXES, "bubblewrap"),
        data=path("data") or (EMBEDDED_DATA if EMBEDDED_DATA.is_file() else None),
        seed=secrets.randbelow(2**31) if seed is None else seed,
        seed_given=seed is not None,
        cache=path("cache") or _default_cache(),
        train_workers=train_workers,
        train_workers_given=given_workers is not None,
        worker_memory=limits.worker_memory_share(workers, max(1, concurrent)),
        workers_at_once=workers,
        device_note=device_note,
    )


def core_share(concurrent: int) -> int:
    """Trainings of one submission at once when ``concurrent`` submissions are graded together: each
    gets an equal share of the cores (at least one, at most the seven trained problems). The grade
    does not depend on it (docs/training.md)."""
    return max(1, min(MAX_TRAIN_WORKERS, available_cores() // max(1, concurrent)))


def with_concurrency(config: GradingConfig, concurrent: int) -> GradingConfig:
    """``config`` for ``concurrent`` submissions at once: the core share (unless a number of training
    workers was given) and the memory share follow."""
    train_workers = config.train_workers if config.train_workers_given else core_share(concurrent)
    workers = concurrent * train_workers
    return replace(config, train_workers=train_workers, workers_at_once=workers,
                   worker_memory=limits.worker_memory_share(workers, concurrent))
