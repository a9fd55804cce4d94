"""The operation's API for shipping: carrier accounts, rates and labels for a work order's
packages, printing a label, shipping labelled packages, and a shipment's tracking events.
Thin: each route checks its body and calls ``flows.shipping`` or ``flows.tracking``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fulfillbridge.flows import shipping, tracking
from fulfillbridge.flows.actions import ShipLine, shipment_view
from fulfillbridge.flows.work_views import json_ready
from fulfillbridge.web.api import ERRORS, MAX_ID, Key, ShipmentId, StrictQuery, WorkId
from fulfillbridge.web.dependencies import app_database

router = APIRouter(prefix="/api/v1", tags=["shipping"])
# What carriers call: their tracking webhooks, admitted by the account's token.
carrier_hooks = APIRouter(tags=["shipping"])

LabelId = Annotated[int, Path(ge=1, le=MAX_ID, description="The label's id.")]
Text = Annotated[str, Field(max_length=255)]


class ShipFrom(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = ""
    company: Text = ""
    address1: Text = Field(min_length=1)
    address2: Text = ""
    city: Text = Field(min_length=1)
    province_code: Text = ""
    zip: Text = ""
    country_code: str = Field(min_length=2, max_length=2)
    phone: Text = ""
    email: Text = ""


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    carrier: str = Field(
        min_length=1, max_length=32, description="The carrier: `ups`, `shiprocket` or `clickpost`."
    )
    credentials: dict[Text, Text] = Field(
        description="The carrier's API credentials (UPS: client_id, client_secret; "
        "Shiprocket: email, password; Clickpost: username, key; the aggregators also take "
        "webhook_token, the token their tracking webhooks carry); stored encrypted, never "
        "shown again.",
        max_length=10,
    )
    account_number: Text = ""
    store: str | None = Field(
        default=None, max_length=64, description="The store it serves; none: every store."
    )
    base_url: str | None = Field(
        default=None, max_length=500, description="Where the carrier's API is, if not its own."
    )
    test_mode: bool = False
    ship_from: ShipFrom


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=1, le=1_000_000)
    line_id: str | None = Field(default=None, max_length=255)
    sku: str | None = Field(default=None, max_length=255)


class PackageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    package: str = Field(
        min_length=1,
        max_length=128,
        description="Your name for the box, unique in the work order: buying the same "
        "package again returns the label already bought.",
    )
    lines: list[LineIn] | None = Field(
        default=None, max_length=250, description="What is in the box; none: all that is left."
    )
    service: str | None = Field(default=None, max_length=64)
    account: str | None = Field(default=None, max_length=64)
    weight_grams: float | None = Field(default=None, gt=0, le=1_000_000)
    length_cm: float | None = Field(default=None, gt=0, le=1000)
    width_cm: float | None = Field(default=None, gt=0, le=1000)
    height_cm: float | None = Field(default=None, gt=0, le=1000)
    label_format: Literal["PDF", "ZPL"] = "PDF"

    def request(self) -> shipping.LabelRequest:
        lines = (
            tuple(ShipLine(x.quantity, line_id=x.line_id, sku=x.sku) for x in self.lines)
            if self.lines
            else None
        )
        return shipping.LabelRequest(
            package=self.package,
            lines=lines,
            service=self.service,
            account=self.account,
            weight_grams=self.weight_grams,
            length_cm=self.length_cm,
            width_cm=self.width_cm,
            height_cm=self.height_cm,
            label_format=self.label_format,
        )


class ShipLabelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[int] = Field(min_length=1, max_length=250)
    notify_customer: bool = True


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(
        min_length=1,
        max_length=32,
        description="Shopify's FulfillmentEventStatus: IN_TRANSIT, OUT_FOR_DELIVERY, "
        "ATTEMPTED_DELIVERY, DELAYED, DELIVERED or FAILURE.",
    )
    happened_at: AwareDatetime | None = None
    message: str = Field(default="", max_length=255)
    estimated_delivery_at: AwareDatetime | None = None


@router.post(
    "/carrier-accounts",
    status_code=201,
    responses=ERRORS,
    summary="Add a carrier account",
)
async def post_account(request: Request, key: Key, body: AccountIn) -> Any:
    """Add an account at a carrier, for one store or (with a key for every store) for all;
    its credentials are stored encrypted."""
    allowed = key.allowed()
    if allowed is not None and (body.store is None or body.store not in allowed):
        raise HTTPException(403, "this API key may add carrier accounts only for its stores")
    account = await shipping.add_account(
        app_database(request),
        name=body.name,
        carrier=body.carrier,
        credentials=body.credentials,
        ship_from=body.ship_from.model_dump(),
        store=body.store,
        account_number=body.account_number,
        base_url=body.base_url,
        test_mode=body.test_mode,
    )
    return JSONResponse(account, status_code=201)


@router.get(
    "/carrier-accounts",
    responses=ERRORS,
    summary="List carrier accounts",
    dependencies=StrictQuery,
)
async def get_accounts(request: Request, key: Key) -> Any:
    """The carrier accounts this key's stores can use (credentials are never shown)."""
    allowed = key.allowed()
    accounts = await shipping.list_accounts(app_database(request))
    return [a for a in accounts if allowed is None or a["store"] is None or a["store"] in allowed]


@router.put(
    "/stores/{store}/tracking-url-templates",
    responses=ERRORS,
    summary="Set a store's tracking-URL templates",
)
async def put_templates(
    request: Request,
    key: Key,
    store: Annotated[str, Path(min_length=1, max_length=64)],
    body: dict[Annotated[str, Field(max_length=255)], Annotated[str, Field(max_length=1000)]],
) -> Any:
    """Links for carriers Shopify does not recognise: carrier name -> URL with `{number}`
    where the tracking number goes. Replaces the store's templates."""
    allowed = key.allowed()
    if allowed is not None and store not in allowed:
        raise HTTPException(404, f"no store {store!r}")
    return {
        "templates": await shipping.set_tracking_url_templates(app_database(request), store, body)
    }


@router.post(
    "/work/{work_id}/rates",
    responses=ERRORS,
    summary="Rate a package",
)
async def post_rates(request: Request, key: Key, work_id: WorkId, body: PackageIn) -> Any:
    """What each of the carrier's services would cost for this package of the work order
    (weights from its lines unless given, customs data for international parcels)."""
    found = await shipping.rates(
        app_database(request), work_id, body.request(), stores=key.allowed()
    )
    return {
        "rates": [
            {
                "service": r.service,
                "name": r.name,
                "amount": r.amount,
                "currency": r.currency,
                "transit_days": r.transit_days,
            }
            for r in found
        ]
    }


@router.post(
    "/work/{work_id}/labels",
    status_code=201,
    responses=ERRORS,
    summary="Buy a package's label",
)
async def post_label(request: Request, key: Key, work_id: WorkId, body: PackageIn) -> Any:
    """Buy the label for one package (at most once per package name: a repeat answers 200
    with the label bought before). The service is the one given, else the one the store's
    shipping rules chose for the order."""
    bought = await shipping.buy_label(
        app_database(request),
        work_id,
        body.request(),
        actor=f"api:{key.name}",
        stores=key.allowed(),
    )
    return JSONResponse(
        {"label": shipping.label_view(bought.label), "bought_now": bought.bought_now},
        status_code=201 if bought.bought_now else 200,
    )


@router.get(
    "/work/{work_id}/labels",
    responses=ERRORS,
    summary="List a work order's labels",
    dependencies=StrictQuery,
)
async def get_labels(request: Request, key: Key, work_id: WorkId) -> Any:
    """Every label bought (or tried) for the work order."""
    return {
        "labels": await shipping.list_labels(app_database(request), work_id, stores=key.allowed())
    }


async def _document(request: Request, key: Key, work_id: int, label_id: int, kind: str) -> Response:
    document = await shipping.label_document(
        app_database(request), work_id, label_id, kind, stores=key.allowed()
    )
    return Response(
        document.content,
        media_type=document.media_type,
        headers={"Content-Disposition": f'inline; filename="{document.filename}"'},
    )


@router.get(
    "/work/{work_id}/labels/{label_id}.pdf",
    responses=ERRORS,
    summary="Print a label (PDF)",
    dependencies=StrictQuery,
    response_class=Response,
)
async def get_label_pdf(request: Request, key: Key, work_id: WorkId, label_id: LabelId) -> Response:
    """The 4x6 in label as a PDF."""
    return await _document(request, key, work_id, label_id, "pdf")


@router.get(
    "/work/{work_id}/labels/{label_id}.zpl",
    responses=ERRORS,
    summary="Print a label (ZPL)",
    dependencies=StrictQuery,
    response_class=Response,
)
async def get_label_zpl(request: Request, key: Key, work_id: WorkId, label_id: LabelId) -> Response:
    """The 4x6 in label as ZPL, for thermal printers."""
    return await _document(request, key, work_id, label_id, "zpl")


@router.get(
    "/work/{work_id}/labels/{label_id}/customs.pdf",
    responses=ERRORS,
    summary="Print a label's customs form",
    dependencies=StrictQuery,
    response_class=Response,
)
async def get_customs(request: Request, key: Key, work_id: WorkId, label_id: LabelId) -> Response:
    """The commercial invoice of an international parcel, as the carrier made it."""
    return await _document(request, key, work_id, label_id, "customs")


@router.post(
    "/work/{work_id}/labels/{label_id}/void",
    responses=ERRORS,
    summary="Void a label",
)
async def post_void(request: Request, key: Key, work_id: WorkId, label_id: LabelId) -> Any:
    """Void a bought label that has not shipped; the carrier refuses once it has the
    parcel (409)."""
    return {
        "label": await shipping.void_label(
            app_database(request), work_id, label_id, stores=key.allowed()
        )
    }


@router.post(
    "/work/{work_id}/labels/ship",
    status_code=201,
    responses=ERRORS,
    summary="Ship labelled packages",
)
async def post_ship_labels(request: Request, key: Key, work_id: WorkId, body: ShipLabelsIn) -> Any:
    """Report the packages of these labels to Shopify as shipped: one fulfillment per
    carrier, with the tracking numbers; the carrier is then followed to the door. The same
    labels again answer 200 with the shipment recorded before."""
    result = await shipping.ship_labels(
        app_database(request),
        request.app.state.settings,
        work_id,
        body.labels,
        actor=f"api:{key.name}",
        notify_customer=body.notify_customer,
        stores=key.allowed(),
    )
    shipments = result.shipments or ([result.shipment] if result.shipment else [])
    return JSONResponse(
        {
            "applied": result.applied,
            "shipments": [json_ready(shipment_view(s, result.row)) for s in shipments],
        },
        status_code=201 if result.applied else 200,
    )


@router.post(
    "/work/{work_id}/shipments/{shipment_id}/events",
    status_code=201,
    responses=ERRORS,
    summary="Report a shipment's tracking event",
)
async def post_event(
    request: Request, key: Key, work_id: WorkId, shipment_id: ShipmentId, body: EventIn
) -> Any:
    """Report where a shipment is (in transit, out for delivery, delivered ...); sent to
    Shopify as a fulfillment event, once, after the events before it. DELIVERED on every
    shipment marks the work delivered."""
    answer = await tracking.post_event(
        app_database(request),
        work_id,
        shipment_id,
        status=body.status,
        happened_at=body.happened_at,
        message=body.message,
        estimated_delivery_at=body.estimated_delivery_at,
        actor=f"api:{key.name}",
        stores=key.allowed(),
    )
    return JSONResponse(answer, status_code=201 if answer["applied"] else 200)


@router.get(
    "/work/{work_id}/shipments/{shipment_id}/events",
    responses=ERRORS,
    summary="List a shipment's tracking events",
    dependencies=StrictQuery,
)
async def get_events(request: Request, key: Key, work_id: WorkId, shipment_id: ShipmentId) -> Any:
    """The scans passed on to Shopify for this shipment, oldest first."""
    return {
        "events": await tracking.list_events(
            app_database(request), work_id, shipment_id, stores=key.allowed()
        )
    }


@carrier_hooks.post(
    "/webhooks/carriers/{account}",
    responses={401: {"description": "The token is missing or wrong."}, 422: {}},
    summary="A carrier's tracking webhook",
)
async def post_carrier_webhook(
    request: Request, account: Annotated[str, Path(min_length=1, max_length=64)]
) -> Any:
    """Where Shiprocket (header `x-api-key`) and Clickpost (header `webhook_key`) post
    tracking updates for the carrier account named in the path. The header must carry the
    account's `webhook_token`; the scans then go to Shopify exactly as polled ones do."""
    token = request.headers.get("x-api-key") or request.headers.get("webhook_key")
    return await tracking.carrier_webhook(
        app_database(request), account, token, await request.body()
    )
