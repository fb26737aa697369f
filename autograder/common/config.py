"""One typed grading configuration, resolved with one precedence: command line > environment > default.

Used by the CLI and by the pytest plugin, so `autograde` and `pytest --submission` agree. A bad
value is reported with where it came from ("--budget 'fast'" or "AUTOGRADE_BUDGET='fast'").
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from autograder.common.budgets import TRAINED

BUDGETS = ("quick", "standard", "full")
DEVICES = ("auto", "cpu", "cuda")
SANDBOXES = ("auto", "bubblewrap", "limits-only")

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

HELP = {
    "data": "CIFAR-10: a torchvision root (with cifar-10-batches-py), an image-folder tree "
            "(train/<class>/*.jpg, test/<class>/*.jpg) or that tree as .tar.gz "
            f"[env {ENV['data']}; default ./data, downloaded with torchvision when online]",
    "budget": "training budget: quick (CI), standard (default) or full (the homework's 2 epochs) "
              f"[env {ENV['budget']}]",
    "device": "where training runs: auto (CUDA when present), cpu or cuda "
              f"[env {ENV['device']}]",
    "sandbox": "auto (bubblewrap when it works), bubblewrap (insist), or limits-only "
               f"[env {ENV['sandbox']}]",
    "seed": "seed for the inputs drawn and the training run; recorded in the results so a run can "
            f"be reproduced [env {ENV['seed']}; default: fresh each run]",
    "cache": "folder for decoded CIFAR-10 arrays [env "
             f"{ENV['cache']}; default ~/.cache/hw3-autograder]",
    "train_workers": "trainings of one submission run side by side: 1 makes them one after another "
                     "in the submission's worker, N adds N-1 sandboxed training workers "
                     f"[env {ENV['train_workers']}; default: the cores each submission gets]",
}


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


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names its source."""


@dataclass(frozen=True)
class GradingConfig:
    """How to grade: shared by every submission of one run."""

    budget: str = "standard"
    device: str = "auto"
    sandbox: str = "auto"
    data: Path | None = None
    seed: int = 0
    seed_given: bool = False
    """Whether the seed was chosen (then cached results must match it) or drawn fresh."""
    cache: Path = Path.home() / ".cache" / "hw3-autograder"
    train_workers: int | None = None
    """Trainings of one submission at once (its own worker and N−1 training workers); None:
    decided by `resolved_train_workers`."""

    def resolved_train_workers(self, concurrent: int = 1) -> int:
        """How many trainings of one submission run at once when ``concurrent`` submissions are
        graded together: each submission gets an equal share of the cores (at least one, at most
        the seven trained problems). The grade does not depend on it (docs/training.md)."""
        if self.train_workers is not None:
            return self.train_workers
        return max(1, min(MAX_TRAIN_WORKERS, available_cores() // max(1, concurrent)))

    def resolved_device(self) -> str:
        """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``. Without an NVIDIA device node
        torch cannot see one either, and the seconds of importing it to ask are saved."""
        if self.device != "auto":
            return self.device
        if not gpu_device_nodes():
            return "cpu"
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"


def resolve(options: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> GradingConfig:
    """Build the configuration from command-line ``options`` (None = not given) and the environment."""
    environ = os.environ if environ is None else environ

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
        if value not in allowed:
            raise ConfigError(f"{source}: expected one of {', '.join(allowed)}")
        return str(value)

    seed_pick = pick("seed")
    if seed_pick is None:
        seed = secrets.randbelow(2**31)
    else:
        try:
            seed = int(seed_pick[0])
        except (TypeError, ValueError):
            raise ConfigError(f"{seed_pick[1]}: expected a whole number") from None
        if not 0 <= seed < 2**63:
            raise ConfigError(f"{seed_pick[1]}: expected a non-negative number below 2**63")
    data_pick = pick("data")
    cache_pick = pick("cache")
    workers_pick = pick("train_workers")
    train_workers = None
    if workers_pick is not None:
        try:
            train_workers = int(workers_pick[0])
        except (TypeError, ValueError):
            raise ConfigError(f"{workers_pick[1]}: expected a whole number") from None
        if not 1 <= train_workers <= MAX_TRAIN_WORKERS:
            raise ConfigError(f"{workers_pick[1]}: expected 1 to {MAX_TRAIN_WORKERS}")
    return GradingConfig(
        budget=choice("budget", BUDGETS, "standard"),
        device=choice("device", DEVICES, "auto"),
        sandbox=choice("sandbox", SANDBOXES, "auto"),
        data=Path(data_pick[0]).expanduser() if data_pick else None,
        seed=seed,
        seed_given=seed_pick is not None,
        cache=Path(cache_pick[0]).expanduser() if cache_pick else GradingConfig.cache,
        train_workers=train_workers,
    )
