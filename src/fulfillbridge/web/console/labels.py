"""The console's shipping forms and documents for one work order: buy a label for a
package, print it (PDF or ZPL, and a parcel's customs form), void it, and ship the
labelled packages. Each form calls the same ``flows.shipping`` function as the API and
comes back to the work page with a one-line result."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from fulfillbridge.core.carriers import ShippingError
from fulfillbridge.core.errors import FulfillbridgeError
from fulfillbridge.flows import shipping
from fulfillbridge.web.api import MAX_ID
from fulfillbridge.web.console import access, auth, render
from fulfillbridge.web.console.access import field
from fulfillbridge.web.dependencies import AppDatabase
from fulfillbridge.web.errors import http_status

router = APIRouter(include_in_schema=False)

WorkId = Annotated[int, Path(ge=1, le=MAX_ID)]
LabelId = Annotated[int, Path(ge=1, le=MAX_ID)]
DocumentKind = Literal["pdf", "zpl"]


def _number(fields: dict[str, list[str]], name: str) -> float | None:
    text = field(fields, name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ShippingError(f"{name.replace('_', ' ')} {text!r} is not a number") from None
    if not 0 < value <= 1_000_000:
        raise ShippingError(f"{name.replace('_', ' ')} must be above 0")
    return value


def label_request(fields: dict[str, list[str]]) -> shipping.LabelRequest:
    """The buy form's fields as the request the API builds from JSON; empty fields take
    the same defaults (everything left to ship, the service the shipping rules chose)."""
    label_format = field(fields, "label_format", "PDF").upper()
    if label_format not in ("PDF", "ZPL"):
        raise ShippingError(f"label format {label_format!r} is not PDF or ZPL")
    return shipping.LabelRequest(
        package=field(fields, "package"),
        service=field(fields, "service") or None,
        account=field(fields, "account") or None,
        weight_grams=_number(fields, "weight_grams"),
        length_cm=_number(fields, "length_cm"),
        width_cm=_number(fields, "width_cm"),
        height_cm=_number(fields, "height_cm"),
        label_format=label_format,
    )


def _label_ids(fields: dict[str, list[str]]) -> list[int]:
    chosen = fields.get("label", [])
    if not all(value.isdigit() and 0 < int(value) <= MAX_ID for value in chosen):
        raise ShippingError("a chosen label is not a label id")
    return [int(value) for value in chosen]


@router.post("/console/work/{work_id}/labels")
async def buy(work_id: WorkId, request: Request, database: AppDatabase) -> Response:
    checked = await access.form_viewer(request, database)
    if isinstance(checked, Response):
        return checked
    viewer, fields = checked
    back = f"/console/work/{work_id}"
    try:
        bought = await shipping.buy_label(
            database, work_id, label_request(fields), actor=viewer.actor, stores=viewer.stores
        )
    except FulfillbridgeError as exc:
        return access.redirect(back, "error", f"label: {exc.message}")
    label = bought.label
    said = "bought" if bought.bought_now else "already bought, nothing paid again"
    return access.redirect(
        back,
        "ok",
        f"label for {label.package_key!r} {said}: {label.company} {label.tracking_number}",
    )


@router.post("/console/work/{work_id}/labels/{label_id}/void")
async def void(
    work_id: WorkId, label_id: LabelId, request: Request, database: AppDatabase
) -> Response:
    checked = await access.form_viewer(request, database)
    if isinstance(checked, Response):
        return checked
    viewer, _ = checked
    back = f"/console/work/{work_id}"
    try:
        voided = await shipping.void_label(database, work_id, label_id, stores=viewer.stores)
    except FulfillbridgeError as exc:
        return access.redirect(back, "error", f"void: {exc.message}")
    return access.redirect(back, "ok", f"label {voided['id']} voided at the carrier")


@router.post("/console/work/{work_id}/labels/ship")
async def ship(work_id: WorkId, request: Request, database: AppDatabase) -> Response:
    checked = await access.form_viewer(request, database)
    if isinstance(checked, Response):
        return checked
    viewer, fields = checked
    back = f"/console/work/{work_id}"
    try:
        result = await shipping.ship_labels(
            database,
            request.app.state.settings,
            work_id,
            _label_ids(fields),
            actor=viewer.actor,
            notify_customer=bool(field(fields, "notify")),
            stores=viewer.stores,
        )
    except FulfillbridgeError as exc:
        return access.redirect(back, "error", f"ship labels: {exc.message}")
    message = f"{result.row.order_name}: labelled packages shipped; now {result.row.state}"
    if not result.applied:
        message = f"{result.row.order_name}: these labels were shipped already"
    elif result.queued:
        message += f" ({len(result.queued)} write(s) to Shopify queued)"
    return access.redirect(back, "ok", message)


async def _document(
    request: Request, database: AppDatabase, work_id: int, label_id: int, kind: str
) -> Response:
    viewer = await access.viewer_or_signin(request, database)
    if not isinstance(viewer, auth.Viewer):
        return viewer
    try:
        document = await shipping.label_document(
            database, work_id, label_id, kind, stores=viewer.stores
        )
    except FulfillbridgeError as exc:
        return render.page(
            request, "error.html", viewer=viewer, status=http_status(exc), message=exc.message
        )
    return Response(
        document.content,
        media_type=document.media_type,
        headers={"Content-Disposition": f'inline; filename="{document.filename}"'},
    )


@router.get("/console/work/{work_id}/labels/{label_id}.{kind}")
async def document(
    work_id: WorkId,
    label_id: LabelId,
    kind: DocumentKind,
    request: Request,
    database: AppDatabase,
) -> Response:
    return await _document(request, database, work_id, label_id, kind)


@router.get("/console/work/{work_id}/labels/{label_id}/customs.pdf")
async def customs(
    work_id: WorkId, label_id: LabelId, request: Request, database: AppDatabase
) -> Response:
    return await _document(request, database, work_id, label_id, "customs")
