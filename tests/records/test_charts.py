import datetime as dt

from carebridge.records.charts import SeriesInput, build_chart, nice_ticks


def test_ticks_are_round_numbers_covering_the_range():
    ticks = nice_ticks(62, 163)
    assert ticks[0] <= 62 and ticks[-1] >= 163 and 3 <= len(ticks) <= 7
    steps = {round(b - a, 6) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1 and steps.pop() in (10, 20, 25, 50)
    assert nice_ticks(4.1, 7.9)[0] <= 4.1 and nice_ticks(4.1, 7.9)[-1] >= 7.9
    assert nice_ticks(5, 5)[0] <= 5 <= nice_ticks(5, 5)[-1]


def test_chart_puts_higher_values_higher_and_later_times_further_right():
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    chart = build_chart("bp", "Blood pressure", "mm[Hg]", [
        SeriesInput("Systolic", [(t0, 120.0), (t0 + dt.timedelta(days=30), 160.0)], 90, 139),
        SeriesInput("Diastolic", [(t0, 80.0), (t0 + dt.timedelta(days=30), 95.0)], 60, 89),
    ])
    systolic, diastolic = chart.series
    assert systolic.points[1].x > systolic.points[0].x
    assert systolic.points[1].y < systolic.points[0].y  # SVG y grows downwards
    assert all(s.y < d.y for s, d in zip(systolic.points, diastolic.points, strict=True))
    assert [b.label for b in chart.bands] == ["90–139", "60–89"]
    band = chart.bands[0]
    assert chart.top <= band.y_top < band.y_bottom <= chart.bottom_edge
    assert chart.x_ticks[0][1] == "2024-01-01" and len(chart.y_ticks) >= 3
    assert "160" in systolic.points[1].label


def test_no_points_no_chart():
    assert build_chart("x", "X", "", [SeriesInput("X", [])]) is None
