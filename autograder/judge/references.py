"""The reference solutions, imported in the judge only (never in a worker, which cannot see them)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from autograder.common.contract import BY_MODULE

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
"""One module per contract module, written as a student would (``from problem2 import …``)."""


def reference_module(module: str) -> ModuleType:
    """The reference's ``module`` (``problem1`` …), imported from `REFERENCE_DIR` and nowhere else."""
    if module not in BY_MODULE:
        raise KeyError(module)
    if str(REFERENCE_DIR) not in sys.path:
        sys.path.insert(0, str(REFERENCE_DIR))
    mod = importlib.import_module(module)
    if not str(getattr(mod, "__file__", "")).startswith(str(REFERENCE_DIR)):
        raise RuntimeError(f"{module} was not imported from the reference folder")
    return mod
