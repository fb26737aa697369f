"""What each page shows, as plain data: a student's page and the class page, from the results model."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Sequence

from autograder.common.contract import ASSIGNMENT_POINTS, BY_MODULE, PROBLEMS
from autograder.common.notebook_model import NotebookModule
from autograder.common.results import (PENDING_WORDS, ManualScore, Outcome, PendingKind, Status, SubmissionResult,
                                       TestResult, TrainingRecord, pending_by_kind, pending_text)
from autograder.orchestrator.report.answers import AnswerSection, answer_sections
from autograder.orchestrator.report.charts import (AccuracyChart, Histogram, LossPlot,
                                                   accuracy_chart, histogram, loss_plot)

MAX_OUTPUT_CHARS = 20_000
"""The report shows at most this much of the captured output (its tail)."""


@dataclass
class TrainingView:
    record: TrainingRecord
    plot: LossPlot
    accuracy: AccuracyChart
    pieces: list[tuple[str, str]]


def training_view(record: TrainingRecord) -> TrainingView:
    steps = record.steps if record.stopped_early and len(record.losses) == record.steps_run else 0
    return TrainingView(record, loss_plot(record.losses, steps=steps), accuracy_chart(record),
                        sorted(record.pieces.items()))


# -- one submission -----------------------------------------------------------------------------
@dataclass
class ProblemView:
    module: str
    title: str
    points: float
    max_points: float
    tests: list[TestResult]
    training: list[TrainingView]
    answers: list[AnswerSection]
    counts: dict[str, int]
    pending: float
    """Points of the problem not decided yet: checks not graded, written answers not scored."""
    out_of: float = 0.0
    """The problem's share of the assignment's points."""
    manual: list[ManualScore] = field(default_factory=list)
    """Points a person awarded for this problem (included in ``points``)."""
    written: float = 0.0
    """The problem's manual maximum (`contract.ProblemSpec.written`): 0 when no person scores it."""
    run_note: str = ""
    """How this problem was graded when that differs from the page's header (a regrade of other
    problems kept it): "graded with seed 1, budget quick"."""
    missing: bool = False
    """The submission has no module for this problem (its checks say so; its points are lost)."""
    notebook: NotebookModule | None = None
    """The module generated for this problem from the student's notebook, if any."""
    not_run: str = ""
    """Why the problem has no checks, when it has none (not graded in this run, interrupted, …)."""
    remarks: list[str] = field(default_factory=list)
    """How the grader read this problem's files (`results.Remark`)."""


def run_note(result: SubmissionResult, module: str) -> str:
    """"graded with seed 1, budget quick" when ``module``'s own run differs from the result's."""
    run = result.runs.get(module)
    if run is None:
        return ""
    differs = [f"{label} {mine}" for label, mine, theirs in (
        ("seed", run.seed, result.seed), ("budget", run.budget, result.budget), ("device", run.device, result.device))
        if mine != theirs]
    when = f" on {run.started_at}" if differs and run.started_at else ""
    return f"graded with {', '.join(differs)}{when}" if differs else ""


@dataclass
class PendingGroup:
    """Points not decided yet for one reason, and the problems they belong to."""

    kind: str
    words: str
    points: float
    problems: list[str]


@dataclass
class UnrunProblem:
    """A problem without a single check in the result: its points are all pending."""

    module: str
    title: str
    out_of: float
    why: str


@dataclass
class SubmissionView:
    result: SubmissionResult
    problems: list[ProblemView]
    general_answers: list[AnswerSection]
    output: str
    output_shown_from: int
    """How many characters of the captured output were cut from its start (0: all shown)."""
    counts: dict[str, int]
    pending: float
    """Points of the assignment not decided yet (`SubmissionResult.pending`)."""
    percent: float
    """The score as a percentage of the assignment's points."""
    files: list[str] = field(default_factory=list)
    notebook_elsewhere: list[NotebookModule] = field(default_factory=list)
    """Generated modules of problems that have no section on the page (not graded this time)."""
    pending_groups: list[PendingGroup] = field(default_factory=list)
    unrun: list[UnrunProblem] = field(default_factory=list)
    not_graded_points: float = 0.0
    """Of ``pending``, the points of checks the grader could not run."""
    remarks: list[str] = field(default_factory=list)
    """How the grader read the submission's files, not tied to a problem graded here."""


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def _counts(tests: Sequence[TestResult]) -> dict[str, int]:
    """Passed, failed and not graded among the checks worth points; ``advice``: the advisory ones."""
    counts = {o.value: sum(t.outcome is o and not t.advisory for t in tests) for o in Outcome}
    counts["advice"] = sum(t.advisory for t in tests)
    return counts


def submission_view(result: SubmissionResult, files: Sequence[str] = ()) -> SubmissionView:
    """Everything the student's page shows, as plain data, grouped by problem in contract order."""
    sections = answer_sections(result.report_md) if result.report_md else []
    known = [p.module for p in PROBLEMS]
    extra = sorted({t.problem for t in result.tests} - set(known))
    problems = []
    scores = {p.module: p for p in result.problems()}
    waiting = result.pending()
    for module in known + extra:
        tests = [t for t in result.tests if t.problem == module]
        training = [training_view(r) for r in result.training if r.problem == module]
        answers = [s for s in sections if s.problem == module]
        manual = [m for m in result.manual if m.problem == module]
        if not (tests or training or answers or manual):
            continue
        problems.append(ProblemView(
            module=module, title=BY_MODULE[module].title if module in BY_MODULE else module,
            points=scores[module].points if module in scores else 0.0,
            max_points=scores[module].max_points if module in scores else 0.0,
            tests=tests, training=training, answers=answers, counts=_counts(tests),
            pending=round(sum(w.points for w in waiting if w.problem == module), 4),
            out_of=BY_MODULE[module].points if module in BY_MODULE else round(sum(t.max_points for t in tests), 4),
            run_note=run_note(result, module), missing=module in result.missing,
            manual=manual, written=BY_MODULE[module].written if module in BY_MODULE else 0.0))
    generated = {m.module: m for m in result.notebook.modules} if result.notebook else {}
    for p in problems:
        p.notebook = generated.pop(p.module, None)
        p.remarks = [r.text for r in result.remarks if r.problem == p.module]
    output = _ANSI.sub("", result.output)
    cut = max(0, len(output) - MAX_OUTPUT_CHARS)
    untouched = {w.problem: w.words for w in waiting if w.kind not in (PendingKind.WRITTEN, PendingKind.NOT_GRADED)}
    for p in problems:
        p.not_run = untouched.get(p.module, "") if not p.tests else ""
    shown = {p.module for p in problems}
    unrun = [UnrunProblem(m, BY_MODULE[m].title, BY_MODULE[m].points, words)
             for m, words in untouched.items() if m in BY_MODULE and m not in shown]
    return SubmissionView(
        result=result, problems=problems, general_answers=[s for s in sections if s.problem is None],
        output=output[cut:], output_shown_from=cut, counts=_counts(result.tests),
        pending=result.pending_points, percent=100 * result.score / result.out_of, files=list(files),
        notebook_elsewhere=list(generated.values()), pending_groups=pending_groups(result), unrun=unrun,
        not_graded_points=round(sum(t.max_points for t in result.not_graded), 4),
        remarks=[r.text for r in result.remarks if r.problem not in shown])


def pending_groups(result: SubmissionResult) -> list[PendingGroup]:
    """`SubmissionResult.pending` grouped by why, in the TA's words."""
    return [PendingGroup(kind.value, PENDING_WORDS[kind], points, problems)
            for kind, points, problems in pending_by_kind(result.pending())]


# -- the class ----------------------------------------------------------------------------------
@dataclass
class Cell:
    points: float
    max_points: float
    not_graded: int
    manual: float | None = None
    """Of ``points``, those a person awarded (None: none merged)."""
    missing: bool = False
    """The submission has no module for this problem."""
    out_of: float = 0.0
    """The problem's share of the assignment's points."""
    pending: float = 0.0
    """Of those, the points not decided yet."""


@dataclass
class ClassRow:
    student: str
    href: str
    score: float
    max_score: float
    percent: float | None
    status: str
    status_reason: str
    cells: list[Cell | None]
    not_graded: int
    attention: list[str]
    """Why this row needs a second look: the status reason, each distinct not-graded reason."""
    on_roster: bool | None = None
    """False: the folder's name is not on the class roster (None: graded without a roster)."""
    missing: list[str] = field(default_factory=list)
    """Modules of the contract the submission lacks (graded: their checks lost their points)."""
    out_of: float = 0.0
    pending: float = 0.0
    """Points of the assignment not decided yet (the grade is final when 0)."""
    pending_text: str = ""
    final: bool = False


@dataclass
class AdviceStat:
    """An advisory check (worth no points) across the class: how often it gave advice."""

    id: str
    name: str
    problem: str
    advised: int = 0
    """Submissions it made a remark on."""
    checked: int = 0
    """Submissions it ran on."""


@dataclass
class CheckStat:
    id: str
    name: str
    problem: str
    max_points: float
    passed: int = 0
    failed: int = 0
    not_graded: int = 0

    @property
    def rate(self) -> float | None:
        """Share of the graded attempts that passed (not-graded ones do not count either way)."""
        graded = self.passed + self.failed
        return self.passed / graded if graded else None


@dataclass
class ClassView:
    rows: list[ClassRow]
    problems: list[tuple[str, str]]
    """(module, title) of every problem graded for anyone, in contract order."""
    tests: list[CheckStat]
    """The checks worth points, with their pass rates (advisory checks are in ``advice``)."""
    histogram: Histogram
    summary: dict[str, float | int | None]
    advice: list[AdviceStat] = field(default_factory=list)
    pending: dict[str, int] = field(default_factory=dict)
    """PENDING_WORDS → how many grades wait for that (only reasons some grade has)."""


def _href(student: str) -> str:
    return f"{student}/report.html"


def advice_stats(results: Sequence[SubmissionResult]) -> list[AdviceStat]:
    """Every advisory check across the class with how often it gave advice, most often first."""
    stats: dict[str, AdviceStat] = {}
    for r in results:
        for t in r.tests:
            if t.advisory:
                a = stats.setdefault(t.id, AdviceStat(t.id, t.name, t.problem))
                a.checked += t.outcome is not Outcome.NOT_GRADED
                a.advised += bool(t.remarks)
    return sorted(stats.values(), key=lambda a: (-a.advised, a.id))


def check_stats(results: Sequence[SubmissionResult]) -> list[CheckStat]:
    """Every check worth points across the class with its pass count, hardest first (then
    contract order). Advisory checks pass or fail nothing: they are left out (`advice_stats`)."""
    stats: dict[str, CheckStat] = {}
    for r in results:
        for t in r.tests:
            if t.advisory:
                continue
            s = stats.setdefault(t.id, CheckStat(t.id, t.name, t.problem, t.max_points))
            if t.outcome is Outcome.PASSED:
                s.passed += 1
            elif t.outcome is Outcome.FAILED:
                s.failed += 1
            else:
                s.not_graded += 1
    order = {p.module: i for i, p in enumerate(PROBLEMS)}
    first_seen = {k: i for i, k in enumerate(stats)}
    return sorted(stats.values(), key=lambda s: (1 if s.rate is None else 0, s.rate or 0.0,
                                                 order.get(s.problem, len(order)), first_seen[s.id]))


def class_view(results: Sequence[SubmissionResult]) -> ClassView:
    """The class page's data: one row per student, per-check pass rates, the histogram, counts."""
    results = sorted(results, key=lambda r: r.student)
    present = {t.problem for r in results for t in r.tests} | {m.problem for r in results for m in r.manual}
    problems = [(p.module, p.title) for p in PROBLEMS if p.module in present]
    rows = []
    for r in results:
        by_module = {p.module: p for p in r.problems()}
        cells: list[Cell | None] = []
        waiting = r.pending()
        for module, _ in problems:
            p = by_module.get(module)
            cells.append(Cell(p.points, p.max_points, p.not_graded, p.manual, module in r.missing,
                              out_of=BY_MODULE[module].points,
                              pending=round(sum(w.points for w in waiting if w.problem == module), 4))
                         if p else None)
        attention = [r.status_reason] if r.status is not Status.GRADED else []
        if r.missing:
            attention.append("missing from the submission: " + ", ".join(f"{m}.py" for m in r.missing))
        attention += dict.fromkeys(t.message or f"{t.name}: not graded" for t in r.not_graded)
        if r.on_roster is False:
            attention.append("this submission folder's name is not on the class roster")
        rows.append(ClassRow(r.student, _href(r.student), r.score, r.max_score, 100 * r.score / r.out_of,
                             r.status.value, r.status_reason, cells, len(r.not_graded), attention,
                             on_roster=r.on_roster, missing=list(r.missing), out_of=r.out_of,
                             pending=r.pending_points, pending_text=pending_text(r), final=r.final))
    final = [r.score for r in results if r.final]
    so_far = [r.score for r in results if not r.final]
    waiting: dict[str, int] = {}
    for r in results:
        for kind, _, _ in pending_by_kind(r.pending()):
            waiting[PENDING_WORDS[kind]] = waiting.get(PENDING_WORDS[kind], 0) + 1
    summary: dict[str, float | int | None] = {
        "students": len(results),
        "out_of": ASSIGNMENT_POINTS,
        "final": len(final),
        "not_final": len(so_far),
        "mean": statistics.fmean(final) if final else None,
        "median": statistics.median(final) if final else None,
        "mean_so_far": statistics.fmean(so_far) if so_far else None,
        "median_so_far": statistics.median(so_far) if so_far else None,
        "not_graded_checks": sum(len(r.not_graded) for r in results),
        "incomplete": sum(bool(r.not_graded) for r in results),
        "grader_faults": sum(r.status is Status.GRADER_FAULT for r in results),
        "ungradable": sum(r.status is Status.UNGRADABLE for r in results),
        "interrupted": sum(r.status is Status.INTERRUPTED for r in results),
        "not_submitted": sum(r.status is Status.NOT_SUBMITTED for r in results),
        "not_on_roster": sum(r.on_roster is False for r in results),
        "missing_modules": sum(bool(r.missing) for r in results),
        "limits_only": sum(r.sandbox == "limits only" for r in results),
    }
    return ClassView(rows, problems, check_stats(results), histogram(results), summary,
                     advice=advice_stats(results), pending=waiting)
