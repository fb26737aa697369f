"""The results model: what grading found, as typed dataclasses, separate from any rendering.

Every output (results.json, JUnit XML, grades.csv, the HTML reports) is rendered from these.
``SubmissionResult.to_dict``/``from_dict`` round-trip through JSON, so reports can be re-rendered
from a results file without regrading.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from autograder.common.contract import BY_MODULE, PROBLEMS, TOTAL_POINTS
from autograder.common.notebook_model import NotebookConversion


class Outcome(str, enum.Enum):
    """What happened to one check."""

    PASSED = "passed"
    FAILED = "failed"
    """The submission's code is wrong (or missing, or crashed): the student's points are lost."""
    NOT_GRADED = "not_graded"
    """The grader or its data failed: no points are lost, and the check must be rerun."""


class Status(str, enum.Enum):
    """What happened to a whole submission."""

    GRADED = "graded"
    UNGRADABLE = "ungradable"
    """The folder holds nothing of the contract (no module to grade)."""
    GRADER_FAULT = "grader_fault"
    """The grader broke before it could finish; the scores are incomplete."""
    NOT_SUBMITTED = "not_submitted"
    """A student of the roster with no submission folder: 0 of the assignment's points."""


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
    notebook: NotebookConversion | None = None
    """What the judge made of the folder's notebooks, if it has any (see `judge.notebooks`)."""
    on_roster: bool | None = None
    """Whether the student is on the class roster (None: graded without a roster)."""

    @property
    def score(self) -> float:
        return round(sum(t.points for t in self.tests), 4)

    @property
    def max_score(self) -> float:
        if self.status is Status.NOT_SUBMITTED and not self.tests:
            return TOTAL_POINTS
        return round(sum(t.max_points for t in self.tests), 4)

    @property
    def not_graded(self) -> list[TestResult]:
        return [t for t in self.tests if t.outcome is Outcome.NOT_GRADED]

    def problems(self) -> list[ProblemScore]:
        """Scores per problem, in the contract's order."""
        out = []
        for spec in PROBLEMS:
            tests = [t for t in self.tests if t.problem == spec.module]
            if tests:
                out.append(ProblemScore(
                    module=spec.module, title=spec.title,
                    points=round(sum(t.points for t in tests), 4),
                    max_points=round(sum(t.max_points for t in tests), 4),
                    not_graded=sum(t.outcome is Outcome.NOT_GRADED for t in tests),
                ))
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"], data["max_score"] = self.score, self.max_score
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        data = dict(data)
        data.pop("score", None)
        data.pop("max_score", None)
        tests = []
        for t in data.pop("tests", []):
            t = dict(t)
            fb = t.pop("feedback", None)
            t["outcome"] = Outcome(t["outcome"])
            tests.append(TestResult(feedback=Feedback(**fb) if fb else None, **t))
        training = [TrainingRecord(**r) for r in data.pop("training", [])]
        status = Status(data.pop("status", "graded"))
        notebook = data.pop("notebook", None)
        return cls(tests=tests, training=training, status=status,
                   notebook=NotebookConversion.from_dict(notebook) if notebook else None, **data)


@dataclass
class ProblemScore:
    """A problem's share of a submission's score."""

    module: str
    title: str
    points: float
    max_points: float
    not_graded: int = 0


def problem_title(module: str) -> str:
    spec = BY_MODULE.get(module)
    return spec.title if spec else module
