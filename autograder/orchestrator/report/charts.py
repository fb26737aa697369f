"""Charts as plain data: SVG coordinates of loss curves, accuracy bars and the class histogram.

The templates draw them; nothing here writes markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from autograder.common.contract import CLASSES
from autograder.common.results import SubmissionResult, TrainingRecord

MAX_CURVE_POINTS = 400
"""Loss curves longer than this are averaged into this many buckets before drawing."""


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


def histogram(results: Sequence[SubmissionResult], *, width: int = 560, height: int = 220,
              bins: int = 10) -> Histogram:
    """Grades as a percentage of the assignment's points, in ``bins`` bins; grades that are not
    final (points pending) stacked apart, so that they are not mistaken for low scores."""
    left, top, right, bottom = 40, 12, width - 8, height - 40
    complete, incomplete = [0] * bins, [0] * bins
    for r in results:
        b = min(max(int(bins * r.score / r.out_of), 0), bins - 1)
        (complete if r.final else incomplete)[b] += 1
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
    return Histogram(width, height, left, bottom, top, out, ticks)
