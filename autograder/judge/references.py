"""The reference solutions, imported in the judge only (never in a worker, which cannot see them)."""

from __future__ import annotations

import importlib
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Iterable

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


def import_ahead(modules: Iterable[str]) -> None:
    """Import the references of ``modules`` now, on a thread of their own, so that the checks find
    them loaded: problem 2's imports torchvision (and with it torch's ``_dynamo``), a second or more
    that would otherwise fall in the middle of a check, with the submission's worker waiting. The
    judge calls this while that worker starts. A reference that fails to import is left to the
    check that needs it, which reports it."""
    todo = [m for m in modules if m in BY_MODULE and m not in sys.modules]

    def load() -> None:
        for module in todo:
            try:
                reference_module(module)
            except Exception:  # noqa: BLE001 — the check importing it raises it again, in its place
                pass

    if todo:
        threading.Thread(target=load, name="reference-imports", daemon=True).start()
