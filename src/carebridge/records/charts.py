"""Trend charts as server-rendered SVG geometry: no JavaScript library, works on any phone and in
print. This module only computes coordinates and labels; templates/records/_chart.html draws them."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from carebridge.records.views import CST

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 14, 12, 36

Points = list[tuple[dt.datetime, float]]


@dataclass
class PlotPoint:
    x: float
    y: float
    label: str  # "2024-05-01 08:30: 150"


@dataclass
class PlotSeries:
    name: str
    css: str
    points: list[PlotPoint]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass
class Band:
    y_top: float
    y_bottom: float
    css: str
    label: str


@dataclass
class Chart:
    key: str
    title: str
    unit: str
    series: list[PlotSeries]
    bands: list[Band] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    bottom_edge: int = HEIGHT - BOTTOM


@dataclass
class SeriesInput:
    name: str
    points: Points
    ref_low: float | None = None
    ref_high: float | None = None


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round-numbered ticks covering [low, high] (1, 2, 2.5, 5 x 10^n steps)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.4g}"


def build_chart(key: str, title: str, unit: str, inputs: list[SeriesInput]) -> Chart | None:
    """A chart of one or more series sharing a unit, with each series' reference band."""
    all_points = [p for s in inputs for p in s.points]
    if not all_points:
        return None
    values = [v for _, v in all_points] + [b for s in inputs for b in (s.ref_low, s.ref_high) if b is not None]
    ticks = nice_ticks(min(values), max(values))
    y_low, y_high = ticks[0], ticks[-1]
    times = [t for t, _ in all_points]
    t0, t1 = min(times), max(times)
    chart = Chart(key=key, title=title, unit=unit, series=[])

    def y_of(value: float) -> float:
        return chart.bottom_edge - (value - y_low) / (y_high - y_low) * (chart.bottom_edge - chart.top)

    def x_of(when: dt.datetime) -> float:
        span = (t1 - t0).total_seconds()
        if span <= 0:
            return (chart.left + chart.right_edge) / 2
        return chart.left + (when - t0).total_seconds() / span * (chart.right_edge - chart.left)

    chart.y_ticks = [(y_of(v), _fmt(v)) for v in ticks]
    chart.x_ticks = _time_ticks(t0, t1, x_of)
    for index, item in enumerate(inputs):
        if item.ref_low is not None or item.ref_high is not None:
            top = y_of(item.ref_high if item.ref_high is not None else y_high)
            bottom = y_of(item.ref_low if item.ref_low is not None else y_low)
            label = f"{_fmt(item.ref_low) if item.ref_low is not None else ''}–" \
                    f"{_fmt(item.ref_high) if item.ref_high is not None else ''}"
            chart.bands.append(Band(top, bottom, f"band s{index}", label))
        chart.series.append(PlotSeries(item.name, f"s{index}", [
            PlotPoint(x_of(t), y_of(v), f"{t.astimezone(CST):%Y-%m-%d %H:%M}: {_fmt(v)}") for t, v in item.points]))
    return chart


def _time_ticks(t0: dt.datetime, t1: dt.datetime, x_of) -> list[tuple[float, str]]:  # noqa: ANN001
    span = t1 - t0
    fmt = "%m-%d %H:%M" if span < dt.timedelta(days=2) else "%Y-%m-%d"
    if span.total_seconds() <= 0:
        return [(x_of(t0), f"{t0.astimezone(CST):{fmt}}")]
    count = 3  # four labels fit a phone-width chart without overlapping
    moments = [t0 + span * i / count for i in range(count + 1)]
    return [(x_of(m), f"{m.astimezone(CST):{fmt}}") for m in moments]
