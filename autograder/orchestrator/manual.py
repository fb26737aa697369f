"""Manual points: what a person scored (the written answers), from one CSV file per class.

    student,problem,points,comment
    20163140,problem1,2.5,"1-(1) 잘 설명함; 1-(2) 풀링의 역할이 빠짐"

One row per student and problem; ``problem`` is a contract module name (``problem1``) or its
number (``1``, ``3_2``). ``points`` may not exceed the problem's manual maximum, declared in the
contract (`contract.ProblemSpec.written`: the part of the problem's share of the 100 points that
no check can judge). The file is UTF-8 (a byte-order mark, as Excel writes, is fine).

`read` checks the whole file and raises `ManualPointsError` — naming the file, the line, the
student and the problem — at the first row it cannot accept: an unknown problem, a problem without
written points, points that are not a number, negative or over the maximum, a student and problem
given twice, more cells than the header has (an unquoted comma in a comment: the rest of the line
would be lost). `merge` puts the rows into the results (`SubmissionResult.manual`), replacing any
merged before, and refuses a row whose student has no result (a misspelt id would otherwise leave
the real student unscored): the file is the one source of manual points, merged again on every
render, so they survive a regrading and a re-rendering alike.

`class_results` is the one reader every command uses — a grading run's re-render, ``report``,
``summary``, ``merge`` and the gradebooks — so that no command shows a total without the points a
person gave, and none goes on without them when the file cannot be used (a usage error, exit
status 2, at grading and at ``report`` alike).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from autograder.common.contract import BY_MODULE
from autograder.common.results import ManualScore, SubmissionResult
from autograder.orchestrator.problem_names import problem_module

FILE_NAME = "manual.csv"
"""Looked for in the report folder when no file is named (``autograde report DIR --manual FILE``)."""
COLUMNS = ("student", "problem", "points", "comment")
MAX_BYTES = 5_000_000


class ManualPointsError(ValueError):
    """A row of the manual point file that cannot be used (a usage error: exit status 2)."""


@dataclass(frozen=True)
class ManualEntry:
    """One row of the file: points a person gave one student for one problem."""

    student: str
    score: ManualScore
    where: str = ""
    """``manual.csv line 3`` — how messages name the row."""




def _points(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse(text: str, name: str) -> list[ManualEntry]:
    """The rows of a manual point file's ``text``; ``name`` is what messages call the file."""
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [h.strip().lower() for h in next(rows, [])]
    missing = [c for c in COLUMNS[:3] if c not in header]
    if missing:
        raise ManualPointsError(f"{name} line 1: the header lacks {', '.join(missing)} "
                                f"(expected: {','.join(COLUMNS)})")
    at = {c: header.index(c) for c in COLUMNS if c in header}
    entries: list[ManualEntry] = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = {c: row[i].strip() if i < len(row) else "" for c, i in at.items()}
        student, given = cells["student"], cells["problem"]
        where = f"{name} line {line}: student {student or '(empty)'}, {given or '(no problem)'}"
        if len(row) > len(header):
            raise ManualPointsError(
                f"{where}: {len(row)} cells, but the header has {len(header)} ({','.join(header)}) — "
                "a comment holding a comma must be in double quotes")
        if not student:
            raise ManualPointsError(f"{where}: the student is empty")
        module = problem_module(given)
        if module is None:
            raise ManualPointsError(f"{where}: unknown problem (use a module name such as problem1, or 1, 3_2)")
        where = f"{name} line {line}: student {student}, {module}"
        maximum = BY_MODULE[module].written
        if not maximum:
            raise ManualPointsError(f"{where}: {module} has no points scored by a person "
                                    "(its manual maximum is 0; only problems with written answers take manual points)")
        points = _points(cells["points"])
        if points is None:
            raise ManualPointsError(f"{where}: points {cells['points']!r} is not a number")
        if points < 0:
            raise ManualPointsError(f"{where}: points {points:g} is negative")
        if points > maximum:
            raise ManualPointsError(f"{where}: {points:g} points is over {module}'s manual maximum of {maximum:g}")
        if (student, module) in seen:
            raise ManualPointsError(f"{where}: given twice (also on line {seen[student, module]})")
        seen[student, module] = line
        entries.append(ManualEntry(student, ManualScore(
            problem=module, points=points, max_points=maximum, comment=cells.get("comment", ""),
            source=f"{name}:{line}"), where=f"{name} line {line}"))
    return entries


def read(path: Path) -> list[ManualEntry]:
    """The rows of the manual point file at ``path`` (see `parse`)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ManualPointsError(f"{path}: larger than {MAX_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ManualPointsError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ManualPointsError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse(text, path.name)


def check_students(entries: list[ManualEntry], known: Iterable[str], where: str) -> None:
    """ManualPointsError at the first row whose student is not in ``known`` (``where``: what the
    message calls the place the students were looked for)."""
    students = set(known)
    for e in entries:
        if e.student not in students:
            raise ManualPointsError(f"{e.where}: student {e.student}, {e.score.problem}: no such student "
                                    f"{where} (a misspelt id? the real student would stay unscored)")


def scores_of(entries: list[ManualEntry], student: str) -> list[ManualScore]:
    """The manual points ``entries`` give ``student``."""
    return [e.score for e in entries if e.student == student]


def merge(results: Iterable[SubmissionResult], entries: list[ManualEntry]) -> None:
    """Set each result's manual points from ``entries`` (replacing earlier ones); ManualPointsError
    for a row whose student has no result."""
    results = list(results)
    check_students(entries, (r.student for r in results), "among the results")
    for r in results:
        r.manual = scores_of(entries, r.student)


def load(out: Path, given: Path | None = None) -> list[ManualEntry]:
    """The class's manual points: the file ``given``, else ``out/manual.csv`` when it exists."""
    path = given if given is not None else out / FILE_NAME
    if given is None and not path.is_file():
        return []
    return read(path)


def class_results(out: Path, given: Path | None = None) -> list[SubmissionResult]:
    """Every result under ``out`` (``out/<student>/results.json``) with the class's manual points
    merged in (`load`); ManualPointsError when the file cannot be used."""
    from autograder.common import results_json

    entries = load(out, given)
    results = [results_json.read(f) for f in sorted(out.glob("*/results.json"))]
    check_students(entries, (r.student for r in results), f"with results under {out}")
    merge(results, entries)
    return results
