"""The operation's REST API under ``/api/v1`` (documented in the app's OpenAPI document).

Authentication: ``Authorization: Bearer <API key>`` (see ``fulfillbridge apikey create``).
A key sees only the stores it was created for; work of other stores answers 404, as if it
did not exist. Every POST takes an optional ``Idempotency-Key`` header: repeating a request
with the same key and body replays the first answer without doing anything again; the
same key with a different body is refused with 422. Only successful answers are stored: a
request that failed wrote nothing and may be repeated as it is.

Routes are thin: they parse, call ``flows.actions``, and answer.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.core.work import Tracking, WorkState
from fulfillbridge.flows import actions
from fulfillbridge.flows.work_views import work_detail
from fulfillbridge.store.api_keys import ApiKey, ApiKeyRepository
from fulfillbridge.web.dependencies import app_database
from fulfillbridge.web.idempotency import IdempotencyKey, answer_once

router = APIRouter(prefix="/api/v1", tags=["work"])

MAX_PAGE = 250
MAX_ID = 2_147_483_647  # ids are 32-bit integers in the database
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `fulfillbridge apikey create`, as `Bearer fbk_...`.",
)


# --- times and query parameters shared by every /api/v1 route ----------------------------------


def with_zone(value: datetime) -> datetime:
    """A stored time as an aware UTC time: SQLite hands back times without a zone, and an
    answer must never leave the reader guessing which zone a time is in."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# A time in an answer: always ISO 8601 with its offset.
Zoned = Annotated[datetime, AfterValidator(with_zone)]


def zoned(data: Any) -> Any:
    """``data`` (dicts, lists, plain values) with every time given a zone."""
    if isinstance(data, datetime):
        return with_zone(data)
    if isinstance(data, dict):
        return {key: zoned(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [zoned(value) for value in data]
    return data


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for inner in dependant.dependencies:
        names |= _query_names(inner)
    return names


async def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not take (422 naming them): a misspelt
    filter (``?order_name=`` for ``?state=``) must not silently answer everything."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise HTTPException(
            422,
            f"unknown query parameter(s) {', '.join(unknown)}; this endpoint takes "
            + (", ".join(sorted(known)) or "none"),
        )


StrictQuery = [Depends(known_query_only)]


# --- response models -------------------------------------------------------------------------


class AddressOut(BaseModel):
    name: str = ""
    address1: str = ""
    address2: str = ""
    city: str = ""
    province_code: str = ""
    zip: str = ""
    country_code: str = ""
    phone: str = ""


class KeyValue(BaseModel):
    key: str
    value: str


class OptionOut(BaseModel):
    name: str
    value: str


class LineOut(BaseModel):
    line_id: str = Field(description="Shopify fulfillment-order line item id.")
    sku: str | None
    title: str
    quantity: int
    shipped: int
    remaining: int = Field(description="Units still to ship.")
    requires_shipping: bool
    product_id: str | None = Field(None, description="Shopify Product gid.")
    variant_id: str | None = Field(None, description="Shopify ProductVariant gid.")
    product_title: str = ""
    variant_title: str = ""
    options: list[OptionOut] = Field(default_factory=list, description="e.g. Size: M.")
    vendor: str = ""
    image_url: str | None = None
    properties: list[KeyValue] = Field(
        default_factory=list,
        description="The line's personalisation as the customer entered it (engraving text, "
        "artwork URL, a customiser's recipe id; keys starting with _ are a storefront app's).",
    )
    unit_price: str | None = Field(None, description="Decimal, in the order's currency.")
    discounted_unit_price: str | None = None
    line_total: str | None = Field(None, description="unit_price x quantity.")
    currency: str | None = None
    weight_grams: float | None = None
    hs_code: str | None = Field(None, description="Harmonized System code (customs).")
    country_of_origin: str | None = Field(None, description="ISO country code (customs).")
    metafields: dict[str, Any] = Field(default_factory=dict)


class CustomerOut(BaseModel):
    email: str | None
    phone: str | None
    read: bool = Field(description="False when the store did not grant read_customers.")


class PaymentOut(BaseModel):
    state: str = Field(description="paid, pending, not_payable or unknown.")
    financial_status: str = Field(description="Shopify's financial status, as it says it.")


class DeliveryOut(BaseModel):
    kind: str = Field(description="shipping, pickup, local, none or other.")
    presented_name: str = Field(description="The method the customer chose at checkout.")
    service_code: str
    shipping_title: str
    shipping_code: str
    min_delivery_at: Zoned | None
    max_delivery_at: Zoned | None
    carrier: str | None = Field(description="The operation's carrier (store's rule table).")
    carrier_service: str | None
    mapping_rule: str | None = Field(description="The rule that chose it, or default.")


class WorkItem(BaseModel):
    """One Shopify fulfillment order as the operation works it."""

    id: int = Field(description="The work id used in every other endpoint.")
    store: str
    order_name: str = Field(examples=["#1001"])
    order_id: str = Field(description="Shopify Order gid.")
    fulfillment_order_id: str = Field(description="Shopify FulfillmentOrder gid.")
    mode: str = Field(description="fulfillment_service or order_management.")
    state: WorkState
    stage: str | None
    warehouse: str | None
    location_id: str | None = Field(description="Shopify Location gid the work is assigned to.")
    hold_reason: str | None
    held_by: str | None = Field(
        None, description="fulfillbridge (the operation), merchant, or another app's name."
    )
    problems: list[str] = Field(description="Why the work is an exception, when it is one.")
    flags: list[str] = Field(
        default_factory=list,
        description="What to look at that does not stop the work (address changed after "
        "packing began, payment pending).",
    )
    cancel_requested: bool
    overdue: bool = Field(False, description="The deadline passed with units still to ship.")
    lines: list[LineOut]
    shipping_address: AddressOut | None
    billing_address: AddressOut | None = None
    note: str = ""
    note_attributes: list[KeyValue] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    customer: CustomerOut | None = None
    currency: str | None = None
    payment: PaymentOut | None = None
    delivery: DeliveryOut | None = None
    fulfill_by: Zoned | None = Field(None, description="The deadline Shopify gives.")
    fulfill_at: Zoned | None = Field(None, description="When scheduled work opens.")
    metafields: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(
        default_factory=list, description="What could not be read as it is (a value cut short)."
    )
    created_at: Zoned
    updated_at: Zoned


class TransitionOut(BaseModel):
    at: Zoned
    from_state: str | None
    to_state: str
    stage: str | None
    actor: str = Field(description="Who made the change, e.g. api:<key name>, cli:<user>.")
    detail: dict[str, Any]


class PackageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company: str = Field(min_length=1, max_length=255, description="Carrier, e.g. UPS.")
    number: str = Field(min_length=1, max_length=255, description="Tracking number.")
    url: str | None = Field(
        None, max_length=2000, pattern=r"^https?://\S+$", description="Tracking page URL."
    )
    lines: dict[Annotated[str, Field(max_length=255)], Annotated[int, Field(ge=1)]] | None = Field(
        None,
        max_length=250,
        description="Line id -> units in this package. Needed when a shipment's packages "
        "go with different carriers: Shopify takes one carrier per fulfillment, so each "
        "carrier's packages become a fulfillment of their own.",
    )


class PackageOut(BaseModel):
    # Extra keys kept: "lines" (line id -> units) appears only for packages that gave it.
    model_config = ConfigDict(extra="allow")

    company: str
    number: str
    url: str | None = None


class ShipmentLineOut(BaseModel):
    line_id: str
    sku: str | None
    quantity: int


class ShipmentOut(BaseModel):
    id: int
    work_id: int
    lines: list[ShipmentLineOut]
    packages: list[PackageOut]
    status: str = Field(description="pending until the fulfillment exists in Shopify.")
    fulfillment_id: str | None = Field(description="Shopify Fulfillment gid, once created.")
    delivered_at: Zoned | None
    created_at: Zoned


class WorkDetail(WorkItem):
    transitions: list[TransitionOut]
    shipments: list[ShipmentOut]


class WorkPage(BaseModel):
    items: list[WorkItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null when this is the last page."
    )


class QueuedWrite(BaseModel):
    id: int
    kind: str = Field(description="The Shopify write queued, e.g. create_fulfillment.")


class ActionResponse(BaseModel):
    work: WorkDetail
    shipment: ShipmentOut | None = None
    shipments: list[ShipmentOut] = Field(
        default_factory=list,
        description="Every shipment recorded: one per carrier (the first is `shipment`).",
    )
    queued: list[QueuedWrite] = Field(description="Writes to Shopify queued by this action.")


class Problem(BaseModel):
    detail: str


# --- request models --------------------------------------------------------------------------


HoldReason = StrEnum("HoldReason", {reason: reason for reason in actions.HOLD_REASONS})


class WorkSort(StrEnum):
    UPDATED = "updated"
    DEADLINE = "deadline"


class StageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str = Field(min_length=1, max_length=64, description="A configured stage name.")


class HoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: HoldReason = Field(description="Shopify's FulfillmentHoldReason.")  # type: ignore[valid-type]
    notes: str = Field("", max_length=1000)


class ShipmentLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(None, min_length=1, max_length=255)
    line_id: str | None = Field(None, min_length=1, max_length=255)
    quantity: int = Field(gt=0, le=1_000_000)

    @model_validator(mode="after")
    def _one_reference(self) -> ShipmentLineIn:
        if (self.sku is None) == (self.line_id is None):
            raise ValueError("give exactly one of sku or line_id")
        return self


class ShipmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[ShipmentLineIn] | None = Field(
        None,
        min_length=1,
        max_length=250,
        description="Units to ship; omitted: everything that remains.",
    )
    packages: list[PackageIn] = Field(
        default_factory=list,
        max_length=250,
        description="One entry per parcel with its tracking; empty only with no_tracking.",
    )
    no_tracking: bool = Field(
        False,
        description="Ship without any tracking number (a letter, a hand delivery). Required "
        "when packages is empty, so a forgotten package list is not taken as one.",
    )
    notify_customer: bool = True

    @model_validator(mode="after")
    def _tracking_or_none_on_purpose(self) -> ShipmentRequest:
        if not self.packages and not self.no_tracking:
            raise ValueError(
                "packages is empty: give at least one package with its tracking, or set "
                '"no_tracking": true to ship without tracking'
            )
        if self.packages and self.no_tracking:
            raise ValueError('"no_tracking": true goes with an empty packages list')
        return self


class TrackingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    packages: list[PackageIn] = Field(min_length=1, max_length=250)
    notify_customer: bool = True


class ReasonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    warehouse: str | None = Field(None, min_length=1, max_length=64)
    location_id: str | None = Field(
        None,
        pattern=r"^gid://shopify/Location/\d+$",
        description="Order-management work only: the merchant location to move to.",
    )

    @model_validator(mode="after")
    def _one_target(self) -> MoveRequest:
        if (self.warehouse is None) == (self.location_id is None):
            raise ValueError("give exactly one of warehouse or location_id")
        return self


class AddressPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country_code: str | None = None
    phone: str | None = None


class SkuFix(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1)
    sku: str = Field(min_length=1, max_length=255)


class FixRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shipping_address: AddressPatch | None = None
    billing_address: AddressPatch | None = None
    skus: list[SkuFix] = Field(default_factory=list, max_length=250)


# --- plumbing --------------------------------------------------------------------------------


async def _api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing API key: send Authorization: Bearer <key>", challenge)
    database = app_database(request)
    async with database.transaction() as session:
        key = await ApiKeyRepository(session).authenticate(credentials.credentials)
    if key is None:
        raise HTTPException(401, "invalid or revoked API key", challenge)
    return key


Key = Annotated[ApiKey, Depends(_api_key)]
WorkId = Annotated[int, Path(ge=1, le=MAX_ID, description="The work order's id.")]
ShipmentId = Annotated[int, Path(ge=1, le=MAX_ID, description="The shipment's id.")]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": Problem,
        "description": "The body could not be read: 'There was an error parsing the body' "
        "(not JSON, or not UTF-8), JSON nested deeper than 64 levels, or a Content-Length "
        "that is not a number.",
    },
    401: {"model": Problem, "description": "Missing, invalid or revoked API key."},
    404: {"model": Problem, "description": "No such work (or not in this key's stores)."},
    409: {"model": Problem, "description": "The work's state does not allow this."},
    413: {"model": Problem, "description": "The body is larger than 8 MB."},
    422: {
        "description": "A field is invalid (FastAPI's validation errors), or the "
        "Idempotency-Key was already used with a different request body: "
        '`{"detail": "..."}` naming the key.'
    },
}


def _encode_cursor(position: actions.Position) -> str:
    at = position.updated_at.isoformat() if position.updated_at is not None else None
    raw = json.dumps({"u": at, "i": position.work_id, "s": position.sort})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> actions.Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        at = datetime.fromisoformat(data["u"]) if data["u"] is not None else None
        position = actions.Position(at, int(data["i"]), str(data.get("s") or "updated"))
        if not 0 < position.work_id <= MAX_ID:
            raise ValueError("id out of range")
        return position
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise HTTPException(
            400, "cursor is not one this API issued: pass next_cursor back unchanged"
        ) from None


async def _detail(session: AsyncSession, row: Any, store: str) -> dict[str, Any]:
    view = await work_detail(session, row, store)
    return WorkDetail.model_validate(view).model_dump(mode="json")


async def _act(
    request: Request,
    key: ApiKey,
    work_id: WorkId,
    command: Callable[[], actions.Command],
    *,
    body: BaseModel | None,
    idempotency_key: str | None,
    status: int = 200,
) -> JSONResponse:
    """Apply a command to one work order and answer, honouring Idempotency-Key; the action
    and the stored answer are written in the same transaction."""
    database = app_database(request)
    settings = request.app.state.settings

    async def apply(session: AsyncSession) -> tuple[int, Any]:
        row, store = await actions.get_work(session, work_id, stores=key.allowed())
        result = await actions.apply(
            session, settings, row, store, command(), actor=f"api:{key.name}"
        )
        payload = ActionResponse(
            work=WorkDetail.model_validate(await _detail(session, result.row, store)),
            shipment=ShipmentOut.model_validate(actions.shipment_view(result.shipment, result.row))
            if result.shipment is not None
            else None,
            shipments=[
                ShipmentOut.model_validate(actions.shipment_view(s, result.row))
                for s in result.shipments
            ],
            queued=[QueuedWrite(id=q.id, kind=q.kind) for q in result.queued],
        ).model_dump(mode="json")
        return status, payload

    return await answer_once(
        request,
        key,
        idempotency_key,
        body,
        apply,
        in_transaction=lambda attempt: actions.in_transaction(database, attempt),
    )


# --- endpoints -------------------------------------------------------------------------------


LIST_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The cursor is not one this API issued."},
    401: ERRORS[401],
    403: {"model": Problem, "description": "The store is outside this key's stores."},
    404: {"model": Problem, "description": "No such store."},
    422: {"description": "A query parameter is invalid."},
}


@router.get(
    "/work",
    response_model=WorkPage,
    responses=LIST_ERRORS,
    summary="List work orders",
    dependencies=StrictQuery,
)
async def list_work(
    request: Request,
    key: Key,
    state: Annotated[
        list[WorkState] | None, Query(description="Only work in these states (repeatable).")
    ] = None,
    store: Annotated[str | None, Query(description="Only this store's work.")] = None,
    updated_since: Annotated[
        datetime | None,
        Query(description="ISO 8601; only work changed at or after it (UTC when no zone)."),
    ] = None,
    due_before: Annotated[
        datetime | None,
        Query(description="ISO 8601; only open work whose deadline (fulfill_by) is before it."),
    ] = None,
    overdue: Annotated[
        bool, Query(description="Only open work whose deadline has passed.")
    ] = False,
    sort: Annotated[
        WorkSort,
        Query(description="updated: oldest change first; deadline: nearest deadline first."),
    ] = WorkSort.UPDATED,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 50,
) -> Any:
    """Work orders, oldest change first (or nearest deadline first), with cursor pagination."""
    allowed = key.allowed()
    database = app_database(request)
    after = _decode_cursor(cursor) if cursor else None
    if updated_since is not None and updated_since.tzinfo is None:
        updated_since = updated_since.replace(tzinfo=UTC)
    if due_before is not None and due_before.tzinfo is None:
        due_before = due_before.replace(tzinfo=UTC)
    async with database.transaction() as session:
        if store is not None:
            if allowed is not None and store not in allowed:
                raise HTTPException(403, f"this API key may not see store {store!r}")
            if store not in (await actions.store_names(session)).values():
                raise HTTPException(404, f"no store named {store!r}")
        try:
            page, last = await actions.list_work(
                session,
                stores=allowed,
                store=store,
                states=state or (),
                updated_since=updated_since,
                due_before=due_before,
                overdue=overdue,
                sort=sort.value,
                after=after,
                limit=limit,
            )
        except actions.ActionError as exc:
            raise HTTPException(400, exc.message) from None
        items = [actions.work_view(row, name) for row, name in page]
    return {"items": items, "next_cursor": _encode_cursor(last) if last else None}


@router.get(
    "/work/{work_id}",
    response_model=WorkDetail,
    responses=ERRORS,
    summary="Show one work order",
    dependencies=StrictQuery,
)
async def get_work(request: Request, key: Key, work_id: WorkId) -> Any:
    """One work order with its transitions and shipments."""
    database = app_database(request)
    async with database.transaction() as session:
        row, store = await actions.get_work(session, work_id, stores=key.allowed())
        return await _detail(session, row, store)


@router.post(
    "/work/{work_id}/stage",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Report a production stage",
)
async def post_stage(
    request: Request, key: Key, work_id: WorkId, body: StageRequest, idem: IdempotencyKey = None
) -> Any:
    """Report a production stage (stages only move forward); sent to Shopify as progress."""
    return await _act(
        request,
        key,
        work_id,
        lambda: actions.StartStage(body.stage),
        body=body,
        idempotency_key=idem,
    )


@router.post(
    "/work/{work_id}/hold",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Put work on hold",
)
async def post_hold(
    request: Request, key: Key, work_id: WorkId, body: HoldRequest, idem: IdempotencyKey = None
) -> Any:
    """Put the work on hold (a fulfillment hold in Shopify)."""
    return await _act(
        request,
        key,
        work_id,
        lambda: actions.Hold(body.reason.value, body.notes),
        body=body,
        idempotency_key=idem,
    )


@router.post(
    "/work/{work_id}/ready-for-pickup",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Mark a pickup order ready",
)
async def post_ready_for_pickup(
    request: Request, key: Key, work_id: WorkId, idem: IdempotencyKey = None
) -> Any:
    """Mark a pickup order ready at the counter: Shopify marks its items prepared for pickup
    and tells the customer (instead of a shipment)."""
    return await _act(
        request, key, work_id, actions.ReadyForPickup, body=None, idempotency_key=idem
    )


@router.post(
    "/work/{work_id}/release",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Release a hold",
)
async def post_release(
    request: Request, key: Key, work_id: WorkId, idem: IdempotencyKey = None
) -> Any:
    """Release a hold; the work returns to the state it was held in."""
    return await _act(request, key, work_id, actions.Release, body=None, idempotency_key=idem)


@router.post(
    "/work/{work_id}/shipments",
    response_model=ActionResponse,
    status_code=201,
    responses=ERRORS,
    summary="Record a shipment with tracking",
)
async def post_shipment(
    request: Request, key: Key, work_id: WorkId, body: ShipmentRequest, idem: IdempotencyKey = None
) -> Any:
    """Record a shipment (partial or complete, one or more packages); queues one Shopify
    fulfillment with the tracking."""

    def command() -> actions.Command:
        lines = (
            tuple(actions.ShipLine(x.quantity, line_id=x.line_id, sku=x.sku) for x in body.lines)
            if body.lines
            else None
        )
        packages = tuple(Tracking(p.company, p.number, p.url, p.lines) for p in body.packages)
        return actions.Ship(lines, packages, body.notify_customer)

    return await _act(request, key, work_id, command, body=body, idempotency_key=idem, status=201)


@router.post(
    "/work/{work_id}/shipments/{shipment_id}/tracking",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Replace a shipment's tracking",
)
async def post_tracking(
    request: Request,
    key: Key,
    work_id: WorkId,
    shipment_id: ShipmentId,
    body: TrackingRequest,
    idem: IdempotencyKey = None,
) -> Any:
    """Replace a shipment's tracking; queues a tracking update in Shopify."""
    packages = tuple(Tracking(p.company, p.number, p.url) for p in body.packages)
    return await _act(
        request,
        key,
        work_id,
        lambda: actions.UpdateTracking(shipment_id, packages, body.notify_customer),
        body=body,
        idempotency_key=idem,
    )


@router.post(
    "/work/{work_id}/delivered",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Mark shipped work delivered",
)
async def post_delivered(
    request: Request, key: Key, work_id: WorkId, idem: IdempotencyKey = None
) -> Any:
    """Mark shipped work delivered; posts a DELIVERED event on each of its fulfillments."""
    return await _act(request, key, work_id, actions.Deliver, body=None, idempotency_key=idem)


@router.post(
    "/work/{work_id}/give-up",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Give up on accepted work",
)
async def post_give_up(
    request: Request, key: Key, work_id: WorkId, body: ReasonRequest, idem: IdempotencyKey = None
) -> Any:
    """Give up on accepted work: the fulfillment order is closed as incomplete with the
    reason."""
    return await _act(
        request,
        key,
        work_id,
        lambda: actions.GiveUp(body.reason),
        body=body,
        idempotency_key=idem,
    )


@router.post(
    "/work/{work_id}/cancel",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Cancel work (same as give up)",
)
async def post_cancel(
    request: Request, key: Key, work_id: WorkId, body: ReasonRequest, idem: IdempotencyKey = None
) -> Any:
    """The operation cancels its work. Only the merchant can cancel a Shopify order, so this
    is the same as give-up: the fulfillment order is closed as incomplete with the reason."""
    return await _act(
        request,
        key,
        work_id,
        lambda: actions.GiveUp(body.reason),
        body=body,
        idempotency_key=idem,
    )


@router.post(
    "/work/{work_id}/move",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Move work to another warehouse or location",
)
async def post_move(
    request: Request, key: Key, work_id: WorkId, body: MoveRequest, idem: IdempotencyKey = None
) -> Any:
    """Move work to another warehouse (local only), or, for order-management work, to
    another merchant location (a fulfillment-order move in Shopify)."""

    def command() -> actions.Command:
        if body.location_id is not None:
            return actions.MoveLocation(body.location_id)
        return actions.MoveWarehouse(body.warehouse or "")

    return await _act(request, key, work_id, command, body=body, idempotency_key=idem)


@router.post(
    "/work/{work_id}/fix",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Correct an exception's data",
)
async def post_fix(
    request: Request, key: Key, work_id: WorkId, body: FixRequest, idem: IdempotencyKey = None
) -> Any:
    """Correct an exception's data (address, SKUs) and validate again."""

    def command() -> actions.Command:
        def patch(address: AddressPatch | None) -> dict[str, str] | None:
            return address.model_dump(exclude_none=True) if address is not None else None

        return actions.FixException(
            shipping_address=patch(body.shipping_address),
            billing_address=patch(body.billing_address),
            skus={fix.line_id: fix.sku for fix in body.skus},
        )

    return await _act(request, key, work_id, command, body=body, idempotency_key=idem)


@router.post(
    "/work/{work_id}/retry",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Validate an exception again",
)
async def post_retry(
    request: Request, key: Key, work_id: WorkId, idem: IdempotencyKey = None
) -> Any:
    """Validate an exception again (after its cause was fixed elsewhere): accepted when
    clean, else it stays an exception with the current problems."""
    return await _act(
        request, key, work_id, actions.RetryException, body=None, idempotency_key=idem
    )


@router.post(
    "/work/{work_id}/override",
    response_model=ActionResponse,
    responses=ERRORS,
    summary="Accept an exception despite its problems",
)
async def post_override(
    request: Request, key: Key, work_id: WorkId, body: ReasonRequest, idem: IdempotencyKey = None
) -> Any:
    """Accept an exception despite its problems; the reason and the key are recorded."""
    return await _act(
        request,
        key,
        work_id,
        lambda: actions.OverrideException(body.reason),
        body=body,
        idempotency_key=idem,
    )
