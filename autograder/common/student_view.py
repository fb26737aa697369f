"""What a student may see of their result, decided in one place: `student_view`.

The TA's pages show everything; the student's (``feedback.html``, ``feedback.json`` and the
``output`` of results.json, which Gradescope shows to students) show only what `student_view`
returns. The rules:

* **Checks** by their visibility: ``visible`` ones always, ``after_published`` ones once the
  grades are published, ``hidden`` ones never (only how many there are, and — once published —
  the points they carry, since the published grade includes them).
* **Points and the total**: always out of the assignment's 100. Before publication, the sum of the
  checks shown; once published, the grade itself — every check, and the points a person awarded,
  with the grader's comment. Whatever is not graded yet (written answers, problems not graded,
  checks the grader could not run, an interrupted grading) is listed as pending, in the student's
  words: a grade with points pending is never called final.
* **Advisory checks** (worth no points) are advice, never a pass: their remarks are shown as such.
* **Feedback** (checked / expected / found / where, details, remarks) with every absolute path
  reduced to its file name (`strip_paths`): a traceback from the sandbox or a message naming the
  grading machine's folders tells the student nothing and the machine's layout to everyone.
  A check that was not graded carries no message: the pages say so in fixed words, without the
  grader's reason.
* **Loss curves and accuracies** of the training problems whose checks are shown.
* **Remarks** on how the grader read their files (a renamed module, a CP949 source, a script graded
  without its top-level code, a stand-in for wandb, what a folder without code holds), paths
  stripped: beside the problem they concern, or at the top.
* **Never**: the submission's path, the captured output, seed, budget, device, sandbox facts,
  versions, timings, the check ids (the grader's file layout), the status reason, the source of
  manual points, other students, links to logs or the class page.

Lives in ``common`` because the judge writes the student-safe ``output`` of results.json from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from autograder.common.contract import ASSIGNMENT_POINTS, BY_MODULE, PROBLEMS
from autograder.common.results import (Feedback, ManualScore, Outcome, Pending, PendingKind, Status,
                                       SubmissionResult, TestResult, TrainingRecord, Visibility, pending_by_kind)

_PATH_CHARS = r"[^\s/\\'\"(){}\[\]<>,;:|`]"
ABSOLUTE_PATH = re.compile(
    rf"(?<![\w./\\~)\]-])(?:~?/{_PATH_CHARS}+(?:/{_PATH_CHARS}*)+"      # /a/b…, ~/a/b…
    rf"|[A-Za-z]:\\{_PATH_CHARS}+(?:\\{_PATH_CHARS}*)*)"             # C:\a\b…
)
"""An absolute path of at least two parts (``/tmp/x``, ``~/.cache/y``, ``C:\\Users\\z``); a URL, a
relative path (``problem4.py``) or a fraction (``3/4``) does not match."""

def strip_paths(text: str) -> str:
    """``text`` with each absolute path replaced by its last part, the file name."""
    def last_part(m: re.Match[str]) -> str:
        parts = [p for p in re.split(r"[/\\]", m.group(0)) if p and p != "~"]
        return parts[-1] if parts else ""

    return ABSOLUTE_PATH.sub(last_part, text)


@dataclass
class StudentCheck:
    """A check as the student sees it: no id, paths stripped, not-graded reasons in fixed words."""

    name: str
    problem: str
    points: float
    max_points: float
    outcome: Outcome
    visibility: Visibility
    feedback: Feedback | None = None
    message: str = ""
    remarks: list[str] = field(default_factory=list)
    advisory: bool = False
    """Worth no points: advice, shown as such (never as a pass or a fail)."""


@dataclass
class StudentPending:
    """Points not decided yet, as the student reads them."""

    points: float
    problems: list[str]
    why: str


def _pending_words(kind: PendingKind, published: bool) -> str:
    """Why points are pending, in the student's words (never the grader's reason)."""
    return {
        PendingKind.WRITTEN: ("written answers, scored by a person: not scored yet" if published else
                              "written answers, scored by a person: released with the grades"),
        PendingKind.NOT_IN_RUN: "not graded yet",
        PendingKind.NOT_GRADED: "checks the grader could not run: no points were lost, they will be rerun",
        PendingKind.INTERRUPTED: "not graded yet: the grading was interrupted and will go on",
        PendingKind.GRADER_FAULT: "not graded yet: the grader failed (not a fault of your code); it will be graded again",
        PendingKind.UNGRADABLE: "no module of the assignment (problem1.py … problem5.py) was found",
    }[kind]


@dataclass
class StudentManual:
    """Points a person awarded, as the student sees them (published grades only)."""

    points: float
    max_points: float
    comment: str


@dataclass
class StudentProblem:
    module: str
    title: str
    checks: list[StudentCheck]
    points: float
    max_points: float
    withheld: int = 0
    """Checks of this problem not shown to the student."""
    withheld_points: float | None = None
    withheld_max: float | None = None
    """What the withheld checks scored (published only; None before)."""
    manual: StudentManual | None = None
    written: float = 0.0
    """The problem's points scored by a person (its manual maximum), shown or not."""
    out_of: float = 0.0
    """The problem's share of the assignment's points."""
    pending: float = 0.0
    """Of those, the points not decided yet (checks not graded, written answers not scored)."""
    written_pending: bool = False
    """Its written answers are not scored yet."""
    remarks: list[str] = field(default_factory=list)
    """How the grader read this problem's files."""


@dataclass
class StudentTraining:
    """A training run's curve and accuracy (no timing: it says how fast the grading machine is)."""

    problem: str
    pieces: dict[str, str]
    steps: int
    steps_run: int
    losses: list[float]
    accuracy: float | None
    floor: float | None
    per_class: list[float] | None
    stopped_early: str


@dataclass
class StudentView:
    """Everything a student's page and files may show: the output of `student_view`."""

    student: str
    published: bool
    graded_at: str
    status: Status
    notice: str
    """What happened to the submission in the student's words ("" when it was graded)."""
    problems: list[StudentProblem]
    training: list[StudentTraining]
    score: float
    max_score: float
    withheld: int
    """Checks not shown (hidden, or after_published before publication)."""
    not_graded: int
    """Checks (shown or not) the grader could not run: the total is incomplete."""
    unconfined: bool = False
    """Graded in limits-only mode (no sandbox): said on every page, the student's too."""
    out_of: float = ASSIGNMENT_POINTS
    """What the grade is out of: always the assignment's points."""
    pending: list[StudentPending] = field(default_factory=list)
    """Points not decided yet, by why (empty: nothing is pending)."""
    final: bool = False
    """The grades are published and nothing is pending: this is the grade."""
    unused_files: list[str] = field(default_factory=list)
    """Files of the submission the grading did not use (relative paths)."""

    @property
    def pending_points(self) -> float:
        return round(sum(p.points for p in self.pending), 4)
    remarks: list[str] = field(default_factory=list)
    """How the grader read the submission's files, not tied to a problem shown."""

    @property
    def checks(self) -> list[StudentCheck]:
        return [c for p in self.problems for c in p.checks]

    @property
    def percent(self) -> float:
        """The score as a percentage of the assignment's points."""
        return 100 * self.score / self.out_of


def shown(test: TestResult, published: bool) -> bool:
    """Whether the student sees ``test``."""
    return test.visibility is Visibility.VISIBLE or (published and test.visibility is Visibility.AFTER_PUBLISHED)


def _feedback(fb: Feedback | None) -> Feedback | None:
    if fb is None:
        return None
    return Feedback(checked=strip_paths(fb.checked), expected=strip_paths(fb.expected),
                    found=strip_paths(fb.found), where=strip_paths(fb.where), details=strip_paths(fb.details))


def student_check(t: TestResult) -> StudentCheck:
    """One check in the student's words (see the module's rules)."""
    not_graded = t.outcome is Outcome.NOT_GRADED
    return StudentCheck(
        name=t.name, problem=t.problem, points=t.points, max_points=t.max_points, outcome=t.outcome,
        visibility=t.visibility, feedback=None if not_graded else _feedback(t.feedback),
        message="" if not_graded else strip_paths(t.message),
        remarks=[strip_paths(r) for r in t.remarks], advisory=t.advisory)


def _training(r: TrainingRecord) -> StudentTraining:
    return StudentTraining(problem=r.problem, pieces=dict(r.pieces), steps=r.steps, steps_run=r.steps_run,
                           losses=list(r.losses), accuracy=r.accuracy, floor=r.floor,
                           per_class=list(r.per_class) if r.per_class is not None else None,
                           stopped_early=strip_paths(r.stopped_early))


def _notice(result: SubmissionResult, not_graded: int) -> str:
    if result.status is Status.UNGRADABLE:
        return ("Your submission could not be graded: no module of the assignment (problem1.py … "
                "problem5.py) was found in it.")
    if result.status is Status.GRADER_FAULT:
        return ("The grader failed while grading your submission: these results are incomplete, "
                "and it will be graded again. This is not a fault of your code.")
    if result.status is Status.INTERRUPTED:
        return ("Your submission has not been graded yet: the grading was interrupted before it was "
                "finished, and it will go on. Nothing is wrong with your code.")
    if not_graded:
        return (f"{not_graded} check{'s' if not_graded != 1 else ''} could not be run by the grader: "
                "no points were lost for them, and they will be rerun. Your score is incomplete until then.")
    return ""


def _problem(module: str, tests: list[TestResult], manual: list[ManualScore], published: bool,
             pending: float) -> StudentProblem:
    spec = BY_MODULE.get(module)
    visible = [t for t in tests if shown(t, published)]
    withheld = [t for t in tests if not shown(t, published)]
    problem = StudentProblem(
        module=module, title=spec.title if spec else module, checks=[student_check(t) for t in visible],
        points=round(sum(t.points for t in visible), 4), max_points=round(sum(t.max_points for t in visible), 4),
        withheld=len(withheld), written=spec.written if spec else 0.0,
        out_of=spec.points if spec else round(sum(t.max_points for t in tests), 4), pending=pending,
        written_pending=bool(spec and spec.written and (not manual or not published)))
    if published:
        if withheld:
            problem.withheld_points = round(sum(t.points for t in withheld), 4)
            problem.withheld_max = round(sum(t.max_points for t in withheld), 4)
        if manual:
            problem.manual = StudentManual(points=round(sum(m.points for m in manual), 4),
                                           max_points=round(sum(m.max_points for m in manual), 4),
                                           comment="\n".join(m.comment for m in manual if m.comment))
        problem.points = round(problem.points + (problem.withheld_points or 0.0)
                               + (problem.manual.points if problem.manual else 0.0), 4)
        problem.max_points = round(problem.max_points + (problem.withheld_max or 0.0)
                                   + (problem.manual.max_points if problem.manual else 0.0), 4)
    return problem


def student_view(result: SubmissionResult, *, published: bool = False) -> StudentView:
    """What the student may see of ``result`` (see the module's rules); ``published``: the grades
    have been released, so ``after_published`` checks, withheld points and manual points show."""
    known = [p.module for p in PROBLEMS]
    modules = known + sorted({t.problem for t in result.tests} - set(known))
    waiting = result.pending()
    if not published:  # written answers scored but not released: still to come, for the student
        scored = {m.problem for m in result.manual}
        waiting += [Pending(spec.module, spec.written, PendingKind.WRITTEN) for spec in PROBLEMS
                    if spec.written and spec.module in scored]
    problems = []
    for module in modules:
        tests = [t for t in result.tests if t.problem == module]
        manual = [m for m in result.manual if m.problem == module]
        if tests or (published and manual):
            pending = round(sum(w.points for w in waiting if w.problem == module), 4)
            problems.append(_problem(module, tests, manual, published, pending))
    with_checks = {p.module for p in problems if p.checks}
    training = [_training(r) for r in result.training if r.problem in with_checks]
    not_graded = len(result.not_graded)
    pending = [StudentPending(points, problems_, _pending_words(kind, published))
               for kind, points, problems_ in pending_by_kind(waiting)]
    listed = {p.module for p in problems}
    for p in problems:
        p.remarks = [strip_paths(r.text) for r in result.remarks if r.problem == p.module]
    return StudentView(
        student=result.student, published=published, graded_at=result.started_at, status=result.status,
        notice=_notice(result, not_graded), problems=problems, training=training,
        score=round(sum(p.points for p in problems), 4), max_score=round(sum(p.max_points for p in problems), 4),
        withheld=sum(p.withheld for p in problems), not_graded=not_graded,
        unconfined=result.sandbox == "limits only", out_of=result.out_of, pending=pending,
        final=published and result.final, unused_files=list(result.unused_files),
        remarks=[strip_paths(r.text) for r in result.remarks if r.problem not in listed])


def summary_text(view: StudentView) -> str:
    """The view as a few lines of text: results.json's ``output``, and the LMS feedback."""
    what = ("grade" if view.final else "grade so far, not final" if view.published
            else "checks shown to you so far")
    lines = [f"{view.student}: {view.score:g} / {view.out_of:g} ({what})"]
    for p in view.pending:
        lines.append(f"Pending, {p.points:g} point{'s' if p.points != 1 else ''} ({', '.join(p.problems)}): {p.why}")
    if view.not_graded:
        lines.append("INCOMPLETE: " + view.notice)
    elif view.notice:
        lines.append(view.notice)
    lines += [f"remark: {r}" for r in view.remarks]
    for p in view.problems:
        extras = []
        if p.manual is not None:
            extras.append(f"written answers {p.manual.points:g} / {p.manual.max_points:g}, scored by a person")
        if p.withheld:
            extras.append(f"{p.withheld} check{'s' if p.withheld != 1 else ''} not shown")
        if p.pending:
            extras.append(f"{p.pending:g} pending")
        note = f"  ({'; '.join(extras)})" if extras else ""
        lines.append(f"  {p.module:<11} {p.points:g} / {p.out_of:g}{note}")
        if p.manual is not None and p.manual.comment:
            lines += [f"    {line}" for line in p.manual.comment.splitlines()]
        for c in p.checks:
            if c.advisory and c.remarks:
                lines += [f"    advice: {remark}" for remark in c.remarks]
        lines += [f"    remark: {r}" for r in p.remarks]
    if view.unused_files:
        lines.append("Not used by the grading: " + ", ".join(view.unused_files[:20])
                     + (f" and {len(view.unused_files) - 20} more" if len(view.unused_files) > 20 else ""))
    if not view.published and view.withheld:
        lines.append(f"{view.withheld} more check{'s' if view.withheld != 1 else ''} "
                     "count in your grade and are released with it.")
    return "\n".join(lines)
