"""The console's charts are SVG drawn from the figures given: one bar per non-zero figure,
heights in proportion, a broken line where an hour has no figure, names escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fulfillbridge.web.console import charts


def _heights(svg: str, cls: str) -> list[float]:
    return [float(h) for h in re.findall(rf'<rect class="{cls}"[^>]* height="([\d.]+)"', svg)]


def test_bars_are_in_proportion_and_zero_draws_nothing() -> None:
    svg = str(
        charts.grouped_bars("in & out", ["a", "b", "c"], [("in", [2, 0, 4]), ("out", [1, 1, 0])])
    )
    assert svg.startswith('<svg class="chart"') and "<title>in &amp; out</title>" in svg
    two, four = _heights(svg, "s1")
    assert abs(four / two - 2.0) < 0.01 and len(_heights(svg, "s2")) == 2
    assert "c in: 4" in svg


def test_lines_break_where_there_is_no_figure() -> None:
    svg = str(charts.lines("latency", ["0h", "1h", "2h", "3h"], [("p50", [1.0, None, 3.0, 4.0])]))
    assert svg.count("<circle") == 3
    assert svg.count("<polyline") == 1  # the lone first point draws no line


def test_backlog_and_hour_labels() -> None:
    svg = str(charts.horizontal_bars("backlog", {"accepted": 3, "<on_hold>": 1}))
    assert "&lt;on_hold&gt;" in svg and ">3</text>" in svg
    assert "nothing open" in str(charts.horizontal_bars("backlog", {}))
    assert charts.hour_labels([datetime(2026, 1, 1, 7, tzinfo=UTC)]) == ["07h"]
