"""Grading one submission: its workers, its CIFAR-10, its training runs and the results so far.

The session lives as long as the judge's pytest run for that submission; a judge server
(`autograder.judge.server`) may make it a little earlier, while it grades the submission before,
so that its worker is already starting (`prepare`, `session_for`). Everything a session holds is
its submission's own: its workers (with uids and memory cgroups of their generation), their
copies and scratch, its results. Its configuration arrives resolved (`GradingConfig`): nothing is
decided again here, so the results record what graded them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from pathlib import Path
from typing import Any

from autograder.common import budgets, layout
from autograder.common.config import GradingConfig
from autograder.common.contract import PROBLEMS, REPORT_FILE, RUNS_AT_IMPORT_DEDUCTION
from autograder.common.results import (Feedback, Outcome, ProblemRun, Remark, Status, SubmissionResult,
                                       TestResult)
from autograder.judge import matplotlib_cache, sandbox
from autograder.judge.checks import NotGraded
from autograder.judge.staging import Staging
from autograder.judge.training_runs import TrainingRuns
from autograder.judge.worker_client import SandboxFault, StartedAhead, Worker, WorkerSettings

MAX_REPORT_MD = 200_000
"""Characters of a student's report.md kept for the report."""
NUMPY_ONLY = frozenset({"problem4", "problem5"})
"""Problems whose checks need no torch in the worker (its start is seconds faster)."""
_CIFAR: dict[tuple[str, str], Any] = {}
"""CIFAR-10 as prepared for a data source and cache folder, kept by a judge that grades several
submissions in turn (the grader's own data, read-only to every worker; `cifar.prepare` checks
the source's key each time: a tenth of a second)."""
_SESSIONS = itertools.count()
"""Sessions this judge has run: a judge server grades submissions in turn, each a session."""
SOURCE_SCAN_BYTES = 4 * 2**20
"""Bytes of a submission's Python files read to see which heavy libraries it imports."""
HEAVY = {"torchvision": ("torchvision",), "matplotlib": ("matplotlib", "matplotlib.pyplot")}
"""Libraries preloaded only for a submission whose code mentions them (each costs a worker start
a second or so: bench/RESULTS.md, "Fixed costs"), and what is imported for each."""


class GradingSession:
    """State of grading one submission: its worker, CIFAR-10, the training runs, the results."""

    def __init__(self, config: GradingConfig, submission: Path, results_path: Path | None) -> None:
        self.config = config
        self.generation = next(_SESSIONS)
        """This session's number in the judge; its workers' uids and cgroups are its own."""
        self.budget = budgets.budget(config.budget)
        self.submission = submission.resolve()
        self.results_path = results_path
        self.started = time.monotonic()
        self.result = SubmissionResult(
            student=self.submission.name, submission=str(submission), seed=config.seed,
            budget=config.budget, device=config.device,
            started_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
        self.grader_fault = ""
        self.tampering: dict[str, str] = {}
        """Per problem, the first sign that the submission changed the grader's code or forged a
        probe's answer (`FailureKind.TAMPERED`): a remark on the TA's page and the student's."""
        self.problems: frozenset[str] | None = None
        """The problems this session grades (None: not known yet, so every one)."""
        self._mentioned: tuple[frozenset[str], frozenset[str]] | None = None
        """Which of `HEAVY` the code graded for these problems mentions (`preload`)."""
        self.needs_data = False
        self._worker: Worker | None = None
        self._ahead: StartedAhead | None = None
        self._cifar: Any = None
        self._cifar_error: str | None = None
        self._staging: Staging | None = None
        self._staging_lock = threading.Lock()
        self.mode, self._mode_error = self._sandbox_mode()
        self.trainings = TrainingRuns(self)

    def _sandbox_mode(self) -> tuple[sandbox.SandboxMode | None, str]:
        """The sandbox this session's workers run in, or why none can be used (a grader fault)."""
        try:
            mode = sandbox.mode_for(self.config.sandbox)
        except sandbox.SandboxUnavailable as exc:
            return None, str(exc)
        self.result.sandbox = mode.value
        if mode is sandbox.SandboxMode.LIMITS_ONLY:
            self.result.sandbox_note = sandbox.LIMITS_ONLY_NOTE
        return mode, ""

    def staging(self) -> Staging:
        """The submission's staged copy (`autograder.judge.staging`), made on first use — within
        this submission's own grading, never when the session is made ahead of it — with what it
        decides: the notebook conversion, the report.md, and ungradable when nothing is there."""
        with self._staging_lock:
            if self._staging is None:
                self._staging = self._stage()
            return self._staging

    def _stage(self) -> Staging:
        staging = Staging.make(self.submission)
        r = self.result
        r.notebook = staging.notebook
        if not self.submission.is_dir():
            r.status, r.status_reason = Status.UNGRADABLE, f"{self.submission} is not a folder"
        elif not staging.present:
            reason = staging.layout.no_code_reason()
            if r.notebook is not None and r.notebook.errors:
                reason = ("no module of the contract could be made from the folder's notebooks: "
                          + " ".join(r.notebook.errors[:3]))
            r.status, r.status_reason = Status.UNGRADABLE, reason
            staging.remarks.append(Remark("", reason))
        report = self.submission / REPORT_FILE
        if report.is_file() and not report.is_symlink():
            r.report_md = report.read_bytes()[:MAX_REPORT_MD].decode("utf-8", errors="replace")
        return staging

    def _mentions(self, problems: frozenset[str]) -> frozenset[str]:
        """Which of `HEAVY` the code the worker may import for ``problems`` mentions: the staged
        ``.py`` files (read up to `SOURCE_SCAN_BYTES`), less the contract modules of the problems
        not graded. Only decides a preload."""
        staging = self.staging()
        others = {f"{p.module}.py" for p in PROBLEMS if p.module not in problems}
        budget = SOURCE_SCAN_BYTES
        sources: list[bytes] = []
        for path in sorted(staging.path.rglob("*.py"))[:200]:
            if budget <= 0:
                break
            if path.is_symlink() or not path.is_file() or (path.parent == staging.path and path.name in others):
                continue
            try:
                with path.open("rb") as f:
                    sources.append(f.read(budget))
            except OSError:
                continue
            budget -= len(sources[-1])
        return frozenset(lib for lib in HEAVY if any(lib.encode() in s for s in sources))

    @property
    def needs_torch(self) -> bool:
        """Whether a graded check needs torch in the worker."""
        return self.problems is None or any(p not in NUMPY_ONLY for p in self.problems)

    def preload(self) -> tuple[str, ...]:
        """What the worker imports before its handshake (so that a student's import time is their
        own): numpy; torch unless only the NumPy problems are graded; torchvision (and with it
        the training probes) when a CIFAR-10 problem is graded or the submission imports it;
        matplotlib's pyplot when the submission imports matplotlib. A worker for problems 1, 4
        and 5 of a student who uses neither starts a second faster (bench/RESULTS.md, "Fixed
        costs")."""
        if not self.needs_torch:
            return ("numpy",)
        problems = self.problems or frozenset(p.module for p in PROBLEMS)
        if self._mentioned is None or self._mentioned[0] != problems:
            self._mentioned = (problems, self._mentions(problems))
        mentioned = self._mentioned[1]
        wanted = ["numpy", "torch"]
        if self.problems is None or any(p in budgets.TRAINED for p in self.problems) or "torchvision" in mentioned:
            wanted += HEAVY["torchvision"]
        if "matplotlib" in mentioned:
            wanted += HEAVY["matplotlib"]
        return tuple(wanted)

    # -- the workers --------------------------------------------------------------------------
    def begin(self, results_path: Path | None) -> None:
        """Begin grading now (a session made ahead, see `prepare`): its clock starts here."""
        self.results_path = results_path
        self.started = time.monotonic()
        self.result.started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

    def start_worker_ahead(self, problems: frozenset[str]) -> None:
        """Start the submission's worker now, for ``problems`` (the suites named and --problems, as
        collection will confirm), on a thread of its own: its start — seconds of imports in the
        sandbox — overlaps the judge's collection, or the previous submission's grading in a judge
        server. CIFAR-10 is mounted when a training problem is among them.

        A submission with notebooks gets no head start: converting them is work on the student's
        text, which runs within this submission's own grading and deadline (`staging`), never on
        another submission's time (a judge server makes this session while it grades the one
        before)."""
        self.problems = problems
        self.needs_data = any(p in budgets.TRAINED for p in problems)
        if self._ahead is not None or self._worker is not None:
            return

        def make() -> Worker | None:  # on the head start's own thread: the staging too
            if layout.find(self.submission).notebooks:
                return None  # the worker starts on first use, after the conversion, in this submission's time
            data_dir = None
            if self.needs_data:
                try:
                    data_dir = self.cifar().worker_dir
                except NotGraded:
                    pass  # the training checks will say so themselves
            try:
                settings = self.worker_settings(data_dir)
            except SandboxFault:
                return None  # the checks meet it themselves
            return Worker(settings) if self.result.status is Status.GRADED else None

        self._ahead = StartedAhead(make)

    def worker(self, *, with_data: bool = False) -> Worker:
        """The submission's worker; ``with_data`` (re)starts it with CIFAR-10 mounted."""
        if self._ahead is not None and self._worker is None:
            self._worker = self._ahead.get()
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
            self._worker = Worker(self.worker_settings(data_dir))
        return self._worker

    def worker_settings(self, data_dir: Path | None, slot: int = 0) -> WorkerSettings:
        """How this submission's worker number ``slot`` runs (SandboxFault: no sandbox can be used)."""
        if self.mode is None:
            raise SandboxFault(self._mode_error)
        staging = self.staging()
        preload = self.preload()
        return WorkerSettings(
            submission=self.submission, mode=self.mode, data=data_dir, device=self.config.device,
            memory=self.config.worker_memory, gpu_memory_fraction=self.config.gpu_memory_fraction(),
            preload=preload, submission_timeout=self.budget.submission_timeout, slot=slot,
            generation=self.generation, staging=staging,
            matplotlib_cache=matplotlib_cache.fontlist(self.config.cache) if "matplotlib" in preload else None)

    def start_seconds(self) -> float:
        """Seconds spent starting the submission's worker so far (kept out of the checks' timings)."""
        return self._worker.start_seconds if self._worker is not None else 0.0

    def cifar(self) -> Any:
        """The prepared CIFAR-10 data, or NotGraded saying where it was looked for."""
        if self._cifar is None and self._cifar_error is None:
            from autograder.judge import cifar

            key = (str(self.config.data), str(self.config.cache))
            known = _CIFAR.get(key)
            if known is not None and known.worker_dir.is_dir():
                self._cifar = known  # prepared by an earlier session of this judge: the same files
            else:
                try:
                    self._cifar = _CIFAR[key] = cifar.prepare(self.config)
                except cifar.DataUnavailable as exc:
                    self._cifar_error = str(exc)
        if self._cifar_error is not None:
            raise NotGraded(self._cifar_error)
        return self._cifar

    # -- results ------------------------------------------------------------------------------
    def add(self, result: TestResult, *, grader_fault: str = "", starting: float = 0.0) -> None:
        """Record one check's result; ``starting`` seconds of its time went into starting a worker."""
        self.result.tests.append(result)
        if grader_fault:
            self.grader_fault = grader_fault
        key = f"{result.problem} checks"
        self.result.timings[key] = round(self.result.timings.get(key, 0.0)
                                         + max(0.0, result.duration - starting), 3)

    def finish(self) -> SubmissionResult:
        """The result of the session: outputs, versions and timings gathered from every worker."""
        r = self.result
        main = [self._worker] if self._worker is not None else []
        trainers = self.trainings.workers
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
        r.timings.update(self.trainings.timings())
        present = self._staging.present if self._staging is not None else frozenset()
        r.missing = [m for m in dict.fromkeys(t.problem for t in r.tests) if m not in present]
        if self._staging is not None:
            self._deduct_for_top_level_work(self._staging.split_modules())
            r.remarks = list(self._staging.remarks)
        r.remarks += [Remark(problem, f"TAMPERING: {message}") for problem, message in self.tampering.items()]
        r.memory_bound = next((w.memory_bound for w in main + trainers if w.memory_bound), "")
        r.runs = {p: ProblemRun(r.seed, r.budget, r.device, r.started_at) for p in dict.fromkeys(t.problem for t in r.tests)}
        if r.status is Status.GRADED and not r.tests and not self.grader_fault:
            self.grader_fault = "the judge ran no check (no graded suite was collected)"
        if self.grader_fault and r.status is Status.GRADED:
            r.status = Status.GRADER_FAULT
            r.status_reason = self.grader_fault
        r.duration = round(time.monotonic() - self.started, 3)
        return r

    def _deduct_for_top_level_work(self, modules: list[str]) -> None:
        """`contract.RUNS_AT_IMPORT_DEDUCTION` for each module graded without its top-level code,
        never more than its problem earned (a result of no maximum and negative points)."""
        if RUNS_AT_IMPORT_DEDUCTION <= 0:
            return
        for module in modules:
            earned = sum(t.points for t in self.result.tests if t.problem == module)
            taken = round(min(RUNS_AT_IMPORT_DEDUCTION, earned), 4)
            if taken <= 0 or any(t.id == f"{module}::runs-at-import" for t in self.result.tests):
                continue
            self.result.tests.append(TestResult(
                id=f"{module}::runs-at-import", name="Importing the module runs no top-level work",
                problem=module, max_points=0.0, points=-taken, outcome=Outcome.FAILED,
                feedback=Feedback(checked=f"what importing {module}.py runs",
                                  expected='only definitions: training, plotting and downloading under '
                                           '`if __name__ == "__main__":`',
                                  found="top-level code that ran when the module was imported (it was graded "
                                        "without it)", where=f"{module}.py")))

    def close(self) -> None:
        """Stop every worker of the session and remove their copy of the submission."""
        self.trainings.close()
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        if self._ahead is not None:
            self._ahead.release()
            self._ahead = None
        if self._staging is not None:
            self._staging.close()


_AHEAD: dict[tuple[Path, str], GradingSession] = {}
"""Sessions made ahead of their grading (`prepare`), by submission and configuration."""


def prepare(config: GradingConfig, submission: Path, problems: frozenset[str]) -> None:
    """Make the session of the submission this judge grades next and start its worker now (a
    judge server does this while it grades the one before: see `autograder.judge.server`)."""
    session = GradingSession(config, submission, None)
    key = (session.submission, config.to_json())
    superseded = _AHEAD.pop(key, None)
    if superseded is not None:
        superseded.close()
    session.start_worker_ahead(problems)
    _AHEAD[key] = session


def session_for(config: GradingConfig, submission: Path, results_path: Path | None) -> GradingSession:
    """The session that grades ``submission``: the one made ahead for it if any, else a new one."""
    made = _AHEAD.pop((submission.resolve(), config.to_json()), None)
    if made is None:
        return GradingSession(config, submission, results_path)
    made.begin(results_path)
    return made


def prepared() -> list[GradingSession]:
    """The sessions made ahead and not taken yet."""
    return list(_AHEAD.values())


def discard_prepared(sessions: list[GradingSession] | None = None) -> None:
    """Close those of ``sessions`` (default: all) made ahead and still not taken: their workers
    and files go."""
    for key, session in list(_AHEAD.items()):
        if sessions is None or any(session is s for s in sessions):
            del _AHEAD[key]
            session.close()
