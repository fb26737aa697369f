"""Grading runs: one judge process (pytest) per submission, several at a time, cached and sharded.

Each submission is graded by ``python -m pytest tests/graded --submission DIR`` in a process of
its own, so that one submission can never disturb another's judge, and a judge that crashes still
leaves a results file (status ``grader_fault``) instead of a missing student.

A finished grading leaves ``cache-key`` beside its results: a hash of the submission's files, the
grader's own files and the settings. A rerun skips a submission whose key matches (unless forced),
which also makes an interrupted class run resumable.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.common import results_json
from autograder.common.config import GradingConfig
from autograder.common.contract import BY_MODULE
from autograder.common.results import Status, SubmissionResult

PACKAGE = Path(__file__).resolve().parents[1]
"""The installed ``autograder`` package: its judge holds the graded suites and the reference."""
GRADED_SUITES = PACKAGE / "judge" / "suites"

TEST_TIMEOUT = {"quick": 900, "standard": 2400, "full": 6000}
"""pytest-timeout's bound on one check in the judge, per budget: a last resort above the worker's
own timeouts (see `budgets.Budget.timeout`)."""


@dataclass(frozen=True)
class Job:
    """One submission to grade and where its outputs go."""

    submission: Path
    out_dir: Path

    @property
    def results_path(self) -> Path:
        return self.out_dir / "results.json"

    @property
    def junit_path(self) -> Path:
        return self.out_dir / "junit.xml"

    @property
    def log_path(self) -> Path:
        return self.out_dir / "judge.log"

    @property
    def progress_path(self) -> Path:
        return self.out_dir / "progress"

    @property
    def key_path(self) -> Path:
        return self.out_dir / "cache-key"


def parse_problems(text: str) -> list[str]:
    """``"1,3_2,problem4"`` → ``["problem1", "problem3_2", "problem4"]``; ``"3"`` means all six 3-(n)."""
    out: list[str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name = part if part.startswith("problem") else f"problem{part}"
        matches = [m for m in BY_MODULE if m == name or m.startswith(name + "_")]
        if not matches:
            raise ValueError(f"--problems: unknown problem {part!r}")
        out += [m for m in matches if m not in out]
    return out


def judge_command(job: Job, config: GradingConfig, suites: list[str] | None = None,
                  problems: list[str] | None = None) -> list[str]:
    """The pytest command line that grades ``job`` (all graded suites unless ``suites`` names files)."""
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(GRADED_SUITES / "pytest.ini"), "--rootdir", str(GRADED_SUITES),
        *(suites or [str(GRADED_SUITES)]),
        "--submission", str(job.submission), "--results", str(job.results_path),
        "--progress", str(job.progress_path),
        "--junitxml", str(job.junit_path), "-o", "junit_family=xunit2",
        "--grade-seed", str(config.seed), "--budget", config.budget, "--device", config.device,
        "--sandbox", config.sandbox, "--timeout", str(TEST_TIMEOUT[config.budget]),
    ]
    if problems:
        cmd += ["--problems", ",".join(problems)]
    if config.data is not None:
        cmd += ["--data", str(config.data)]
    if config.train_workers is not None:
        cmd += ["--train-workers", str(config.train_workers)]
    return cmd


def _hash_tree(h: "hashlib._Hash", root: Path, suffixes: tuple[str, ...] = ()) -> None:
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or path.is_symlink() or not path.is_file():
            continue
        if suffixes and path.suffix not in suffixes:
            continue
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())


@functools.lru_cache(maxsize=1)
def grader_fingerprint() -> str:
    """A hash of everything that decides a grade: the package, its suites and reference included."""
    h = hashlib.sha256()
    _hash_tree(h, PACKAGE, (".py", ".html", ".css", ".js"))
    return h.hexdigest()


def submission_digest(folder: Path) -> str:
    """A hash of a submission's files (names and contents)."""
    h = hashlib.sha256()
    _hash_tree(h, folder)
    return h.hexdigest()


def cache_key(job: Job, config: GradingConfig, suites: list[str] | None = None,
              problems: list[str] | None = None) -> str:
    """What must be equal for an earlier result to stand for a new grading."""
    parts = [grader_fingerprint(), submission_digest(job.submission), config.budget, config.device,
             config.sandbox, str(config.data), ",".join(suites or []), ",".join(problems or []),
             str(config.seed) if config.seed_given else "any seed"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def cached_result(job: Job, key: str) -> SubmissionResult | None:
    """The earlier result of ``job`` if it was graded completely with the same key."""
    try:
        if job.key_path.read_text().strip() != key:
            return None
        result = results_json.read(job.results_path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return result if result.status is Status.GRADED and not result.not_graded else None


def grade(job: Job, config: GradingConfig, suites: list[str] | None = None, *,
          problems: list[str] | None = None) -> SubmissionResult:
    """Grade one submission in a judge process of its own; always returns a result."""
    job.out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (job.results_path, job.key_path):
        stale.unlink(missing_ok=True)
    started = time.monotonic()
    env = dict(os.environ)
    env["AUTOGRADE_CACHE"] = str(config.cache)
    with job.log_path.open("wb") as log:
        proc = subprocess.run(judge_command(job, config, suites, problems), cwd=GRADED_SUITES, env=env,
                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    reason = ""
    if job.results_path.is_file():
        try:
            return results_json.read(job.results_path)
        except (ValueError, KeyError, TypeError) as exc:
            reason = f"the judge wrote an unreadable results file: {exc}"
    else:
        tail = job.log_path.read_text(errors="replace")[-2000:]
        reason = f"the judge exited with status {proc.returncode} without results: {tail}"
    result = SubmissionResult(
        student=job.submission.name, submission=str(job.submission), status=Status.GRADER_FAULT,
        status_reason=reason, seed=config.seed, budget=config.budget, device=config.device,
        duration=round(time.monotonic() - started, 3),
    )
    results_json.write(result, job.results_path)
    return result


def grade_cached(job: Job, config: GradingConfig, suites: list[str] | None = None, *,
                 problems: list[str] | None = None, force: bool = False) -> tuple[SubmissionResult, bool]:
    """Grade ``job`` unless an earlier complete result has the same key; returns (result, cached)."""
    key = cache_key(job, config, suites, problems)
    if not force:
        earlier = cached_result(job, key)
        if earlier is not None:
            return earlier, True
    try:
        result = grade(job, config, suites, problems=problems)
    except Exception as exc:  # the batch goes on: this submission is a grader fault
        result = SubmissionResult(student=job.submission.name, submission=str(job.submission),
                                  status=Status.GRADER_FAULT, status_reason=f"{type(exc).__name__}: {exc}",
                                  seed=config.seed, budget=config.budget, device=config.device)
        results_json.write(result, job.results_path)
        return result, False
    if result.status is Status.GRADED and not result.not_graded:
        job.key_path.write_text(key + "\n")
    return result, False


def in_shard(name: str, shard: tuple[int, int] | None) -> bool:
    """Deterministic slicing by a hash of the folder name: stable when students are added."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % n == k - 1


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/5"`` → (2, 5); K counts from 1."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: expected K/N, e.g. 2/5") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text!r}: K must be between 1 and N")
    return k, n
