"""The pytest plugin: ``pytest --submission DIR autograder/judge/suites`` grades one submission.

This process is the judge. It holds the reference solutions and the expected values and never
imports student code: checks talk to the submission through the ``worker`` fixture (a sandboxed
process, see `worker_client`). Each check carries its weight in a ``points`` marker and its
problem in a ``problem`` marker. With ``--submission``, `GradingPlugin` is registered (as pytest's
junitxml registers its reporter): it owns the grading session, turns every check's ending into a
`TestResult` (`outcomes.classify`) and writes results.json at the end. Without it, the graded
checks are skipped, so the suites can sit beside other tests.

`autograde` hands the judge its configuration resolved, as JSON (``--grading-config``); run by
hand, the judge resolves it from its own options for this one submission.
"""

from __future__ import annotations

import signal
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from autograder.common import budgets
from autograder.common import config as cfg
from autograder.common import results_json
from autograder.common.contract import BY_MODULE, PROBLEMS
from autograder.common.results import Outcome, Status, TestResult, Visibility, pending_text
from autograder.judge.outcomes import classify, feedback_text
from autograder.judge.references import import_ahead, reference_module
from autograder.judge.session import GradingSession, session_for
from autograder.judge.worker_client import Worker

PLUGIN_KEY = pytest.StashKey["GradingPlugin"]()
REMARKS_KEY = pytest.StashKey[list]()
STARTS_KEY = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "hw3 autograder")
    group.addoption("--submission", metavar="DIR", help="submission folder to grade (enables the graded suites)")
    group.addoption("--results", metavar="FILE", help="write results.json here")
    group.addoption("--grading-config", dest="grading_config", metavar="JSON",
                    help="the configuration, resolved by autograde (replaces the options below)")
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
    config.addinivalue_line("markers", "visibility(level): who sees the check — visible (default), hidden or "
                                       "after_published, as in Gradescope's results.json")
    submission = config.getoption("submission")
    if not submission:
        return
    try:
        grading = _grading_config(config)
    except (cfg.ConfigError, ValueError, TypeError) as exc:
        raise pytest.UsageError(str(exc)) from None
    results = config.getoption("results")
    plugin = GradingPlugin(config, session_for(grading, Path(submission), Path(results) if results else None))
    config.stash[PLUGIN_KEY] = plugin
    config.pluginmanager.register(plugin, "autograder-grading")
    _interrupt_on(signal.SIGTERM, signal.SIGHUP)
    plugin.start_training()


def _interrupt_on(*signals: signal.Signals) -> None:
    """Make these signals end the judge as Ctrl-C does: pytest unwinds, `pytest_unconfigure` stops
    every worker (and removes their files), and the result says the grading was interrupted."""
    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    for sig in signals:
        signal.signal(sig, interrupt)


def _grading_config(config: pytest.Config) -> cfg.GradingConfig:
    given = config.getoption("grading_config")
    if given:
        return cfg.GradingConfig.from_json(given)
    return cfg.resolve({
        "seed": config.getoption("grade_seed"), "budget": config.getoption("budget"),
        "device": config.getoption("device"), "data": config.getoption("data"),
        "sandbox": config.getoption("sandbox"), "train_workers": config.getoption("train_workers"),
    })


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(PLUGIN_KEY, None)
    if plugin is not None:
        plugin.session.close()
        config.pluginmanager.unregister(plugin)
        del config.stash[PLUGIN_KEY]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a submission, the graded checks are skipped (the grading plugin handles the rest)."""
    if config.stash.get(PLUGIN_KEY, None) is not None:
        return
    skip = pytest.mark.skip(reason="graded suite: needs --submission DIR")
    for item in items:
        if item.get_closest_marker("points") is not None:
            item.add_marker(skip)


def problem_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("problem")
    return str(marker.args[0]) if marker and marker.args else "unknown"


def points_of(item: pytest.Item) -> float:
    marker = item.get_closest_marker("points")
    return float(marker.args[0]) if marker and marker.args else 0.0


def visibility_of(item: pytest.Item) -> Visibility:
    """The check's ``visibility`` marker (default: visible); a misspelt one is a usage error."""
    marker = item.get_closest_marker("visibility")
    if marker is None:
        return Visibility.VISIBLE
    value = marker.args[0] if marker.args else None
    try:
        return Visibility(value)
    except ValueError:
        choices = ", ".join(v.value for v in Visibility)
        raise pytest.UsageError(f"{item.nodeid}: visibility({value!r}) is not one of {choices}") from None


def title_of(item: pytest.Item) -> str:
    fn = getattr(item, "function", None)
    doc = (fn.__doc__ or "").strip().splitlines() if fn is not None else []
    return doc[0].strip() if doc else item.name


class GradingPlugin:
    """The hooks of a judge grading one submission; registered only with ``--submission``."""

    def __init__(self, config: pytest.Config, session: GradingSession) -> None:
        self.config = config
        self.session = session
        wanted = config.getoption("problems")
        self.wanted = set(wanted.split(",")) if wanted else None
        progress = config.getoption("progress")
        self.progress = Path(progress) if progress else None

    def _named_modules(self) -> list[str]:
        """The contract modules the suites named on the command line grade, less those --problems
        leaves out: known before collection (a folder names them all, test_<module>.py one)."""
        found: list[str] = []
        for arg in self.config.args:
            path = Path(arg.split("::")[0])
            name = path.stem.removeprefix("test_")
            modules = [name] if path.suffix == ".py" and name in BY_MODULE else [p.module for p in PROBLEMS]
            found += [m for m in modules if m not in found]
        return [m for m in found if self.wanted is None or m in self.wanted]

    def start_training(self) -> None:
        """The submission's worker and the trainings start now, and the reference is imported,
        while the checks are still being collected (importing torch takes seconds): from the
        suites named and --problems, as collection will confirm."""
        candidates = self._named_modules()
        self.session.start_worker_ahead(frozenset(candidates))
        self.session.trainings.start([m for m in candidates if m in budgets.TRAINED])
        import_ahead(candidates)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.wanted is not None:
            deselected = [i for i in items if problem_of(i) not in self.wanted]
            items[:] = [i for i in items if problem_of(i) in self.wanted]
            self.config.hook.pytest_deselected(items=deselected)
        for item in items:
            try:
                visibility_of(item)  # a misspelt visibility stops the run before any check runs
            except pytest.UsageError as exc:
                self.session.grader_fault = str(exc)
                raise
        # the worker preloads only what the collected checks use (`GradingSession.preload`)
        self.session.problems = frozenset(map(problem_of, items))
        self.session.trainings.keep([p for p in map(problem_of, items) if p in budgets.TRAINED])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Note the worker's start time so far, and write the check under way to the --progress
        file (read by `autograde`'s display)."""
        item.stash[STARTS_KEY] = self.session.start_seconds()
        if self.progress is not None:
            try:
                self.progress.write_text(f"{problem_of(item)}: {item.name}"[:80])
            except OSError:
                pass

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if item.get_closest_marker("points") is None:
            return
        if call.when == "teardown" or (call.when == "setup" and report.passed):
            return
        title = title_of(item)
        exc = call.excinfo.value if call.excinfo is not None else None
        verdict = classify(exc, passed=report.passed, skipped=report.skipped,
                           skip_reason=_skip_reason(report), check=title, nodeid=item.nodeid)
        points = points_of(item)
        result = TestResult(id=item.nodeid, name=title, problem=problem_of(item), max_points=points,
                            points=points if verdict.outcome is Outcome.PASSED else 0.0,
                            outcome=verdict.outcome, feedback=verdict.feedback, message=verdict.message,
                            remarks=list(item.stash.get(REMARKS_KEY, [])), duration=round(call.duration, 3),
                            visibility=visibility_of(item))
        if verdict.feedback is not None:
            report.longrepr = feedback_text(verdict.feedback)
        elif verdict.outcome is Outcome.NOT_GRADED and not verdict.grader_fault.startswith("grader error"):
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, verdict.message)
        starting = self.session.start_seconds() - item.stash.get(STARTS_KEY, self.session.start_seconds())
        self.session.add(result, grader_fault=verdict.grader_fault, starting=starting)

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self.session.grader_fault = "the grading was interrupted before every check had run"
        result = self.session.finish()
        if self.session.results_path is not None:
            results_json.write(result, self.session.results_path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        r = self.session.result
        terminalreporter.section(f"hw3 score: {r.student}")
        for p in r.problems():
            terminalreporter.write_line(p.line())
        terminalreporter.write_line(f"{'total':<11} {r.score:g} / {r.out_of:g}   "
                                    f"[seed {r.seed}, budget {r.budget}, device {r.device}, sandbox {r.sandbox or '-'}]")
        if not r.final:
            terminalreporter.write_line(f"NOT FINAL: {pending_text(r)}")
        if r.status is not Status.GRADED:
            terminalreporter.write_line(f"status: {r.status.value} — {r.status_reason}")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def grading(request: pytest.FixtureRequest) -> GradingSession:
    """The grading session of the submission under test."""
    plugin = request.config.stash.get(PLUGIN_KEY, None)
    if plugin is None:
        pytest.skip("graded suite: needs --submission DIR")
    return plugin.session


@pytest.fixture(scope="session")
def worker(grading: GradingSession) -> Worker:
    """The sandboxed worker of the submission (started on first use)."""
    return grading.worker()


@pytest.fixture(scope="session")
def reference(grading: GradingSession) -> Callable[[str], ModuleType]:
    """``reference("problem1")`` → the reference module."""
    return reference_module


@pytest.fixture
def rng(grading: GradingSession, request: pytest.FixtureRequest) -> np.random.Generator:
    """Inputs for this check, drawn from the run's seed (reproducible, order-independent)."""
    return np.random.default_rng([grading.config.seed, zlib.crc32(request.node.nodeid.encode())])


@pytest.fixture
def remark(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """``remark(text)``: an advisory comment on this check that costs no points."""
    remarks: list[str] = request.node.stash.setdefault(REMARKS_KEY, [])
    return remarks.append
