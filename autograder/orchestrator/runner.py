"""Grading runs: each submission graded by a judge (pytest), several at a time, cached and sharded.

Each submission is graded by the judge's pytest session ``pytest <the judge's suites> --submission
DIR`` (`judge_args`), run in a judge server (`judge_server.JudgeServer`) that grades the
submissions of one lane of a class in turn — each with a fresh session, fresh sandboxed workers and
its own judge.log — so that the judge's imports are paid once per lane. A judge that crashes, or
runs past its budget's wall-clock bound (`Budget.judge_timeout`), still leaves a results file
(status ``grader_fault``) for that submission instead of a missing student, and the next
submission gets a fresh judge. The judge gets the configuration resolved, whole
(``--grading-config``), and an address-space bound of its own; every judge this process started is
ended when it is told to stop (`Judges`).

A finished grading leaves ``cache-key`` beside its results: what decided the grade (the
submission's files, the grader's own files, the settings). A rerun skips a submission whose key
matches (unless forced), which also makes an interrupted class run resumable; when it does not
match, `cache_miss_reason` says which part changed.

Regrading some problems (``--problems``) of a submission graded before keeps the other problems'
checks (`results.merge_regrade`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.common import budgets, results_json
from autograder.common.config import GradingConfig
from autograder.common.contract import BY_MODULE
from autograder.common.protocol import GradeAhead
from autograder.common.results import Status, SubmissionResult, merge_regrade
from autograder.orchestrator import problem_names, submission_files
from autograder.orchestrator.judge_server import STOP_GRACE, JudgeFailed, Judges, JudgeServer, end, stop_judges

__all__ = ["STOP_GRACE", "Judges", "JudgeServer", "end", "stop_judges"]

PACKAGE = Path(__file__).resolve().parents[1]
"""The installed ``autograder`` package: its judge holds the graded suites and the reference."""
GRADED_SUITES = PACKAGE / "judge" / "suites"


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
    """``"1,3-(2),problem4"`` → ``["problem1", "problem3_2", "problem4"]`` (`problem_names`)."""
    return problem_names.parse_problems(text)


def judge_args(job: Job, config: GradingConfig, suites: list[str] | None = None,
               problems: list[str] | None = None) -> list[str]:
    """pytest's command line that grades ``job`` (all graded suites unless ``suites`` names files)."""
    args = [
        "-q", "-p", "no:cacheprovider",
        "-c", str(GRADED_SUITES / "pytest.ini"), "--rootdir", str(GRADED_SUITES),
        *(suites or [str(GRADED_SUITES)]),
        "--submission", str(job.submission), "--results", str(job.results_path),
        "--progress", str(job.progress_path),
        "--junitxml", str(job.junit_path), "-o", "junit_family=xunit2",
        "--grading-config", config.to_json(),
        "--timeout", str(budgets.budget(config.budget).check_timeout),
    ]
    if problems:
        args += ["--problems", ",".join(problems)]
    return args


def new_judge(config: GradingConfig, judges: Judges) -> JudgeServer:
    """A judge server for gradings with ``config`` (started on its first submission)."""
    env = dict(os.environ)
    env["AUTOGRADE_CACHE"] = str(config.cache)
    return JudgeServer(cwd=GRADED_SUITES, env=env, judges=judges)


def _hash_tree(h: "hashlib._Hash", root: Path, suffixes: tuple[str, ...] = ()) -> None:
    """Names and contents of the files under ``root``, names as the bytes they are on disk (a CP949
    name decodes with surrogates, which ``str.encode`` refuses); a file that cannot be read adds
    the reason instead of its contents. Never raises for a file."""
    for path in sorted(root.rglob("*"), key=lambda p: os.fsencode(p)):
        if "__pycache__" in path.parts or path.is_symlink() or not path.is_file():
            continue
        if suffixes and path.suffix not in suffixes:
            continue
        h.update(os.fsencode(path.relative_to(root)) + b"\0")
        try:
            h.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as exc:
            h.update(f"unreadable: {type(exc).__name__}".encode())


@functools.lru_cache(maxsize=1)
def grader_fingerprint() -> str:
    """A hash of everything that decides a grade: the package, its suites and reference included."""
    h = hashlib.sha256()
    _hash_tree(h, PACKAGE, (".py", ".html", ".css", ".js", ".ini"))
    return h.hexdigest()


def submission_digest(folder: Path) -> str:
    """A hash of a submission's files (names and contents)."""
    h = hashlib.sha256()
    _hash_tree(h, folder)
    return h.hexdigest()


def cache_parts(job: Job, config: GradingConfig, suites: list[str] | None = None,
                problems: list[str] | None = None) -> dict[str, str]:
    """What must be equal for an earlier result to stand for a new grading, by name."""
    return {
        "grader": grader_fingerprint(), "submission": submission_digest(job.submission),
        "budget": config.budget, "device": config.device, "sandbox": config.sandbox,
        "data": str(config.data), "suites": ",".join(suites or []), "problems": ",".join(problems or []),
        "seed": str(config.seed) if config.seed_given else "any seed",
    }


def _read_key(job: Job) -> dict[str, str] | None:
    try:
        parts = json.loads(job.key_path.read_text())
    except (OSError, ValueError):
        return None
    return parts if isinstance(parts, dict) else None


def cached_result(job: Job, parts: dict[str, str]) -> SubmissionResult | None:
    """The earlier result of ``job`` if it was graded completely with the same settings."""
    if _read_key(job) != parts:
        return None
    try:
        result = results_json.read(job.results_path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return result if result.status is Status.GRADED and not result.not_graded else None


def cache_miss_reason(job: Job, parts: dict[str, str]) -> str:
    """Why an earlier result of ``job`` does not stand for this grading ("" when there is none)."""
    earlier = _read_key(job)
    if earlier is None:
        if not job.results_path.exists():
            return ""
        previous = _previous(job)
        if previous is not None and previous.status is Status.INTERRUPTED:
            return "the earlier grading was interrupted"
        return "the earlier grading did not complete"
    changed = [k for k in parts if earlier.get(k) != parts[k]]
    if not changed:
        return "the earlier results are incomplete"
    if changed == ["seed"]:
        return (f"the earlier results were graded with seed {earlier.get('seed')}; this run "
                + ("draws a fresh seed (give that --seed to keep them)" if parts["seed"] == "any seed"
                   else f"asks for seed {parts['seed']}"))
    words = {"grader": "the grader changed", "submission": "the submission's files changed",
             "budget": f"budget {earlier.get('budget')} → {parts['budget']}",
             "device": f"device {earlier.get('device')} → {parts['device']}",
             "problems": "other problems were asked for", "seed": "another seed",
             "data": "another CIFAR-10 source", "sandbox": "another sandbox", "suites": "other suites"}
    return "; ".join(words[k] for k in changed)


def _previous(job: Job) -> SubmissionResult | None:
    try:
        return results_json.read(job.results_path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ahead_of(job: Job, config: GradingConfig, problems: list[str] | None = None) -> GradeAhead:
    """What a judge server needs to start ``job``'s worker while it grades the submission before."""
    return GradeAhead(submission=str(job.submission), config=config.to_json(),
                      problems=list(problems or BY_MODULE))


def grade(job: Job, config: GradingConfig, suites: list[str] | None = None, *,
          problems: list[str] | None = None, judges: Judges | None = None,
          judge: JudgeServer | None = None, ahead: GradeAhead | None = None) -> SubmissionResult:
    """Grade one submission in ``judge`` (a judge server of this run's; without one, a judge of its
    own, ended after); always returns a result (and writes it). ``ahead``: the submission
    ``judge`` grades next (`ahead_of`), whose worker it may start meanwhile.

    With ``problems``, the other problems of an earlier result of this submission are kept. When
    the run is being stopped (``judges.stopping``) the result is `interrupted_result`: not graded
    yet, for the same command to grade again; InterruptedError when the stop came before the judge
    took the submission (its folder is then left as it was).
    """
    judges = judges or Judges()
    if judges.stopping:
        raise InterruptedError("grading is being stopped")
    own = judge is None
    if judge is None:
        judge = new_judge(config, judges)
    before = _Before.of(job)
    earlier = _previous(job) if problems else None
    for stale in (job.results_path, job.key_path):
        stale.unlink(missing_ok=True)
    started = time.monotonic()
    bound = budgets.budget(config.budget).judge_timeout
    reason = ""
    try:
        status = judge.grade(judge_args(job, config, suites, problems), job.log_path, timeout=bound, ahead=ahead)
    except JudgeFailed as failed:
        status, reason = None, failed.reason
    except InterruptedError:  # stopped before the judge took this submission
        before.restore(job)
        raise
    finally:
        if own:
            judge.stop()
    result: SubmissionResult | None = None
    if judges.stopping:
        result = interrupted_result(job, config, duration=time.monotonic() - started)
    elif not reason and job.results_path.is_file():
        try:
            result = results_json.read(job.results_path)
        except (ValueError, KeyError, TypeError) as exc:
            reason = f"the judge wrote an unreadable results file: {exc}"
    elif not reason:
        tail = job.log_path.read_text(errors="replace")[-2000:] if job.log_path.is_file() else ""
        reason = f"the judge exited with status {status} without results: {tail}"
    elif job.log_path.is_file() and "while grading" in reason:
        reason += ": " + job.log_path.read_text(errors="replace")[-2000:]
    if result is None:
        result = fault_result(job, config, reason, duration=time.monotonic() - started)
    if earlier is not None and problems and earlier.student == result.student:
        result = merge_regrade(earlier, result, problems)
    result.unused_files = submission_files.unused(job.submission, result)
    results_json.write(result, job.results_path)
    return result


@dataclass(frozen=True)
class _Before:
    """A submission's output folder as it was before a grading began (to put back when the grading
    is stopped before the judge took it: no empty folder, no earlier result lost)."""

    existed: bool
    files: dict[str, bytes]

    @classmethod
    def of(cls, job: Job) -> _Before:
        existed = job.out_dir.is_dir()
        files = {p.name: p.read_bytes() for p in (job.results_path, job.key_path) if p.is_file()}
        job.out_dir.mkdir(parents=True, exist_ok=True)
        return cls(existed, files)

    def restore(self, job: Job) -> None:
        for name, data in self.files.items():
            (job.out_dir / name).write_bytes(data)
        if not self.existed:
            try:
                job.out_dir.rmdir()  # only when nothing was written into it
            except OSError:
                pass


def interrupted_result(job: Job, config: GradingConfig, duration: float = 0.0) -> SubmissionResult:
    """The result of a submission whose grading was stopped by a signal: status ``interrupted``, no
    checks — not graded yet, through no fault of the grader or the student."""
    return SubmissionResult(student=job.submission.name, submission=str(job.submission),
                            status=Status.INTERRUPTED,
                            status_reason="the grading was stopped (a signal) before this submission was "
                                          "finished; run the same command to continue",
                            seed=config.seed, budget=config.budget, device=config.device,
                            duration=round(duration, 3))


def fault_result(job: Job, config: GradingConfig, reason: str, duration: float = 0.0) -> SubmissionResult:
    """The result of a submission the grader failed on: no checks, status ``grader_fault``, the reason."""
    return SubmissionResult(student=job.submission.name, submission=str(job.submission),
                            status=Status.GRADER_FAULT, status_reason=reason, seed=config.seed,
                            budget=config.budget, device=config.device,
                            duration=round(duration, 3))


@dataclass(frozen=True)
class Graded:
    """One submission's outcome in a run: its result, whether it came from the cache, and why an
    earlier result was not reused ("" when there was none)."""

    result: SubmissionResult
    cached: bool = False
    regraded_because: str = ""


def needs_grading(job: Job, config: GradingConfig, suites: list[str] | None = None, *,
                  problems: list[str] | None = None, force: bool = False) -> bool:
    """Whether `grade_cached` would grade ``job`` (no earlier complete result with its key)."""
    try:
        return force or cached_result(job, cache_parts(job, config, suites, problems)) is None
    except Exception:  # noqa: BLE001 — `grade_cached` reports it, for this submission alone
        return True


def grade_cached(job: Job, config: GradingConfig, suites: list[str] | None = None, *,
                 problems: list[str] | None = None, force: bool = False,
                 judges: Judges | None = None, judge: JudgeServer | None = None,
                 ahead: GradeAhead | None = None) -> Graded:
    """Grade ``job`` unless an earlier complete result has the same key. Whatever goes wrong for
    this submission — its files' key, its grading — costs this submission alone (a grader fault)."""
    because = ""
    parts: dict[str, str] | None = None
    try:
        parts = cache_parts(job, config, suites, problems)
        if not force:
            earlier = cached_result(job, parts)
            if earlier is not None:
                return Graded(earlier, cached=True)
            because = cache_miss_reason(job, parts)
        result = grade(job, config, suites, problems=problems, judges=judges, judge=judge, ahead=ahead)
    except InterruptedError:
        raise
    except Exception as exc:  # the batch goes on: this submission is a grader fault
        result = fault_result(job, config, f"{type(exc).__name__}: {exc}")
        results_json.write(result, job.results_path)
        return Graded(result, regraded_because=because)
    if parts is not None and result.status is Status.GRADED and not result.not_graded:
        job.key_path.write_text(json.dumps(parts, indent=1) + "\n")
    return Graded(result, regraded_because=because)


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
