"""The pytest plugin: `pytest --submission DIR tests/graded` grades one submission.

This process is the judge. It holds the reference solutions and the expected values and never
imports student code: tests talk to the submission through the `worker` fixture (a sandboxed
process, see `judge.py`). Each test carries its weight in a ``points`` marker and its problem in a
``problem`` marker; the plugin turns every outcome into a `TestResult`:

* passed → full points;
* `CheckFailed` or `ProbeFailure` → the student's code is wrong: no points, with feedback;
* `NotGraded`, `SandboxFault` or a skip → not graded (no points lost, reason given);
* any other exception → a fault of the grader: not graded, and the run is flagged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import os
import sys
import time
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from autograder.common import budgets
from autograder.common import config as cfg
from autograder.judge import notebooks
from autograder.judge.checks import CheckFailed, NotGraded
from autograder.common.contract import BY_MODULE, PROBLEMS, REPORT_FILE
from autograder.judge.worker_client import ProbeFailure, SandboxFault, Worker, WorkerSettings
from autograder.common.results import (Feedback, Outcome, Status, SubmissionResult, TestResult,
                                TrainingRecord)
from autograder.judge.sandbox import SandboxMode, bwrap_problem, choose_mode
from autograder.judge.training_pool import TrainingJob, TrainingPool

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
MAX_REPORT_MD = 200_000

SESSION_KEY = pytest.StashKey["GradingSession"]()
REMARKS_KEY = pytest.StashKey[list]()
STARTS_KEY = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "hw3 autograder")
    group.addoption("--submission", metavar="DIR", help="submission folder to grade (enables the graded suites)")
    group.addoption("--results", metavar="FILE", help="write results.json here")
    group.addoption("--grade-seed", dest="grade_seed", type=int, help=cfg.HELP["seed"])
    group.addoption("--budget", choices=cfg.BUDGETS, help=cfg.HELP["budget"])
    group.addoption("--device", choices=cfg.DEVICES, help=cfg.HELP["device"])
    group.addoption("--data", metavar="PATH", help=cfg.HELP["data"])
    group.addoption("--sandbox", choices=cfg.SANDBOXES, help=cfg.HELP["sandbox"])
    group.addoption("--train-workers", dest="train_workers", metavar="N", help=cfg.HELP["train_workers"])
    group.addoption("--problems", metavar="LIST",
                    help="grade only these contract modules, comma-separated (e.g. problem1,problem3_2)")
    group.addoption("--progress", metavar="FILE", help="keep the problem being graded in FILE (for progress displays)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): the check's weight in the rubric (points out of 100)")
    config.addinivalue_line("markers", "problem(module): the contract module the check grades, e.g. problem4")
    submission = config.getoption("submission")
    if submission:
        try:
            grading = cfg.resolve({
                "seed": config.getoption("grade_seed"), "budget": config.getoption("budget"),
                "device": config.getoption("device"), "data": config.getoption("data"),
                "sandbox": config.getoption("sandbox"), "train_workers": config.getoption("train_workers"),
            })
        except cfg.ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        results = config.getoption("results")
        session = GradingSession(grading, Path(submission), Path(results) if results else None)
        config.stash[SESSION_KEY] = session
        # the trainings start now, while the checks are still being collected (importing torch
        # here takes seconds): from the suites named and --problems, as collection will confirm
        candidates = _named_modules(config)
        session.needs_torch = any(m not in NUMPY_ONLY for m in candidates)
        session.start_training([m for m in candidates if m in budgets.TRAINED])


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()


NUMPY_ONLY = frozenset({"problem4", "problem5"})


def _named_modules(config: pytest.Config) -> list[str]:
    """The contract modules the suites named on the command line grade, less those --problems
    leaves out: known before collection (a folder names them all, test_<module>.py one)."""
    found: list[str] = []
    for arg in config.args:
        path = Path(arg.split("::")[0])
        name = path.stem.removeprefix("test_")
        modules = [name] if path.suffix == ".py" and name in BY_MODULE else [p.module for p in PROBLEMS]
        found += [m for m in modules if m not in found]
    wanted = config.getoption("problems")
    return [m for m in found if m in wanted.split(",")] if wanted else found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    grading = config.stash.get(SESSION_KEY, None)
    if grading is not None:
        wanted = config.getoption("problems")
        if wanted:
            keep = set(wanted.split(","))
            deselected = [i for i in items if _problem_of(i) not in keep]
            items[:] = [i for i in items if _problem_of(i) in keep]
            config.hook.pytest_deselected(items=deselected)
        # a worker for the NumPy problems alone starts without torch (seconds saved per student)
        grading.needs_torch = any(_problem_of(i) not in NUMPY_ONLY for i in items)
        grading.keep_training([p for p in map(_problem_of, items) if p in budgets.TRAINED])
        return
    skip = pytest.mark.skip(reason="graded suite: needs --submission DIR")
    for item in items:
        if item.get_closest_marker("points") is not None:
            item.add_marker(skip)


class GradingSession:
    """State of grading one submission: its worker, the reference, and the results so far."""

    def __init__(self, config: cfg.GradingConfig, submission: Path, results_path: Path | None) -> None:
        self.config = config
        self.submission = submission.resolve()
        self.results_path = results_path
        self.device = config.resolved_device()
        self.started = time.monotonic()
        self.result = SubmissionResult(
            student=self.submission.name, submission=str(submission), seed=config.seed,
            budget=config.budget, device=self.device,
            started_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
        self.grader_fault = ""
        self.needs_torch = True
        self.needs_data = False
        self._worker: Worker | None = None
        self._pool: TrainingPool | None = None
        self._cifar: Any = None
        self._cifar_error: str | None = None
        self._check_submission()

    def _check_submission(self) -> None:
        if not self.submission.is_dir():
            self.result.status = Status.UNGRADABLE
            self.result.status_reason = f"{self.submission} is not a folder"
            return
        present = [p.module for p in PROBLEMS if (self.submission / f"{p.module}.py").is_file()]
        self.result.notebook = notebooks.convert(self.submission)
        if self.result.notebook is not None:
            present += self.result.notebook.used_modules()
        if not present:
            found = sorted(p.name for p in self.submission.iterdir())[:10]
            self.result.status = Status.UNGRADABLE
            self.result.status_reason = ("no module of the contract (problem1.py … problem5.py) in "
                                         f"the folder; found: {', '.join(found) or 'nothing'}")
            if self.result.notebook is not None:
                self.result.status_reason += "; " + " ".join(self.result.notebook.errors[:3])
        report = self.submission / REPORT_FILE
        if report.is_file() and not report.is_symlink():
            self.result.report_md = report.read_bytes()[:MAX_REPORT_MD].decode("utf-8", errors="replace")

    # -- the worker ---------------------------------------------------------------------------
    def worker(self, *, with_data: bool = False) -> Worker:
        """The submission's worker; ``with_data`` (re)starts it with CIFAR-10 mounted."""
        data_dir = self.cifar().worker_dir if with_data else None
        if data_dir is None and self._worker is None and self.needs_data:
            try:
                data_dir = self.cifar().worker_dir
            except NotGraded:
                pass  # the training checks will say so themselves
        if self._worker is not None and with_data and self._worker.settings.data != data_dir:
            self._worker.stop()
            self._worker.settings.data = data_dir
        if self._worker is None:
            self._worker = Worker(self._worker_settings(data_dir))
        return self._worker

    def _worker_settings(self, data_dir: Path | None) -> WorkerSettings:
        """How this submission's workers run (SandboxFault when no sandbox mode can be used)."""
        try:
            mode = choose_mode(self.config.sandbox)
        except RuntimeError as exc:
            raise SandboxFault(str(exc)) from None
        self.result.sandbox = mode.value
        if mode is SandboxMode.LIMITS_ONLY:
            self.result.sandbox_note = (
                "bubblewrap not used (" + (bwrap_problem() or "limits-only asked for") + "): "
                "resource limits and timeouts only, no filesystem, network or uid isolation")
            if os.getuid() == 0:
                self.result.sandbox_note += (
                    "; running as root, so the worker could lift its own limits — install "
                    "bubblewrap or grade as an ordinary user")
        preload = ("numpy", "torch", "torchvision") if self.needs_torch else ("numpy",)
        return WorkerSettings(submission=self.submission, mode=mode, data=data_dir, device=self.device,
                              preload=preload,
                              submission_timeout=budgets.budget(self.config.budget).submission_timeout)

    # -- training -----------------------------------------------------------------------------
    def training_request(self, problem: str) -> dict[str, Any]:
        """The ``Worker.call`` arguments that train ``problem`` at this session's budget."""
        budget = budgets.budget(self.config.budget)
        steps = budget.steps_for(problem)
        return {"module": problem, "steps": steps, "seed": self.config.seed,
                "test_count": budget.test_images, "timeout": budget.timeout(),
                "doing": f"training {problem} ({steps:,} mini-batches, budget {budget.name})"}

    def start_training(self, problems: list[str]) -> None:
        """Make the pool of this session's runs (`TrainingPool`), costliest first, with one training
        worker fewer than ``train_workers`` (the submission's own worker makes runs too); the
        training workers start at once."""
        if not problems or self.result.status is not Status.GRADED:
            return
        try:
            data_dir = self.cifar().worker_dir
            settings = self._worker_settings(data_dir)
        except Exception:  # noqa: BLE001 — each training check meets the same problem and reports it
            return
        budget = budgets.budget(self.config.budget)
        order = sorted(problems, key=budget.run_cost, reverse=True)
        jobs = [TrainingJob(p, self.training_request(p)) for p in order]
        lanes = self.config.resolved_train_workers() - 1
        self._pool = TrainingPool(jobs, lanes, lambda lane: Worker(dataclasses.replace(settings, slot=1 + lane)))

    def keep_training(self, problems: list[str]) -> None:
        """Collection's final word on which problems are trained: the others' runs are dropped, and
        the main worker, which makes runs too, mounts CIFAR-10 at its first start (not by a restart)."""
        self.needs_data = bool(problems)
        if self._pool is not None:
            self._pool.keep(problems)

    def training_reply(self, problem: str) -> Any:
        """The worker's reply to training ``problem`` (ProbeFailure / SandboxFault as raised)."""
        def here(job: TrainingJob) -> Any:
            return self.worker(with_data=True).call("train_and_predict", **job.request)

        if self._pool is not None and problem in self._pool:
            return self._pool.result(problem, here)
        return here(TrainingJob(problem, self.training_request(problem)))

    def start_seconds(self) -> float:
        """Seconds spent starting workers so far (kept out of the checks' timings)."""
        return self._worker.start_seconds if self._worker is not None else 0.0

    def cifar(self) -> Any:
        """The prepared CIFAR-10 data, or NotGraded saying where it was looked for."""
        if self._cifar is None and self._cifar_error is None:
            from autograder.judge import cifar

            try:
                self._cifar = cifar.prepare(self.config)
            except cifar.DataUnavailable as exc:
                self._cifar_error = str(exc)
        if self._cifar_error is not None:
            raise NotGraded(self._cifar_error)
        return self._cifar

    def reference(self, module: str) -> ModuleType:
        """A reference solution module (imported here, in the judge)."""
        if module not in BY_MODULE:
            raise KeyError(module)
        if str(REFERENCE_DIR) not in sys.path:
            sys.path.insert(0, str(REFERENCE_DIR))
        mod = importlib.import_module(module)
        if not str(getattr(mod, "__file__", "")).startswith(str(REFERENCE_DIR)):
            raise RuntimeError(f"{module} was not imported from the reference folder")
        return mod

    # -- results ------------------------------------------------------------------------------
    def finish(self) -> SubmissionResult:
        r = self.result
        main = [self._worker] if self._worker is not None else []
        trainers = self._pool.workers if self._pool is not None else []
        outputs = [w.output for w in main]
        outputs += [f"[training worker {i + 1}]\n{w.output}" for i, w in enumerate(trainers) if w.output_bytes]
        r.output = "\n".join(o for o in outputs if o)
        r.output_bytes = sum(w.output_bytes for w in main + trainers)
        for w in main + trainers:
            if w.ready_info:
                r.versions = {k: str(v) for k, v in w.ready_info.get("versions", {}).items()}
                break
        if self._worker is not None:
            if self._worker.ready_info:
                r.timings["sandbox start"] = round(self._worker.start_seconds, 3)
            r.timings["worker busy"] = round(self._worker.busy_seconds, 3)
            for module, seconds in self._worker.import_seconds.items():
                r.timings[f"import {module}"] = seconds
        if self._pool is not None:
            if trainers:
                r.timings[f"training workers ({len(trainers)}) start"] = round(
                    sum(w.start_seconds for w in trainers), 3)
            r.timings["trainings (wall)"] = round(self._pool.wall_seconds, 3)
        if self.grader_fault and r.status is Status.GRADED:
            r.status = Status.GRADER_FAULT
            r.status_reason = self.grader_fault
        r.duration = round(time.monotonic() - self.started, 3)
        return r

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def _session(request: pytest.FixtureRequest) -> GradingSession:
    session = request.config.stash.get(SESSION_KEY, None)
    if session is None:
        pytest.skip("graded suite: needs --submission DIR")
    return session


@pytest.fixture(scope="session")
def grading(request: pytest.FixtureRequest) -> GradingSession:
    """The grading session of the submission under test."""
    return _session(request)


@pytest.fixture(scope="session")
def worker(grading: GradingSession) -> Worker:
    """The sandboxed worker of the submission (started on first use)."""
    return grading.worker()


@pytest.fixture(scope="session")
def reference(grading: GradingSession) -> Callable[[str], ModuleType]:
    """``reference("problem1")`` → the reference module."""
    return grading.reference


@pytest.fixture
def rng(grading: GradingSession, request: pytest.FixtureRequest) -> np.random.Generator:
    """Inputs for this check, drawn from the run's seed (reproducible, order-independent)."""
    return np.random.default_rng([grading.config.seed, zlib.crc32(request.node.nodeid.encode())])


@pytest.fixture
def remark(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """``remark(text)``: an advisory comment on this check that costs no points."""
    remarks: list[str] = request.node.stash.setdefault(REMARKS_KEY, [])
    return remarks.append


@pytest.fixture
def record_training(grading: GradingSession) -> Callable[[TrainingRecord], None]:
    """Keep a training run's loss curve and accuracy for the report."""
    return grading.result.training.append


def _problem_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("problem")
    return str(marker.args[0]) if marker and marker.args else "unknown"


def _points_of(item: pytest.Item) -> float:
    marker = item.get_closest_marker("points")
    return float(marker.args[0]) if marker and marker.args else 0.0


def _title_of(item: pytest.Item) -> str:
    fn = getattr(item, "function", None)
    doc = (fn.__doc__ or "").strip().splitlines() if fn is not None else []
    return doc[0].strip() if doc else item.name


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Write the check under way to the --progress file (read by `autograde`'s display)."""
    grading = item.config.stash.get(SESSION_KEY, None)
    if grading is not None:
        item.stash[STARTS_KEY] = grading.start_seconds()
    path = item.config.getoption("progress", None)
    if path and grading is not None:
        try:
            Path(path).write_text(f"{_problem_of(item)}: {item.name}"[:80])
        except OSError:
            pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    session = item.config.stash.get(SESSION_KEY, None)
    if session is None or item.get_closest_marker("points") is None:
        return
    if call.when == "teardown" or (call.when == "setup" and report.passed):
        return
    points = _points_of(item)
    result = TestResult(id=item.nodeid, name=_title_of(item), problem=_problem_of(item),
                        max_points=points, points=0.0, outcome=Outcome.PASSED,
                        remarks=list(item.stash.get(REMARKS_KEY, [])), duration=round(call.duration, 3))
    exc = call.excinfo.value if call.excinfo is not None else None
    if exc is None and report.passed:
        result.points = points
    elif isinstance(exc, CheckFailed):
        result.outcome = Outcome.FAILED
        result.feedback = exc.feedback
        report.longrepr = _feedback_text(exc.feedback)
    elif isinstance(exc, ProbeFailure):
        result.outcome = Outcome.FAILED
        result.feedback = Feedback(checked=result.name, expected="the submission's code to run",
                                   found=exc.message, where=exc.where or "", details=exc.details)
        report.longrepr = _feedback_text(result.feedback)
    elif isinstance(exc, (NotGraded, SandboxFault)) or report.skipped:
        result.outcome = Outcome.NOT_GRADED
        reason = str(exc) if exc is not None else _skip_reason(report)
        result.message = f"not graded: {reason}"
        if isinstance(exc, SandboxFault):
            session.grader_fault = f"sandbox fault: {reason}"
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, result.message)
    else:
        result.outcome = Outcome.NOT_GRADED
        text = f"{type(exc).__name__}: {exc}" if exc is not None else "the check failed in the grader"
        result.message = f"not graded: grader error — {text}"
        session.grader_fault = f"grader error in {item.nodeid}: {text}"
    session.result.tests.append(result)
    starting = session.start_seconds() - item.stash.get(STARTS_KEY, session.start_seconds())
    session.result.timings[f"{result.problem} checks"] = round(
        session.result.timings.get(f"{result.problem} checks", 0.0) + max(0.0, call.duration - starting), 3)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _feedback_text(fb: Feedback) -> str:
    lines = [f"{fb.where}: {fb.checked}", f"  expected: {fb.expected}", f"  found:    {fb.found}"]
    if fb.details:
        lines.append(f"  details:  {fb.details}")
    return "\n".join(lines)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    grading = session.config.stash.get(SESSION_KEY, None)
    if grading is None:
        return
    result = grading.finish()
    if grading.results_path is not None:
        from autograder.common import results_json

        results_json.write(result, grading.results_path)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    grading = config.stash.get(SESSION_KEY, None)
    if grading is None:
        return
    r = grading.result
    terminalreporter.section(f"hw3 score: {r.student}")
    for p in r.problems():
        extra = f"  ({p.not_graded} not graded)" if p.not_graded else ""
        terminalreporter.write_line(f"{p.module:<11} {p.points:6.2f} / {p.max_points:6.2f}{extra}")
    terminalreporter.write_line(f"{'total':<11} {r.score:6.2f} / {r.max_score:6.2f}   "
                                f"[seed {r.seed}, budget {r.budget}, device {r.device}, sandbox {r.sandbox or '-'}]")
    if r.status is not Status.GRADED:
        terminalreporter.write_line(f"status: {r.status.value} — {r.status_reason}")

