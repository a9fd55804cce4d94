"""Following parcels to the door: scans from the carrier (polled) or posted by the
operation become Shopify fulfillment events, each once and in order, through the outbox.

``core.tracking`` decides which scans are new and when to ask again; this module reads the
carrier (``carriers``), records each passed-on scan in ``tracking_events`` beside its outbox
row (one transaction with the work order's change), and marks the work delivered when every
shipment is.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge import carriers
from fulfillbridge.config import Settings
from fulfillbridge.core import work as core
from fulfillbridge.core.carriers import ShippingError
from fulfillbridge.core.errors import ShippingErrorCode
from fulfillbridge.core.tracking import (
    DEFAULT_POLLS,
    FINAL,
    ParcelEvent,
    ParcelStatus,
    PollSchedule,
    new_events,
    next_poll,
    status_from_shopify,
)
from fulfillbridge.core.work import Effect, Outcome, WorkState
from fulfillbridge.flows.shipping import WEBHOOK_TOKEN
from fulfillbridge.flows.work_queries import get_work, store_names
from fulfillbridge.flows.work_views import shipments_of
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import (
    CarrierAccountRow,
    LabelRow,
    ShipmentRow,
    TrackingEventRow,
    WorkOrderRow,
    as_utc,
)
from fulfillbridge.store.shipping import CarrierAccounts, claim_poll, due_shipments, events_of
from fulfillbridge.store.work import WorkRepository, to_domain

logger = logging.getLogger(__name__)

POLL_BATCH = 20
# A posted event may be stamped a little ahead of our clock (the operation's clock), no more.
_SKEW = timedelta(minutes=5)


class WebhookRefused(ShippingError):
    """A carrier webhook whose token does not match: answered 401."""

    default_code = ShippingErrorCode.UNAUTHORIZED


@dataclass
class Recorded:
    events: list[TrackingEventRow]
    delivered: bool


def event_view(event: TrackingEventRow) -> dict[str, object]:
    return {
        "id": event.id,
        "shipment_id": event.shipment_id,
        "tracking_number": event.tracking_number,
        "status": event.status,
        "shopify_status": ParcelEvent(
            event.tracking_number, ParcelStatus(event.status), as_utc(event.happened_at)
        ).shopify_status,
        "happened_at": as_utc(event.happened_at).isoformat(),
        "message": event.message,
        "estimated_delivery_at": (
            as_utc(event.estimated_delivery_at).isoformat() if event.estimated_delivery_at else None
        ),
        "source": event.source,
    }


async def record(
    session: AsyncSession,
    row: WorkOrderRow,
    store: str,
    shipment: ShipmentRow,
    seen: Sequence[ParcelEvent],
    *,
    source: str,
    actor: str,
) -> Recorded:
    """Pass on the new scans among ``seen`` (in the caller's transaction)."""
    before = await events_of(session, shipment.id)
    known = [(e.tracking_number, e.status, as_utc(e.happened_at).isoformat()) for e in before]
    latest = max((as_utc(e.happened_at) for e in before), default=None)
    last = (
        ParcelEvent(
            before[-1].tracking_number, ParcelStatus(before[-1].status), latest
        ).shopify_status
        if before and latest
        else None
    )
    fresh = new_events(seen, known, latest, last)
    if not fresh:
        return Recorded([], delivered=False)
    effects = tuple(
        Effect(
            core.FULFILLMENT_EVENT,
            {
                "shipment_id": shipment.id,
                "fulfillment_outbox_id": shipment.outbox_id,
                "status": event.shopify_status,
                "happened_at": event.happened_at.isoformat(),
                "message": event.message[:255],
                **(
                    {"estimated_delivery_at": event.estimated_delivery_at.isoformat()}
                    if event.estimated_delivery_at
                    else {}
                ),
            },
        )
        for event in fresh
    )
    shipment.tracking_status = fresh[-1].status.value
    delivered = fresh[-1].status is ParcelStatus.DELIVERED
    if delivered:
        shipment.delivered_at = fresh[-1].happened_at
    order = to_domain(row, store)
    outcome = Outcome(order, effects)
    if delivered and order.state is WorkState.SHIPPED and await _all_delivered(session, row):
        outcome = Outcome(core.deliver(order).order, effects)
    repo = WorkRepository(session)
    queued = await repo.store_outcome(
        row,
        outcome,
        actor=actor,
        detail={
            "action": "tracking",
            "shipment_id": shipment.id,
            "source": source,
            "statuses": [event.shopify_status for event in fresh],
        },
    )
    rows = []
    for event, entry in zip(fresh, queued, strict=True):
        tracked = TrackingEventRow(
            shipment_id=shipment.id,
            tracking_number=event.tracking_number,
            status=event.status.value,
            happened_at=event.happened_at,
            message=event.message,
            estimated_delivery_at=event.estimated_delivery_at,
            source=source,
            outbox_id=entry.id,
        )
        session.add(tracked)
        rows.append(tracked)
    row.updated_at = datetime.now(UTC)
    await session.flush()
    return Recorded(rows, delivered)


async def _all_delivered(session: AsyncSession, row: WorkOrderRow) -> bool:
    return all(s.delivered_at is not None for s in await shipments_of(session, row.id))


async def _shipment(session: AsyncSession, work_id: int, shipment_id: int) -> ShipmentRow:
    shipment = await session.get(ShipmentRow, shipment_id)
    if shipment is None or shipment.work_order_id != work_id:
        raise ShippingError(
            f"work order {work_id} has no shipment {shipment_id}",
            code=ShippingErrorCode.NOT_FOUND,
        )
    return shipment


async def post_event(
    database: Database,
    work_id: int,
    shipment_id: int,
    *,
    status: str,
    happened_at: datetime | None = None,
    message: str = "",
    estimated_delivery_at: datetime | None = None,
    actor: str,
    stores: Collection[str] | None = None,
) -> dict[str, object]:
    """The operation reports a scan of a shipment (all its packages)."""
    parcel_status = status_from_shopify(status)
    when = as_utc(happened_at) if happened_at else datetime.now(UTC)
    if when > datetime.now(UTC).replace(microsecond=0) + _SKEW:
        raise ShippingError("happened_at is in the future")
    async with database.transaction() as session:
        row, store = await get_work(session, work_id, stores=stores)
        shipment = await _shipment(session, work_id, shipment_id)
        before = await events_of(session, shipment.id)
        if before and ParcelStatus(before[-1].status) in FINAL:
            raise ShippingError(
                f"shipment {shipment_id} is already {before[-1].status}: its journey is over",
                code=ShippingErrorCode.CONFLICT,
            )
        latest = max((as_utc(e.happened_at) for e in before), default=None)
        if latest is not None and when < latest:
            raise ShippingError(
                f"happened_at {when.isoformat()} is before the shipment's latest event "
                f"({latest.isoformat()}): events go to Shopify in order",
                code=ShippingErrorCode.CONFLICT,
            )
        number = next((p.get("number") for p in shipment.tracking if p.get("number")), "") or ""
        event = ParcelEvent(
            number, parcel_status, when, message[:255], estimated_delivery_at=estimated_delivery_at
        )
        recorded = await record(
            session, row, store, shipment, [event], source="operation", actor=actor
        )
        if parcel_status in FINAL:
            shipment.next_poll_at = None
        return {
            "applied": bool(recorded.events),
            "events": [event_view(e) for e in recorded.events],
            "work_state": row.state,
        }


async def list_events(
    database: Database, work_id: int, shipment_id: int, *, stores: Collection[str] | None = None
) -> list[dict[str, object]]:
    async with database.transaction() as session:
        await get_work(session, work_id, stores=stores)
        await _shipment(session, work_id, shipment_id)
        return [event_view(e) for e in await events_of(session, shipment_id)]


def poll_schedule(settings: Settings) -> PollSchedule:
    """The carrier polling pace the settings ask for."""
    return PollSchedule(
        first=timedelta(seconds=settings.tracking_poll_first_seconds),
        steady=timedelta(seconds=settings.tracking_poll_seconds),
        most=timedelta(seconds=settings.tracking_poll_max_seconds),
    )


async def poll_tracking(
    database: Database,
    *,
    now: datetime | None = None,
    limit: int = POLL_BATCH,
    schedule: PollSchedule = DEFAULT_POLLS,
) -> int:
    """Ask the carrier about shipments whose next poll is due; returns how many were
    asked. The worker runs it beside its other periodic work, at its settings' pace."""
    moment = now or datetime.now(UTC)
    async with database.transaction() as session:
        due = await due_shipments(session, moment, limit)
    asked = 0
    for shipment_id in due:
        try:
            if await _poll_one(database, shipment_id, moment, schedule):
                asked += 1
        except Exception:
            logger.exception("tracking shipment %s failed; asking again later", shipment_id)
    return asked


async def _poll_one(
    database: Database, shipment_id: int, now: datetime, schedule: PollSchedule
) -> bool:
    async with database.transaction() as session:
        shipment = await session.get(ShipmentRow, shipment_id)
        if shipment is None or shipment.next_poll_at is None:
            return False
        seen_at = shipment.next_poll_at
        # Claimed by moving the next poll on; a crash here means the next try is later.
        if not await claim_poll(
            session, shipment_id, seen_at, next_poll(now, 0, schedule=schedule)
        ):
            return False
        label_rows = list(
            await session.scalars(select(LabelRow).where(LabelRow.shipment_id == shipment_id))
        )
        accounts = CarrierAccounts(session, database.box)
        asks: list[tuple[str, str | None, carriers.Account]] = []
        for label in label_rows:
            if not label.tracking_number or label.account_id is None:
                continue
            account_row = await session.get(CarrierAccountRow, label.account_id)
            if account_row is None:
                continue
            asks.append(
                (
                    label.tracking_number,
                    label.carrier_shipment_id,
                    carriers.Account(
                        carrier=account_row.carrier,
                        credentials=accounts.credentials(account_row),
                        account_number=account_row.account_number,
                        base_url=account_row.base_url,
                        test_mode=account_row.test_mode,
                    ),
                )
            )
        quiet = shipment.quiet_polls
    seen: list[ParcelEvent] = []
    failed = False
    for number, carrier_shipment, account in asks:
        try:
            seen.extend(
                (await carriers.track(account, number, shipment_id=carrier_shipment)).events
            )
        except carriers.CarrierError as exc:
            logger.warning("tracking %s: %s", number, exc.message)
            failed = True
    async with database.transaction() as session:
        shipment = await session.get(ShipmentRow, shipment_id)
        if shipment is None:
            return True
        row = await session.get(WorkOrderRow, shipment.work_order_id)
        assert row is not None
        store = (await store_names(session))[row.store_id]
        journey = _shipment_view(seen, len(asks))
        recorded = await record(
            session, row, store, shipment, journey, source="carrier", actor="carrier"
        )
        status = ParcelStatus(shipment.tracking_status) if shipment.tracking_status else None
        if not asks or (status is not None and status in FINAL):
            shipment.next_poll_at = None  # nothing to ask, or the journey is over
        else:
            shipment.quiet_polls = 0 if recorded.events and not failed else quiet + 1
            shipment.next_poll_at = next_poll(
                now,
                shipment.quiet_polls,
                out_for_delivery=status is ParcelStatus.OUT_FOR_DELIVERY,
                schedule=schedule,
            )
    if recorded.events:
        database.ring()
    return True


def _shipment_view(seen: list[ParcelEvent], packages: int) -> list[ParcelEvent]:
    """The shipment's journey from its packages' scans. With several packages a final
    status counts only once every package has reached one (the last of them)."""
    if packages <= 1:
        return seen
    finals = [e for e in seen if e.status in FINAL]
    numbers = {e.tracking_number for e in finals}
    if len(numbers) >= packages:
        return seen
    return [e for e in seen if e.status not in FINAL]


# --- tracking webhooks ------------------------------------------------------------------------


async def carrier_webhook(
    database: Database, account_name: str, token: str | None, raw: bytes
) -> dict[str, object]:
    """A carrier's tracking webhook for one of our accounts: its token checked against the
    account's ``webhook_token`` (in constant time), its scans passed on exactly as a poll's
    would be, in one transaction per shipment before the carrier gets its answer."""
    async with database.transaction() as session:
        account = await session.scalar(
            select(CarrierAccountRow).where(CarrierAccountRow.name == account_name)
        )
        expected = (
            CarrierAccounts(session, database.box).credentials(account).get(WEBHOOK_TOKEN)
            if account is not None and account.carrier in carriers.WEBHOOK_HEADERS
            else None
        )
        # An unknown account, one without a token, and a wrong token get the same answer.
        if not expected or not token or not hmac.compare_digest(expected, token):
            raise WebhookRefused("the webhook's token does not match this carrier account")
        assert account is not None
        account_id, carrier = account.id, account.carrier
    try:
        body = json.loads(raw)
    except ValueError:
        raise ShippingError("the webhook body is not JSON") from None
    try:
        seen = carriers.webhook_events(carrier, body)
    except carriers.CarrierError as exc:
        raise ShippingError(exc.message) from None
    by_number: dict[str, list[ParcelEvent]] = {}
    for event in seen:
        by_number.setdefault(event.tracking_number, []).append(event)
    passed = 0
    matched = 0
    for number, events in by_number.items():
        async with database.transaction() as session:
            label = await session.scalar(
                select(LabelRow).where(
                    LabelRow.account_id == account_id,
                    LabelRow.tracking_number == number,
                    LabelRow.shipment_id.is_not(None),
                )
            )
            if label is None or label.shipment_id is None:
                continue  # not a parcel we shipped (or not reported to Shopify yet)
            matched += 1
            shipment = await session.get(ShipmentRow, label.shipment_id)
            row = await session.get(WorkOrderRow, label.work_order_id)
            if shipment is None or row is None:
                continue
            store = (await store_names(session))[row.store_id]
            recorded = await record(
                session, row, store, shipment, events, source="carrier", actor="carrier"
            )
            passed += len(recorded.events)
            status = ParcelStatus(shipment.tracking_status) if shipment.tracking_status else None
            if status is not None and status in FINAL:
                shipment.next_poll_at = None
    if passed:
        database.ring()
    return {"parcels": len(by_number), "matched": matched, "events": passed}
