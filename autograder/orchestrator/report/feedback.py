"""The student's page (feedback.html) as plain data: the charts of `student_view`'s output.

What the student may see is decided by `autograder.common.student_view.student_view` alone; this
module only adds the chart coordinates, reusing the TA page's (`views.training_view`).
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.common.results import TrainingRecord
from autograder.common.student_view import StudentProblem, StudentTraining, StudentView
from autograder.orchestrator.report.views import TrainingView, training_view


@dataclass
class FeedbackProblem:
    problem: StudentProblem
    training: list[TrainingView]


@dataclass
class FeedbackPage:
    view: StudentView
    problems: list[FeedbackProblem]


def _record(t: StudentTraining) -> TrainingRecord:
    """The chart functions take a `TrainingRecord`; this one carries only what the student may see."""
    return TrainingRecord(problem=t.problem, pieces=dict(t.pieces), steps=t.steps, steps_run=t.steps_run,
                          losses=list(t.losses), accuracy=t.accuracy, floor=t.floor, per_class=t.per_class,
                          stopped_early=t.stopped_early)


def feedback_page(view: StudentView) -> FeedbackPage:
    """The page's data: each problem of the view with the charts of its training runs."""
    return FeedbackPage(view, [
        FeedbackProblem(p, [training_view(_record(t)) for t in view.training if t.problem == p.module])
        for p in view.problems])
