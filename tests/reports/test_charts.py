"""The charts are pure functions of plain numbers: what they draw, what they skip,
and that text from data is escaped."""

from __future__ import annotations

import re

from postpilot.reports.charts import ALERT, CURRENT, REFERENCE, bars, line


def _ys(svg: str) -> list[float]:
    return [float(y) for y in re.findall(r"<circle cx='[\d.]+' cy='([\d.-]+)'", svg)]


def test_line_draws_a_dot_per_finite_value_and_marks_alerts() -> None:
    svg = line([0.1, float("nan"), 0.3], [None] * 3, [0.2] * 3, [False, False, True])
    assert svg.count("<circle") == 2  # the NaN chunk is a gap
    assert svg.count(f"fill='{ALERT}'") == 1
    assert svg.count(f"fill='{REFERENCE}'") == 1
    low, high = _ys(svg)
    assert high < low  # larger values higher up
    assert svg.count("stroke-dasharray='4 3'") == 1  # the band's upper edge only


def test_line_with_nothing_finite_is_empty() -> None:
    assert line([float("nan")], [None], [None], [False]) == ""
    assert line([], [], [], []) == ""


def test_line_second_series_guides_and_axis_floor() -> None:
    svg = line(
        [0.8, 0.9],
        [0.7, 0.7],
        [1.0, 1.0],
        [False, False],
        second=[None, 0.85],
        guides=(0.75, None),
        floor_at_zero=False,
    )
    assert f"stroke='{CURRENT}'" in svg
    assert svg.count(f"stroke='{ALERT}' stroke-dasharray='6 3'") == 1
    assert "<text x='2' y='170'>0.7</text>" in svg  # the axis starts at the lowest value
    assert "<text x='2' y='170'>0</text>" in line([0.8], [None], [None], [False])


def test_bars_escape_and_cut_labels_and_hide_them_when_crowded() -> None:
    svg = bars([("<script>alert(1)</script>", 0.5, 0.25), ("b&c", 0.5, 0.75)])
    assert "<script" not in svg
    assert "&lt;script&gt;al" in svg  # cut to 10 characters, then escaped
    assert "b&amp;c" in svg
    assert svg.count("<rect") == 4
    crowded = bars([(str(i), 0.1, 0.1) for i in range(13)])
    assert crowded.count("<rect") == 26
    assert "<text x='30.0'" not in crowded
    assert bars([]) == ""


def test_line_legend_is_escaped() -> None:
    svg = line([1.0], [None], [None], [False], legend="<b>x</b> & y")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in svg
