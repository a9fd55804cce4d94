"""Intake: what Shopify pushes to the bridge, verified and stored durably before it is
acknowledged. Nothing else happens here (no Shopify calls): the worker processes the inbox.

- Webhooks (``POST /webhooks/shopify``): the store is found by ``X-Shopify-Shop-Domain``;
  ``X-Shopify-Hmac-Sha256`` is checked over the raw body with the store's webhook secrets
  (current and previous, Shopify docs on rotation) before the body is parsed; the event is
  stored once per ``(store, X-Shopify-Webhook-Id)``.
- Fulfillment-service callbacks (``POST /shopify/{store}/fulfillment_order_notification``):
  signed the same way (docs/shopify.md#signatures). A callback is a ping ("go and pull
  ``assignedFulfillmentOrders``"); it carries no webhook id, so its delivery id is
  ``X-Shopify-Webhook-Id`` or ``X-Shopify-Event-Id`` when Shopify sends one, else a fresh
  uuid. We deliberately do not derive one from the body and ``X-Shopify-Triggered-At``:
  every ping of a kind has the same body, so two distinct requests in the same instant
  would collide and the second would be lost; a ping stored twice only costs a second,
  idempotent pull.
- ``fetch_tracking_numbers`` answers from the shipments the operation reported.
- The callback URL Shopify is given carries a per-store secret path segment (the
  ``callback_token`` of the store's sealed secrets, ``flows.setup``): Shopify signs neither
  ``fetch_tracking_numbers`` nor ``fetch_stock``, so that token is what keeps them private.
  An unknown store and a wrong token get the same answer, and so do an unknown shop and a
  wrong signature: nothing here tells an outsider which stores exist.
- A webhook whose ``X-Shopify-Triggered-At`` is older than ``webhook_max_age_hours`` is
  refused as stale (a captured body replayed under a new webhook id). The header is not
  covered by the signature, so this stops naive replays only; a replay that gets through
  costs one pull, since processing reads Shopify's current state, never the body.

Writes go through one writer task per process that commits whatever arrived meanwhile in a
single transaction (group commit): each request still waits for the commit holding its
event, so "durable before 200" holds, while SQLite's single writer is not asked for one
transaction per webhook under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from fulfillbridge.core.errors import FulfillbridgeError, IntakeErrorCode
from fulfillbridge.core.stores import AuthKind, StoreNotFound
from fulfillbridge.flows.setup import all_topics
from fulfillbridge.shopify import verify_webhook
from fulfillbridge.store.database import Database
from fulfillbridge.store.inbox import InboxEvent, SqliteInboxWriter, insert_new
from fulfillbridge.store.models import ShipmentRow, WorkOrderRow

log = logging.getLogger("fulfillbridge.intake")

# Topics the bridge takes in: those set-up subscribes to, and related ones a merchant or an
# older set-up may have subscribed (all Shopify topic paths, docs/shopify.md#topics).
KNOWN_TOPICS: frozenset[str] = all_topics() | {
    "orders/paid",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "orders/edited",
    "fulfillments/create",
    "fulfillments/update",
    "fulfillment_events/create",
    "fulfillment_orders/fulfillment_request_accepted",
    "fulfillment_orders/fulfillment_request_rejected",
    "fulfillment_orders/cancellation_request_accepted",
    "fulfillment_orders/cancellation_request_rejected",
    "fulfillment_orders/fulfillment_service_failed_to_complete",
    "fulfillment_orders/rescheduled",
    "fulfillment_orders/scheduled_fulfillment_order_ready",
    "fulfillment_holds/added",
    "fulfillment_holds/released",
    "inventory_levels/update",
    "app/scopes_update",
}
CALLBACK_KINDS = frozenset({"FULFILLMENT_REQUEST", "CANCELLATION_REQUEST"})
CALLBACK_TOPIC_PREFIX = "fulfillment_order_notification/"
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_ORDER_NAMES = 250
STORE_CACHE_SECONDS = 10.0
MAX_BATCH = 500
DEFAULT_MAX_AGE = timedelta(hours=72)
CALLBACK_TOKEN = "callback_token"  # the key in a store's sealed secrets
# The answers outsiders get, the same whatever the reason (the log says which).
NOT_VERIFIED = "the X-Shopify-Hmac-Sha256 signature does not match"
UNKNOWN_CALLBACK = "no fulfillment service answers at this address"


class IntakeRefused(FulfillbridgeError):
    """A delivery that is not stored; ``code`` says which kind of refusal, ``reason`` says
    why (never containing a secret or the body)."""

    def __init__(self, code: IntakeErrorCode, reason: str) -> None:
        super().__init__(reason, code=code)
        self.reason = reason


class IntakeUnavailable(FulfillbridgeError):
    """The event could not be stored (database unavailable, shutting down): not
    acknowledged, so Shopify delivers it again."""

    default_code = IntakeErrorCode.UNAVAILABLE


@dataclass(frozen=True)
class Accepted:
    store: str
    topic: str
    delivery_id: str
    stored: bool  # False: a duplicate delivery, nothing new stored


@dataclass(frozen=True)
class _Signer:
    """What verification needs about a store, cached for a few seconds."""

    store_id: int
    name: str
    shop_domain: str
    secrets: tuple[str, ...]
    loaded_at: float
    callback_token: str | None = None


def webhook_secrets(auth_kind: AuthKind, secrets: Mapping[str, str]) -> tuple[str, ...]:
    """The secrets a store's webhooks may be signed with: the custom app's API secret key
    (``webhook_secret``) or the app's client secret, and the previous secret during a
    rotation. Never the access token."""
    keys = ["webhook_secret", "previous_webhook_secret"]
    if auth_kind is not AuthKind.TOKEN:
        keys[1:1] = ["client_secret", "previous_client_secret"]
    return tuple(secrets[k] for k in keys if secrets.get(k))


def _token_matches(signer: _Signer, token: str | None) -> bool:
    if signer.callback_token is None:
        return token is None
    return token is not None and hmac.compare_digest(token.encode(), signer.callback_token.encode())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    value = value.strip() if value else None
    return value or None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None  # a bad timestamp is no reason to lose the event


def _json_object(body: bytes, what: str) -> tuple[dict[str, Any], str | None]:
    """The body as a JSON object, and as text when it is UTF-8 (stored without a second
    serialisation)."""
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None  # JSON in another encoding: parsed below, stored re-serialised
    try:
        payload = json.loads(text if text is not None else body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntakeRefused(
            IntakeErrorCode.MALFORMED, f"the {what} body is not valid JSON ({exc})"
        ) from None
    except RecursionError:  # the web layer bounds depth first; this is the backstop
        raise IntakeRefused(
            IntakeErrorCode.MALFORMED, f"the {what} body nests too deeply to be read"
        ) from None
    if not isinstance(payload, dict):
        raise IntakeRefused(IntakeErrorCode.MALFORMED, f"the {what} body must be a JSON object")
    return payload, text


class _GroupWriter:
    """One task that stores inbox events in batches; ``write`` returns after the commit
    that holds its event (True when it was new)."""

    def __init__(self, database: Database, max_batch: int = MAX_BATCH) -> None:
        self._database = database
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[InboxEvent, asyncio.Future[bool]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._connection: AsyncConnection | None = None
        self._sqlite: SqliteInboxWriter | None = None

    async def write(self, event: InboxEvent) -> bool:
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.ensure_future(self._run(self._queue))
        assert self._queue is not None
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((event, future))
        return await future

    async def _run(self, queue: asyncio.Queue[tuple[InboxEvent, asyncio.Future[bool]]]) -> None:
        batch: list[tuple[InboxEvent, asyncio.Future[bool]]] = []
        try:
            while True:
                batch = [await queue.get()]
                while len(batch) < self._max_batch and not queue.empty():
                    batch.append(queue.get_nowait())
                await self._commit(batch)
        finally:
            # Stopped (shutdown): whoever still waits gets an error, never a false 200.
            while not queue.empty():
                batch.append(queue.get_nowait())
            for _, future in batch:
                _settle(future, IntakeUnavailable("the bridge is shutting down"))

    async def _commit(self, batch: list[tuple[InboxEvent, asyncio.Future[bool]]]) -> None:
        try:
            new = await self._store([event for event, _ in batch])
        except Exception as exc:
            await self._drop_connection()
            if len(batch) == 1:
                log.error("inbox write failed: %s", type(exc).__name__)
                _settle(batch[0][1], IntakeUnavailable(f"not stored: {type(exc).__name__}"))
                return
            # One bad event (e.g. its store was just removed) must not sink the others.
            for item in batch:
                await self._commit([item])
            return
        if new:
            self._database.ring()
        for event, future in batch:
            key = (event.store_id, event.delivery_id)
            _settle(future, key in new)
            new.discard(key)  # a second copy inside the same batch is a duplicate

    async def _store(self, events: Sequence[InboxEvent]) -> set[tuple[int, str]]:
        engine = self._database.engine
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            if self._sqlite is None:
                self._sqlite = SqliteInboxWriter(engine)
            return await self._sqlite.insert_new(events)
        # Other databases: one connection kept by the writer, no pool checkout per batch.
        if self._connection is None:
            self._connection = await engine.connect()
        async with self._connection.begin():
            return await insert_new(self._connection, events)

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
        sqlite, self._sqlite = self._sqlite, None
        if sqlite is not None:
            await sqlite.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._task = None
        await self._drop_connection()


def _settle(future: asyncio.Future[bool], outcome: bool | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class Intake:
    """Verifies and stores what Shopify sends; one per web process."""

    def __init__(
        self,
        database: Database,
        *,
        cache_seconds: float = STORE_CACHE_SECONDS,
        max_age: timedelta = DEFAULT_MAX_AGE,
    ):
        self.database = database
        self._cache_seconds = cache_seconds
        self._max_age = max_age
        self._by_domain: dict[str, _Signer] = {}
        self._by_name: dict[str, _Signer] = {}
        self._writer = _GroupWriter(database)

    async def close(self) -> None:
        await self._writer.close()

    # -- stores and signatures -----------------------------------------------------------

    async def _load(self, *, domain: str | None = None, name: str | None = None) -> _Signer:
        async with self.database.stores() as stores:
            store = await stores.get_by_domain(domain) if domain else await stores.get(name or "")
            secrets = await stores.secrets(store.name)
        signer = _Signer(
            store_id=store.id,
            name=store.name,
            shop_domain=store.shop_domain,
            secrets=webhook_secrets(store.auth_kind, secrets),
            loaded_at=time.monotonic(),
            callback_token=secrets.get(CALLBACK_TOKEN) or None,
        )
        self._by_domain[signer.shop_domain] = signer
        self._by_name[signer.name] = signer
        return signer

    async def _signer(self, *, domain: str | None = None, name: str | None = None) -> _Signer:
        cached = self._by_domain.get(domain or "") if domain else self._by_name.get(name or "")
        if cached is not None and time.monotonic() - cached.loaded_at < self._cache_seconds:
            return cached
        try:
            return await self._load(domain=domain, name=name)
        except StoreNotFound:
            if domain:
                log.warning("webhook for shop %s: no store is connected for it", domain)
                raise IntakeRefused(IntakeErrorCode.UNAUTHENTICATED, NOT_VERIFIED) from None
            log.warning("callback for store %r: no store has that name", name)
            raise IntakeRefused(IntakeErrorCode.UNKNOWN_STORE, UNKNOWN_CALLBACK) from None

    async def _callback_signer(self, name: str, token: str | None) -> _Signer:
        """The store a callback address names, when its token is the store's. A store set
        up before callback tokens existed (none stored) is reached without one until
        ``store setup`` gives it one."""
        if token is None:
            return await self._signed_callback_signer(name)
        signer = await self._signer(name=name)
        if _token_matches(signer, token):
            return signer
        try:
            fresh = await self._load(name=name)  # set up or rotated since it was cached
        except StoreNotFound:
            raise IntakeRefused(IntakeErrorCode.UNKNOWN_STORE, UNKNOWN_CALLBACK) from None
        if _token_matches(fresh, token):
            return fresh
        log.warning("callback for store %s: wrong or missing callback token", name)
        raise IntakeRefused(IntakeErrorCode.UNKNOWN_STORE, UNKNOWN_CALLBACK)

    async def _signed_callback_signer(self, name: str) -> _Signer:
        """The store of a notification sent to the address without a token, the path other
        tools know (``/shopify/{store}/fulfillment_order_notification``). Shopify signs
        notifications, so the signature checked next is what lets it in; the token guards
        only the unsigned ``fetch_*`` calls. An unknown name is refused exactly like a bad
        signature, so this address tells an outsider nothing about which stores exist."""
        try:
            return await self._load(name=name)
        except StoreNotFound:
            log.warning("callback for store %r: no store has that name", name)
            raise IntakeRefused(IntakeErrorCode.UNAUTHENTICATED, NOT_VERIFIED) from None

    def _check_fresh(self, headers: Mapping[str, str], what: str) -> None:
        triggered = _parse_time(_header(headers, "X-Shopify-Triggered-At"))
        if triggered is None:
            return
        if triggered.tzinfo is None:
            triggered = triggered.replace(tzinfo=UTC)
        age = datetime.now(UTC) - triggered
        if age > self._max_age:
            hours = self._max_age.total_seconds() / 3600
            raise IntakeRefused(
                IntakeErrorCode.UNAUTHENTICATED,
                f"stale {what}: X-Shopify-Triggered-At is more than {hours:g} hours old",
            )

    async def _verify(self, signer: _Signer, body: bytes, signature: str | None) -> _Signer:
        if not signature:
            raise IntakeRefused(
                IntakeErrorCode.UNAUTHENTICATED,
                "unsigned: the X-Shopify-Hmac-Sha256 header is missing",
            )
        if verify_webhook(body, signature, signer.secrets):
            return signer
        # The secret may have changed since it was cached: read it again once.
        fresh = await self._load(name=signer.name)
        if verify_webhook(body, signature, fresh.secrets):
            return fresh
        if not fresh.secrets:
            log.warning(
                "store %s has no webhook secret: set it with "
                "`fulfillbridge store configure --webhook-secret`",
                fresh.name,
            )
        raise IntakeRefused(IntakeErrorCode.UNAUTHENTICATED, NOT_VERIFIED)

    # -- webhooks ------------------------------------------------------------------------

    async def webhook(self, headers: Mapping[str, str], body: bytes) -> Accepted:
        """Verify and store one webhook delivery (raises IntakeRefused)."""
        if len(body) > MAX_BODY_BYTES:
            raise IntakeRefused(
                IntakeErrorCode.TOO_LARGE, f"the body is larger than {MAX_BODY_BYTES} bytes"
            )
        domain = _header(headers, "X-Shopify-Shop-Domain")
        if domain is None:
            raise IntakeRefused(
                IntakeErrorCode.MALFORMED, "the X-Shopify-Shop-Domain header is missing"
            )
        signer = await self._signer(domain=domain.lower())
        signer = await self._verify(signer, body, _header(headers, "X-Shopify-Hmac-Sha256"))
        self._check_fresh(headers, "webhook")
        topic = _header(headers, "X-Shopify-Topic")
        if topic is None:
            raise IntakeRefused(IntakeErrorCode.MALFORMED, "the X-Shopify-Topic header is missing")
        if topic not in KNOWN_TOPICS:
            raise IntakeRefused(
                IntakeErrorCode.MALFORMED, f"unknown topic {topic!r}: the bridge does not handle it"
            )
        webhook_id = _header(headers, "X-Shopify-Webhook-Id")
        if webhook_id is None:
            raise IntakeRefused(
                IntakeErrorCode.MALFORMED, "the X-Shopify-Webhook-Id header is missing"
            )
        if len(webhook_id) > 255:
            raise IntakeRefused(
                IntakeErrorCode.MALFORMED, "the X-Shopify-Webhook-Id header is too long"
            )
        payload, text = _json_object(body, "webhook")
        event = InboxEvent(
            store_id=signer.store_id,
            source="webhook",
            topic=topic,
            delivery_id=webhook_id,
            payload=payload,
            event_id=(_header(headers, "X-Shopify-Event-Id") or "")[:255] or None,
            triggered_at=_parse_time(_header(headers, "X-Shopify-Triggered-At")),
            payload_text=text,
        )
        stored = await self._writer.write(event)
        return Accepted(signer.name, topic, webhook_id, stored)

    # -- fulfillment-service callbacks ---------------------------------------------------

    async def callback(
        self,
        store_name: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        token: str | None = None,
    ) -> Accepted:
        """Verify and store a fulfillment-service notification (a ping)."""
        if len(body) > MAX_BODY_BYTES:
            raise IntakeRefused(
                IntakeErrorCode.TOO_LARGE, f"the body is larger than {MAX_BODY_BYTES} bytes"
            )
        signer = await self._callback_signer(store_name, token)
        domain = _header(headers, "X-Shopify-Shop-Domain")
        if domain is None:
            raise IntakeRefused(
                IntakeErrorCode.UNAUTHENTICATED, "the X-Shopify-Shop-Domain header is missing"
            )
        if domain.lower() != signer.shop_domain:
            raise IntakeRefused(
                IntakeErrorCode.UNAUTHENTICATED,
                f"shop {domain} is not the shop of store {signer.name}",
            )
        signer = await self._verify(signer, body, _header(headers, "X-Shopify-Hmac-Sha256"))
        self._check_fresh(headers, "notification")
        payload, text = _json_object(body, "notification")
        kind = payload.get("kind")
        if kind not in CALLBACK_KINDS:
            raise IntakeRefused(
                IntakeErrorCode.MALFORMED,
                f"unknown notification kind {kind!r}: expected one of {sorted(CALLBACK_KINDS)}",
            )
        given = _header(headers, "X-Shopify-Webhook-Id") or _header(headers, "X-Shopify-Event-Id")
        delivery_id = f"callback:{given}"[:255] if given else f"callback:{uuid.uuid4()}"
        topic = CALLBACK_TOPIC_PREFIX + str(kind).lower()
        event = InboxEvent(
            store_id=signer.store_id,
            source="callback",
            topic=topic,
            delivery_id=delivery_id,
            payload=payload,
            event_id=(_header(headers, "X-Shopify-Event-Id") or "")[:255] or None,
            triggered_at=_parse_time(_header(headers, "X-Shopify-Triggered-At")),
            payload_text=text,
        )
        stored = await self._writer.write(event)
        return Accepted(signer.name, topic, delivery_id, stored)

    # -- fetch_tracking_numbers ----------------------------------------------------------

    async def fetch_caller(
        self,
        store_name: str,
        token: str,
        *,
        shop: str | None,
        signature: str | None,
        body: bytes = b"",
    ) -> int:
        """The id of the store a ``fetch_*`` call (tracking numbers, stock) is for, once its
        callback token matched; a ``shop`` parameter must name the store's shop and a
        signature, when one is sent, must verify. Shopify signs neither call, so the token
        is required: a store without one (not set up since tokens exist) is not answered."""
        signer = await self._callback_signer(store_name, token)
        if shop is not None and shop.strip().lower() != signer.shop_domain:
            raise IntakeRefused(
                IntakeErrorCode.UNAUTHENTICATED,
                f"shop {shop} is not the shop of store {signer.name}",
            )
        if signature is not None:
            signer = await self._verify(signer, body, signature)
        return signer.store_id

    async def tracking_numbers(
        self,
        store_name: str,
        order_names: Sequence[str],
        *,
        token: str,
        shop: str | None,
        signature: str | None,
        body: bytes = b"",
    ) -> dict[str, str]:
        """Tracking numbers by fulfillment name (``#1001.1``: the first shipment of order
        ``#1001``; a bare order name means its first shipment). Names without a shipment
        are left out.

        Shopify's documentation describes no signature for this GET (only the POSTed
        notification is signed), so a request without one is answered; one that carries
        ``X-Shopify-Hmac-Sha256`` must verify, and a ``shop`` parameter must name the
        store's own shop; the callback token is what keeps the answer private."""
        store_id = await self.fetch_caller(
            store_name, token, shop=shop, signature=signature, body=body
        )
        names = [n.strip() for n in order_names if n and n.strip()]
        if not names:
            raise IntakeRefused(
                IntakeErrorCode.MALFORMED, "give at least one order_names[] parameter"
            )
        if len(names) > MAX_ORDER_NAMES:
            raise IntakeRefused(
                IntakeErrorCode.MALFORMED, f"at most {MAX_ORDER_NAMES} order names per request"
            )
        wanted = {name: _split_fulfillment_name(name) for name in names}
        orders = {order for order, _ in wanted.values()}
        async with self.database.transaction() as session:
            rows = await session.execute(
                select(WorkOrderRow.order_name, ShipmentRow.tracking)
                .join(ShipmentRow, ShipmentRow.work_order_id == WorkOrderRow.id)
                .where(
                    WorkOrderRow.store_id == store_id,
                    WorkOrderRow.order_name.in_(orders),
                )
                .order_by(ShipmentRow.created_at, ShipmentRow.id)
            )
            shipments: dict[str, list[list[Any]]] = {}
            for order_name, tracking in rows:
                shipments.setdefault(order_name, []).append(tracking or [])
        answer: dict[str, str] = {}
        for name, (order, number) in wanted.items():
            packages = shipments.get(order, [])
            if 1 <= number <= len(packages):
                tracking = _first_number(packages[number - 1])
                if tracking:
                    answer[name] = tracking
        return answer


def _split_fulfillment_name(name: str) -> tuple[str, int]:
    """``#1001.2`` -> (``#1001``, 2); ``#1001`` -> (``#1001``, 1)."""
    head, dot, tail = name.rpartition(".")
    if dot and tail.isdigit() and head:
        return head, int(tail)
    return name, 1


def _first_number(tracking: Iterable[Any]) -> str | None:
    for package in tracking:
        if isinstance(package, dict) and package.get("number"):
            return str(package["number"])
    return None
