"""The class's grades.csv, rendered from the results model.

grades.csv is UTF-8 *with a byte-order mark* (``utf-8-sig``): Excel otherwise reads UTF-8 as the
local code page; LibreOffice, Google Sheets, pandas and LMS importers all accept the mark.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from autograder.common.contract import PROBLEMS
from autograder.common.results import SubmissionResult


def grade_columns() -> list[str]:
    """grades.csv's header: fixed columns, then one per contract problem (stable for LMS imports)."""
    return ["student", "total", "max", "status", *(p.module for p in PROBLEMS), "not_graded"]


def _number(value: float) -> str:
    return f"{value:g}" if math.isfinite(value) else ""


def grade_rows(results: list[SubmissionResult]) -> list[list[str]]:
    """One row per student, sorted by student; a problem with no checks in a result is left empty."""
    rows = []
    for r in sorted(results, key=lambda r: r.student):
        points = {p.module: _number(p.points) for p in r.problems()}
        rows.append([r.student, _number(r.score), _number(r.max_score), r.status.value,
                     *(points.get(p.module, "") for p in PROBLEMS), str(len(r.not_graded))])
    return rows


def write_grades_csv(results: list[SubmissionResult], path: Path) -> Path:
    """Write the class's grades.csv (see `grade_columns`); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(grade_columns())
        writer.writerows(grade_rows(results))
    return path
