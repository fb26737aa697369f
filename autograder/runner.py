"""Grading runs: one judge process (pytest) per submission, several at a time.

Each submission is graded by ``python -m pytest tests/graded --submission DIR`` in a process of
its own, so that one submission can never disturb another's judge, and a judge that crashes still
leaves a results file (status ``grader_fault``) instead of a missing student.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from autograder import exports
from autograder.config import GradingConfig
from autograder.results import Status, SubmissionResult

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GRADED_SUITES = PROJECT_ROOT / "tests" / "graded"

TEST_TIMEOUT = {"quick": 600, "standard": 900, "full": 3600}
"""pytest-timeout's bound on one check in the judge, per budget (the worker's own timeouts are tighter)."""


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


def judge_command(job: Job, config: GradingConfig, suites: list[str] | None = None) -> list[str]:
    """The pytest command line that grades ``job``."""
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(PROJECT_ROOT),
        *(suites or [str(GRADED_SUITES)]),
        "--submission", str(job.submission), "--results", str(job.results_path),
        "--junitxml", str(job.junit_path), "-o", "junit_family=xunit2",
        "--grade-seed", str(config.seed), "--budget", config.budget, "--device", config.device,
        "--sandbox", config.sandbox, "--timeout", str(TEST_TIMEOUT[config.budget]),
    ]
    if config.data is not None:
        cmd += ["--data", str(config.data)]
    return cmd


def grade(job: Job, config: GradingConfig, suites: list[str] | None = None) -> SubmissionResult:
    """Grade one submission in a judge process of its own; always returns a result."""
    job.out_dir.mkdir(parents=True, exist_ok=True)
    job.results_path.unlink(missing_ok=True)
    started = time.monotonic()
    env = dict(os.environ)
    env["AUTOGRADE_CACHE"] = str(config.cache)
    with job.log_path.open("wb") as log:
        proc = subprocess.run(judge_command(job, config, suites), cwd=PROJECT_ROOT, env=env,
                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    if job.results_path.is_file():
        try:
            return exports.read_results_json(job.results_path)
        except (ValueError, KeyError, TypeError) as exc:
            reason = f"the judge wrote an unreadable results file: {exc}"
        else:  # pragma: no cover - unreachable
            reason = ""
    else:
        tail = job.log_path.read_text(errors="replace")[-2000:]
        reason = f"the judge exited with status {proc.returncode} without results: {tail}"
    result = SubmissionResult(
        student=job.submission.name, submission=str(job.submission), status=Status.GRADER_FAULT,
        status_reason=reason, seed=config.seed, budget=config.budget, device=config.device,
        duration=round(time.monotonic() - started, 3),
    )
    exports.write_results_json(result, job.results_path)
    return result
