"""Charts as inline SVG, drawn on the server: no script and nothing fetched. Colours come
from the console's stylesheet through classes (s1, s2, ...), so the page's policy needs no
inline style. Each chart scales to its container's width (viewBox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from markupsafe import Markup

WIDTH = 600
HEIGHT = 180
LEFT = 44
BOTTOM = 22
TOP = 10


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** max(len(str(int(value))) - 1, 0)
    for factor in (1, 2, 5, 10):
        if value <= factor * step:
            return float(factor * step)
    return float(10 * step)


def _frame(title: str, top: float, unit: str, labels: Sequence[str], body: str) -> Markup:
    plot_h = HEIGHT - BOTTOM - TOP
    axis = [
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH}" y2="{TOP + plot_h}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">'
        f"{escape(_figure(top))}{escape(unit)}</text>",
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    if labels:
        step = (WIDTH - LEFT) / len(labels)
        every = max(1, len(labels) // 6)
        for i, label in enumerate(labels):
            if i % every == 0:
                x = LEFT + step * i + step / 2
                axis.append(
                    f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
                    f"{escape(label)}</text>"
                )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(axis)
        + body
        + "</svg>"
    )


def _figure(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def hour_labels(hours: Sequence[datetime]) -> list[str]:
    """UTC hours as labels (the page says the charts are in UTC)."""
    return [f"{h:%H}h" for h in hours]


def grouped_bars(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> Markup:
    """Bars per slot, one per series (legend under the chart in the page)."""
    top = _nice_max(max((max(values, default=0) for _, values in series), default=0))
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(labels), 1)
    bar = max(slot / (len(series) + 1), 1.0)
    body = []
    for n, (name, values) in enumerate(series):
        for i, value in enumerate(values):
            if not value:
                continue
            h = plot_h * value / top
            x = LEFT + slot * i + bar * (n + 0.5)
            body.append(
                f'<rect class="s{n + 1}" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}"><title>{escape(labels[i])} '
                f"{escape(name)}: {value}</title></rect>"
            )
    return _frame(title, top, "", labels, "".join(body))


def lines(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str = "s",
) -> Markup:
    """A line per series; a slot without a figure breaks the line."""
    top = _nice_max(max((v for _, values in series for v in values if v is not None), default=0))
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(labels), 1)
    body = []
    for n, (name, values) in enumerate(series):
        run: list[str] = []
        runs: list[list[str]] = []
        for i, value in enumerate(values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
                continue
            x = LEFT + slot * i + slot / 2
            y = TOP + plot_h - plot_h * value / top
            run.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle class="s{n + 1}" cx="{x:.1f}" cy="{y:.1f}" r="2.5">'
                f"<title>{escape(labels[i])} {escape(name)}: {_figure(value)}{unit}</title>"
                "</circle>"
            )
        if run:
            runs.append(run)
        for points in runs:
            if len(points) > 1:
                body.append(f'<polyline class="l{n + 1}" points="{" ".join(points)}"/>')
    return _frame(title, top, unit, labels, "".join(body))


def horizontal_bars(title: str, values: dict[str, int]) -> Markup:
    """One bar per name (the backlog by state)."""
    rows = max(len(values), 1)
    height = 24 * rows + 8
    top = _nice_max(max(values.values(), default=0))
    label_w = 130
    body = []
    for i, (name, value) in enumerate(values.items()):
        y = 4 + 24 * i
        w = (WIDTH - label_w - 40) * value / top
        body.append(
            f'<text class="tick" x="{label_w - 6}" y="{y + 15}" text-anchor="end">'
            f"{escape(name)}</text>"
            f'<rect class="s1" x="{label_w}" y="{y}" width="{w:.1f}" height="18"/>'
            f'<text class="tick" x="{label_w + w + 4:.1f}" y="{y + 15}">{value}</text>'
        )
    if not values:
        body.append(f'<text class="tick" x="{label_w}" y="20">nothing open</text>')
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )
