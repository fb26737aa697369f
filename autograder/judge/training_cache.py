"""Training runs kept beside a submission's results, so that a training is computed once.

A run is keyed by exactly what it executes: the problem and its request (mini-batches, test
images, checkpoints), the budget, the device, the CIFAR-10 copy (its content hash), torch's
version, the grader's training code (the worker's package, the judge's training and sequential
modules, the budgets and the protocol) and the student's files the run imports — the staged copy's
``problem2.py``, the variation's own module, every contract module those import (transitively),
and every file that is no contract module (helpers, data the code may read). The suites, the
rubric and the other problems' modules are not in it: a regrade after a change there, or of other
problems, finds the run here and does not train again. The seed is part of the key when it was
given (``--seed``); without one, as for the submission's own cache (`orchestrator.runner`), any
earlier seed's run stands, and the record names it.

Entries live in ``<results folder>/trainings/<problem>.json``, one per problem (a new run
replaces the old), written by the judge only; an entry that does not parse is a miss.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder.common import typed
from autograder.common.contract import BY_MODULE
from autograder.common.protocol import TrainingReply, TrainingRequest

PACKAGE = Path(__file__).resolve().parent.parent
TRAINING_CODE = ("worker", "judge/training_runs.py", "judge/sequential.py", "judge/training_cache.py",
                 "common/budgets.py", "common/protocol.py", "common/typed.py", "common/contract.py")
"""The grader's files (under the package) that decide what a training run computes."""
VERSION = 1
_IMPORT = re.compile(rb"^\s*(?:from|import)\s+([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)", re.M)


@functools.lru_cache(maxsize=1)
def training_code_digest() -> str:
    """A hash of `TRAINING_CODE`."""
    h = hashlib.sha256()
    for name in TRAINING_CODE:
        root = PACKAGE / name
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in files:
            if "__pycache__" not in path.parts:
                h.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _imported(source: bytes) -> set[str]:
    """Top-level module names an ``import``/``from`` line of ``source`` names."""
    names = set()
    for match in _IMPORT.finditer(source):
        for part in match.group(1).split(b","):
            names.add(part.strip().split(b".")[0].decode("ascii", "replace"))
    return names


def run_files(staged: Path, problem: str) -> list[Path]:
    """The staged files a run of ``problem`` may execute or read (see the module docstring)."""
    contract = {f"{m}.py": m for m in BY_MODULE}
    files = [p for p in sorted(staged.rglob("*")) if p.is_file() and not p.is_symlink()
             and "__pycache__" not in p.parts]
    others = [p for p in files if not (p.parent == staged and p.name in contract)]
    wanted = {"problem2", problem}
    seen: set[str] = set()
    todo = list(wanted)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = staged / f"{module}.py"
        if path.is_file():
            todo += [n for n in _imported(path.read_bytes()) if n in BY_MODULE]
    for path in others:
        if path.suffix == ".py":
            seen |= {n for n in _imported(path.read_bytes()) if n in BY_MODULE}
    return sorted({staged / f"{m}.py" for m in seen if (staged / f"{m}.py").is_file()} | set(others))


@dataclass(frozen=True)
class Entry:
    """A cached run: the reply, the stage it ended at, each checkpoint's word, whence it came."""

    reply: TrainingReply
    stage: str
    words: list[dict[str, Any]]
    seed: int
    made: str
    """The grading that trained it (its start, UTC)."""


class TrainingCache:
    """The training runs of one submission's results folder."""

    def __init__(self, folder: Path, context: dict[str, str], staged: Path, seed_given: bool) -> None:
        self.folder = folder
        self._context = context
        self._staged = staged
        self._seed_given = seed_given
        self._keys: dict[TrainingRequest, str] = {}

    def key(self, request: TrainingRequest) -> str:
        """What must be equal for a cached run to stand for ``request``: computed once per session,
        from the staged copy as it was first seen (before any module of it is rewritten by the
        static split, which follows from those same files)."""
        if request not in self._keys:
            self._keys[request] = self._key(request)
        return self._keys[request]

    def _key(self, request: TrainingRequest) -> str:
        h = hashlib.sha256(json.dumps({"version": VERSION, **self._context, "problem": request.module,
                                       "steps": request.steps, "test_count": request.test_count,
                                       "checkpoints": [list(c) for c in request.checkpoints],
                                       "seed": request.seed if self._seed_given else "any",
                                       "training code": training_code_digest()}, sort_keys=True).encode())
        for path in run_files(self._staged, request.module):
            h.update(str(path.relative_to(self._staged)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        return h.hexdigest()

    def _path(self, problem: str) -> Path:
        return self.folder / f"{problem}.json"

    def get(self, request: TrainingRequest) -> Entry | None:
        """The cached run for ``request``, or None."""
        try:
            plain = json.loads(self._path(request.module).read_text())
            if plain.get("key") != self.key(request):
                return None
            reply = dict(plain["reply"])
            reply["losses"] = np.asarray(reply["losses"], dtype=np.float32)
            reply["predictions"] = np.asarray(reply["predictions"], dtype=np.int64)
            reply["checkpoints"] = {}
            parsed = typed.parse(TrainingReply, reply, "cached training")
            return Entry(parsed, str(plain["stage"]), list(plain["words"]), int(plain["seed"]), str(plain["made"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # TypeMismatch is a ValueError
            return None

    def put(self, request: TrainingRequest, entry: Entry) -> None:
        """Keep ``entry`` for ``request`` (written whole, then renamed into place)."""
        reply = typed.to_plain(entry.reply)
        reply["losses"] = [float(x) for x in entry.reply.losses]
        reply["predictions"] = [int(x) for x in entry.reply.predictions]
        reply["checkpoints"] = {}
        text = json.dumps({"key": self.key(request), "stage": entry.stage, "words": entry.words,
                           "seed": entry.seed, "made": entry.made, "reply": reply})
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(request.module)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(text)
        temporary.replace(path)
