"""Modules that run code when imported, decided once per submission (`Staging.admit`): driven here
with stand-in workers that "import" a module by reading the staged copy, so that every path —
the split, a definition that fails, a split that fails too, several workers at once — is quick
and exact. The same machinery under real workers is graded end to end in test_real_code.py."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.common import contract
from autograder.common.results import Outcome, SubmissionResult
from autograder.common.results import TestResult as CheckResult
from autograder.judge import session as session_module
from autograder.judge.staging import Staging
from autograder.judge.worker_client import FailureKind, ProbeFailure

BLOCKS = "time.sleep(3600)  # trains for an hour"
FAILS = "raise RuntimeError('Dataset not found or corrupted')"


@dataclass
class FakeWorker:
    """Imports by reading the staged file: a line in `BLOCKS` times out, one in `FAILS` raises
    (at its line, in ``<module>``); counts every attempt, shared among the workers of a test."""

    staging: Staging
    attempts: list[tuple[str, str]]
    stops: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def try_import(self, module: str, *, baseline_problem2: bool = False) -> tuple[list[str], ProbeFailure | None]:
        text = (self.staging.path / f"{module}.py").read_text(encoding="utf-8")
        with self.lock:
            self.attempts.append((module, "baseline" if baseline_problem2 else text))
        time.sleep(0.05)  # let the other threads queue up behind the verdict
        for n, line in enumerate(text.split("\n"), start=1):
            if line.strip() == BLOCKS:
                return [], ProbeFailure(FailureKind.TIMEOUT, f"{module}.py: importing took longer than 20 s",
                                        where=f"{module}.py")
            if line.strip() == FAILS:
                function = "_load" if line.startswith(" ") else "<module>"
                return [], ProbeFailure(FailureKind.RAISED, f"{module}.py: importing failed — {module}.py:{n} "
                                        f"in {function}: RuntimeError: Dataset not found or corrupted",
                                        where=f"{module}.py:{n} in {function}")
        return [], None

    def stop(self) -> None:
        self.stops += 1


SCRIPT = f"""\
import time
import torch.nn as nn

criterion = nn.CrossEntropyLoss()

def make_optimizer(net):
    return None

{BLOCKS}
print("trained")
"""


def _staged(tmp_path: Path, files: dict[str, str]) -> Staging:
    folder = tmp_path / "student"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return Staging.make(folder)


def test_a_module_that_blocks_at_import_is_decided_once_for_every_worker(tmp_path):
    """Four workers need problem 2 and its variations at once (the submission's own and three
    training workers): problem2.py's import times out once, its split is imported once, and every
    worker gets the split — no other worker pays the timeout."""
    staging = _staged(tmp_path, {"problem2.py": SCRIPT, "problem3_2.py": "from problem2 import *\n"})
    attempts: list[tuple[str, str]] = []
    workers = [FakeWorker(staging, attempts) for _ in range(4)]
    errors: list[BaseException] = []

    def grade(worker: FakeWorker, module: str) -> None:
        try:
            staging.admit(module, worker)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=grade, args=(w, m)) for w, m in
               zip(workers, ["problem2", "problem3_2", "problem3_2", "problem2"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    tried = [text for module, text in attempts if module == "problem2"]
    assert BLOCKS in tried[0] and not any(BLOCKS in t for t in tried[1:])  # one timeout; the split after it
    split = (staging.path / "problem2.py").read_text(encoding="utf-8")
    assert split.count("\n") == SCRIPT.count("\n")  # every line where it was
    assert "def make_optimizer(net):" in split and "criterion = nn.CrossEntropyLoss()" in split
    assert BLOCKS not in split and 'print("trained")' not in split
    assert staging.verdict("problem2").split is not None and staging.split_modules() == ["problem2"]
    (remark,) = [r for r in staging.remarks if r.problem == "problem2"]
    assert "did not end in time" in remark.text and "line 9: time.sleep(3600)" in remark.text
    assert sum(w.stops for w in workers) == 1  # only the worker that timed out restarted
    staging.close()


LOADS = f"""\
import numpy as np

def _load():
    {FAILS}

TABLE = _load()

def softmax(x):
    return np.asarray(x) * 0 + TABLE

print(softmax([1.0, 2.0]))
"""


def test_a_module_whose_definitions_fail_still_fails(tmp_path):
    """The failure is in code softmax needs (``TABLE = _load()``): graded without its top-level
    code (the print) it fails the same way, so the verdict is the module's own failure, for every worker, and
    the student's file is what the workers get."""
    staging = _staged(tmp_path, {"problem4.py": LOADS})
    attempts: list[tuple[str, str]] = []
    for _ in range(3):
        with pytest.raises(ProbeFailure, match="Dataset not found"):
            staging.admit("problem4", FakeWorker(staging, attempts))
    assert len(attempts) == 2  # the module, then its split (which keeps TABLE = _load()): once each
    assert (staging.path / "problem4.py").read_text(encoding="utf-8") == LOADS
    assert staging.split_modules() == []
    (remark,) = staging.remarks
    assert "graded without that code it fails too" in remark.text


def test_a_failure_at_a_line_the_names_need_tries_no_split(tmp_path):
    """Raised at top level by a statement the split keeps: the module's definitions themselves
    fail, and nothing else is tried."""
    staging = _staged(tmp_path, {"problem4.py": LOADS})
    attempts: list[tuple[str, str]] = []

    class RaisesAtTable(FakeWorker):
        def try_import(self, module: str, *, baseline_problem2: bool = False):
            self.attempts.append((module, "x"))
            return [], ProbeFailure(FailureKind.RAISED, "problem4.py: importing failed — problem4.py:6 in "
                                    "<module>: RuntimeError: Dataset not found", where="problem4.py:6 in <module>")

    for _ in range(3):
        with pytest.raises(ProbeFailure, match="Dataset not found"):
            staging.admit("problem4", RaisesAtTable(staging, attempts))
    assert len(attempts) == 1 and staging.remarks == []
    staging.close()


def test_a_split_that_fails_too_is_undone_and_said(tmp_path):
    """Graded without its top-level code the module still fails: the copy gets the student's
    module back, the verdict is its own failure, and a remark says what was tried."""
    source = f"import time\n\ndef softmax(x):\n    return x\n\n{BLOCKS}\n"
    staging = _staged(tmp_path, {"problem4.py": source})
    attempts: list[tuple[str, str]] = []

    class SplitFails(FakeWorker):
        def try_import(self, module: str, *, baseline_problem2: bool = False):
            found = super().try_import(module, baseline_problem2=baseline_problem2)
            if found[1] is None:
                return [], ProbeFailure(FailureKind.RAISED, "problem4.py: importing failed — NameError: x",
                                        where="problem4.py:4 in softmax")
            return found

    with pytest.raises(ProbeFailure, match="longer than 20 s"):
        staging.admit("problem4", SplitFails(staging, attempts))
    assert (staging.path / "problem4.py").read_text(encoding="utf-8") == source
    assert staging.verdict("problem4").split is None and staging.split_modules() == []
    assert "fails too (problem4.py: importing failed — NameError: x)" in staging.remarks[0].text
    staging.close()


def test_a_missing_module_or_a_module_of_definitions_is_never_split(tmp_path):
    staging = _staged(tmp_path, {"problem4.py": "def softmax(x):\n    return x\n"})
    attempts: list[tuple[str, str]] = []

    class Missing(FakeWorker):
        def try_import(self, module: str, *, baseline_problem2: bool = False):
            self.attempts.append((module, ""))
            return [], ProbeFailure(FailureKind.MISSING, f"{module}.py is missing from the submission")

    with pytest.raises(ProbeFailure, match="problem5.py is missing"):
        staging.admit("problem5", Missing(staging, attempts))
    with pytest.raises(ProbeFailure):
        staging.admit("problem4", Missing(staging, attempts))
    assert len(attempts) == 2 and staging.split_modules() == []
    staging.close()


def test_a_variation_of_a_failing_problem2_is_imported_over_the_baseline(tmp_path):
    staging = _staged(tmp_path, {"problem2.py": f"import torch\n{FAILS}\n",
                                 "problem3_2.py": "from problem2 import *\n\ndef make_optimizer(net):\n    return 1\n"})
    attempts: list[tuple[str, str]] = []
    staging.admit("problem3_2", FakeWorker(staging, attempts))
    assert staging.verdict("problem2").failure is not None
    assert ("problem3_2", "baseline") in attempts
    staging.close()


def test_an_instructors_deduction_for_top_level_work(tmp_path, monkeypatch):
    """`contract.RUNS_AT_IMPORT_DEDUCTION` (none by default) is taken once from each problem graded
    without its top-level code, never below what the problem earned."""
    assert contract.RUNS_AT_IMPORT_DEDUCTION == 0.0
    monkeypatch.setattr(session_module, "RUNS_AT_IMPORT_DEDUCTION", 2.0)
    grading = session_module.GradingSession.__new__(session_module.GradingSession)
    grading.result = SubmissionResult(student="s", submission="s", tests=[
        CheckResult(id="a", name="a", problem="problem2", max_points=3, points=3, outcome=Outcome.PASSED),
        CheckResult(id="b", name="b", problem="problem4", max_points=3, points=1, outcome=Outcome.FAILED)])
    grading._deduct_for_top_level_work(["problem2", "problem4"])
    grading._deduct_for_top_level_work(["problem2"])
    taken = {t.problem: t.points for t in grading.result.tests if t.id.endswith("::runs-at-import")}
    assert taken == {"problem2": -2.0, "problem4": -1.0}
    assert grading.result.score == 1.0
