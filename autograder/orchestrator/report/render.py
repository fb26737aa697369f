"""Rendering the HTML reports: one page per student and one for the class, from the page views.

Python computes plain data only — numbers, lists, SVG coordinates, the student's report.md split
into sections — and every bit of markup lives in the Jinja2 templates under ``templates/``, with
autoescape on. Pages are self-contained (inline CSS, inline SVG, one small inline script for
sorting tables), open from disk, and carry a Content-Security-Policy that only allows that one
script (by hash), so even a markup slip could not make a submission's text run as code.
"""

from __future__ import annotations

import base64
import hashlib
import math
from pathlib import Path
from typing import Sequence

from jinja2 import Environment, PackageLoader, select_autoescape

from autograder.common import results_json
from autograder.common.contract import BY_MODULE
from autograder.common.results import SubmissionResult
from autograder.common.student_view import student_view
from autograder.orchestrator import exports, similarity
from autograder.orchestrator.report.feedback import feedback_page
from autograder.orchestrator.report.views import class_view, submission_view

ARTIFACTS = ("feedback.html", "results.json", "junit.xml", "judge.log")
"""Files beside report.html that the page links to when they exist."""


def environment() -> Environment:
    """The template environment: package templates, autoescape on for every template."""
    env = Environment(
        loader=PackageLoader("autograder.orchestrator", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg"),
                                     default_for_string=True, default=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["pts"] = _points
    env.filters["pct"] = _percent
    env.filters["pts1"] = _points_1
    env.filters["secs"] = _seconds
    script = env.get_template("page.js").render()  # included verbatim by base.html
    env.globals["script_hash"] = "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    env.globals["problem_title"] = lambda m: BY_MODULE[m].title if m in BY_MODULE else m
    return env


def _points(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:g}"


def _points_1(value: float | None) -> str:
    """A mean or median of points, to one decimal."""
    return "—" if value is None or not math.isfinite(value) else f"{value:.1f}"


def _percent(value: float | None, digits: int = 0) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f} %"


def _seconds(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s" if value < 600 else f"{value / 60:.1f} min"


def _safe_dir_name(student: str) -> str:
    if not student or student in {".", ".."} or Path(student).name != student:
        raise ValueError(f"student name {student!r} cannot be used as a folder name")
    return student


def render_submission(result: SubmissionResult, path: Path, env: Environment | None = None) -> Path:
    """Write the student's report page at ``path`` (links to results.json etc. found beside it)."""
    env = env or environment()
    path.parent.mkdir(parents=True, exist_ok=True)
    files = [name for name in ARTIFACTS if (path.parent / name).is_file()]
    html = env.get_template("report.html").render(v=submission_view(result, files), r=result)
    path.write_text(html, encoding="utf-8")
    return path


def render_feedback(result: SubmissionResult, path: Path, env: Environment | None = None, *,
                    published: bool = False) -> Path:
    """Write the student's own page at ``path`` and their feedback.json beside it: only what
    `student_view` lets a student see (``published``: the grades have been released)."""
    env = env or environment()
    path.parent.mkdir(parents=True, exist_ok=True)
    view = student_view(result, published=published)
    path.write_text(env.get_template("feedback.html").render(f=feedback_page(view)), encoding="utf-8")
    results_json.write_student(view, path.with_name("feedback.json"))
    return path


def render_class(results: Sequence[SubmissionResult], path: Path, env: Environment | None = None,
                 similar: similarity.SimilarityReport | None = None) -> Path:
    """Write the class page at ``path``; links assume each report is at ``<student>/report.html`` beside it
    (and, given ``similar``, similarity.html too)."""
    env = env or environment()
    path.parent.mkdir(parents=True, exist_ok=True)
    html = env.get_template("index.html").render(c=class_view(results), similar=similar)
    path.write_text(html, encoding="utf-8")
    return path


def render_similarity(report: similarity.SimilarityReport, path: Path, env: Environment | None = None) -> Path:
    """Write the similarity page at ``path``: the flagged pairs, each problem's files side by side."""
    env = env or environment()
    path.parent.mkdir(parents=True, exist_ok=True)
    html = env.get_template("similarity.html").render(s=report)
    path.write_text(html, encoding="utf-8")
    return path


def render_all(out: Path, results: list[SubmissionResult], *, published: bool = False) -> None:
    """``out/<student>/report.html`` and the student's ``feedback.html`` / ``feedback.json`` for
    each result, ``out/index.html`` and ``out/grades.csv``; and ``out/similarity.html`` when the
    class's submission folders are still there to compare."""
    env = environment()
    for r in results:
        folder = out / _safe_dir_name(r.student)
        render_feedback(r, folder / "feedback.html", env, published=published)
        render_submission(r, folder / "report.html", env)
    similar = similarity.from_results(results) if len(results) > 1 else None
    if similar is not None:
        render_similarity(similar, out / "similarity.html", env)
    render_class(results, out / "index.html", env, similar)
    exports.write_grades_csv(results, out / "grades.csv")
