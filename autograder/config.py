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
}


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

    def resolved_device(self) -> str:
        """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``."""
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"


def resolve(options: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> GradingConfig:
    """Build the configuration from command-line ``options`` (None = not given) and the environment."""
    environ = os.environ if environ is None else environ

    def pick(key: str) -> tuple[Any, str] | None:
        value = options.get(key)
        if value is not None:
            return value, f"--{key} {value!r}"
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
    return GradingConfig(
        budget=choice("budget", BUDGETS, "standard"),
        device=choice("device", DEVICES, "auto"),
        sandbox=choice("sandbox", SANDBOXES, "auto"),
        data=Path(data_pick[0]).expanduser() if data_pick else None,
        seed=seed,
        seed_given=seed_pick is not None,
        cache=Path(cache_pick[0]).expanduser() if cache_pick else GradingConfig.cache,
    )
