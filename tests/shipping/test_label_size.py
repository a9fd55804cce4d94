"""A label bought from the UPS twin is stored as a compact PDF: one 4x6 in page whose image
has exactly the pixels karrio's own rendering of UPS's GIF has (300 dpi), compressed
losslessly instead of written out as hexadecimal text (about 4.4 MB)."""

from __future__ import annotations

import base64
import io
import re

import httpx
import karrio.lib as karrio_lib
import pypdf
from sqlalchemy import select

from fulfillbridge.store.models import LabelRow
from tests.shipping.conftest import TWIN_SECRET, Shop

MAX_LABEL_BYTES = 64 * 1024
MIN_DPI = 203  # thermal label printers print at 203 dpi or finer


def _carrier_gif(shop: Shop, client_id: str, tracking_number: str) -> bytes:
    """The label image as UPS sent it, fetched again through UPS's Label Recovery API."""
    token = httpx.post(
        f"{shop.twin_url}/security/v1/oauth/token",
        auth=(client_id, TWIN_SECRET),
        data={"grant_type": "client_credentials"},
    ).json()["access_token"]
    recovered = httpx.post(
        f"{shop.twin_url}/api/labels/v1/recovery",
        headers={"Authorization": f"Bearer {token}"},
        json={"LabelRecoveryRequest": {"TrackingNumber": tracking_number}},
    ).json()
    image = recovered["LabelRecoveryResponse"]["LabelResults"]["LabelImage"]
    assert image["LabelImageFormat"]["Code"] == "GIF"
    return base64.b64decode(image["GraphicImage"])


def _karrio_grey_pixels(gif: bytes) -> tuple[int, int, bytes]:
    """The pixels of karrio's PDF of the GIF (a palette image in hexadecimal), as greys."""
    pdf = base64.b64decode(
        karrio_lib.image_to_pdf(
            base64.b64encode(gif).decode(), rotate=-90, resize=dict(height=1800, width=1200)
        )
    )
    header = re.search(
        rb"/Width (\d+)\s*/Height (\d+).*?/ColorSpace \[ /Indexed /DeviceRGB \d+ <([0-9A-F]+)> \]",
        pdf,
        re.DOTALL,
    )
    assert header is not None, pdf[:400]
    palette = bytes.fromhex(header.group(3).decode())
    start = pdf.index(b"stream\n", header.end()) + len(b"stream\n")
    indexes = bytes.fromhex(
        pdf[start : pdf.index(b"endstream", start)].decode().rstrip().rstrip(">")
    )
    assert all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette), 3))
    return int(header.group(1)), int(header.group(2)), bytes(palette[3 * i] for i in indexes)


async def test_a_bought_label_is_a_small_pdf_with_karrios_pixels(shop: Shop, twin) -> None:
    work_id, _ = await shop.work()
    base = f"/api/v1/work/{work_id}"
    async with shop.http() as http:
        bought = await http.post(f"{base}/labels", json={"package": "box-1"})
        assert bought.status_code == 201, bought.text
        label = bought.json()["label"]
        served = await http.get(f"{base}/labels/{label['id']}.pdf")
    assert served.status_code == 200
    pdf = served.content
    assert len(pdf) <= MAX_LABEL_BYTES, f"label PDF is {len(pdf)} bytes"
    async with shop.database.transaction() as session:
        stored = await session.scalar(select(LabelRow.label_data).where(LabelRow.id == label["id"]))
    assert stored == pdf  # what the database keeps is the compact PDF itself

    reader = pypdf.PdfReader(io.BytesIO(pdf), strict=True)
    (page,) = reader.pages
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (288, 432)  # 4x6 in
    (image,) = page.images
    picture = image.image
    assert picture.width / 4 >= MIN_DPI and picture.height / 6 >= MIN_DPI

    # Lossless: the same pixels karrio's 4.4 MB PDF of the carrier's GIF shows.
    gif = _carrier_gif(shop, twin.client_id, label["tracking_number"])
    width, height, greys = _karrio_grey_pixels(gif)
    assert (width, height) == picture.size
    assert picture.convert("L").tobytes() == greys
    assert 0 in greys and 255 in greys  # a label, not a blank page


async def test_a_label_found_again_after_a_lost_answer_is_small_too(shop: Shop) -> None:
    work_id, _ = await shop.work()
    base = f"/api/v1/work/{work_id}"
    httpx.post(f"{shop.twin_url}/__twin/lose-next-answer").raise_for_status()
    async with shop.http() as http:
        found = await http.post(f"{base}/labels", json={"package": "box-1"})
        assert found.status_code == 201, found.text
        label = found.json()["label"]
        pdf = (await http.get(f"{base}/labels/{label['id']}.pdf")).content
    assert shop.twin_summary()["purchases"] == 1  # recovered, not bought twice
    assert len(pdf) <= MAX_LABEL_BYTES
    (page,) = pypdf.PdfReader(io.BytesIO(pdf), strict=True).pages
    (image,) = page.images
    assert image.image.size == (1200, 1800)


def test_a_transparent_label_image_prints_on_white_paper() -> None:
    from PIL import Image, ImageDraw

    from fulfillbridge.carriers._label_pdf import label_pdf

    landscape = Image.new("RGBA", (1200, 800), (0, 0, 0, 0))  # transparent: black beneath
    ImageDraw.Draw(landscape).rectangle((100, 100, 199, 699), fill=(0, 0, 0, 255))
    png = io.BytesIO()
    landscape.save(png, format="PNG")
    (page,) = pypdf.PdfReader(io.BytesIO(label_pdf(png.getvalue())), strict=True).pages
    picture = page.images[0].image.convert("L")
    assert picture.size == (1200, 1800)  # turned upright, 300 dpi on 4x6 in
    assert picture.getpixel((0, 0)) == 255  # paper, not the black under the transparency
    assert picture.getpixel((600, 225)) == 0  # the bar, turned clockwise with the page
