"""Gradebook files an LMS imports as they are: Canvas's gradebook CSV and Moodle's grade import CSV.

Both carry one grade column (``--column``, default ``hw3``) out of the assignment's maximum,
`contract.ASSIGNMENT_POINTS` (100) — never the maximum of the checks a run happened to grade.

**Only final grades are exported.** A student whose grade is not final — a check not graded, a
problem not graded at all (e.g. a run with ``--problems``), written answers not scored yet, a
grader fault, an ungradable folder — is *left out of the file* and named in a warning
(`GradebookExport.left_out`), rather than given an empty cell: Moodle reads an empty grade cell as
"no grade" and clears the grade already in the gradebook (``update_grade_item`` in Moodle's
``grade/import/csv/classes/load_data.php``: ``if ($value === '' or $value == '-') $value = null``),
and aborts the whole import on a row whose user it cannot find. A student left out keeps whatever
grade the LMS holds.

**Canvas.** Columns as Canvas's own gradebook export, which its importer reads back: ``Student``,
``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment — named
``hw3`` to create a new assignment, or ``hw3 (12345)`` with the Canvas assignment id to update an
existing one — and a second row ``Points Possible`` giving the maximum. Canvas matches students by
``ID``, ``SIS User ID`` or ``SIS Login ID``. (Canvas Instructor Guide, "How do I import grades in
the Gradebook?", community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807;
the column order Student, ID, SIS User ID, SIS Login ID, Section is the one the importer accepts.)

**Moodle.** "The import file format is the same as the corresponding export format" (MoodleDocs,
"Grade import", docs.moodle.org/en/Grade_import): ``First name``, ``Last name``, ``ID number``,
``Institution``, ``Department``, ``Email address``, then the grade item's column and its feedback
as ``Feedback: <item>`` (the layout of Moodle's own CSV import tests,
``grade/import/csv/tests/load_data_test.php``). On import the TA maps ``ID number`` to
``useridnumber`` (or ``Email address`` to ``useremail``), the grade column to the grade item — whose
maximum grade must be 100 — and the feedback column to its feedback; MoodleDocs asks for grade and
feedback columns together, which this file has.

**Who is who.** A student is the name of their submission folder (the student number). Without a
roster, that number goes in ``SIS User ID`` (Canvas) and ``ID number`` (Moodle), which is how most
schools load student numbers into their LMS. Otherwise pass a roster (`read_roster`): a CSV with
the LMS's own columns — a gradebook export of the course is one — whose ``SIS User ID``,
``ID number`` or ``student`` column holds the folder names; the LMS's identifying columns (Canvas
``ID``, ``SIS Login ID``, ``Section``, names, Moodle ``Email address``, …) are copied from it.
This small reader is ours: the gradebooks need only the LMS's identifiers.

Cells a student can influence (names, ids, feedback) that start with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return are prefixed with ``'`` so that a spreadsheet never reads them as formulas.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from autograder.common.contract import ASSIGNMENT_POINTS
from autograder.common.results import PendingKind, Status, SubmissionResult, pending_by_kind
from autograder.common.student_view import student_view, summary_text

DEFAULT_COLUMN = "hw3"
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "    Points Possible"
"""The first cell of Canvas's second row, as its own export writes it."""
MOODLE_COLUMNS = ("First name", "Last name", "ID number", "Institution", "Department", "Email address")
ROSTER_KEYS = ("SIS User ID", "ID number", "student")
"""Roster columns that may hold the student numbers (the folder names), in this order of preference."""
MAX_ROSTER_BYTES = 10_000_000


class RosterError(ValueError):
    """A roster file that cannot be used (a usage error: exit status 2)."""


@dataclass
class GradebookExport:
    """What a gradebook file holds, and who was left out of it and why."""

    header: list[str]
    rows: list[list[str]]
    final: list[str] = field(default_factory=list)
    """The students whose grades are in the file."""
    left_out: dict[str, list[str]] = field(default_factory=dict)
    """Student → why their grade is not final (or why they could not be matched)."""
    not_submitted: list[str] = field(default_factory=list)
    """Students of the roster with no result."""


def not_final(result: SubmissionResult) -> list[str]:
    """Why ``result`` is not a final grade out of `ASSIGNMENT_POINTS` (empty: it is final): its
    status, then each kind of points still pending (`SubmissionResult.pending`)."""
    if result.status is Status.UNGRADABLE:
        return ["ungradable: no module of the contract in the folder — decide by hand"]
    if result.status is Status.GRADER_FAULT:
        return ["the grader failed on it — regrade"]
    if result.status is Status.INTERRUPTED:
        return ["its grading was interrupted — run the same command to continue"]
    reasons = []
    for kind, points, problems in pending_by_kind(result.pending()):
        if kind is PendingKind.NOT_GRADED:
            reasons.append(f"{len(result.not_graded)} check(s) not graded — regrade")
        elif kind is PendingKind.WRITTEN:
            reasons.append(f"written answers not scored: {', '.join(problems)} — add them to the manual point file")
        else:
            reasons.append(f"not graded at all: {', '.join(problems)} ({points:g} points) — grade them "
                           "(was --problems used?)")
    return reasons


def _safe(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def _number(value: float) -> str:
    return f"{round(value, 4):g}"


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """Student number → the roster row (column → value), from a CSV whose header has one of
    `ROSTER_KEYS`; rows without a number (such as Canvas's ``Points Possible``) are skipped."""
    try:
        if path.stat().st_size > MAX_ROSTER_BYTES:
            raise RosterError(f"{path}: larger than {MAX_ROSTER_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    key = next((k for k in ROSTER_KEYS if k in header), None)
    if key is None:
        raise RosterError(f"{path}: no column {', '.join(map(repr, ROSTER_KEYS))} to find the students by "
                          f"(columns: {', '.join(header) or 'none'})")
    roster: dict[str, dict[str, str]] = {}
    for row in reader:
        clean = {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        number = clean.get(key, "")
        if number and "points possible" not in clean.get("Student", "").lower():
            if number in roster:
                raise RosterError(f"{path} line {reader.line_num}: {key} {number} is listed twice")
            roster[number] = clean
    return roster


def _export(results: Sequence[SubmissionResult], roster: dict[str, dict[str, str]] | None,
            header: list[str], row: Callable[[SubmissionResult, dict[str, str]], list[str]]) -> GradebookExport:
    export = GradebookExport(header=header, rows=[])
    for r in sorted(results, key=lambda r: r.student):
        reasons = not_final(r)
        person = roster.get(r.student) if roster is not None else {}
        if person is None:
            reasons = reasons + ["not in the roster"]
        if reasons:
            export.left_out[r.student] = reasons
            continue
        export.rows.append([_safe(c) for c in row(r, person)])
        export.final.append(r.student)
    if roster is not None:
        graded = {r.student for r in results}
        export.not_submitted = sorted(s for s in roster if s not in graded)
    return export


def canvas(results: Sequence[SubmissionResult], *, column: str = DEFAULT_COLUMN,
           roster: dict[str, dict[str, str]] | None = None) -> GradebookExport:
    """Canvas's gradebook import: identity columns, ``column`` with the grade, Points Possible 100."""
    def row(r: SubmissionResult, person: dict[str, str]) -> list[str]:
        return [person.get("Student", r.student), person.get("ID", ""), person.get("SIS User ID", r.student),
                person.get("SIS Login ID", ""), person.get("Section", ""), _number(r.score)]

    export = _export(results, roster, [*CANVAS_COLUMNS, column], row)
    export.rows.insert(0, [CANVAS_POINTS_POSSIBLE, "", "", "", "", _number(ASSIGNMENT_POINTS)])
    return export


def moodle(results: Sequence[SubmissionResult], *, column: str = DEFAULT_COLUMN,
           roster: dict[str, dict[str, str]] | None = None) -> GradebookExport:
    """Moodle's grade import: identity columns, ``column`` with the grade and ``Feedback: column``
    with the published student view's summary (points per problem, the written answers' comments)."""
    def row(r: SubmissionResult, person: dict[str, str]) -> list[str]:
        last = person.get("Last name", person.get("Surname", ""))
        return [person.get("First name", ""), last, person.get("ID number", r.student),
                person.get("Institution", ""), person.get("Department", ""), person.get("Email address", ""),
                _number(r.score), summary_text(student_view(r, published=True))]

    return _export(results, roster, [*MOODLE_COLUMNS, column, f"Feedback: {column}"], row)


def write(export: GradebookExport, path: Path) -> Path:
    """Write ``export`` as UTF-8 CSV (no byte-order mark: it is read by an LMS, not Excel)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([_safe(h) for h in export.header])
        writer.writerows(export.rows)
    return path
