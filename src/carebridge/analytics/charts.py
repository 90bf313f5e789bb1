"""Bar and line charts as server-rendered SVG geometry, in the manner of records/charts.py: no
JavaScript, readable on a phone and in print. This module computes coordinates; the template
`analytics/_charts.html` draws them.

Bars are horizontal with the label above each bar, so long facility names never squeeze the bars
on a narrow screen."""

from __future__ import annotations

from dataclasses import dataclass, field

from carebridge.records.charts import nice_ticks

WIDTH = 480
BAR_LEFT, BAR_RIGHT = 8, 56  # room on the right for the value text
BAR_ROW, BAR_HEIGHT, BAR_TOP = 34, 14, 8
LINE_HEIGHT, LINE_LEFT, LINE_RIGHT, LINE_TOP, LINE_BOTTOM = 220, 40, 14, 12, 36


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value as shown at the bar's end
    css: str
    label_y: float
    y: float
    width: float


@dataclass
class BarChart:
    key: str
    title: str
    bars: list[Bar]
    height: int
    left: int = BAR_LEFT
    right_edge: int = WIDTH - BAR_RIGHT
    width: int = WIDTH
    marker_x: float | None = None  # a vertical reference line (a target)
    marker_label: str = ""


@dataclass(frozen=True)
class BarInput:
    label: str
    value: float
    text: str
    css: str = "s0"


def bar_chart(key: str, title: str, items: list[BarInput], *, scale_max: float | None = None,
              marker: float | None = None, marker_label: str = "") -> BarChart | None:
    """Bars scaled to the largest value (or `scale_max`), with an optional marker at `marker`."""
    if not items:
        return None
    top = max([scale_max or 0.0, *(i.value for i in items), marker or 0.0]) or 1.0
    # With a marker, one more row below the bars carries its label, clear of the value texts.
    height = BAR_TOP + BAR_ROW * len(items) + (18 if marker is not None else 4)
    chart = BarChart(key, title, [], height, marker_label=marker_label)
    span = chart.right_edge - chart.left
    for index, item in enumerate(items):
        row = BAR_TOP + BAR_ROW * index
        chart.bars.append(Bar(item.label, item.text, item.css, row + 10, row + 15,
                              max(item.value / top * span, 1.5 if item.value else 0)))
    if marker is not None:
        chart.marker_x = chart.left + marker / top * span
    return chart


@dataclass
class LineSeries:
    name: str
    css: str
    points: list[tuple[float, float, str]]  # x, y, tooltip

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


@dataclass
class LineChart:
    key: str
    title: str
    series: list[LineSeries]
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    goal_y: float | None = None
    goal_label: str = ""
    width: int = WIDTH
    height: int = LINE_HEIGHT
    left: int = LINE_LEFT
    right_edge: int = WIDTH - LINE_RIGHT
    top: int = LINE_TOP
    bottom_edge: int = LINE_HEIGHT - LINE_BOTTOM


@dataclass(frozen=True)
class LineInput:
    name: str
    values: list[float | None]  # one per x label; None leaves a gap in the points


def line_chart(key: str, title: str, x_labels: list[str], inputs: list[LineInput], *, percent: bool = False,
               goal: float | None = None, goal_label: str = "") -> LineChart | None:
    """Evenly spaced categories (weeks) on x; `percent` fixes y to 0-100 % for shares (values 0-1)."""
    values = [v for s in inputs for v in s.values if v is not None]
    if not values or not x_labels:
        return None
    chart = LineChart(key, title, [], goal_label=goal_label)
    ticks = [0, 0.25, 0.5, 0.75, 1.0] if percent else nice_ticks(0, max(max(values), 1))
    high = ticks[-1]

    def y_of(value: float) -> float:
        return chart.bottom_edge - value / high * (chart.bottom_edge - chart.top)

    def x_of(index: int) -> float:
        if len(x_labels) == 1:
            return (chart.left + chart.right_edge) / 2
        return chart.left + index / (len(x_labels) - 1) * (chart.right_edge - chart.left)

    chart.y_ticks = [(y_of(t), f"{t:.0%}" if percent else f"{t:g}") for t in ticks]
    step = max(1, -(-len(x_labels) // 4))  # about four labels fit a phone-width chart
    chart.x_ticks = [(x_of(i), x_labels[i]) for i in range(0, len(x_labels), step)]
    for index, item in enumerate(inputs):
        shown = [(x_of(i), y_of(v), f"{x_labels[i]}: {f'{v:.0%}' if percent else f'{v:g}'}")
                 for i, v in enumerate(item.values) if v is not None]
        chart.series.append(LineSeries(item.name, f"s{index}", shown))
    if goal is not None:
        chart.goal_y = y_of(goal)
    return chart
