"""Outbound traffic of the sandbox: webhook deliveries and fulfillment-service callbacks.

``OutboundDispatcher(sandbox)`` listens to every shop's ``emit(topic, payload)``. For each
subscription to the topic (any app of the shop) it POSTs the JSON payload to the
subscription's address with Shopify's headers (docs/shopify.md#webhooks):
``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body keyed
with the owning app's client secret), ``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``,
``X-Shopify-Webhook-Id`` (one per delivery; a duplicate keeps it), ``X-Shopify-Event-Id``
(one per event, shared by the deliveries of that event) and ``X-Shopify-Triggered-At``.
An event whose payload names one app (``ONLY_APP_KEY``, e.g. ``bulk_operations/finish``)
goes only to that app's subscriptions, without that key.

Delivery rules (docs/shopify.md#delivery-and-retries): 1 s to connect, 5 s in all; any
answer but 2xx is a failure, redirects included (they are not followed). A failed delivery
is retried 8 times with growing waits (``RETRY_DELAYS``, about 3.7 hours in all, like
Shopify's "8 retries over 4 hours"). The waits are real time multiplied by
``backoff_factor`` (constructor argument, or the ``FULFILLBRIDGE_SANDBOX_WEBHOOK_BACKOFF``
environment variable; default 1.0) so tests can run the whole schedule in a second; they do
not follow the sandbox clock. When a delivery has failed its 8 retries (8 consecutive
failures after the first attempt), a subscription made through the API is deleted.

Fulfillment-service callbacks (topic ``"__callback__"``) POST ``{"kind": ...}`` to
``<callback_url>/fulfillment_order_notification``, signed the same way. A failed callback is
retried at growing intervals for about two days (``CALLBACK_RETRY_DELAYS``, times
``backoff_factor``); there is no subscription to delete. Shopify's current reference does
not state a retry policy for this callback; Shopify has described sending failed requests
to fulfillment services again "in increasing time intervals up to 48 hours", and its staff
say the callback may be debounced (one ping for many requests). The schedule is therefore an
assumption (docs/shopify.md), and the bridge never relies on it: reconciliation finds
requests whose ping was lost.

The sandbox only talks to loopback hosts (127.0.0.1, localhost, ::1): a delivery to any
other host is recorded as ``refused`` and never sent, and does not count as a failure.

Webhook faults come from the engine's fault settings (``sandbox.faults.webhooks``), drawn
once per delivery: ``drop`` (never sent, logged as ``dropped``), ``duplicate`` (sent twice
with the same webhook id), ``delay_seconds`` (wait before the first attempt) and
``reorder`` (held back until the shop's next delivery of the same kind, webhook or
callback, has been attempted, at most
``REORDER_HOLD_SECONDS``).

Everything runs on the event loop that called ``start()`` (one worker task per shop for the
first attempts of webhooks and one for callbacks, one task per retry schedule). Each of
these lanes has its own HTTP client (its own connection pool), shared with its retries. ``emit``
may come from any thread: events are handed to the loop with ``call_soon_threadsafe`` and
``emit`` returns at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import ssl
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from fulfillbridge.sandbox.domain.webhooks import (
    LOOPBACK_HOSTS,
    ONLY_APP_KEY,
    WebhookRegistry,
    filter_matches,
)
from fulfillbridge.sandbox.state import ShopState

logger = logging.getLogger(__name__)

MAX_RETRIES = 8
# Seconds before retry n (1..8); 13,480 s ≈ 3.7 h in all.
RETRY_DELAYS: tuple[float, ...] = (10, 30, 60, 180, 600, 1800, 3600, 7200)
# Seconds before each retry of a failed fulfillment-service callback: about 46.6 h in all.
CALLBACK_RETRY_DELAYS: tuple[float, ...] = (10, 60, 300, 1800, 3600, 10800, 21600, 43200, 86400)
CONNECT_TIMEOUT = 1.0
TOTAL_TIMEOUT = 5.0
REORDER_HOLD_SECONDS = 0.5
LOG_LIMIT = 2000  # deliveries remembered per shop
PENDING_LIMIT = 10_000  # events buffered before start()
CALLBACK_TOPIC = "__callback__"
BACKOFF_ENV = "FULFILLBRIDGE_SANDBOX_WEBHOOK_BACKOFF"


def sign(body: bytes, secret: str) -> str:
    """Shopify's webhook signature: base64 of HMAC-SHA256 over the raw body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def is_local(url: str) -> bool:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return host in LOOPBACK_HOSTS


@dataclass
class Delivery:
    """One message to one address (with its retries)."""

    webhook_id: str
    event_id: str
    shop_domain: str
    topic: str
    url: str
    app_id: str
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    subscription_id: int | None = None
    triggered_at: str = ""
    retries: bool = True
    status: str = "pending"  # pending | delivered | retrying | failed | dropped | refused
    attempts: int = 0
    response_status: int | None = None
    last_error: str | None = None
    duplicated: bool = False
    subscription_deleted: bool = False

    def public(self) -> dict[str, Any]:
        """The delivery log entry (no body, no signature)."""
        return {
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "topic": self.topic,
            "url": self.url,
            "app_id": self.app_id,
            "subscription_id": self.subscription_id,
            "triggered_at": self.triggered_at,
            "status": self.status,
            "attempts": self.attempts,
            "response_status": self.response_status,
            "last_error": self.last_error,
            "duplicated": self.duplicated,
            "subscription_deleted": self.subscription_deleted,
        }


def _lane(delivery: Delivery) -> str:
    """The queue a delivery waits in: per shop, webhooks apart from callbacks."""
    # Callbacks go on a lane of their own: Shopify calls a fulfillment service apart from
    # the shop's webhooks, so a ping never waits behind a backlog of webhooks.
    kind = "callbacks" if delivery.topic == CALLBACK_TOPIC else "webhooks"
    return f"{delivery.shop_domain} {kind}"


def _backoff_from_env() -> float:
    raw = os.environ.get(BACKOFF_ENV)
    if raw is None:
        return 1.0
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{BACKOFF_ENV} must be a number, got {raw!r}") from exc
    if value < 0:
        raise ValueError(f"{BACKOFF_ENV} must not be negative")
    return value


class OutboundDispatcher:
    """Delivers a sandbox's webhooks and callbacks (see the module docstring)."""

    def __init__(
        self,
        sandbox: Any,
        *,
        backoff_factor: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.backoff_factor = _backoff_from_env() if backoff_factor is None else backoff_factor
        if self.backoff_factor < 0:
            raise ValueError("backoff_factor must not be negative")
        self._transport = transport
        self._client: httpx.AsyncClient | None = None  # the one client over _transport
        self._clients: dict[str, httpx.AsyncClient] = {}  # per lane, without _transport
        self._ssl_context: ssl.SSLContext | None = None  # made once, shared by the clients
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: dict[str, asyncio.Queue[Delivery]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._log: dict[str, deque[Delivery]] = {}
        self._attached: set[int] = set()
        self._states: dict[str, ShopState] = {}  # the live state of each domain
        self._pending: list[tuple[ShopState, str, dict[str, Any], str, str]] = []
        self._in_flight = 0
        self._count_lock = threading.Lock()  # emit may run on another thread
        self._idle = asyncio.Event()
        self._idle.set()

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle = asyncio.Event()
        self._idle.set()
        # An injected transport (tests) is shared by one client; otherwise each lane gets
        # its own client (see _client_for).
        self._client = self._new_client() if self._transport is not None else None
        for shop in list(getattr(self.sandbox, "all_shops", lambda: [])()):
            self.attach(shop)
        pending, self._pending = self._pending, []
        for shop, topic, payload, event_id, triggered_at in pending:
            self._plan(shop, topic, payload, event_id, triggered_at)

    async def stop(self) -> None:
        tasks = [*self._workers.values(), *self._tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._workers.clear()
        self._tasks.clear()
        self._queues.clear()
        clients = [*self._clients.values(), *([self._client] if self._client else [])]
        self._clients.clear()
        self._client = None
        for client in clients:
            await client.aclose()
        self._loop = None
        self._in_flight = 0
        self._idle.set()

    def _new_client(self) -> httpx.AsyncClient:
        # httpx would build a new TLS context (loading the CA bundle) for every client; the
        # sandbox only sends plain HTTP to loopback, so one context made once serves all.
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return httpx.AsyncClient(
            verify=self._ssl_context,
            timeout=httpx.Timeout(TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
            transport=self._transport,
            trust_env=False,
            # A lane sends one delivery at a time but its retries run beside it: no cap, and
            # every connection is kept open for the next delivery.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
        )

    def _client_for(self, delivery: Delivery) -> httpx.AsyncClient:
        # One client (one connection pool) per lane rather than one for all: httpcore looks
        # at every connection of its pool, asking each socket whether it is still usable,
        # on every request, so with one pool for 50 shops (100 lanes, 100 connections) that
        # check was the largest cost of a delivery. A lane's pool holds one or two.
        if self._client is not None:
            return self._client
        assert self._loop is not None, "OutboundDispatcher.start() was not awaited"
        lane = _lane(delivery)
        client = self._clients.get(lane)
        if client is None:
            client = self._clients[lane] = self._new_client()
        return client

    def attach(self, shop: Any) -> None:
        """Listen to a shop's events (a ``ShopState`` or anything with ``.state``)."""
        state: ShopState = getattr(shop, "state", shop)
        if id(state) in self._attached:
            return
        self._attached.add(id(state))
        # A new state for a known domain (after /__sandbox/reset) starts a fresh log.
        self._log.pop(state.domain, None)
        self._states[state.domain] = state
        state.listeners.append(self._listener(state))
        # The state endpoint dumps every part: the delivery log shows up there.
        state.parts["outbound"] = _DeliveryLogView(self, state.domain)

    def _listener(self, state: ShopState) -> Callable[[str, dict[str, Any]], None]:
        def on_event(topic: str, payload: dict[str, Any]) -> None:
            # Called synchronously by ShopState.emit, possibly from a worker thread.
            event_id = str(uuid.uuid4())
            triggered_at = state.clock.iso_now()
            snapshot = json.loads(json.dumps(payload, default=str))
            loop = self._loop
            if loop is None or loop.is_closed():
                if len(self._pending) < PENDING_LIMIT:
                    self._pending.append((state, topic, snapshot, event_id, triggered_at))
                return
            self._begin()  # counted now so idle() cannot return before it is planned
            loop.call_soon_threadsafe(
                self._plan_counted, state, topic, snapshot, event_id, triggered_at
            )

        return on_event

    # -- planning ---------------------------------------------------------------------------
    def _plan_counted(
        self, state: ShopState, topic: str, payload: dict[str, Any], event_id: str, at: str
    ) -> None:
        try:
            self._plan(state, topic, payload, event_id, at)
        finally:
            self._done()

    def _plan(
        self, state: ShopState, topic: str, payload: dict[str, Any], event_id: str, at: str
    ) -> None:
        if topic == CALLBACK_TOPIC:
            delivery = self._callback_delivery(state, payload, event_id, at)
            if delivery is not None:
                self._enqueue(state, delivery)
            return
        registry = state.parts.get("webhooks")
        if not isinstance(registry, WebhookRegistry):
            return
        only_app = payload.pop(ONLY_APP_KEY, None)  # payload is this event's own copy
        for subscription in registry.for_topic(topic):
            if only_app is not None and subscription.app_id != only_app:
                continue
            if not filter_matches(subscription.filter, payload):
                continue
            body_payload = payload
            if subscription.include_fields:
                body_payload = {
                    k: v for k, v in payload.items() if k in subscription.include_fields
                }
            body = json.dumps(body_payload).encode()
            secret = self._secret(state, subscription.app_id)
            if secret is None:
                continue
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Shopify-Captain-Hook",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": sign(body, secret),
                "X-Shopify-Shop-Domain": state.domain,
                "X-Shopify-API-Version": subscription.api_version,
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Event-Id": event_id,
                "X-Shopify-Triggered-At": at,
            }
            self._enqueue(
                state,
                Delivery(
                    webhook_id=headers["X-Shopify-Webhook-Id"],
                    event_id=event_id,
                    shop_domain=state.domain,
                    topic=topic,
                    url=subscription.uri,
                    app_id=subscription.app_id,
                    body=body,
                    headers=headers,
                    subscription_id=subscription.id,
                    triggered_at=at,
                ),
            )

    def _callback_delivery(
        self, state: ShopState, payload: dict[str, Any], event_id: str, at: str
    ) -> Delivery | None:
        base = str(payload.get("callback_url") or "").rstrip("/")
        app_id = str(payload.get("app_id") or "")
        kind = payload.get("kind")
        if not base or not kind:
            logger.warning("sandbox callback without callback_url or kind ignored")
            return None
        secret = self._secret(state, app_id)
        if secret is None:
            return None
        body = json.dumps({"kind": kind}).encode()
        webhook_id = str(uuid.uuid4())
        return Delivery(
            webhook_id=webhook_id,
            event_id=event_id,
            shop_domain=state.domain,
            topic=CALLBACK_TOPIC,
            url=f"{base}/fulfillment_order_notification",
            app_id=app_id,
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Hmac-Sha256": sign(body, secret),
                "X-Shopify-Shop-Domain": state.domain,
            },
            triggered_at=at,
        )

    def _secret(self, state: ShopState, app_id: str) -> str | None:
        try:
            return str(self.sandbox.app_secret(state.domain, app_id))
        except KeyError:
            logger.warning("no app %s on shop %s: delivery skipped", app_id, state.domain)
            return None

    def _enqueue(self, state: ShopState, delivery: Delivery) -> None:
        log = self._log.setdefault(state.domain, deque(maxlen=LOG_LIMIT))
        log.append(delivery)
        lane = _lane(delivery)
        queue = self._queues.get(lane)
        if queue is None:
            queue = self._queues[lane] = asyncio.Queue()
            self._workers[lane] = asyncio.ensure_future(self._worker(state, queue))
        self._begin()
        queue.put_nowait(delivery)

    # -- sending ----------------------------------------------------------------------------
    async def _worker(self, state: ShopState, queue: asyncio.Queue[Delivery]) -> None:
        held: Delivery | None = None
        while True:
            if held is None:
                delivery = await queue.get()
            else:
                try:
                    delivery = await asyncio.wait_for(queue.get(), REORDER_HOLD_SECONDS)
                except TimeoutError:
                    delivery, held = held, None
                    await self._first_attempt(state, delivery)
                    continue
            faults = self.sandbox.faults
            settings = faults.webhooks
            if faults.chance(settings.drop):
                delivery.status = "dropped"
                self._done()
                continue
            if held is None and faults.chance(settings.reorder):
                held = delivery
                continue
            if settings.delay_seconds:
                await asyncio.sleep(settings.delay_seconds)
            if faults.chance(settings.duplicate):
                delivery.duplicated = True
            await self._first_attempt(state, delivery)
            if held is not None:
                released, held = held, None
                await self._first_attempt(state, released)

    async def _first_attempt(self, state: ShopState, delivery: Delivery) -> None:
        try:
            if not is_local(delivery.url):
                delivery.status = "refused"
                delivery.last_error = "the sandbox only delivers to loopback addresses"
                return
            ok = await self._attempt(delivery)
            if delivery.duplicated:
                await self._attempt(delivery)
            if ok:
                return
            if not delivery.retries:
                delivery.status = "failed"
                return
            delivery.status = "retrying"
            self._begin()  # the retry schedule is its own unit of work
            task = asyncio.ensure_future(self._retry(state, delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        finally:
            self._done()

    async def _retry(self, state: ShopState, delivery: Delivery) -> None:
        try:
            callback = delivery.topic == CALLBACK_TOPIC
            for delay in CALLBACK_RETRY_DELAYS if callback else RETRY_DELAYS[:MAX_RETRIES]:
                await asyncio.sleep(delay * self.backoff_factor)
                if self._states.get(state.domain, state) is not state:
                    delivery.status = "failed"
                    delivery.last_error = "the shop was reset"
                    return
                if delivery.subscription_id is not None and not self._subscribed(
                    state, delivery.subscription_id
                ):
                    delivery.status = "failed"
                    delivery.last_error = "subscription no longer exists"
                    return
                if await self._attempt(delivery):
                    return
            delivery.status = "failed"
            self._remove_subscription(state, delivery)
        finally:
            self._done()

    async def _attempt(self, delivery: Delivery) -> bool:
        client = self._client_for(delivery)
        delivery.attempts += 1
        try:
            response = await client.post(
                delivery.url, content=delivery.body, headers=delivery.headers
            )
        except httpx.HTTPError as exc:
            delivery.response_status = None
            delivery.last_error = type(exc).__name__
            return False
        delivery.response_status = response.status_code
        if 200 <= response.status_code < 300:
            delivery.status = "delivered"
            delivery.last_error = None
            return True
        delivery.last_error = f"HTTP {response.status_code}"
        return False

    @staticmethod
    def _subscribed(state: ShopState, subscription_id: int) -> bool:
        registry = state.parts.get("webhooks")
        return isinstance(registry, WebhookRegistry) and registry.get(subscription_id) is not None

    @staticmethod
    def _remove_subscription(state: ShopState, delivery: Delivery) -> None:
        registry = state.parts.get("webhooks")
        if delivery.subscription_id is None or not isinstance(registry, WebhookRegistry):
            return
        subscription = registry.get(delivery.subscription_id)
        if subscription is not None and subscription.created_through_api:
            registry.delete(subscription.id)
            delivery.subscription_deleted = True
            logger.info(
                "webhook subscription %s deleted after %d consecutive failures",
                subscription.id,
                MAX_RETRIES,
            )

    def _begin(self) -> None:
        with self._count_lock:
            self._in_flight += 1
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._sync_idle)

    def _done(self) -> None:
        with self._count_lock:
            self._in_flight = max(self._in_flight - 1, 0)
        self._sync_idle()

    def _sync_idle(self) -> None:
        # Runs on the loop: asyncio.Event is not thread-safe.
        if self._in_flight == 0:
            self._idle.set()
        else:
            self._idle.clear()

    # -- inspection -------------------------------------------------------------------------
    async def idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued, sending or waiting to retry; False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def deliveries(self, shop_domain: str) -> list[dict[str, Any]]:
        return [d.public() for d in self._log.get(shop_domain, ())]

    def dump(self, shop_domain: str | None = None) -> dict[str, Any]:
        """Delivery log per shop (topic, url, status, attempts...) for the state endpoint."""
        domains = [shop_domain] if shop_domain else sorted(self._log)
        return {
            "backoff_factor": self.backoff_factor,
            "in_flight": self._in_flight,
            "deliveries": {domain: self.deliveries(domain) for domain in domains},
        }


class _DeliveryLogView:
    """The shop's delivery log as a domain part (so ``/__sandbox/state`` shows it)."""

    def __init__(self, dispatcher: OutboundDispatcher, domain: str) -> None:
        self._dispatcher = dispatcher
        self._domain = domain

    def dump(self) -> list[dict[str, Any]]:
        return self._dispatcher.deliveries(self._domain)
