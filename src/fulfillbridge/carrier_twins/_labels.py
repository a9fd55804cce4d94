"""A 4x6 in label as the Indian aggregators link to it: a one-page PDF."""

from __future__ import annotations

import io


def label_pdf(carrier: str, courier: str, number: str, lines: list[str]) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("L", (400, 600), 255)  # 4x6 in at 100 dpi
    draw = ImageDraw.Draw(image)
    for row, text in enumerate([carrier, courier, *lines, f"AWB {number}"]):
        draw.text((20, 20 + row * 28), text[:60], fill=0)
    draw.rectangle((20, 420, 380, 560), outline=0, width=4)
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=100.0)
    return out.getvalue()
