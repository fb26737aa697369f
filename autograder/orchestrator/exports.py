"""The class's grades.csv and the CI job summary, rendered from the results model.

Every grade is out of the assignment's 100 (`SubmissionResult.out_of`); what is not decided yet
— written answers, problems outside the run, checks not graded, an interrupted grading — is in the
``final``, ``pending`` and ``pending_reason`` columns, so a spreadsheet never shows a partial total
that looks complete.

grades.csv is UTF-8 *with a byte-order mark* (``utf-8-sig``): Excel otherwise reads UTF-8 as the
local code page; LibreOffice, Google Sheets, pandas and LMS importers all accept the mark.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from autograder.common.contract import PROBLEMS
from autograder.common.results import SubmissionResult, pending_text


def grade_columns() -> list[str]:
    """grades.csv's header: fixed columns, one per contract problem, then whether the grade is final
    (stable for LMS imports: new columns only ever go at the end)."""
    return ["student", "total", "max", "status", *(p.module for p in PROBLEMS), "not_graded",
            "final", "pending", "pending_reason"]


def _number(value: float) -> str:
    return f"{value:g}" if math.isfinite(value) else ""


def grade_rows(results: list[SubmissionResult]) -> list[list[str]]:
    """One row per student, sorted by student; a problem with no checks in a result is left empty."""
    rows = []
    for r in sorted(results, key=lambda r: r.student):
        points = {p.module: _number(p.points) for p in r.problems()}
        rows.append([spreadsheet_safe(r.student), _number(r.score), _number(r.out_of), r.status.value,
                     *(points.get(p.module, "") for p in PROBLEMS), str(len(r.not_graded)),
                     "yes" if r.final else "no", _number(r.pending_points), pending_text(r)])
    return rows


def write_grades_csv(results: list[SubmissionResult], path: Path) -> Path:
    """Write the class's grades.csv (see `grade_columns`); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(grade_columns())
        writer.writerows(grade_rows(results))
    return path


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A cell beginning with one of these is a formula to a spreadsheet (OWASP's CSV injection)."""


def spreadsheet_safe(text: str) -> str:
    """A cell a student controls (their folder name), made inert for Excel, LibreOffice and Sheets:
    a leading formula character gets a ``'`` before it, which spreadsheets show as text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~"})


def markdown_text(text: str) -> str:
    """Text a student controls, shown literally in Markdown (a CI job summary): every character
    that Markdown or HTML could read as markup is escaped, line breaks become spaces."""
    return " ".join(text.split()).translate(_MARKDOWN_SPECIAL)


def markdown_summary(results: list[SubmissionResult]) -> str:
    """A Markdown table: one row per student, the grade out of 100 and per-problem points, whether
    the grade is final and what is pending; then how many grades are final."""
    modules = [p.module for p in PROBLEMS]
    out_of = {p.module: p.points for p in PROBLEMS}
    lines = ["| student | grade | " + " | ".join(modules) + " | status | pending |",
             "|---|---:|" + "---:|" * len(modules) + "---|---|"]
    for r in sorted(results, key=lambda r: r.student):
        by = {p.module: p for p in r.problems()}
        cells = [f"{by[m].points:g}/{out_of[m]:g}" if m in by else
                 ("missing" if m in r.missing else "–") for m in modules]
        status = r.status.value + (f" ({len(r.not_graded)} not graded)" if r.not_graded else "")
        pending = markdown_text(pending_text(r)) if not r.final else "final"
        lines.append(f"| {markdown_text(r.student)} | {r.score:g}/{r.out_of:g} | " + " | ".join(cells)
                     + f" | {status} | {pending} |")
    final = sum(r.final for r in results)
    lines += ["", f"{final} of {len(results)} grade(s) final; grades are points out of 100"
              + (", the others with points pending (not decided yet)." if final < len(results) else ".")]
    return "\n".join(lines)
