"""Every Prometheus metric of the bridge, defined in one place.

Two kinds of figures:

* **Observed** where something happens, in the process where it happens (a write reaching
  Shopify, an operation webhook failing, a THROTTLED answer, a rejected inventory row). They
  live in ``REGISTRY``; each process reports its own counts and Prometheus adds them up
  (``sum(rate(...))``).
* **Read from the database at scrape time** by :class:`BacklogCollector` (queue depths, the
  age of the oldest due row, the shared throttle estimate, worker heartbeats), so the HTTP
  app and every worker report the same truth whichever of them is scraped. The reading
  itself lives in ``store.backlog``; this module only names and shapes the figures.

This module imports nothing of ours: flows, store, web, the worker and the runtime all use it.
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = logging.getLogger("fulfillbridge.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds; the work flows in well under a second when all is well and in minutes when it is not.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

REQUEST_TO_ACCEPTED = Histogram(
    "fulfillbridge_request_to_accepted_seconds",
    "From the bridge storing a fulfillment request's work order to Shopify confirming its "
    "acceptance.",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SHIPMENT_TO_FULFILLMENT = Histogram(
    "fulfillbridge_shipment_to_fulfillment_seconds",
    "From the operation recording a shipment to Shopify confirming the fulfillment.",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SHOPIFY_WRITES = Counter(
    "fulfillbridge_shopify_writes",
    "Outbox rows to Shopify finished, by kind and final status (done, failed, skipped).",
    ["kind", "status"],
    registry=REGISTRY,
)
VERIFICATIONS = Counter(
    "fulfillbridge_verifications",
    "Writes whose outcome was unknown (no answer, or a crash mid-send) checked against "
    "Shopify before any retry: found (it had run), resent (it had not), inconclusive.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "fulfillbridge_operation_deliveries",
    "Attempts to deliver a webhook to the operation: delivered, retrying (an attempt "
    "failed, another follows) or failed (given up).",
    ["outcome"],
    registry=REGISTRY,
)
THROTTLED = Counter(
    "fulfillbridge_shopify_throttled",
    "Shopify answers saying THROTTLED (HTTP 429, or a THROTTLED error in a 200), per store.",
    ["store"],
    registry=REGISTRY,
)
INVENTORY_REJECTED = Counter(
    "fulfillbridge_inventory_rows_rejected",
    "Inventory rows refused (unknown or ambiguous SKU, unmapped warehouse, bad quantity...), "
    "per store ('' when the row names no known store).",
    ["store"],
    registry=REGISTRY,
)
WORKER_UP = Gauge(
    "fulfillbridge_worker_up",
    "1 while this process's worker loop runs.",
    registry=REGISTRY,
)
WORKER_LAST_ROUND = Gauge(
    "fulfillbridge_worker_last_round_timestamp_seconds",
    "When this process's worker last finished a round (Unix time).",
    registry=REGISTRY,
)


# --------------------------------------------------------------------------- observation


def observe_write(
    *,
    kind: str,
    target: str,
    status: str,
    verified: bool,
    was_unknown: bool,
    started: float | None,
    final: bool,
) -> None:
    """One finished attempt of an outbox row (``flows.outbox``). ``started`` is the Unix
    time the latency is measured from (the work order's or the shipment's creation)."""
    if target == "operation":
        if status == "done":
            DELIVERIES.labels("delivered").inc()
        elif status == "failed":
            DELIVERIES.labels("failed").inc()
        elif status == "pending":
            DELIVERIES.labels("retrying").inc()
        return
    if was_unknown:
        outcome = "found" if verified else "resent" if status == "done" else "inconclusive"
        VERIFICATIONS.labels(kind, outcome).inc()
    if final:
        SHOPIFY_WRITES.labels(kind, status).inc()
    if status != "done" or started is None:
        return
    took = max(0.0, time.time() - started)
    if kind == "accept_request":
        REQUEST_TO_ACCEPTED.observe(took)
    elif kind == "create_fulfillment":
        SHIPMENT_TO_FULFILLMENT.observe(took)


def count_throttled(store: str) -> None:
    THROTTLED.labels(store).inc()


def count_rejected_rows(by_store: Iterable[str | None]) -> None:
    for store in by_store:
        INVENTORY_REJECTED.labels(store or "").inc()


def worker_round_done() -> None:
    WORKER_UP.set(1)
    WORKER_LAST_ROUND.set(time.time())


# --------------------------------------------------------------------------- the database's truth


@dataclass(frozen=True)
class QueueFigure:
    """Rows of one store and kind waiting in a queue (inbox or outbox)."""

    store: str
    kind: str
    waiting: int  # not finished
    due: int  # waiting and due now (not backing off)
    oldest_due_age: float  # seconds since the oldest due row was created; 0 when none due
    failed: int = 0  # given up: a person must look


@dataclass(frozen=True)
class BucketFigure:
    store: str
    available: float  # points the shared estimate says are free now
    maximum: float


@dataclass(frozen=True)
class HeartbeatFigure:
    worker: str
    age: float  # seconds since its last heartbeat


@dataclass
class Backlog:
    inbox: list[QueueFigure] = field(default_factory=list)
    outbox: list[QueueFigure] = field(default_factory=list)
    buckets: list[BucketFigure] = field(default_factory=list)
    # None: this database has no heartbeat table (see store.backlog).
    heartbeats: list[HeartbeatFigure] | None = None


class BacklogCollector(Collector):
    """Figures read from the database at each scrape through ``read``. A failed read is
    reported as ``fulfillbridge_database_up 0`` rather than failing the whole scrape."""

    def __init__(self, read: Callable[[], Backlog]) -> None:
        self._read = read

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # figures depend on the data: no fixed description

    def collect(self) -> Iterator[GaugeMetricFamily]:
        started = time.monotonic()
        try:
            backlog: Backlog | None = self._read()
        except Exception:
            log.warning("reading the backlog for metrics failed", exc_info=True)
            backlog = None
        up = GaugeMetricFamily(
            "fulfillbridge_database_up",
            "1 when the database answered this scrape's backlog read.",
            value=0 if backlog is None else 1,
        )
        took = GaugeMetricFamily(
            "fulfillbridge_backlog_read_seconds",
            "How long this scrape's backlog read took.",
            value=time.monotonic() - started,
        )
        yield up
        yield took
        if backlog is None:
            return
        yield from _queue_families("inbox", "topic", backlog.inbox)
        yield from _queue_families("outbox", "kind", backlog.outbox)
        available = GaugeMetricFamily(
            "fulfillbridge_throttle_available_points",
            "Points free in a store's Shopify bucket, by the estimate all processes share.",
            labels=["store"],
        )
        maximum = GaugeMetricFamily(
            "fulfillbridge_throttle_maximum_points",
            "Size of a store's Shopify bucket, as Shopify last reported it.",
            labels=["store"],
        )
        for bucket in backlog.buckets:
            available.add_metric([bucket.store], bucket.available)
            maximum.add_metric([bucket.store], bucket.maximum)
        yield available
        yield maximum
        # Always named (empty while the schema has no heartbeat table), so alerts on it load.
        ages = GaugeMetricFamily(
            "fulfillbridge_worker_heartbeat_age_seconds",
            "Seconds since each registered worker's last heartbeat.",
            labels=["worker"],
        )
        for beat in backlog.heartbeats or []:
            ages.add_metric([beat.worker], beat.age)
        yield ages


def _queue_families(
    queue: str, kind_label: str, figures: list[QueueFigure]
) -> Iterator[GaugeMetricFamily]:
    labels = ["store", kind_label]
    waiting = GaugeMetricFamily(
        f"fulfillbridge_{queue}_backlog",
        f"{queue.capitalize()} rows not finished yet.",
        labels=labels,
    )
    due = GaugeMetricFamily(
        f"fulfillbridge_{queue}_due",
        f"{queue.capitalize()} rows due now (waiting and not backing off after a failure).",
        labels=labels,
    )
    oldest = GaugeMetricFamily(
        f"fulfillbridge_{queue}_oldest_due_age_seconds",
        f"Age of the oldest due {queue} row (0 when none is due).",
        labels=labels,
    )
    failed = GaugeMetricFamily(
        f"fulfillbridge_{queue}_failed",
        f"{queue.capitalize()} rows given up on (kept for a person to retry).",
        labels=labels,
    )
    for figure in figures:
        key = [figure.store, figure.kind]
        waiting.add_metric(key, figure.waiting)
        due.add_metric(key, figure.due)
        oldest.add_metric(key, figure.oldest_due_age)
        failed.add_metric(key, figure.failed)
    yield from (waiting, due, oldest, failed)


class ProcessMetrics(Collector):
    """``REGISTRY``'s figures, for adding to another registry (the HTTP app keeps its own)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()

    def describe(self) -> Iterator[Metric]:
        return iter(())


# --------------------------------------------------------------------------- THROTTLED answers


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: building one reads the CA bundle (about 30 ms of CPU),
    and a worker makes a client for every store it works, round after round."""
    return httpx.create_ssl_context()


class ThrottleCountingTransport(httpx.AsyncBaseTransport):
    """The Shopify client's transport, counting THROTTLED answers of one store. Shopify
    says THROTTLED with HTTP 429 or inside a 200 (docs/shopify.md), so a 200's body is read
    here; the client reads the same bytes afterwards."""

    def __init__(self, store: str, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
        self._inner = inner or httpx.AsyncHTTPTransport(verify=_tls_context())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.status_code == 429:
            count_throttled(self.store)
        elif response.status_code == 200 and request.url.path.endswith("/graphql.json"):
            body = await response.aread()
            if b'"THROTTLED"' in body:
                count_throttled(self.store)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
