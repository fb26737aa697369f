"""The HTML reports: one page per student and one for the class, rendered from the results model.

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
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from jinja2 import Environment, PackageLoader, select_autoescape

from autograder import exports
from autograder.contract import BY_MODULE, CLASSES, PROBLEMS
from autograder.results import Outcome, Status, SubmissionResult, TestResult, TrainingRecord

MAX_OUTPUT_CHARS = 20_000
"""The report shows at most this much of the captured output (its tail)."""
MAX_CURVE_POINTS = 400
"""Loss curves longer than this are averaged into this many buckets before drawing."""
ARTIFACTS = ("results.json", "junit.xml", "judge.log")
"""Files beside report.html that the page links to when they exist."""


# -- loss curves --------------------------------------------------------------------------------
@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class LossPlot:
    """A loss curve as SVG coordinates: polylines broken where the loss was not finite."""

    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    segments: list[str]
    """``points`` attributes of the polylines of the (bucketed) losses."""
    trend: list[str]
    """The same, smoothed by a moving average: batch-4 losses are noisy, the trend is the story."""
    dots: list[tuple[float, float]]
    """Isolated finite points (a segment of one point would not show as a line)."""
    gaps: list[tuple[float, float]]
    """(x, width) of each run of buckets that held a nan/inf loss."""
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    drawn: int
    total: int
    nonfinite: int
    first_nonfinite: int | None
    """1-based step of the first non-finite loss."""
    stop_x: float | None = None
    """x where a run that stopped early ended, when the axis runs on to its budget."""

    @property
    def downsampled(self) -> bool:
        return self.drawn < self.total


def _nice(value: float) -> str:
    return f"{value:.3g}"


def _polylines(points: Sequence[tuple[float, float | None]]) -> tuple[list[str], list[tuple[float, float]]]:
    """Split (x, y-or-None) into polylines at the Nones; single points come back as dots."""
    lines: list[str] = []
    dots: list[tuple[float, float]] = []
    run: list[tuple[float, float]] = []
    for x, y in [*points, (0.0, None)]:
        if y is not None:
            run.append((x, y))
            continue
        if len(run) > 1:
            lines.append(" ".join(f"{a},{b}" for a, b in run))
        elif run:
            dots.append(run[0])
        run = []
    return lines, dots


def _moving_average(values: Sequence[float | None], window: int) -> list[float | None]:
    """Centred moving average over the finite neighbours; None stays None (a gap stays a gap)."""
    half = window // 2
    out: list[float | None] = []
    for i, v in enumerate(values):
        near = [u for u in values[max(0, i - half): i + half + 1] if u is not None]
        out.append(None if v is None else sum(near) / len(near))
    return out


def loss_plot(losses: Sequence[float | None], *, steps: int = 0, width: int = 560, height: int = 220,
              max_points: int = MAX_CURVE_POINTS) -> LossPlot:
    """Coordinates for a per-step loss curve, averaged into at most ``max_points`` buckets.

    ``steps`` is the run's budget: when it exceeds the recorded losses (the run stopped early),
    the x axis still spans the budget and the stop is marked.
    """
    left, top, right, bottom = 56, 12, width - 22, height - 34
    values = [float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None for v in losses]
    n = len(values)
    nonfinite = [i for i, v in enumerate(values) if v is None]
    buckets = min(n, max_points)
    centres: list[float] = []
    means: list[float | None] = []
    bad: list[bool] = []
    for b in range(buckets):
        lo, hi = b * n // buckets, (b + 1) * n // buckets
        good = [v for v in values[lo:hi] if v is not None]
        centres.append((lo + hi + 1) / 2)  # centre of the bucket, steps counted from 1
        means.append(sum(good) / len(good) if good else None)
        bad.append(len(good) < hi - lo)
    finite_values = [v for v in means if v is not None]
    y_lo, y_hi = (min(finite_values), max(finite_values)) if finite_values else (0.0, 1.0)
    if y_hi - y_lo < 1e-12:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    x_max = max(n, steps, 1)

    def sx(step: float) -> float:
        return round(left + (right - left) * (step - 0.5) / x_max, 1)

    def sy(v: float) -> float:
        return round(bottom - (bottom - top) * (v - y_lo) / (y_hi - y_lo), 1)

    xs = [sx(c) for c in centres]
    segments, dots = _polylines([(x, None if v is None else sy(v)) for x, v in zip(xs, means)])
    trend, _ = _polylines([(x, None if v is None else sy(v))
                           for x, v in zip(xs, _moving_average(means, max(3, buckets // 20)))])
    gaps: list[tuple[float, float]] = []
    slot = (right - left) / x_max * (n / buckets if buckets else 1)
    for i, is_bad in enumerate(bad):
        x0 = xs[i] - slot / 2
        if is_bad and gaps and i > 0 and bad[i - 1]:
            gaps[-1] = (gaps[-1][0], round(x0 + slot - gaps[-1][0], 1))
        elif is_bad:
            gaps.append((round(x0, 1), round(max(slot, 2.0), 1)))
    tick_steps = sorted({1, *(round(x_max * k / 4) for k in range(1, 5))})
    x_ticks = [Tick(sx(s), str(s)) for s in tick_steps if 1 <= s <= x_max]
    y_ticks = [Tick(sy(y_lo + (y_hi - y_lo) * k / 4), _nice(y_lo + (y_hi - y_lo) * k / 4)) for k in range(5)]
    return LossPlot(width, height, left, top, right, bottom, segments, trend, dots, gaps, x_ticks, y_ticks,
                    drawn=buckets, total=n, nonfinite=len(nonfinite),
                    first_nonfinite=nonfinite[0] + 1 if nonfinite else None,
                    stop_x=sx(n + 0.5) if steps > n > 0 else None)


# -- accuracy against the floor -----------------------------------------------------------------
@dataclass
class Bar:
    label: str
    value: float | None
    """A fraction in [0, 1], or None when it was not measured."""
    x: float = 0.0
    """Width in SVG units of the bar."""


@dataclass
class AccuracyChart:
    """Test accuracy as a bar against the floor, and one bar per class."""

    width: int
    label_width: int
    bar_width: int
    accuracy: Bar
    floor: float | None
    floor_x: float | None
    met: bool | None
    per_class: list[Bar]
    row: int = 18

    @property
    def height(self) -> int:
        return self.row * (1 + len(self.per_class)) + 30


def accuracy_chart(record: TrainingRecord, *, width: int = 420) -> AccuracyChart:
    label_width, right_pad = 64, 48
    bar_width = width - label_width - right_pad

    def bar(label: str, value: float | None) -> Bar:
        ok = value is not None and math.isfinite(value)
        return Bar(label, value if ok else None, round(bar_width * min(max(value, 0.0), 1.0), 1) if ok else 0.0)

    floor = record.floor if record.floor is not None and math.isfinite(record.floor) else None
    acc = bar("overall", record.accuracy)
    met = None if acc.value is None or floor is None else acc.value >= floor
    per_class = [bar(CLASSES[i] if i < len(CLASSES) else str(i), v)
                 for i, v in enumerate(record.per_class or [])]
    return AccuracyChart(width, label_width, bar_width, acc, floor,
                         round(bar_width * floor, 1) if floor is not None else None, met, per_class)


@dataclass
class TrainingView:
    record: TrainingRecord
    plot: LossPlot
    accuracy: AccuracyChart
    pieces: list[tuple[str, str]]


def training_view(record: TrainingRecord) -> TrainingView:
    steps = record.steps if record.stopped_early and len(record.losses) == record.steps_run else 0
    return TrainingView(record, loss_plot(record.losses, steps=steps), accuracy_chart(record),
                        sorted(record.pieces.items()))


# -- the student's report.md --------------------------------------------------------------------
@dataclass
class Block:
    kind: str
    """``code`` (a fenced block), ``heading`` (a ``###`` line) or ``text`` (a paragraph)."""
    text: str


@dataclass
class AnswerSection:
    heading: str
    problem: str | None
    blocks: list[Block]


_FENCE = re.compile(r"^\s*(```|~~~)")
_MODULE_NAME = re.compile(r"problem\s*([1-5])(?:_([1-6]))?", re.IGNORECASE)
_PART = re.compile(r"(?<![\d.])([1-5])\s*[-–.]\s*\(?\s*([1-9])\s*\)?")
_NUMBER = re.compile(r"(?<![\d.])([1-5])(?![\d.])")


def problem_of_heading(heading: str) -> str | None:
    """The contract module a report.md heading names ("3-(1)" → problem3_1, "1-(4)" → problem1)."""
    for pattern in (_MODULE_NAME, _PART):
        m = pattern.search(heading)
        if m:
            major, minor = m.group(1), m.group(2)
            module = f"problem3_{minor}" if major == "3" and minor else f"problem{major}"
            if module in BY_MODULE:
                return module
    m = _NUMBER.search(heading)
    if m and f"problem{m.group(1)}" in BY_MODULE:
        return f"problem{m.group(1)}"
    return None


def _blocks(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    para: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        if any(line.strip() for line in para):
            blocks.append(Block("text", "\n".join(para).strip("\n")))
        para.clear()

    for line in lines:
        if code is not None:
            if _FENCE.match(line):
                blocks.append(Block("code", "\n".join(code)))
                code = None
            else:
                code.append(line)
        elif _FENCE.match(line):
            flush()
            code = []
        elif line.startswith("#"):
            flush()
            blocks.append(Block("heading", line.lstrip("#").strip()))
        elif not line.strip():
            flush()
        else:
            para.append(line)
    flush()
    if code is not None:  # an unclosed fence: keep what was there
        blocks.append(Block("code", "\n".join(code)))
    return blocks


def answer_sections(report_md: str) -> list[AnswerSection]:
    """report.md split at its ``## `` headings (outside code fences), each tied to a problem if named."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    in_code = False
    for line in report_md.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            sections.append((line[3:].strip(), []))
        else:
            sections[-1][1].append(line)
    out = []
    for heading, lines in sections:
        blocks = _blocks(lines)
        if heading or blocks:
            out.append(AnswerSection(heading, problem_of_heading(heading) if heading else None, blocks))
    return out


# -- one submission -----------------------------------------------------------------------------
@dataclass
class ProblemView:
    module: str
    title: str
    points: float
    max_points: float
    tests: list[TestResult]
    training: list[TrainingView]
    answers: list[AnswerSection]
    counts: dict[str, int]
    pending: float
    """Points of checks that were not graded."""


@dataclass
class SubmissionView:
    result: SubmissionResult
    problems: list[ProblemView]
    general_answers: list[AnswerSection]
    output: str
    output_shown_from: int
    """How many characters of the captured output were cut from its start (0: all shown)."""
    counts: dict[str, int]
    pending: float
    percent: float | None
    files: list[str] = field(default_factory=list)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def _counts(tests: Sequence[TestResult]) -> dict[str, int]:
    return {o.value: sum(t.outcome is o for t in tests) for o in Outcome}


def submission_view(result: SubmissionResult, files: Sequence[str] = ()) -> SubmissionView:
    """Everything the student's page shows, as plain data, grouped by problem in contract order."""
    sections = answer_sections(result.report_md) if result.report_md else []
    known = [p.module for p in PROBLEMS]
    extra = sorted({t.problem for t in result.tests} - set(known))
    problems = []
    for module in known + extra:
        tests = [t for t in result.tests if t.problem == module]
        training = [training_view(r) for r in result.training if r.problem == module]
        answers = [s for s in sections if s.problem == module]
        if not (tests or training or answers):
            continue
        problems.append(ProblemView(
            module=module, title=BY_MODULE[module].title if module in BY_MODULE else module,
            points=round(sum(t.points for t in tests), 4), max_points=round(sum(t.max_points for t in tests), 4),
            tests=tests, training=training, answers=answers, counts=_counts(tests),
            pending=round(sum(t.max_points for t in tests if t.outcome is Outcome.NOT_GRADED), 4)))
    output = _ANSI.sub("", result.output)
    cut = max(0, len(output) - MAX_OUTPUT_CHARS)
    return SubmissionView(
        result=result, problems=problems, general_answers=[s for s in sections if s.problem is None],
        output=output[cut:], output_shown_from=cut, counts=_counts(result.tests),
        pending=round(sum(t.max_points for t in result.not_graded), 4),
        percent=100 * result.score / result.max_score if result.max_score else None, files=list(files))


# -- the class ----------------------------------------------------------------------------------
@dataclass
class Cell:
    points: float
    max_points: float
    not_graded: int


@dataclass
class ClassRow:
    student: str
    href: str
    score: float
    max_score: float
    percent: float | None
    status: str
    status_reason: str
    cells: list[Cell | None]
    not_graded: int
    attention: list[str]
    """Why this row needs a second look: the status reason, each distinct not-graded reason."""


@dataclass
class CheckStat:
    id: str
    name: str
    problem: str
    max_points: float
    passed: int = 0
    failed: int = 0
    not_graded: int = 0

    @property
    def rate(self) -> float | None:
        """Share of the graded attempts that passed (not-graded ones do not count either way)."""
        graded = self.passed + self.failed
        return self.passed / graded if graded else None


@dataclass
class HistogramBin:
    label: str
    complete: int
    incomplete: int
    x: float
    width: float
    y_complete: float
    h_complete: float
    y_incomplete: float
    h_incomplete: float


@dataclass
class Histogram:
    width: int
    height: int
    left: int
    bottom: int
    top: int
    bins: list[HistogramBin]
    y_ticks: list[Tick]
    excluded: int
    """Submissions with no gradable checks (no maximum to take a percentage of)."""


def histogram(results: Sequence[SubmissionResult], *, width: int = 560, height: int = 220,
              bins: int = 10) -> Histogram:
    """Totals as a percentage of each student's maximum, in ``bins`` bins; incomplete ones stacked apart."""
    left, top, right, bottom = 40, 12, width - 8, height - 40
    complete, incomplete = [0] * bins, [0] * bins
    excluded = 0
    for r in results:
        if not r.max_score:
            excluded += 1
            continue
        b = min(int(bins * r.score / r.max_score), bins - 1)
        (incomplete if r.not_graded or r.status is not Status.GRADED else complete)[b] += 1
    peak = max([c + i for c, i in zip(complete, incomplete)] + [1])
    scale = (bottom - top) / peak
    slot = (right - left) / bins
    out = []
    for b in range(bins):
        hc, hi = complete[b] * scale, incomplete[b] * scale
        lo, hi_pct = 100 * b // bins, 100 * (b + 1) // bins
        out.append(HistogramBin(
            label=f"{lo}–{hi_pct}", complete=complete[b], incomplete=incomplete[b],
            x=round(left + b * slot + 2, 1), width=round(slot - 4, 1),
            y_complete=round(bottom - hc, 1), h_complete=round(hc, 1),
            y_incomplete=round(bottom - hc - hi, 1), h_incomplete=round(hi, 1)))
    step = max(1, math.ceil(peak / 4))
    ticks = [Tick(round(bottom - v * scale, 1), str(v)) for v in range(0, peak + 1, step)]
    return Histogram(width, height, left, bottom, top, out, ticks, excluded)


@dataclass
class ClassView:
    rows: list[ClassRow]
    problems: list[tuple[str, str]]
    """(module, title) of every problem graded for anyone, in contract order."""
    tests: list[CheckStat]
    histogram: Histogram
    summary: dict[str, float | int | None]


def _href(student: str) -> str:
    return f"{student}/report.html"


def check_stats(results: Sequence[SubmissionResult]) -> list[CheckStat]:
    """Every check across the class with its pass count, hardest first (then contract order)."""
    stats: dict[str, CheckStat] = {}
    for r in results:
        for t in r.tests:
            s = stats.setdefault(t.id, CheckStat(t.id, t.name, t.problem, t.max_points))
            if t.outcome is Outcome.PASSED:
                s.passed += 1
            elif t.outcome is Outcome.FAILED:
                s.failed += 1
            else:
                s.not_graded += 1
    order = {p.module: i for i, p in enumerate(PROBLEMS)}
    first_seen = {k: i for i, k in enumerate(stats)}
    return sorted(stats.values(), key=lambda s: (1 if s.rate is None else 0, s.rate or 0.0,
                                                 order.get(s.problem, len(order)), first_seen[s.id]))


def class_view(results: Sequence[SubmissionResult]) -> ClassView:
    """The class page's data: one row per student, per-check pass rates, the histogram, counts."""
    results = sorted(results, key=lambda r: r.student)
    present = {t.problem for r in results for t in r.tests}
    problems = [(p.module, p.title) for p in PROBLEMS if p.module in present]
    rows = []
    for r in results:
        by_module = {p.module: p for p in r.problems()}
        cells: list[Cell | None] = []
        for module, _ in problems:
            p = by_module.get(module)
            cells.append(Cell(p.points, p.max_points, p.not_graded) if p else None)
        attention = [r.status_reason] if r.status is not Status.GRADED else []
        attention += dict.fromkeys(t.message or f"{t.name}: not graded" for t in r.not_graded)
        rows.append(ClassRow(r.student, _href(r.student), r.score, r.max_score,
                             100 * r.score / r.max_score if r.max_score else None,
                             r.status.value, r.status_reason, cells, len(r.not_graded), attention))
    percents = [row.percent for row in rows if row.percent is not None]
    summary: dict[str, float | int | None] = {
        "students": len(results),
        "mean": statistics.fmean(percents) if percents else None,
        "median": statistics.median(percents) if percents else None,
        "not_graded_checks": sum(len(r.not_graded) for r in results),
        "incomplete": sum(bool(r.not_graded) for r in results),
        "grader_faults": sum(r.status is Status.GRADER_FAULT for r in results),
        "ungradable": sum(r.status is Status.UNGRADABLE for r in results),
    }
    return ClassView(rows, problems, check_stats(results), histogram(results), summary)


# -- rendering ----------------------------------------------------------------------------------
def environment() -> Environment:
    """The template environment: package templates, autoescape on for every template."""
    env = Environment(
        loader=PackageLoader("autograder", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg"),
                                     default_for_string=True, default=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["pts"] = _points
    env.filters["pct"] = _percent
    env.filters["secs"] = _seconds
    script = env.get_template("page.js").render()  # included verbatim by base.html
    env.globals["script_hash"] = "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    env.globals["problem_title"] = lambda m: BY_MODULE[m].title if m in BY_MODULE else m
    return env


def _points(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:g}"


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


def render_class(results: Sequence[SubmissionResult], path: Path, env: Environment | None = None) -> Path:
    """Write the class page at ``path``; links assume each report is at ``<student>/report.html`` beside it."""
    env = env or environment()
    path.parent.mkdir(parents=True, exist_ok=True)
    html = env.get_template("index.html").render(c=class_view(results))
    path.write_text(html, encoding="utf-8")
    return path


def render_all(out: Path, results: list[SubmissionResult]) -> None:
    """``out/<student>/report.html`` for each result, ``out/index.html`` and ``out/grades.csv``."""
    env = environment()
    for r in results:
        render_submission(r, out / _safe_dir_name(r.student) / "report.html", env)
    render_class(results, out / "index.html", env)
    exports.write_grades_csv(results, out / "grades.csv")
