"""The results model: what grading found, as typed dataclasses, separate from any rendering.

Every output (results.json, JUnit XML, grades.csv, the HTML reports) is rendered from these.
``SubmissionResult.to_dict``/``from_dict`` round-trip through JSON, so reports can be re-rendered
from a results file without regrading.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from autograder.common import typed
from autograder.common.contract import BY_MODULE, PROBLEMS, ASSIGNMENT_POINTS
from autograder.common.notebook_model import NotebookConversion


class Outcome(str, enum.Enum):
    """What happened to one check."""

    PASSED = "passed"
    FAILED = "failed"
    """The submission's code is wrong (or missing, or crashed): the student's points are lost."""
    NOT_GRADED = "not_graded"
    """The grader or its data failed: no points are lost, and the check must be rerun."""


class Visibility(str, enum.Enum):
    """Who may see a check, as Gradescope's autograder specification names it (``after_due_date``
    is left out: the grader knows no due date). The student view (`student_view`) applies it."""

    VISIBLE = "visible"
    """Always shown to the student."""
    HIDDEN = "hidden"
    """Never shown to the student (its points still count in the published grade)."""
    AFTER_PUBLISHED = "after_published"
    """Shown once the grades are published (``autograde report --published``)."""


class Status(str, enum.Enum):
    """What happened to a whole submission."""

    GRADED = "graded"
    UNGRADABLE = "ungradable"
    """The folder holds nothing of the contract (no module to grade)."""
    GRADER_FAULT = "grader_fault"
    """The grader broke before it could finish; the scores are incomplete."""
    NOT_SUBMITTED = "not_submitted"
    """A student of the roster with no submission folder: 0 of the assignment's points."""
    INTERRUPTED = "interrupted"
    """Grading was stopped (a signal) before this submission was finished: not graded yet, through
    no fault of the grader or the student; running the same command again grades it."""


class PendingKind(str, enum.Enum):
    """Why some of a grade's points are not decided yet (see `SubmissionResult.pending`)."""

    WRITTEN = "written"
    """Written answers that a person scores and nobody has scored yet (manual.csv)."""
    NOT_IN_RUN = "not_in_run"
    """A problem this grading did not cover (``--problems``)."""
    NOT_GRADED = "not_graded"
    """Checks the grader could not run (rerun them)."""
    INTERRUPTED = "interrupted"
    """Grading was stopped before it got to the problem (run the same command to continue)."""
    GRADER_FAULT = "grader_fault"
    """The grader failed before it got to the problem (regrade)."""
    UNGRADABLE = "ungradable"
    """The folder holds no module of the assignment (a person decides)."""


PENDING_WORDS: dict[PendingKind, str] = {
    PendingKind.WRITTEN: "written answers, scored by a person (manual.csv)",
    PendingKind.NOT_IN_RUN: "not graded in this run (--problems)",
    PendingKind.NOT_GRADED: "checks the grader could not run (rerun)",
    PendingKind.INTERRUPTED: "grading was interrupted (run the same command to continue)",
    PendingKind.GRADER_FAULT: "the grader failed (regrade)",
    PendingKind.UNGRADABLE: "nothing gradable in the folder (decide by hand)",
}
"""How the TA's console, pages and files name each kind of pending points."""


@dataclass
class Feedback:
    """Why a check failed, in the words a TA would use."""

    checked: str
    """What was checked (one line)."""
    expected: str
    found: str
    where: str
    """File and name in the submission, e.g. ``problem4.py:softmax``."""
    details: str = ""
    """Optional longer text: a traceback tail, a table of differences."""


@dataclass
class TestResult:
    """One check of the rubric."""

    id: str
    """The pytest node id of the check."""
    name: str
    """Human title (the test's docstring, first line)."""
    problem: str
    """Contract module name the check belongs to (``problem3_1``)."""
    max_points: float
    points: float
    outcome: Outcome
    feedback: Feedback | None = None
    message: str = ""
    """For a not-graded check, the reason; for others, an optional short note."""
    remarks: list[str] = field(default_factory=list)
    """Advisory comments that cost no points."""
    duration: float = 0.0
    visibility: Visibility = Visibility.VISIBLE
    """Who may see the check (the suite's ``visibility`` marker)."""

    @property
    def advisory(self) -> bool:
        """A check worth no points: its remarks are advice, never a pass or a fail of the rubric
        (a deduction — no maximum, points taken — is no advice)."""
        return self.max_points == 0 and self.points == 0


@dataclass
class Remark:
    """An advisory note on the submission as a whole or on one problem: how the grader read the
    student's files (a renamed module, a CP949 source, a script graded without its top-level code,
    a stand-in for wandb). Costs nothing; the TA and the student both see it."""

    problem: str
    """The contract module it concerns, or "" for the submission as a whole."""
    text: str


@dataclass
class ManualScore:
    """Points a person awarded for what no check can judge (a problem's written answers).

    Read from the class's manual point file at report time and merged into the result, never
    written by the judge: a regrading keeps them, since the file is merged again on every render.
    """

    problem: str
    """Contract module name the points belong to."""
    points: float
    max_points: float
    """The problem's manual maximum (`contract.ProblemSpec.written`)."""
    comment: str = ""
    """The grader's words to the student."""
    source: str = ""
    """Where the points came from, as ``manual.csv:4`` (file name and line; no folder)."""


@dataclass
class TrainingRecord:
    """One training run: its loss curve and the accuracy the judge measured."""

    problem: str
    pieces: dict[str, str]
    """For each piece (``Net``, ``criterion``, …): ``"student"`` or ``"baseline"``."""
    steps: int
    """Mini-batches the budget allowed."""
    steps_run: int
    losses: list[float]
    accuracy: float | None
    floor: float | None
    per_class: list[float] | None = None
    stopped_early: str = ""
    """Why the run stopped before its budget (e.g. the loss became nan), or empty."""
    seconds: float = 0.0
    checkpoint: str = ""
    """Under a sequential budget, the checkpoint (a fixed budget's length) at which the run's
    verdict was reached; empty under a fixed budget."""
    checkpoints: list[str] = field(default_factory=list)
    """Under a sequential budget, each checkpoint's word on the run, in order: why it went on or ended."""
    cached: str = ""
    """Where the run came from when it was not trained in this grading: the grading whose run
    this is (a training cache entry made with exactly the same inputs), or empty."""


@dataclass
class ProblemRun:
    """The settings a problem was graded with."""

    seed: int
    budget: str
    device: str
    started_at: str = ""


@dataclass
class SubmissionResult:
    """Everything known about grading one submission."""

    student: str
    submission: str
    status: Status = Status.GRADED
    status_reason: str = ""
    tests: list[TestResult] = field(default_factory=list)
    training: list[TrainingRecord] = field(default_factory=list)
    output: str = ""
    """Tail of what the submission printed (bounded)."""
    output_bytes: int = 0
    seed: int = 0
    budget: str = "standard"
    device: str = "cpu"
    sandbox: str = ""
    sandbox_note: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase: ``sandbox start``, ``import problem2``, ``problem2 checks``, …"""
    started_at: str = ""
    duration: float = 0.0
    report_md: str = ""
    """The student's report.md, if any (shown beside the outputs)."""
    missing: list[str] = field(default_factory=list)
    """Modules of the contract the submission does not have (``problem5``), each costing its points."""
    memory_bound: str = ""
    """How each worker's memory was bounded (a cgroup, or resource limits per process)."""
    runs: dict[str, ProblemRun] = field(default_factory=dict)
    """Per problem, the run that graded it: after a regrade of some problems (``--problems``) the
    others keep the seed and budget they were graded with."""
    manual: list[ManualScore] = field(default_factory=list)
    """Points a person awarded, merged in by `autograde report` (empty in the judge's results)."""
    notebook: NotebookConversion | None = None
    """What the judge made of the folder's notebooks, if it has any (see `judge.notebooks`)."""
    on_roster: bool | None = None
    """Whether the student is on the class roster (None: graded without a roster)."""
    unused_files: list[str] = field(default_factory=list)
    """Files of the submission folder the grading did not read (paths relative to the folder): a
    misnamed module, an older upload in a subfolder, data files."""
    remarks: list[Remark] = field(default_factory=list)
    """How the grader read the submission's files, said to the TA and the student (`Remark`)."""

    @property
    def score(self) -> float:
        """Points of the checks plus the manual points merged in."""
        return round(sum(t.points for t in self.tests) + sum(m.points for m in self.manual), 4)

    @property
    def max_score(self) -> float:
        """Maximum of what was scored: the checks run, and the manual parts scored (a student of
        the roster who submitted nothing: the assignment's total)."""
        if self.status is Status.NOT_SUBMITTED and not self.tests:
            return ASSIGNMENT_POINTS
        return round(sum(t.max_points for t in self.tests) + sum(m.max_points for m in self.manual), 4)

    @property
    def not_graded(self) -> list[TestResult]:
        """Checks worth points that the grader could not run (an advisory check costs nothing, so
        leaving it out never makes a grade incomplete)."""
        return [t for t in self.tests if t.outcome is Outcome.NOT_GRADED and not t.advisory]

    @property
    def out_of(self) -> float:
        """What every grade is out of: the assignment's points, whatever a run graded."""
        return ASSIGNMENT_POINTS

    def pending(self) -> list[Pending]:
        """The points of the assignment not decided yet, per problem and why: written answers no
        person has scored, problems outside this grading, checks not graded, and everything left
        when the grading was interrupted, failed or found nothing to grade. Empty: the grade is
        final (`score` out of `out_of`)."""
        if self.status is Status.NOT_SUBMITTED:
            return []  # a complete 0
        untouched = {Status.GRADED: PendingKind.NOT_IN_RUN, Status.INTERRUPTED: PendingKind.INTERRUPTED,
                     Status.GRADER_FAULT: PendingKind.GRADER_FAULT,
                     Status.UNGRADABLE: PendingKind.UNGRADABLE}[self.status]
        out = []
        for spec in PROBLEMS:
            tests = [t for t in self.tests if t.problem == spec.module]
            left = round(spec.points - spec.written - sum(t.max_points for t in tests), 4)
            if left > 0:  # the problem, or part of its checks, never reached
                out.append(Pending(spec.module, left, untouched))
            not_run = round(sum(t.max_points for t in tests if t.outcome is Outcome.NOT_GRADED), 4)
            if not_run:
                out.append(Pending(spec.module, not_run, PendingKind.NOT_GRADED))
            if spec.written and not any(m.problem == spec.module for m in self.manual):
                out.append(Pending(spec.module, spec.written, PendingKind.WRITTEN))
        return out

    @property
    def pending_points(self) -> float:
        return round(sum(p.points for p in self.pending()), 4)

    @property
    def final(self) -> bool:
        """Whether the grade is final: graded (or not submitted), nothing pending."""
        return self.status in (Status.GRADED, Status.NOT_SUBMITTED) and not self.pending()

    def problems(self) -> list[ProblemScore]:
        """Scores per problem (checks and manual points together), in the contract's order."""
        out = []
        for spec in PROBLEMS:
            tests = [t for t in self.tests if t.problem == spec.module]
            manual = [m for m in self.manual if m.problem == spec.module]
            if tests or manual:
                out.append(ProblemScore(
                    module=spec.module, title=spec.title,
                    points=round(sum(t.points for t in tests) + sum(m.points for m in manual), 4),
                    max_points=round(sum(t.max_points for t in tests) + sum(m.max_points for m in manual), 4),
                    not_graded=sum(t.outcome is Outcome.NOT_GRADED for t in tests),
                    manual=round(sum(m.points for m in manual), 4) if manual else None,
                ))
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"], data["max_score"] = self.score, self.max_score
        data["out_of"], data["pending_points"], data["final"] = self.out_of, self.pending_points, self.final
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        """The model from `to_dict`'s plain data, every field checked (`typed.TypeMismatch` if not)."""
        derived = ("score", "max_score", "out_of", "pending_points", "final")
        data = {k: v for k, v in data.items() if k not in derived}
        return typed.parse(cls, data, "result")


def merge_regrade(earlier: SubmissionResult, later: SubmissionResult, problems: list[str]) -> SubmissionResult:
    """``later`` regraded only ``problems`` of the submission ``earlier`` graded: the other problems
    keep ``earlier``'s checks, training runs and settings (`SubmissionResult.runs`)."""
    def kept(module: str) -> bool:
        return module not in problems

    order = {p.module: i for i, p in enumerate(PROBLEMS)}
    runs = {m: ProblemRun(earlier.seed, earlier.budget, earlier.device, earlier.started_at)
            for m in {t.problem for t in earlier.tests}}
    runs.update(earlier.runs)
    merged = dataclasses.replace(
        later,
        tests=sorted([t for t in earlier.tests if kept(t.problem)] + later.tests,
                     key=lambda t: order.get(t.problem, len(order))),
        training=sorted([r for r in earlier.training if kept(r.problem)] + later.training,
                        key=lambda r: order.get(r.problem, len(order))),
        runs={**{m: r for m, r in runs.items() if kept(m)}, **later.runs},
    )
    return merged


@dataclass(frozen=True)
class Pending:
    """Points of one problem that are not decided yet, and why."""

    problem: str
    points: float
    kind: PendingKind

    @property
    def words(self) -> str:
        return PENDING_WORDS[self.kind]


def pending_by_kind(pending: list[Pending]) -> list[tuple[PendingKind, float, list[str]]]:
    """``pending`` grouped by why: (kind, points, problems), in the order of `PendingKind`."""
    out = []
    for kind in PendingKind:
        items = [p for p in pending if p.kind is kind]
        if items:
            out.append((kind, round(sum(p.points for p in items), 4), [p.problem for p in items]))
    return out


def pending_text(result: SubmissionResult) -> str:
    """One line that says which points of ``result`` are not decided yet and why ("" when final),
    for the console, grades.csv and the CI summary: "64 points pending: written answers, scored by
    a person (manual.csv): problem1 3; not graded in this run (--problems): problem2 … 61"."""
    groups = pending_by_kind(result.pending())
    if not groups:
        return ""
    parts = [f"{PENDING_WORDS[kind]}: {_problem_list(problems)} {points:g}" for kind, points, problems in groups]
    return f"{result.pending_points:g} points pending — " + "; ".join(parts)


def _problem_list(modules: list[str]) -> str:
    """``problem3_1 … problem3_6`` for a run of three or more problems in contract order, else by name."""
    order = [p.module for p in PROBLEMS]
    if len(modules) >= 3 and all(m in order for m in modules):
        idx = [order.index(m) for m in modules]
        if idx == list(range(idx[0], idx[0] + len(idx))):
            return f"{modules[0]} … {modules[-1]}"
    return ", ".join(modules)


@dataclass
class ProblemScore:
    """A problem's share of a submission's score."""

    module: str
    title: str
    points: float
    max_points: float
    not_graded: int = 0
    manual: float | None = None
    """Of ``points``, those a person awarded (None: no manual points merged for this problem)."""

    def line(self) -> str:
        """``problem4    8 / 10  (1 not graded)``: how the console and results.json show it."""
        note = f"  ({self.not_graded} not graded)" if self.not_graded else ""
        return f"{self.module:<11} {self.points:g} / {self.max_points:g}{note}"


def problem_title(module: str) -> str:
    spec = BY_MODULE.get(module)
    return spec.title if spec else module
