"""A carrier's label image as a 4x6 in PDF page, small enough to keep in the database.

karrio turns UPS's GIF into a PDF with Pillow, which writes a palette image as hexadecimal
text: a 1200 x 1800 label becomes about 4.4 MB. This writes the same page with the same
pixels (the image turned upright and scaled to 1200 x 1800, 300 dpi on 4x6 in, nearest
neighbour so bars stay sharp) as one Flate-compressed image, lossless, a few tens of KB.
"""

from __future__ import annotations

import io
import zlib

from PIL import Image

PAGE_POINTS = (288, 432)  # 4 x 6 in at 72 points per inch
LABEL_PIXELS = (1200, 1800)  # 300 dpi on the page, as karrio renders labels


def _upright(image: Image.Image) -> Image.Image:
    """Carriers send the label landscape; the page is portrait (turned clockwise, as
    karrio turns it)."""
    if image.width > image.height:
        image = image.rotate(-90, Image.Resampling.NEAREST, expand=True)
    return image.resize(LABEL_PIXELS, Image.Resampling.NEAREST)


def _pixels(image: Image.Image) -> tuple[Image.Image, str]:
    """The image in a PDF colour space without losing a colour: grey when every colour
    of it is a grey (labels are black and white), else RGB."""
    if image.mode in ("1", "L"):
        return image.convert("L"), "/DeviceGray"
    if image.mode in ("LA", "PA", "RGBA"):
        # Transparent parts are paper: printed white, not whatever colour lies beneath.
        paper = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    if image.mode == "P":
        palette = image.convert("RGB").getcolors(maxcolors=256) or []
        if all(r == g == b for _count, (r, g, b) in palette):
            return image.convert("L"), "/DeviceGray"
    return image.convert("RGB"), "/DeviceRGB"


def label_pdf(image_data: bytes) -> bytes:
    """One 4x6 in PDF page showing the label image (GIF, PNG: anything Pillow reads)."""
    with Image.open(io.BytesIO(image_data)) as opened:
        opened.load()
        picture, colour_space = _pixels(_upright(opened))
    width, height = picture.size
    stream = zlib.compress(picture.tobytes(), 9)
    page_w, page_h = PAGE_POINTS
    drawing = f"q {page_w} 0 0 {page_h} 0 0 cm /Label Do Q".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_w} {page_h}] "
            "/Resources << /XObject << /Label 4 0 R >> >> /Contents 5 0 R >>"
        ).encode(),
        (
            f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
            f"/ColorSpace {colour_space} /BitsPerComponent 8 /Filter /FlateDecode "
            f"/Length {len(stream)} >>\nstream\n"
        ).encode()
        + stream
        + b"\nendstream",
        f"<< /Length {len(drawing)} >>\nstream\n".encode() + drawing + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    table = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n"
    ).encode()
    return bytes(out)
