"""What a probe may use: the submission's modules, by their contract names, and the data folder."""

from __future__ import annotations

import importlib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from autograder.common.contract import BY_MODULE


@dataclass
class WorkerContext:
    """What a probe may use: the submission folder, the data folder and the chosen device."""

    submission: Path
    data: Path | None
    device: str
    modules: dict[str, Any]
    stand_ins: Callable[[], list[str]] = field(default=list)
    """The inert stand-ins the student's code has been given so far (`autograder.worker.stand_ins`)."""
    paused: dict[str, Any] = field(default_factory=dict)
    """Sequential training runs waiting at a checkpoint for the judge's word, by module
    (`autograder.worker.training.SequentialRun`)."""

    def module(self, name: str) -> Any:
        """Import a submission module by its contract name (cached for this worker's life)."""
        if name not in BY_MODULE:
            raise ValueError(f"{name!r} is not a module of the contract")
        if name not in self.modules:
            self.modules[name] = importlib.import_module(name)
        return self.modules[name]

    def name(self, module: str, attr: str) -> Any:
        """``module.attr``, with the contract's fallback of a variation to ``problem2``."""
        mod = self.module(module)
        if hasattr(mod, attr):
            return getattr(mod, attr)
        spec = BY_MODULE[module]
        if spec.own_names and attr not in spec.own_names:
            return self.name("problem2", attr)
        raise MissingName(module, attr)


class MissingName(Exception):
    """A module of the contract lacks a name the contract asks for."""

    def __init__(self, module: str, attr: str) -> None:
        super().__init__(f"{module}.py does not define {attr!r}")
        self.module, self.attr = module, attr


def where_in_submission(tb: Any, submission: Path) -> str | None:
    """'problem4.py:12 in softmax' for the innermost frame of ``tb`` that lies in the submission."""
    found = None
    root = str(submission)
    for frame in traceback.extract_tb(tb):
        if frame.filename.startswith(root):
            found = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
    return found
