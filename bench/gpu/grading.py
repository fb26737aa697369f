"""A grading's figures, read from its results.json, and the issue's targets for them.

Imports the project's results model (`autograder.common`, plain Python): call only once the
project is importable.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

ACCURACY_TOLERANCE = 4.0
"""Percentage points the reference at ``full`` may be from the homework report's accuracy."""
REPORT_ACCURACY: dict[str, float] = {"problem2": 54, "problem3_1": 58, "problem3_2": 56, "problem3_3": 57,
                                     "problem3_4": 54, "problem3_5": 55, "problem3_6": 55}
"""Test accuracy (%) of each training in the homework's report (submissions/20163140/report.md:
2 epochs, batch 4, the original CIFAR-10 batches)."""
CPU_REFERENCE_MEAN: dict[str, float] = {"problem2": 54.3, "problem3_1": 62.0, "problem3_2": 56.6,
                                        "problem3_3": 54.0, "problem3_4": 56.6, "problem3_5": 53.7,
                                        "problem3_6": 53.7}
"""The reference's mean over five seeds at ``full`` on the CPU (docs/training.md), for context: on
3-(1) the reference's four distinct convolutions beat the report's shared-convolution net."""
CPU_LOST: dict[str, float] = {"problem3_1::test_four_distinct_convolutions": 1.0,
                              "problem3_1::test_output_layer_and_weights": 1.0}
"""What 20163140 loses on the CPU (95 of the 97 points the checks are worth; the other 3 are
written answers, scored by a person): 3-(1)'s two architecture points, for a net that reuses one
convolution (18,154 weights instead of 36,650). Seen in the CPU dry run at ``quick``, every problem."""


@dataclass
class Training:
    problem: str
    accuracy: float | None
    seconds: float
    steps_run: int
    steps: int
    stopped_early: str = ""


@dataclass
class Graded:
    """One submission's grade as results.json records it."""

    student: str
    status: str
    score: float
    max_score: float
    device: str
    budget: str
    sandbox: str
    duration: float
    problems: list[str]
    memory_bound: str = ""
    """How each worker's memory was bounded (a cgroup, or resource limits per process)."""
    lost: dict[str, float] = field(default_factory=dict)
    """``problem::check`` → points lost (failed or not graded)."""
    not_graded: list[str] = field(default_factory=list)
    """``problem::check: reason`` of every check that could not be graded."""
    timings: dict[str, float] = field(default_factory=dict)
    trainings: list[Training] = field(default_factory=list)
    first_failure: str = ""
    """What the first check that did not pass found (its feedback, else its message)."""

    @property
    def complete(self) -> bool:
        return self.status == "graded" and not self.not_graded


def check_key(problem: str, test_id: str) -> str:
    return f"{problem}::{test_id.split('::')[-1]}"


def read(out: Path, student: str) -> Graded | None:
    """The grade of ``student`` under ``out``; None when no results.json was written."""
    from autograder.common import results_json
    from autograder.common.results import Outcome

    path = out / student / "results.json"
    if not path.is_file():
        return None
    r = results_json.read(path)
    return Graded(
        student=student, status=r.status.value, score=r.score, max_score=r.max_score, device=r.device,
        budget=r.budget, sandbox=r.sandbox, duration=r.duration,
        problems=sorted({t.problem for t in r.tests}), memory_bound=r.memory_bound,
        lost={check_key(t.problem, t.id): round(t.max_points - t.points, 4)
              for t in r.tests if t.outcome is not Outcome.PASSED},
        not_graded=[f"{check_key(t.problem, t.id)}: {t.message}" for t in r.tests if t.outcome is Outcome.NOT_GRADED],
        timings=dict(r.timings),
        trainings=[Training(t.problem, t.accuracy, t.seconds, t.steps_run, t.steps, t.stopped_early)
                   for t in r.training],
        first_failure=next(((t.feedback.found if t.feedback else t.message)
                            for t in r.tests if t.outcome is not Outcome.PASSED), ""),
    )


def not_graded_summary(g: Graded) -> list[str]:
    """The checks not graded, one line per reason: ``N check(s) not graded (a, b, …): reason``."""
    by_reason: dict[str, list[str]] = {}
    for line in g.not_graded:
        check, _, reason = line.partition(": ")
        by_reason.setdefault(reason.removeprefix("not graded: "), []).append(check)
    return [f"{len(checks)} check(s) not graded ({', '.join(checks[:3])}{', …' if len(checks) > 3 else ''}): "
            f"{reason}" for reason, checks in by_reason.items()]


def phases(g: Graded) -> list[tuple[str, float]]:
    """Seconds per phase: the judge's timings (imports left out: hundredths of a second) and each
    training in its worker."""
    rows = [(k, v) for k, v in g.timings.items() if k != "worker busy" and not k.startswith("import ")]
    rows += [(f"{t.problem} training (in its worker)", t.seconds) for t in g.trainings]
    rows.append(("judge, whole submission", g.duration))
    return rows


def same_points_as_cpu(g: Graded) -> tuple[bool, str]:
    """Whether 20163140 lost exactly what it loses on the CPU (for the problems graded)."""
    expected = {k: v for k, v in CPU_LOST.items() if k.split("::")[0] in g.problems}
    found = f"{g.score:g} / {g.max_score:g}" + (f", lost {g.lost}" if g.lost else ", nothing lost")
    return g.lost == expected and not g.not_graded, found


def reference_accuracy(g: Graded) -> tuple[bool | None, list[list[str]]]:
    """Each training's accuracy against the report's, within `ACCURACY_TOLERANCE` points."""
    rows, oks = [], []
    for t in g.trainings:
        target = REPORT_ACCURACY.get(t.problem)
        if target is None:
            continue
        acc = None if t.accuracy is None else 100 * t.accuracy
        ok = acc is not None and abs(acc - target) <= ACCURACY_TOLERANCE
        oks.append(ok)
        rows.append([t.problem, "—" if acc is None else f"{acc:.1f}", f"{target:g}",
                     "—" if acc is None else f"{acc - target:+.1f}", f"{CPU_REFERENCE_MEAN[t.problem]:.1f}",
                     f"{t.seconds:.1f}", "pass" if ok else "**FAIL**"])
    return (all(oks) if oks else None), rows


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
