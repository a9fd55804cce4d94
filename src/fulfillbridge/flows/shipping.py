"""Labels: carrier accounts, rates for a work order's package, buying a label once,
voiding it, and shipping packages whose labels were bought.

Buying is idempotent per package (the operation names each box with a ``package`` key):
the label row is committed as ``buying``, with a reference of ours the carrier keeps,
before the carrier is asked. A retry of the same package finds that row: a label already
bought is returned as it is; a purchase whose answer was lost (``unknown``, or ``buying``
left by a crashed process) is looked up at the carrier by the reference first, and bought
again only when the carrier has none. A purchase still in flight (``buying`` and younger
than ``IN_FLIGHT``) is refused rather than raced; a refused one (``failed``) bought nothing
and may be tried again.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge import carriers
from fulfillbridge.config import Settings
from fulfillbridge.core.carriers import (
    LABEL_CARRIERS,
    TRACKING_URL_TEMPLATES,
    WEIGHT_LIMITS_GRAMS,
    ShippingError,
    courier_company,
    parse_url_templates,
    shopify_company,
    tracking_url,
)
from fulfillbridge.core.details import DeliveryKind
from fulfillbridge.core.errors import ShippingErrorCode
from fulfillbridge.core.work import Tracking, WorkOrder
from fulfillbridge.flows import actions
from fulfillbridge.flows.work_commands import SHIPPABLE, ActionResult, ShipLine
from fulfillbridge.flows.work_queries import get_work
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import (
    CarrierAccountRow,
    LabelRow,
    ShipmentRow,
    StoreRow,
    WorkOrderRow,
    as_utc,
)
from fulfillbridge.store.shipping import CarrierAccounts, label_by_key, labels_of
from fulfillbridge.store.work import to_domain

IN_FLIGHT = timedelta(seconds=90)
# The credential holding the token a carrier's tracking webhooks carry (Shiprocket,
# Clickpost); without it the account's webhook endpoint refuses everything.
WEBHOOK_TOKEN = "webhook_token"
SHIP_FROM_KEYS = (
    "name",
    "company",
    "address1",
    "address2",
    "city",
    "province_code",
    "zip",
    "country_code",
    "phone",
    "email",
)


@dataclass(frozen=True)
class LabelRequest:
    """One package of a work order to rate or buy a label for."""

    package: str  # the operation's name for the box, unique within the work order
    lines: tuple[ShipLine, ...] | None = None  # None: everything left to ship
    service: str | None = None  # None: the service the store's shipping rules chose
    account: str | None = None  # None: the store's (else a global) account for the carrier
    weight_grams: float | None = None  # None: the lines' weights
    length_cm: float | None = None
    width_cm: float | None = None
    height_cm: float | None = None
    label_format: str = "PDF"


@dataclass
class Bought:
    label: LabelRow
    bought_now: bool  # False: the label existed (a retry), nothing was paid again
    rates: list[carriers.Rate] = field(default_factory=list)


# --- accounts ---------------------------------------------------------------------------------


async def add_account(
    database: Database,
    *,
    name: str,
    carrier: str,
    credentials: Mapping[str, str],
    ship_from: Mapping[str, str],
    store: str | None = None,
    account_number: str = "",
    base_url: str | None = None,
    test_mode: bool = False,
) -> dict[str, Any]:
    key = carrier.strip().lower()
    profile = carriers.CARRIERS.get(key)
    if profile is None:
        raise ShippingError(
            f"carrier {carrier!r} is not supported for labels; supported: "
            f"{', '.join(carriers.CARRIERS)}"
        )
    missing = [n for n in profile.credential_names if not str(credentials.get(n) or "").strip()]
    if missing:
        raise ShippingError(f"{key} credentials need: {', '.join(missing)}")
    allowed = set(profile.credential_names) | (
        {WEBHOOK_TOKEN} if key in carriers.WEBHOOK_HEADERS else set()
    )
    extra = sorted(set(credentials) - allowed)
    if extra:
        raise ShippingError(
            f"{key} credentials take only {', '.join(sorted(allowed))}; not {', '.join(extra)}"
        )
    unknown = set(ship_from) - set(SHIP_FROM_KEYS)
    if unknown:
        raise ShippingError(f"ship_from has unknown keys: {', '.join(sorted(unknown))}")
    for needed in ("address1", "city", "country_code"):
        if not str(ship_from.get(needed) or "").strip():
            raise ShippingError(f"ship_from needs {needed}")
    if base_url is not None and not base_url.startswith(("https://", "http://")):
        raise ShippingError("base_url must be an http(s) URL")
    async with database.transaction() as session:
        store_id = None
        if store is not None:
            names = {v: k for k, v in (await actions.store_names(session)).items()}
            if store not in names:
                raise ShippingError(f"no store {store!r}", code=ShippingErrorCode.NOT_FOUND)
            store_id = names[store]
        row = await CarrierAccounts(session, database.box).add(
            name=name,
            carrier=key,
            credentials={k: str(v) for k, v in credentials.items()},
            ship_from={k: str(v) for k, v in ship_from.items()},
            store_id=store_id,
            account_number=account_number,
            base_url=base_url,
            test_mode=test_mode,
        )
        return account_view(row, store)


def account_view(row: CarrierAccountRow, store: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "carrier": row.carrier,
        "store": store,
        "account_number": row.account_number,
        "base_url": row.base_url,
        "test_mode": row.test_mode,
        "ship_from": dict(row.ship_from),
    }


async def list_accounts(database: Database) -> list[dict[str, Any]]:
    async with database.transaction() as session:
        names = await actions.store_names(session)
        rows = await CarrierAccounts(session, database.box).listed()
        return [account_view(r, names.get(r.store_id) if r.store_id else None) for r in rows]


async def set_tracking_url_templates(database: Database, store: str, raw: Any) -> dict[str, str]:
    """Replace the store's tracking-URL templates (carrier -> URL with ``{number}``), used
    for carriers Shopify does not recognise."""
    templates = parse_url_templates(raw)
    async with database.transaction() as session:
        row = await session.scalar(select(StoreRow).where(StoreRow.name == store))
        if row is None:
            raise ShippingError(f"no store {store!r}", code=ShippingErrorCode.NOT_FOUND)
        row.settings = {**(row.settings or {}), TRACKING_URL_TEMPLATES: templates}
    return templates


# --- what a package is ------------------------------------------------------------------------


def _party(raw: Mapping[str, Any]) -> carriers.Party:
    return carriers.Party(**{k: str(raw.get(k) or "") for k in SHIP_FROM_KEYS})


def _recipient(order: WorkOrder) -> carriers.Party:
    address = order.shipping_address
    if address is None or not address.is_complete:
        raise ShippingError(f"{order.order_name} has no complete shipping address")
    return carriers.Party(
        name=address.name,
        address1=address.address1,
        address2=address.address2,
        city=address.city,
        province_code=address.province_code,
        zip=address.zip,
        country_code=address.country_code,
        phone=address.phone,
        email=order.details.email or "",
    )


def _contents(order: WorkOrder, request: LabelRequest) -> dict[str, int]:
    try:
        return actions.resolve_quantities(order, request.lines)
    except actions.ActionError as exc:
        raise ShippingError(exc.message) from None


def _parcel(
    order: WorkOrder, lines: Mapping[str, int], request: LabelRequest, international: bool
) -> carriers.Parcel:
    items = []
    weight = 0.0
    unweighed = []
    missing_customs = []
    for line_id, units in lines.items():
        line = order.line(line_id)
        weight += (line.weight_grams or 0) * units
        if not line.weight_grams:
            unweighed.append(line.sku or line_id)
        if international and not (line.hs_code and line.country_of_origin):
            missing_customs.append(line.sku or line_id)
        items.append(
            carriers.Item(
                title=line.title or line.product_title or line.sku or line_id,
                quantity=units,
                weight_grams=line.weight_grams or 0,
                value=line.discounted_unit_price or line.unit_price or "0",
                currency=order.details.currency or "USD",
                hs_code=line.hs_code or "",
                origin_country=line.country_of_origin or "",
                sku=line.sku or "",
            )
        )
    if request.weight_grams is not None:
        if request.weight_grams <= 0:
            raise ShippingError("weight_grams must be positive")
        weight = request.weight_grams
    elif unweighed:
        raise ShippingError(
            f"no weight is known for {', '.join(unweighed)}: give the package's weight_grams"
        )
    if international and missing_customs:
        raise ShippingError(
            "a customs form needs an HS code and a country of origin for every line; missing "
            f"for {', '.join(missing_customs)}"
        )
    dims = (request.length_cm, request.width_cm, request.height_cm)
    if any(d is not None for d in dims) and not all(d and d > 0 for d in dims):
        raise ShippingError("give all three dimensions (length, width, height), each positive")
    return carriers.Parcel(
        weight_grams=weight,
        length_cm=request.length_cm,
        width_cm=request.width_cm,
        height_cm=request.height_cm,
        items=tuple(items) if international else (),
    )


async def _account(
    session: AsyncSession, database: Database, order: WorkOrder, store_id: int, name: str | None
) -> tuple[CarrierAccountRow, carriers.Account]:
    store = CarrierAccounts(session, database.box)
    usable = await store.usable(store_id)
    if name is not None:
        chosen = next((a for a in usable if a.name == name), None)
        if chosen is None:
            raise ShippingError(
                f"no carrier account {name!r} for this store", code=ShippingErrorCode.NOT_FOUND
            )
    else:
        wanted = LABEL_CARRIERS.get(shopify_company(order.details.delivery.carrier or "") or "")
        matching = [a for a in usable if wanted is None or a.carrier == wanted]
        if not matching:
            raise ShippingError(
                "no carrier account can buy this label: add one (POST /api/v1/carrier-accounts)"
                + (f" for {wanted}" if wanted else "")
            )
        chosen = matching[0]
    account = carriers.Account(
        carrier=chosen.carrier,
        credentials=store.credentials(chosen),
        account_number=chosen.account_number,
        base_url=chosen.base_url,
        test_mode=chosen.test_mode,
    )
    return chosen, account


def _service(order: WorkOrder, account: CarrierAccountRow, asked: str | None) -> str:
    profile = carriers.CARRIERS[account.carrier]
    services = profile.services
    ruled = order.details.delivery.carrier_service
    if ruled and not profile.accepts(ruled.strip()):
        ruled = None  # the rules chose a service of another carrier
    service = (asked or ruled or profile.default_service or "").strip()
    if not service:
        raise ShippingError(
            f"no service given and the store's shipping rules chose none; one of "
            f"{', '.join(services)}"
        )
    if not profile.accepts(service):
        raise ShippingError(f"service {service!r} is not one of {', '.join(services)}")
    return service


def _check_weight(company: str, parcel: carriers.Parcel) -> None:
    limit = WEIGHT_LIMITS_GRAMS.get(company)
    if limit is not None and parcel.weight_grams > limit:
        raise ShippingError(
            f"the package weighs {parcel.weight_grams / 1000:.2f} kg; {company} takes at most "
            f"{limit / 1000:.2f} kg per package: split it into several packages",
            code=ShippingErrorCode.REFUSED,
        )


@dataclass
class _Plan:
    row_id: int
    store: str
    account: carriers.Account
    shipment: carriers.Shipment
    lines: dict[str, int]


async def _plan(
    session: AsyncSession,
    database: Database,
    work_id: int,
    request: LabelRequest,
    stores: Collection[str] | None,
    *,
    service_needed: bool,
) -> tuple[_Plan, CarrierAccountRow]:
    row, store = await get_work(session, work_id, stores=stores)
    order = to_domain(row, store)
    if order.state not in SHIPPABLE:
        raise ShippingError(
            f"cannot buy a label for {order.order_name}: it is {order.state.value}",
            code=ShippingErrorCode.CONFLICT,
        )
    if order.details.delivery.kind is DeliveryKind.PICKUP:
        raise ShippingError(f"{order.order_name} is collected by the customer: no label")
    if request.label_format not in ("PDF", "ZPL"):
        raise ShippingError("label_format must be PDF or ZPL")
    account_row, account = await _account(session, database, order, row.store_id, request.account)
    formats = carriers.CARRIERS[account_row.carrier].label_formats
    if request.label_format not in formats:
        raise ShippingError(
            f"{account_row.carrier} makes labels as {' or '.join(formats)} only, not "
            f"{request.label_format}"
        )
    recipient = _recipient(order)
    shipper = _party(account_row.ship_from)
    international = shipper.country_code.upper() != recipient.country_code.upper()
    lines = _contents(order, request)
    parcel = _parcel(order, lines, request, international)
    company = carriers.CARRIERS[account_row.carrier].company
    _check_weight(company, parcel)
    service = _service(order, account_row, request.service) if service_needed else ""
    shipment = carriers.Shipment(
        shipper=shipper,
        recipient=recipient,
        parcel=parcel,
        service=service,
        label_format=request.label_format,
    )
    return _Plan(row.id, store, account, shipment, lines), account_row


# --- rates, buying, voiding -------------------------------------------------------------------


async def rates(
    database: Database,
    work_id: int,
    request: LabelRequest,
    *,
    stores: Collection[str] | None = None,
) -> list[carriers.Rate]:
    async with database.transaction() as session:
        plan, _ = await _plan(session, database, work_id, request, stores, service_needed=False)
    return await carriers.rates(plan.account, plan.shipment)


async def buy_label(
    database: Database,
    work_id: int,
    request: LabelRequest,
    *,
    actor: str,
    stores: Collection[str] | None = None,
    now: datetime | None = None,
) -> Bought:
    """Buy the label for ``request.package`` once (see the module's docstring)."""
    if not request.package.strip() or len(request.package) > 128:
        raise ShippingError("package must name the box (1-128 characters)")
    moment = now or datetime.now(UTC)
    async with database.transaction() as session:
        existing = await label_by_key(session, work_id, request.package)
        if existing is not None and existing.status == "bought":
            return Bought(existing, bought_now=False)
        if existing is not None and existing.status == "voided":
            raise ShippingError(
                f"the label of package {request.package!r} was voided: name the box anew",
                code=ShippingErrorCode.CONFLICT,
            )
        if (
            existing is not None
            and existing.status == "buying"
            and as_utc(existing.created_at) > moment - IN_FLIGHT
        ):
            raise ShippingError(
                f"a purchase of package {request.package!r} is in progress; try again shortly",
                code=ShippingErrorCode.CONFLICT,
            )
        plan, account_row = await _plan(
            session, database, work_id, request, stores, service_needed=True
        )
        look_first = existing is not None and existing.status in ("buying", "unknown")
        if existing is None:
            existing = LabelRow(
                work_order_id=work_id,
                account_id=account_row.id,
                package_key=request.package,
                reference=f"fb{work_id}-{secrets.token_hex(6)}",
                status="buying",
                service=plan.shipment.service,
                company=carriers.CARRIERS[account_row.carrier].company,
                lines=plan.lines,
                parcel=_parcel_json(plan.shipment.parcel),
                label_format=request.label_format,
                created_at=moment,
            )
            session.add(existing)
            try:
                await session.flush()
            except IntegrityError:
                raise ShippingError(
                    f"a purchase of package {request.package!r} is in progress; try again shortly",
                    code=ShippingErrorCode.CONFLICT,
                ) from None
        else:
            # A refused or unknown purchase tried again: the row describes this attempt.
            existing.status, existing.error, existing.created_at = "buying", None, moment
            existing.account_id = account_row.id
            existing.service = plan.shipment.service
            existing.lines = plan.lines
            existing.parcel = _parcel_json(plan.shipment.parcel)
            existing.label_format = request.label_format
        label_id, reference = existing.id, existing.reference
    shipment = carriers.Shipment(
        shipper=plan.shipment.shipper,
        recipient=plan.shipment.recipient,
        parcel=plan.shipment.parcel,
        service=plan.shipment.service,
        label_format=plan.shipment.label_format,
        reference=reference,
    )
    try:
        label = await _purchase(plan.account, shipment, look_first=look_first)
    except carriers.OutcomeUnknown:
        # Not in flight any more, but maybe bought: the next try looks it up first.
        await _set_status(database, label_id, "unknown", "the carrier's answer was lost")
        raise
    except carriers.CarrierError as exc:
        if exc.code in (ShippingErrorCode.REFUSED, ShippingErrorCode.INVALID):
            await _set_status(database, label_id, "failed", exc.message)  # nothing was bought
        else:
            await _set_status(database, label_id, "unknown", exc.message)
        raise
    async with database.transaction() as session:
        bought = await session.get(LabelRow, label_id)
        assert bought is not None
        bought.status = "bought"
        bought.tracking_number = label.tracking_number
        bought.carrier_shipment_id = label.shipment_id
        bought.label_data = label.label
        bought.label_format = label.label_format
        bought.customs_form = label.customs_form
        bought.amount, bought.currency = label.amount, label.currency
        if label.company:  # an aggregator's courier: the parcel goes to Shopify under it
            bought.company = courier_company(label.company)[:64]
        bought.bought_at = datetime.now(UTC)
        bought.error = None
        await session.flush()
        session.expunge(bought)
    return Bought(bought, bought_now=True)


async def _purchase(
    account: carriers.Account, shipment: carriers.Shipment, *, look_first: bool
) -> carriers.Label:
    """Buy, unless an earlier try already did (looked up by our reference first when that
    try's outcome is unknown, and again when this purchase's answer is lost)."""
    if look_first:
        found = await carriers.find_label(account, shipment.reference)
        if found is not None:
            return found
    try:
        return await carriers.buy_label(account, shipment)
    except carriers.OutcomeUnknown:
        found = await carriers.find_label(account, shipment.reference)
        if found is None:
            raise
        return found


async def _set_status(database: Database, label_id: int, status: str, error: str) -> None:
    async with database.transaction() as session:
        row = await session.get(LabelRow, label_id)
        if row is not None and row.status != "bought":
            row.status, row.error = status, error


def _parcel_json(parcel: carriers.Parcel) -> dict[str, Any]:
    return {
        "weight_grams": parcel.weight_grams,
        "length_cm": parcel.length_cm,
        "width_cm": parcel.width_cm,
        "height_cm": parcel.height_cm,
    }


async def _label(session: AsyncSession, work_id: int, label_id: int) -> LabelRow:
    label = await session.get(LabelRow, label_id)
    if label is None or label.work_order_id != work_id:
        raise ShippingError(
            f"work order {work_id} has no label {label_id}", code=ShippingErrorCode.NOT_FOUND
        )
    return label


async def get_label(
    database: Database, work_id: int, label_id: int, *, stores: Collection[str] | None = None
) -> LabelRow:
    async with database.transaction() as session:
        await get_work(session, work_id, stores=stores)
        label = await _label(session, work_id, label_id)
        if label.status != "bought" or label.label_data is None:
            raise ShippingError(
                f"label {label_id} is {label.status}: there is nothing to print",
                code=ShippingErrorCode.CONFLICT,
            )
        session.expunge(label)
        return label


@dataclass(frozen=True)
class LabelDocument:
    content: bytes
    media_type: str
    filename: str


async def label_document(
    database: Database,
    work_id: int,
    label_id: int,
    kind: str,
    *,
    stores: Collection[str] | None = None,
) -> LabelDocument:
    """A bought label's printable file: ``kind`` is ``pdf`` or ``zpl`` (as it was bought) or
    ``customs`` (the commercial invoice of a parcel abroad)."""
    label = await get_label(database, work_id, label_id, stores=stores)
    if kind == "customs":
        if label.customs_form is None:
            raise ShippingError(
                f"label {label_id} has no customs form (a domestic parcel)",
                code=ShippingErrorCode.NOT_FOUND,
            )
        return LabelDocument(label.customs_form, "application/pdf", f"customs-{label_id}.pdf")
    if label.label_format.lower() != kind:
        raise ShippingError(
            f"label {label_id} was bought as {label.label_format}: ask for "
            f".{label.label_format.lower()}",
            code=ShippingErrorCode.NOT_FOUND,
        )
    media = "application/pdf" if kind == "pdf" else "application/zpl"
    return LabelDocument(label.label_data or b"", media, f"label-{label_id}.{kind}")


async def list_labels(
    database: Database, work_id: int, *, stores: Collection[str] | None = None
) -> list[dict[str, Any]]:
    async with database.transaction() as session:
        await get_work(session, work_id, stores=stores)
        return [label_view(label) for label in await labels_of(session, work_id)]


def label_view(label: LabelRow) -> dict[str, Any]:
    return {
        "id": label.id,
        "work_id": label.work_order_id,
        "package": label.package_key,
        "status": label.status,
        "company": label.company,
        "service": label.service,
        "tracking_number": label.tracking_number,
        "label_format": label.label_format,
        "customs_form": label.customs_form is not None,
        "amount": label.amount,
        "currency": label.currency,
        "lines": dict(label.lines),
        "parcel": dict(label.parcel),
        "shipment_id": label.shipment_id,
        "error": label.error,
    }


async def void_label(
    database: Database,
    work_id: int,
    label_id: int,
    *,
    stores: Collection[str] | None = None,
) -> dict[str, Any]:
    async with database.transaction() as session:
        await get_work(session, work_id, stores=stores)
        label = await _label(session, work_id, label_id)
        if label.status == "voided":
            return label_view(label)
        if label.status != "bought":
            raise ShippingError(
                f"label {label_id} is {label.status}: only a bought label can be voided",
                code=ShippingErrorCode.CONFLICT,
            )
        if label.shipment_id is not None:
            raise ShippingError(
                f"label {label_id} belongs to shipment {label.shipment_id}, already reported "
                "to Shopify: it cannot be voided here",
                code=ShippingErrorCode.CONFLICT,
            )
        account_row = (
            await session.get(CarrierAccountRow, label.account_id) if label.account_id else None
        )
        if account_row is None:
            raise ShippingError(
                f"the carrier account of label {label_id} was removed",
                code=ShippingErrorCode.CONFLICT,
            )
        account = carriers.Account(
            carrier=account_row.carrier,
            credentials=CarrierAccounts(session, database.box).credentials(account_row),
            account_number=account_row.account_number,
            base_url=account_row.base_url,
            test_mode=account_row.test_mode,
        )
        shipment_id = label.carrier_shipment_id or label.tracking_number or ""
        tracking_number = label.tracking_number or ""
    await carriers.void_label(account, shipment_id, tracking_number=tracking_number)
    async with database.transaction() as session:
        label = await _label(session, work_id, label_id)
        label.status, label.voided_at = "voided", datetime.now(UTC)
        return label_view(label)


# --- shipping what was labelled ---------------------------------------------------------------


async def _tracking_page(session: AsyncSession, label: LabelRow) -> str | None:
    """The aggregator's tracking page for a courier Shopify does not link itself (Shopify
    links the couriers it lists; a store's own template for the courier comes first)."""
    if shopify_company(label.company) is not None or not label.tracking_number:
        return None
    account = await session.get(CarrierAccountRow, label.account_id) if label.account_id else None
    profile = carriers.CARRIERS.get(account.carrier) if account is not None else None
    if profile is None:
        return None
    work = await session.get(WorkOrderRow, label.work_order_id)
    store = await session.get(StoreRow, work.store_id) if work is not None else None
    templates = (store.settings or {}).get(TRACKING_URL_TEMPLATES) if store is not None else None
    if tracking_url(label.company, label.tracking_number, templates):
        return None  # the store's template is applied when the shipment is recorded
    return profile.tracking_url(label.tracking_number)


async def ship_labels(
    database: Database,
    settings: Settings,
    work_id: int,
    label_ids: Sequence[int],
    *,
    actor: str,
    notify_customer: bool = True,
    stores: Collection[str] | None = None,
) -> ActionResult:
    """Report the labelled packages to Shopify as shipped (one fulfillment per carrier),
    once: a repeat of the same labels returns the shipment already recorded."""
    if not label_ids:
        raise ShippingError("give at least one label")
    if len(set(label_ids)) != len(label_ids):
        raise ShippingError("a label is named twice")

    async def work(session: AsyncSession) -> ActionResult:
        row, store = await get_work(session, work_id, stores=stores)
        labels = [await _label(session, work_id, i) for i in label_ids]
        shipped = {label.shipment_id for label in labels if label.shipment_id is not None}
        if shipped and len(shipped) == 1 and all(label.shipment_id for label in labels):
            shipment = await session.get(ShipmentRow, shipped.pop())
            return ActionResult(row, store, applied=False, shipment=shipment)
        if shipped:
            raise ShippingError(
                "some of these labels already shipped (shipments "
                f"{', '.join(str(s) for s in sorted(shipped))})",
                code=ShippingErrorCode.CONFLICT,
            )
        not_bought = [str(label.id) for label in labels if label.status != "bought"]
        if not_bought:
            raise ShippingError(
                f"labels {', '.join(not_bought)} are not bought (or were voided)",
                code=ShippingErrorCode.CONFLICT,
            )
        units: dict[str, int] = {}
        for label in labels:
            for line, count in label.lines.items():
                units[line] = units.get(line, 0) + int(count)
        packages = []
        for label in labels:
            page = await _tracking_page(session, label)
            packages.append(
                Tracking(label.company, label.tracking_number or "", page, dict(label.lines))
            )
        command = actions.Ship(
            tuple(ShipLine(quantity=q, line_id=line) for line, q in units.items()),
            tuple(packages),
            notify_customer,
            dedupe_key=f"labels:{work_id}:{','.join(str(i) for i in sorted(label_ids))}",
        )
        result = await actions.apply(session, settings, row, store, command, actor=actor)
        by_number = {
            p["number"]: shipment for shipment in result.shipments for p in shipment.tracking
        }
        first_poll = datetime.now(UTC) + timedelta(seconds=settings.tracking_poll_first_seconds)
        for label in labels:
            shipment = by_number.get(label.tracking_number or "")
            if shipment is not None:
                label.shipment_id = shipment.id
                shipment.next_poll_at = first_poll
        await session.flush()
        return result

    try:
        return await actions.in_transaction(database, work)
    except IntegrityError:
        # The same labels were shipped by a concurrent request just now: answer its shipment.
        return await actions.in_transaction(database, work)


__all__ = [
    "Bought",
    "LabelDocument",
    "LabelRequest",
    "add_account",
    "buy_label",
    "get_label",
    "label_document",
    "label_view",
    "list_accounts",
    "list_labels",
    "rates",
    "set_tracking_url_templates",
    "ship_labels",
    "void_label",
]
