"""The exit statuses of a grading run: one table, from which the command's help is written and
against which the README's table is checked (tests/harness/test_docs.py).

A run's status tells apart what needs doing: nothing (0), regrading after a grader fault (1),
rerunning checks not graded (4), deciding by hand on folders with nothing gradable (5), a red CI
check (3). Grades that wait for written answers or for problems outside the run are not an error
(the run did what it was asked): grades.csv's ``final`` column and the counts line say so.
"""

from __future__ import annotations

import enum
from typing import Iterable

from autograder.common.results import Status, SubmissionResult


class Exit(enum.IntEnum):
    OK = 0
    GRADER_FAULT = 1
    USAGE = 2
    BELOW = 3
    INCOMPLETE = 4
    UNGRADABLE = 5


SIGNAL_BASE = 128
"""A run stopped by signal N exits with 128 + N, as shells do."""

MEANINGS: dict[str, str] = {
    "0": "every submission was graded, whatever the scores (grades may still wait for written answers "
         "or for problems outside the run: grades.csv's final column says which)",
    "1": "the grader failed on some submission (its results say grader_fault): regrade it",
    "2": "a usage error, found before grading (nothing graded), or a manual.csv row that cannot be used",
    "3": "a grade is below --fail-under",
    "4": "some checks could not be graded (the grade is incomplete): rerun them",
    "5": "some folder holds nothing of the assignment (ungradable): decide by hand",
    "128+N": "stopped by signal N: every judge and worker ended, the pages show what finished; "
             "run the same command to continue",
}
"""Each exit status and what it means, in the README's words."""

PRECEDENCE: tuple[Exit, ...] = (Exit.GRADER_FAULT, Exit.INCOMPLETE, Exit.UNGRADABLE, Exit.BELOW)
"""When several hold, the first of these wins (2 is only ever alone: nothing was graded)."""


def of_run(results: Iterable[SubmissionResult], below: bool) -> Exit:
    """The exit status of a run that graded ``results``; ``below``: some grade is under --fail-under."""
    results = list(results)
    holds = {
        Exit.GRADER_FAULT: any(r.status is Status.GRADER_FAULT for r in results),
        Exit.INCOMPLETE: any(r.status is Status.GRADED and r.not_graded for r in results),
        Exit.UNGRADABLE: any(r.status is Status.UNGRADABLE for r in results),
        Exit.BELOW: below,
    }
    return next((status for status in PRECEDENCE if holds[status]), Exit.OK)


def readme_table() -> str:
    """The README's table of exit statuses, as Markdown."""
    rows = ["| status | meaning |", "|---|---|"]
    rows += [f"| {code} | {meaning} |" for code, meaning in MEANINGS.items()]
    return "\n".join(rows)


def precedence_text() -> str:
    """The sentence after the table: which status wins when several hold."""
    return ("When several hold, the first of " + ", ".join(str(int(s)) for s in PRECEDENCE)
            + " wins; 2 is only ever alone.")


def help_text() -> str:
    """The same, as one paragraph for ``--help``."""
    return "Exit status: " + "; ".join(f"{code} {meaning}" for code, meaning in MEANINGS.items()) + ". " \
        + precedence_text()
