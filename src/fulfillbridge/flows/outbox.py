"""Sending the outbox: every write to Shopify (and every notification to the operation),
exactly once, in order per work order, within the store's rate limit.

``await send_due(database, settings, worker_id="w1")`` claims due rows and sends them.

* **Claiming.** A row is due when it is ``pending`` or ``unknown`` with ``next_attempt_at``
  passed and no live lease, or ``sending`` with an expired lease (its worker died mid-send).
  A claim takes the row's lease (``store.leases.OUTBOX_SEND``: ``claimed_by`` = worker id
  plus a per-call nonce, ``claimed_until``, ``lease_seconds`` long and renewed every third
  of that while the worker lives) through an UPDATE that re-checks it, so two workers
  never both hold a row; on PostgreSQL the candidate SELECT also uses
  ``FOR UPDATE SKIP LOCKED``.
* **Order.** A row is only due when no earlier row of the same work order and target is
  still pending, unknown, sending or failed: writes for one fulfillment order reach Shopify
  in the order they were decided. Rows without a work order are independent.
* **Exactly once.** A mutation that may have run (``OutcomeUnknown``: timeout, 5xx, dropped
  connection) leaves the row ``unknown``. Before such a row (or a ``sending`` row whose
  worker died) is sent again, its sender reads Shopify's state and marks it done when the
  write already took effect. The read comes 1 s, 2 s, 4 s ... after the attempt when
  Shopify answered (a 5xx: it is done with the request) or when the write may be sent again
  before an earlier attempt still running at Shopify has finished (``core.resend``: a late
  arrival would be refused or harmless, as for answering a request, a hold with its handle,
  or a fulfillment the read shows cannot fit twice). Otherwise (a partial fulfillment that
  could fit twice, a tracking change, a delivery event sent without any answer) the resend
  waits until ``unknown_settle_seconds`` after the last unanswered attempt (kept in the
  row's ``result`` as ``unsettled_until``), so a request still running at Shopify has
  finished; a release of our hold waits the same for the hold's attempts. The same holds
  for a row whose worker died while sending it. A ``userErrors`` answer is checked the same
  way ("already accepted", a duplicate hold handle, too many units after our own
  fulfillment landed all mean done); otherwise the row fails with Shopify's message.
* **Retries.** Transport trouble and throttling are retried with jittered exponential
  backoff, at most ``max_attempts`` times; then the row is ``failed`` and stays visible to
  operators (``requeue`` and ``skip`` act on it).

How each kind is written and verified: ``flows.shopify_writes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from fulfillbridge.config import Settings
from fulfillbridge.core import resend
from fulfillbridge.core import work as core
from fulfillbridge.core.returns import RETURN_DISPOSE
from fulfillbridge.core.stores import Store
from fulfillbridge.flows import notify, observe
from fulfillbridge.flows.connect import store_client
from fulfillbridge.flows.return_writes import RETURN_KINDS
from fulfillbridge.flows.shopify_writes import SENDERS
from fulfillbridge.flows.write_jobs import CannotSend, WriteJob, gid
from fulfillbridge.shopify import (
    GraphQLErrors,
    HTTPStatusError,
    InvalidResponse,
    OutcomeUnknown,
    ServerError,
    ShopifyClient,
    ShopifyError,
    Throttled,
    TooManyRequests,
    TransportError,
    UserErrors,
    backoff_delay,
)
from fulfillbridge.store import leases
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import OutboxRow, ShipmentRow, StoreRow, WorkOrderRow
from fulfillbridge.store.returns import ReturnRepository
from fulfillbridge.store.stores import StoreRepository

logger = logging.getLogger("fulfillbridge.outbox")

PENDING, SENDING, UNKNOWN, DONE, FAILED, SKIPPED = (
    "pending",
    "sending",
    "unknown",
    "done",
    "failed",
    "skipped",
)
# Statuses that keep later rows of the same work order waiting.
_BLOCKING = (PENDING, SENDING, UNKNOWN, FAILED)
# Writes that only inform the merchant: when Shopify refuses one (e.g. a progress report
# while a cancellation request is pending), it is skipped with the reason kept instead of
# failing, so it never holds back the writes that matter (the cancellation's answer).
_INFORMATIONAL = frozenset({core.REPORT_PROGRESS, core.FULFILLMENT_EVENT})
SHOPIFY, OPERATION = "shopify", "operation"


@dataclass(frozen=True)
class OutboxPolicy:
    """Timing of the sender. The defaults suit production (``from_settings``); tests
    shorten them."""

    # A claimed row is renewed while it is sent; a dead worker's runs out after this.
    lease_seconds: float = 15.0
    max_attempts: int = 8
    base_delay: float = 2.0
    max_delay: float = 600.0
    # An unknown outcome is verified after 1 s, 2 s, 4 s ... at most verify_max apart.
    verify_first_seconds: float = 1.0
    verify_max_seconds: float = 30.0
    # Before sending again a write that got no answer and whose late arrival could double
    # it (core.resend): longer than Shopify keeps a request running.
    unknown_settle_seconds: float = 60.0
    # Per-request timeout of the Shopify client (None: the client's defaults).
    request_timeout: float | None = None
    # Rows of one store sent at once (each of a different work order: see "Order").
    concurrency: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxPolicy:
        return cls(
            lease_seconds=settings.worker_lease_seconds,
            verify_first_seconds=settings.outbox_verify_first_seconds,
            verify_max_seconds=settings.outbox_verify_max_seconds,
            unknown_settle_seconds=settings.unknown_settle_seconds,
            concurrency=settings.worker_outbox_concurrency,
        )

    def backoff(self, attempt: int) -> float:
        """Between half and all of min(max, base * 2**(attempt-1))."""
        return backoff_delay(attempt, base=self.base_delay, cap=self.max_delay, jitter=0.5)

    def verify_delay(self, attempt: int) -> float:
        """How long after attempt number ``attempt`` an unknown outcome is checked."""
        return backoff_delay(
            attempt, base=self.verify_first_seconds, cap=self.verify_max_seconds, jitter=0.0
        )

    def settle(self, kind: str, *, answered: bool) -> float:
        """The least wait before verifying a write of ``kind`` whose outcome is unknown:
        none when Shopify answered (a 5xx: it is done with the request) or when the write
        may then be sent again early (``core.resend.verify_early``), else
        ``unknown_settle_seconds``."""
        if answered or resend.verify_early(kind):
            return 0.0
        return self.unknown_settle_seconds

    def unsettled_after(self, kind: str) -> float:
        """How long an attempt of ``kind`` that gets no answer may still land at Shopify
        and matter: none for writes whose late arrival is always harmless."""
        return 0.0 if kind in resend.REPEATABLE else self.unknown_settle_seconds


@dataclass(frozen=True)
class _Result:
    status: str
    error: str | None = None
    result: dict[str, Any] | None = None
    # Shopify holds the fulfillment order: send again later, however long the hold lasts.
    held: bool = False
    # For an unknown outcome: whether Shopify answered at all (a 5xx) or not (a timeout, a
    # dropped connection: the request may still be running there).
    answered: bool = False
    # Not sent: an earlier attempt may still land and a resend could double the write; try
    # again at this time (the attempt is not counted).
    wait_until: datetime | None = None


def _refused_for_hold(exc: UserErrors) -> bool:
    """Shopify refuses to fulfil a fulfillment order that is on hold ("unfulfillable
    status= on_hold"): the work was shipped before the bridge heard of the merchant's hold,
    and the fulfillment can go once the hold is released."""
    return "on_hold" in str(exc).lower().replace(" ", "_")


def _now() -> datetime:
    return datetime.now(UTC)


# ================================================================= public entry points
async def send_due(
    database: Database,
    settings: Settings,
    *,
    worker_id: str,
    limit: int = 50,
    policy: OutboxPolicy | None = None,
    store_id: int | None = None,
) -> int:
    """Claim and send up to ``limit`` due outbox rows (of one store, with ``store_id``),
    ``policy.concurrency`` at a time; returns how many were attempted. Claims are taken a
    few rows at a time (``worker_outbox_batch``) and renewed every few seconds while they
    are sent, so a worker that dies loses them within ``lease_seconds``."""
    policy = policy or OutboxPolicy.from_settings(settings)
    token = leases.new_holder(worker_id)
    clients: dict[int, ShopifyClient] = {}
    attempted = 0
    batch = max(1, min(settings.worker_outbox_batch, limit))
    slots = asyncio.Semaphore(max(1, policy.concurrency))

    async def one(row_id: int) -> None:
        async with slots:
            await _handle(database, settings, token, row_id, clients, policy)

    keeper = asyncio.create_task(_keep_claims(database, worker_id, policy))
    try:
        # Claim again after each batch: finishing a row may make the next of its work
        # order due. Bounded by ``limit`` rows in all.
        while attempted < limit:
            wanted = min(limit - attempted, max(batch, policy.concurrency))
            claimed = await _claim(database, token, wanted, policy, store_id)
            if not claimed:
                break
            attempted += len(claimed)
            await asyncio.gather(*(one(row_id) for row_id in claimed))
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        for client in clients.values():
            await client.aclose()
    return attempted


async def _keep_claims(database: Database, worker_id: str, policy: OutboxPolicy) -> None:
    """Renew this worker's row claims while it sends (its heartbeat does it too when it runs
    under ``run_worker``): a slow request or a long bucket wait never lets a live
    worker's claim run out, and a dead worker's runs out ``lease_seconds`` after it stopped."""
    every = max(0.2, policy.lease_seconds / 3)
    while True:
        await asyncio.sleep(every)
        try:
            async with database.transaction() as session:
                await leases.renew_held(
                    session, leases.OUTBOX_SEND, worker_id, now=_now(), seconds=policy.lease_seconds
                )
        except Exception:  # a database hiccup: the next beat tries again
            logger.warning("renewing outbox claims failed", exc_info=True)


async def requeue(database: Database, outbox_id: int) -> None:
    """An operator fixed the cause of a failed row: send it again (verifying first)."""
    async with database.transaction() as session:
        row = await session.get(OutboxRow, outbox_id)
        if row is None:
            raise LookupError(f"no outbox row {outbox_id}")
        if row.status != FAILED:
            raise ValueError(f"outbox row {outbox_id} is {row.status}, not failed")
        # Verify before sending: a failed row may have been unknown when it gave up.
        row.status = UNKNOWN if row.target == SHOPIFY else PENDING
        row.attempts = 0
        row.next_attempt_at = _now()
        row.claimed_by = row.claimed_until = None


async def skip(database: Database, outbox_id: int, reason: str) -> None:
    """An operator gave up on a failed or pending row; later rows of its order may go."""
    async with database.transaction() as session:
        row = await session.get(OutboxRow, outbox_id)
        if row is None:
            raise LookupError(f"no outbox row {outbox_id}")
        if row.status in (DONE, SKIPPED):
            raise ValueError(f"outbox row {outbox_id} is already {row.status}")
        until = row.claimed_until
        if until is not None and until.replace(tzinfo=until.tzinfo or UTC) > _now():
            raise ValueError(f"outbox row {outbox_id} is being sent by {row.claimed_by}")
        row.status = SKIPPED
        row.last_error = f"skipped: {reason}"
        row.claimed_by = row.claimed_until = None
        row.done_at = _now()


# ================================================================= claiming
# One alias for every claim: the statement is the same each time, so SQLAlchemy compiles it
# once and finds it in its cache afterwards.
_EARLIER = aliased(OutboxRow, name="earlier")


def _due_condition(now: datetime) -> Any:
    earlier = _EARLIER
    blocked = exists().where(
        earlier.work_order_id == OutboxRow.work_order_id,
        earlier.target == OutboxRow.target,
        earlier.id < OutboxRow.id,
        earlier.status.in_(_BLOCKING),
    )
    lease_free = or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now)
    waiting = and_(
        OutboxRow.status.in_((PENDING, UNKNOWN)),
        OutboxRow.next_attempt_at <= now,
        lease_free,
    )
    # A dead worker's row: free once its lease ran out and, for a write whose late arrival
    # could double it, once Shopify is surely done with the request (``_send_to_shopify``
    # sets next_attempt_at when the request leaves).
    crashed = and_(
        OutboxRow.status == SENDING,
        OutboxRow.claimed_until < now,
        OutboxRow.next_attempt_at <= now,
    )
    return and_(
        or_(waiting, crashed),
        or_(OutboxRow.work_order_id.is_(None), ~blocked),
    )


async def _claim(
    database: Database, token: str, limit: int, policy: OutboxPolicy, store_id: int | None = None
) -> list[int]:
    now = _now()
    claimed: list[int] = []
    async with database.transaction() as session:
        query = select(OutboxRow.id).where(_due_condition(now))
        if store_id is not None:
            query = query.where(OutboxRow.store_id == store_id)
        candidates = (
            await session.scalars(
                query.order_by(OutboxRow.id).limit(limit).with_for_update(skip_locked=True)
            )
        ).all()
        for row_id in candidates:
            # The lease is re-checked in the claim itself: another worker that claimed the
            # row between our SELECT and here makes it match nothing.
            if await leases.claim(
                session,
                leases.OUTBOX_SEND,
                {"id": row_id},
                token,
                now=now,
                seconds=policy.lease_seconds,
                where=[OutboxRow.status.in_((PENDING, UNKNOWN, SENDING))],
            ):
                claimed.append(row_id)
    return claimed


async def _renew(
    database: Database, job: WriteJob, token: str, policy: OutboxPolicy, **values: Any
):
    """Extend our lease (and set ``values``); False when the row is no longer ours."""
    async with database.transaction() as session:
        return await leases.renew(
            session,
            leases.OUTBOX_SEND,
            {"id": job.id},
            token,
            now=_now(),
            seconds=policy.lease_seconds,
            values=values,
        )


# ================================================================= one row
async def _load(database: Database, row_id: int, token: str) -> tuple[WriteJob, Store, dict] | None:
    async with database.transaction() as session:
        row = await session.get(OutboxRow, row_id)
        if row is None or row.claimed_by != token:
            return None
        work = await session.get(WorkOrderRow, row.work_order_id) if row.work_order_id else None
        store_row = await session.get(StoreRow, row.store_id)
        assert store_row is not None  # a foreign key guarantees it
        payload = dict(row.payload or {})
        job = WriteJob(
            id=row.id,
            kind=row.kind,
            target=row.target,
            payload=payload,
            status=row.status,
            attempts=row.attempts,
            idempotency_key=row.idempotency_key,
            store_id=row.store_id,
            work_order_id=row.work_order_id,
            fulfillment_order_id=payload.get("fulfillment_order_id")
            or (work.remote_id if work else None),
            store_name=store_row.name,
            operation_url=(store_row.settings or {}).get("operation_webhook_url"),
            unsettled_until=_unsettled_until(row.result),
        )
        if row.target == SHOPIFY and work is not None:
            if row.kind == core.CREATE_FULFILLMENT:  # only its verification reads them
                job.known_fulfillments = await _known_fulfillments(session, work.id, row.id)
            if row.kind in (core.UPDATE_TRACKING, core.FULFILLMENT_EVENT):
                job.fulfillment_ids = await _target_fulfillments(session, work.id, payload)
            if row.kind in resend.UNDONE_BY:
                job.undo_after = await _undone_settles(
                    session, work.id, row.id, resend.UNDONE_BY[row.kind]
                )
        stores = StoreRepository(session, database.box)
        secrets = stores.open_secrets(store_row) if row.target == SHOPIFY else {}
        return job, stores.view(store_row), secrets


def _unsettled_until(result: dict[str, Any] | None) -> datetime | None:
    value = (result or {}).get("unsettled_until")
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    return max((t for t in (first, second) if t is not None), default=None)


async def _undone_settles(session: Any, work_id: int, own_id: int, kind: str) -> datetime | None:
    """When every earlier attempt of the earlier rows of ``kind`` that this row undoes is
    surely over (a hold sent again early may still land late: releasing it before would let
    the late copy hold the order again)."""
    results = await session.scalars(
        select(OutboxRow.result).where(
            OutboxRow.work_order_id == work_id,
            OutboxRow.kind == kind,
            OutboxRow.id < own_id,
        )
    )
    latest: datetime | None = None
    for result in results:
        latest = _later(latest, _unsettled_until(result))
    return latest


async def _known_fulfillments(session: Any, work_id: int, own_id: int) -> set[str]:
    known: set[str] = set()
    rows = await session.scalars(
        select(OutboxRow).where(
            OutboxRow.work_order_id == work_id,
            OutboxRow.kind == core.CREATE_FULFILLMENT,
            OutboxRow.status == DONE,
            OutboxRow.id != own_id,
        )
    )
    for other in rows:
        if other.result and other.result.get("fulfillment_id"):
            known.add(str(other.result["fulfillment_id"]))
    shipments = await session.scalars(
        select(ShipmentRow.remote_fulfillment_id).where(
            ShipmentRow.work_order_id == work_id,
            or_(ShipmentRow.outbox_id.is_(None), ShipmentRow.outbox_id != own_id),
        )
    )
    known.update(s for s in shipments if s)
    return known


async def _target_fulfillments(session: Any, work_id: int, payload: dict) -> list[str]:
    """Fulfillment ids a tracking update or event applies to: named in the payload, or the
    fulfillment of the payload's shipment (or of the outbox row that created it)."""
    if payload.get("fulfillment_id"):
        return [str(payload["fulfillment_id"])]
    found: list[str] = []
    if payload.get("shipment_id") is not None:
        shipment = await session.get(ShipmentRow, int(payload["shipment_id"]))
        if shipment is not None and shipment.remote_fulfillment_id:
            found.append(shipment.remote_fulfillment_id)
    if not found and payload.get("fulfillment_outbox_id") is not None:
        creator = await session.get(OutboxRow, int(payload["fulfillment_outbox_id"]))
        if creator is not None and creator.result and creator.result.get("fulfillment_id"):
            found.append(str(creator.result["fulfillment_id"]))
    if not found and payload.get("shipment_id") is None:
        # No shipment named: every fulfillment this work order created.
        rows = await session.scalars(
            select(ShipmentRow.remote_fulfillment_id).where(ShipmentRow.work_order_id == work_id)
        )
        found = [r for r in rows if r]
    return found


async def _handle(
    database: Database,
    settings: Settings,
    token: str,
    row_id: int,
    clients: dict[int, ShopifyClient],
    policy: OutboxPolicy,
) -> None:
    try:
        loaded = await _load(database, row_id, token)
    except Exception as exc:
        # A row that cannot even be loaded (store gone, secrets unreadable) must not stop
        # the others; it is retried later like any failure and fails after the bound.
        logger.exception("outbox row %s could not be loaded", row_id)
        await _release_unloadable(database, row_id, token, policy, exc)
        return
    if loaded is None:
        return
    job, store, secrets = loaded
    unanswered_until: datetime | None = None
    # A write to Shopify counts its attempt when it is marked sending (one transaction
    # fewer per row); ``_finish`` records the count whatever happened.
    if job.target == OPERATION and not await _renew(
        database, job, token, policy, attempts=job.attempts + 1
    ):
        return
    job.attempts += 1
    try:
        if job.target == OPERATION:
            sent = await notify.send_job(settings, job)
            result = _Result(sent.status, sent.error, sent.result)
        else:
            client = clients.get(store.id)
            if client is None:
                client = store_client(database, settings, store, secrets)
                if policy.request_timeout is not None:
                    client.read_timeout = policy.request_timeout
                    client.mutation_timeout = client.listing_timeout = policy.request_timeout
                clients[store.id] = client

            async def mark_sending() -> bool:
                # Should this worker die now, the row is verified after the lease (and,
                # when it may not be sent again early, after the settle time); until
                # ``unsettled_until`` this attempt may still land at Shopify.
                now = _now()
                settle = policy.settle(job.kind, answered=False)
                attempt_until = now + timedelta(seconds=policy.unsettled_after(job.kind))
                values: dict[str, Any] = {
                    "status": SENDING,
                    "attempts": job.attempts,
                    "next_attempt_at": now + timedelta(seconds=settle),
                }
                if attempt_until > now:
                    nonlocal unanswered_until
                    unanswered_until = _later(job.unsettled_until, attempt_until)
                    values["result"] = _with_unsettled(None, unanswered_until)
                return await _renew(database, job, token, policy, **values)

            result = await _send_to_shopify(client, job, mark_sending)
    except Exception as exc:
        logger.exception("outbox row %s: unexpected failure", job.id)
        # Whatever happened, the mutation may have gone out: verify before sending again.
        status = UNKNOWN if job.target == SHOPIFY else PENDING
        result = _Result(status, f"unexpected {type(exc).__name__}: {exc}")
    if result.status == UNKNOWN and not result.answered:
        # This attempt got no answer: it may still land until ``unanswered_until``.
        job.unsettled_until = _later(job.unsettled_until, unanswered_until)
    await _finish(database, job, token, result, policy)


def _with_unsettled(result: dict[str, Any] | None, until: datetime | None) -> dict[str, Any] | None:
    """``result`` with ``unsettled_until`` (kept in the row's result: a release reads it
    from a done hold, a resend from its own row)."""
    if until is None:
        return result
    return {**(result or {}), "unsettled_until": until.isoformat()}


async def _restocked(session: Any, job: WriteJob) -> None:
    """Shopify restocked returned units: the levels the bridge knows go up with them (in
    the transaction that records the write), so the next push does not undo the restock."""
    repo = ReturnRepository(session)
    for item in job.payload.get("items") or []:
        if item.get("kind") != "restocked" or not item.get("inventory_item_id"):
            continue
        if not await repo.restocked(
            job.store_id, item["inventory_item_id"], item["location_id"], int(item["quantity"])
        ):
            logger.info(
                "outbox row %s: restocked %s x%s at %s, where the bridge holds no level",
                job.id,
                item.get("sku"),
                item["quantity"],
                item["location_id"],
            )


async def _release_unloadable(
    database: Database, row_id: int, token: str, policy: OutboxPolicy, exc: Exception
) -> None:
    async with database.transaction() as session:
        attempts = await session.scalar(
            select(OutboxRow.attempts).where(OutboxRow.id == row_id, OutboxRow.claimed_by == token)
        )
        if attempts is None:
            return
        attempts += 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_error": f"could not load the row: {type(exc).__name__}: {exc}",
        }
        if attempts >= policy.max_attempts:
            values["status"] = FAILED
        else:
            values["next_attempt_at"] = _now() + timedelta(seconds=policy.backoff(attempts))
        await leases.release(session, leases.OUTBOX_SEND, {"id": row_id}, token, values=values)


async def _send_to_shopify(
    client: ShopifyClient, job: WriteJob, mark_sending: Callable[[], Awaitable[bool]]
) -> _Result:
    sender = SENDERS.get(job.kind)
    if sender is None:
        return _Result(FAILED, f"no sender for outbox kind {job.kind!r}")
    if not job.fulfillment_order_id and job.kind not in RETURN_KINDS:
        return _Result(FAILED, f"outbox row {job.id} names no fulfillment order")
    retry_status = UNKNOWN if job.maybe_ran else PENDING
    try:
        if job.undo_after is not None and job.undo_after > _now():
            return _Result(
                retry_status,
                "waiting until the write this one undoes can no longer land late",
                wait_until=job.undo_after,
            )
        if job.maybe_ran:
            found = await sender.verify(client, job)
            if found is not None:
                return _Result(DONE, result={**found, "verified": True})
            if (
                job.unsettled_until is not None
                and job.unsettled_until > _now()
                and not resend.may_resend_now(
                    job.kind, requested=_requested_lines(job), remaining=job.remaining
                )
            ):
                return _Result(
                    UNKNOWN,
                    "not at Shopify yet; an earlier attempt may still land, so the resend "
                    "waits until it surely cannot",
                    wait_until=job.unsettled_until,
                )
        if not await mark_sending():
            return _Result(retry_status, "lost the claim before sending")
        try:
            return _Result(DONE, result=await sender.send(client, job))
        except UserErrors as exc:
            # "Already accepted" and the like: done if Shopify's state shows it.
            found = await sender.verify(client, job)
            if found is not None:
                return _Result(DONE, result={**found, "verified": True, "note": str(exc)})
            if job.kind == core.CREATE_FULFILLMENT and _refused_for_hold(exc):
                return _Result(PENDING, f"waiting for the hold to be released: {exc}", held=True)
            return _Result(SKIPPED if job.kind in _INFORMATIONAL else FAILED, str(exc))
        except OutcomeUnknown as exc:
            # The client raises it from Shopify's own answer (a 5xx) or from the transport
            # failure (no answer).
            answered = isinstance(exc.__cause__, ShopifyError)
            return _Result(UNKNOWN, str(exc), answered=answered)
    except CannotSend as exc:
        return _Result(FAILED, str(exc))
    except (TransportError, Throttled, TooManyRequests, ServerError, InvalidResponse) as exc:
        return _Result(retry_status, str(exc))
    except (GraphQLErrors, HTTPStatusError) as exc:
        # Refused outright (unknown id, missing scope, invalid input): sending again fails
        # again. Authentication failures land here too once the client's renewal failed.
        return _Result(FAILED, str(exc))
    except ShopifyError as exc:
        return _Result(retry_status, str(exc))


def _requested_lines(job: WriteJob) -> dict[str, int]:
    lines = job.payload.get("lines") or {}
    return {gid("FulfillmentOrderLineItem", k): int(v) for k, v in lines.items()}


async def _finish(
    database: Database, job: WriteJob, token: str, outcome: _Result, policy: OutboxPolicy
) -> None:
    now = _now()
    status, error = outcome.status, outcome.error
    next_at = now
    attempts = job.attempts
    if outcome.wait_until is not None:
        # Not sent this time: the attempt does not count.
        next_at, attempts = outcome.wait_until, job.attempts - 1
    elif outcome.held:
        next_at = now + timedelta(seconds=policy.max_delay)
    elif status in (PENDING, UNKNOWN):
        if job.attempts >= policy.max_attempts:
            status = FAILED
            error = f"gave up after {job.attempts} attempts: {error}"
        else:
            delay = policy.backoff(job.attempts)
            if status == UNKNOWN:
                # Verify soon (Shopify answered, or a late arrival is harmless), else once
                # Shopify is surely done with the request.
                delay = max(
                    policy.verify_delay(job.attempts),
                    policy.settle(job.kind, answered=outcome.answered),
                )
            next_at = now + timedelta(seconds=delay)
    values: dict[str, Any] = {
        "status": status,
        "last_error": error,
        "next_attempt_at": next_at,
        "attempts": attempts,
    }
    result = _with_unsettled(outcome.result, job.unsettled_until)
    if result is not None:
        values["result"] = result
    if status in (DONE, SKIPPED):
        values["done_at"] = now
    async with database.transaction() as session:
        if not await leases.release(
            session, leases.OUTBOX_SEND, {"id": job.id}, token, values=values
        ):
            # Our lease ran out and another worker owns the row now: it verifies first.
            logger.warning("outbox row %s: lease lost before recording %s", job.id, status)
            return
        await observe.write_finished(session, job, status, outcome.result)
        if job.kind == core.CREATE_FULFILLMENT and status in (DONE, FAILED):
            # The shipment shows what became of its fulfillment (flows.actions lists it).
            fulfillment_id = (outcome.result or {}).get("fulfillment_id")
            shipment: dict[str, Any] = {"status": "fulfilled" if status == DONE else "failed"}
            if fulfillment_id:
                shipment["remote_fulfillment_id"] = fulfillment_id
            await session.execute(
                update(ShipmentRow)
                .where(ShipmentRow.outbox_id == job.id)
                .values(**shipment)
                .execution_options(synchronize_session=False)
            )
        if job.kind == RETURN_DISPOSE and status == DONE:
            await _restocked(session, job)
    log = logger.info if status in (DONE, SKIPPED) else logger.warning
    log(
        "outbox row %s %s -> %s (attempt %s)%s",
        job.id,
        job.kind,
        status,
        job.attempts,
        f": {error}" if error else "",
    )
