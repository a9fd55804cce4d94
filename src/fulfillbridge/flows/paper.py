"""Paper for the floor, as PDF: a pick list (what to take from the shelves for a set of
work, grouped by warehouse and SKU) and packing slips (one page per order: ship-to, lines
with their personalisation, gift message and notes). Both carry Code 128 barcodes (SKUs on
the pick list, the order on the slip) so a scanner can check what was picked and packed.

Built from the work views (``flows.work_views``), the same data the API shows; the console,
the API and the CLI call :func:`load_views` then :func:`pick_list` or
:func:`packing_slips`.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.flows.work_commands import INVALID, ActionError
from fulfillbridge.flows.work_queries import get_work
from fulfillbridge.flows.work_views import work_view

MAX_IDS = 250

_STYLES = getSampleStyleSheet()
_BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=9, leading=11)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=7.5, leading=9, textColor=colors.grey)
_TITLE = _STYLES["Title"]
_HEADING = _STYLES["Heading2"]


def parse_ids(values: Iterable[str]) -> list[int]:
    """Work ids from ``1,2`` or repeated values, in order, without repeats; an error names
    the value that is not an id."""
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or not 0 < int(part) <= 2_147_483_647:
                raise ActionError(f"{part!r} is not a work id", status=INVALID, field="ids")
            if int(part) not in ids:
                ids.append(int(part))
    if not ids:
        raise ActionError("give at least one work id (ids=1,2,3)", status=INVALID, field="ids")
    if len(ids) > MAX_IDS:
        raise ActionError(f"at most {MAX_IDS} work ids at a time", status=INVALID, field="ids")
    return ids


async def load_views(
    session: AsyncSession, ids: Sequence[int], *, stores: Collection[str] | None
) -> list[dict[str, Any]]:
    """The work views of ``ids`` (404 for one that does not exist or is not visible)."""
    views = []
    for work_id in ids:
        row, store = await get_work(session, work_id, stores=stores)
        views.append(work_view(row, store))
    return views


def _text(value: Any) -> str:
    # The standard PDF fonts cover Latin-1; anything else becomes "?" rather than a box.
    return escape(str(value or "")).encode("latin-1", "replace").decode("latin-1")


def line_title(line: dict[str, Any]) -> str:
    """A line's title with its variant, once: intake's title already names the variant
    ("Classic Tee - White / XL"), as Shopify's line item name does."""
    title, variant = line.get("title") or "", line.get("variant_title") or ""
    if variant and variant not in title:
        return " / ".join(t for t in (title, variant) if t)
    return title


def _p(value: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(value, style)


def _barcode(value: str, height: float = 9 * mm, width: float = 40 * mm) -> Flowable | None:
    """A Code 128 of ``value`` at most ``width`` wide (narrower bars for long values)."""
    if not value or not value.isascii() or not value.isprintable() or len(value) > 60:
        return None
    bar = 0.3 * mm
    code = Code128(value, barHeight=height, barWidth=bar, humanReadable=False, quiet=False)
    if code.width > width:
        bar *= width / code.width
        code = Code128(value, barHeight=height, barWidth=bar, humanReadable=False, quiet=False)
    return code


def _document(buffer: io.BytesIO, title: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author="fulfillbridge",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )


def _grid(rows: list[list[Any]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
            ]
        )
    )
    return table


def _stamp(now: datetime | None) -> str:
    return f"{(now or datetime.now(UTC)):%Y-%m-%d %H:%M} UTC"


@dataclass
class _Pick:
    sku: str
    title: str
    quantity: int = 0
    orders: list[str] = field(default_factory=list)


def pick_list(views: Sequence[dict[str, Any]], *, now: datetime | None = None) -> bytes:
    """What to pick for ``views``: per warehouse, one row per SKU with the units still to
    ship and the orders they go to."""
    groups: dict[str, dict[str, _Pick]] = {}
    for view in views:
        where = view.get("warehouse") or view.get("location_id") or "unassigned"
        for line in view["lines"]:
            units = line["remaining"]
            if units <= 0:
                continue
            sku = line["sku"] or ""
            title = line_title(line)
            pick = groups.setdefault(where, {}).setdefault(sku or f"?{title}", _Pick(sku, title))
            pick.quantity += units
            pick.orders.append(f"{view['order_name']} x{units}")
    buffer = io.BytesIO()
    story: list[Flowable] = [
        _p("Pick list", _TITLE),
        _p(
            f"{len(views)} order(s): {_text(', '.join(v['order_name'] for v in views))}. "
            f"Printed {_stamp(now)}.",
            _SMALL,
        ),
    ]
    if not groups:
        story.append(_p("Nothing left to pick: every line is shipped."))
    for where in sorted(groups):
        story += [Spacer(1, 4 * mm), _p(f"Warehouse {_text(where)}", _HEADING)]
        rows: list[list[Any]] = [["SKU", "Barcode", "Item", "Qty", "Orders"]]
        for key in sorted(groups[where]):
            pick = groups[where][key]
            rows.append(
                [
                    _p(_text(pick.sku or "(no SKU)")),
                    _barcode(pick.sku) or "",
                    _p(_text(pick.title)),
                    _p(f"<b>{pick.quantity}</b>"),
                    _p(_text(", ".join(pick.orders))),
                ]
            )
        story.append(_grid(rows, [38 * mm, 44 * mm, 45 * mm, 12 * mm, 41 * mm]))
    _document(buffer, "Pick list").build(story)
    return buffer.getvalue()


def _address(address: dict[str, Any] | None) -> str:
    if not address:
        return "(no shipping address)"
    city = " ".join(
        str(address.get(k) or "") for k in ("zip", "city", "province_code") if address.get(k)
    )
    parts = [
        address.get("name"),
        address.get("company"),
        address.get("address1"),
        address.get("address2"),
        city,
        address.get("country_code"),
        address.get("phone"),
    ]
    return "<br/>".join(_text(p) for p in parts if p)


def gift_message(view: dict[str, Any]) -> str | None:
    """The gift message a checkout left in the order's attributes, if any."""
    for pair in view.get("note_attributes") or []:
        if "gift" in str(pair.get("key", "")).lower() and str(pair.get("value", "")).strip():
            return str(pair["value"])
    return None


def _line_text(line: dict[str, Any]) -> str:
    text = f"<b>{_text(line['title'])}</b>"
    variant = line["variant_title"]
    if variant and variant not in (line["title"] or ""):
        text += f" / {_text(variant)}"
    details = [f"{_text(o['name'])}: {_text(o['value'])}" for o in line["options"]]
    details += [
        f"{_text(p['key'])}: {_text(p['value'])}"
        for p in line["properties"]
        if not str(p["key"]).startswith("_")
    ]
    if details:
        text += "<br/>" + "<br/>".join(details)
    return text


def packing_slips(views: Sequence[dict[str, Any]], *, now: datetime | None = None) -> bytes:
    """One page per order: the order's barcode, ship-to, lines to pack with their
    personalisation, the gift message and the order's note."""
    buffer = io.BytesIO()
    story: list[Flowable] = []
    for n, view in enumerate(views):
        if n:
            story.append(PageBreak())
        story += [
            _p(f"Packing slip {_text(view['order_name'])}", _TITLE),
            _p(
                f"Store {_text(view['store'])} - work {view['id']} - printed {_stamp(now)}",
                _SMALL,
            ),
        ]
        code = _barcode(view["order_name"], 12 * mm, 80 * mm)
        if code is not None:
            story.append(code)
        delivery = view.get("delivery") or {}
        method = delivery.get("presented_name") or delivery.get("shipping_title") or ""
        head = [
            [_p("<b>Ship to</b>"), _p("<b>Delivery</b>")],
            [
                _p(_address(view.get("shipping_address"))),
                _p(
                    _text(method)
                    + (f"<br/>{_text(delivery['carrier'])}" if delivery.get("carrier") else "")
                ),
            ],
        ]
        story += [Spacer(1, 3 * mm), _grid(head, [90 * mm, 90 * mm]), Spacer(1, 4 * mm)]
        rows: list[list[Any]] = [["SKU", "Item", "Qty"]]
        for line in view["lines"]:
            units = line["remaining"] or line["quantity"]
            rows.append(
                [_p(_text(line["sku"] or "(no SKU)")), _p(_line_text(line)), _p(f"<b>{units}</b>")]
            )
        story.append(_grid(rows, [40 * mm, 125 * mm, 15 * mm]))
        gift = gift_message(view)
        if gift:
            story += [Spacer(1, 4 * mm), _p("Gift message", _HEADING), _p(_text(gift))]
        if view.get("note"):
            story += [Spacer(1, 4 * mm), _p("Notes", _HEADING), _p(_text(view["note"]))]
    if not story:
        story.append(_p("No orders."))
    _document(buffer, "Packing slips").build(story)
    return buffer.getvalue()
