"""Reading a Code 128 barcode back from a PDF page's drawing: the bars are filled
rectangles of one height; their widths and the gaps between them, in modules, spell the
symbols (Code 128's published width patterns, taken from reportlab's table)."""

from __future__ import annotations

import re

from reportlab.graphics.barcode.code128 import _patterns

_RECT = re.compile(rb"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re")
START_B, START_C, TO_B, TO_C, STOP = 104, 105, 100, 99, 106


def _widths(pattern: str) -> tuple[int, ...]:
    return tuple(ord(c.lower()) - ord("a") + 1 for c in pattern)


_BY_WIDTHS = {_widths(p): value for value, p in _patterns.items() if isinstance(value, int)}


def read_code128(content: bytes, bar_height: float) -> list[str]:
    """Every Code 128 value drawn with bars ``bar_height`` points high, top of page first."""
    # Each barcode is drawn in its own translated frame ("... cm"), bars at y = 0 in it.
    rows: list[list[tuple[float, float]]] = []
    for frame in content.split(b" cm\n"):
        bars = [
            (x, w)
            for x, _y, w, h in (tuple(float(v) for v in m.groups()) for m in _RECT.finditer(frame))
            if abs(h - bar_height) < 0.5 and w > 0
        ]
        if bars:
            rows.append(bars)
    found = []
    for bars in rows:
        bars.sort()
        module = min(w for _, w in bars)
        runs: list[int] = []
        for i, (x, w) in enumerate(bars):
            runs.append(round(w / module))
            if i + 1 < len(bars):
                runs.append(round((bars[i + 1][0] - x - w) / module))
        symbols = [_BY_WIDTHS.get(tuple(runs[i : i + 6])) for i in range(0, len(runs) - 7, 6)]
        found.append(_decode(symbols))
    return found


def _decode(symbols: list[int | None]) -> str:
    if None in symbols or not symbols:
        raise AssertionError(f"not a Code 128 barcode: {symbols}")
    values = [s for s in symbols if s is not None]
    start, *data, check = values
    total = start + sum(i * v for i, v in enumerate(data, 1))
    assert total % 103 == check, "the check symbol does not match"
    text, digits = "", start == START_C
    for value in data:
        if value == TO_C:
            digits = True
        elif value == TO_B:
            digits = False
        else:
            text += f"{value:02d}" if digits else chr(value + 32)
    return text
