"""Cost-aware throttling for the GraphQL Admin API.

Shopify keeps a leaky bucket of points per app and store: each request is charged its
requested cost up front (the difference to the actual cost is refunded) and the bucket
refills at ``restoreRate`` points per second up to ``maximumAvailable``. Every response
reports the bucket in ``extensions.cost.throttleStatus`` (docs/shopify.md#the-bucket; every
capture, e.g. 2026-04_orders_fulfillment-create-preconditions.json shows 2000 / 100).

:class:`LocalThrottleBucket` keeps an estimate of that bucket from the latest reading and
points reserved by requests still in flight, and makes callers wait until the estimate
covers their request. Anything implementing :class:`ThrottleBucket` can take its place, e.g.
a bucket stored in the database and shared by worker processes.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# A request whose cost was never seen is assumed to cost this much (Shopify: most
# mutations cost 10, reads of 50 records cost around 16-60 requested; docs/shopify.md#costs).
DEFAULT_COST_ESTIMATE = 50
# Shopify refuses any single query requesting more than 1000 points (docs/shopify.md#the-bucket).
SINGLE_QUERY_MAX_COST = 1000


@dataclass(frozen=True)
class ThrottleStatus:
    """One reading of the bucket: ``extensions.cost.throttleStatus``."""

    maximum_available: float
    currently_available: float
    restore_rate: float

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ThrottleStatus:
        return cls(
            maximum_available=float(raw["maximumAvailable"]),
            currently_available=float(raw["currentlyAvailable"]),
            restore_rate=float(raw["restoreRate"]),
        )


@dataclass(frozen=True)
class QueryCost:
    """``extensions.cost`` of one response (``actual`` is None when throttled)."""

    requested: int | None
    actual: int | None
    throttle_status: ThrottleStatus | None


def parse_cost(body: Any) -> QueryCost | None:
    """The cost block of a GraphQL response body, or None when it carries none."""
    if not isinstance(body, Mapping):
        return None
    extensions = body.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    if not isinstance(cost, Mapping):
        return None
    raw_status = cost.get("throttleStatus")
    status = None
    if isinstance(raw_status, Mapping):
        try:
            status = ThrottleStatus.from_json(raw_status)
        except (KeyError, TypeError, ValueError):
            status = None

    def _int(value: Any) -> int | None:
        return int(value) if isinstance(value, int | float) else None

    return QueryCost(
        requested=_int(cost.get("requestedQueryCost")),
        actual=_int(cost.get("actualQueryCost")),
        throttle_status=status,
    )


def available_at(status: ThrottleStatus, read_at: float, now: float) -> float:
    """Points in the bucket at ``now`` given a reading taken at ``read_at``."""
    elapsed = max(0.0, now - read_at)
    return min(status.maximum_available, status.currently_available + status.restore_rate * elapsed)


def seconds_until_available(
    status: ThrottleStatus, read_at: float, now: float, needed: float
) -> float:
    """How long until the bucket (per the reading) holds ``needed`` points; 0 if it does."""
    needed = min(needed, status.maximum_available)
    missing = needed - available_at(status, read_at, now)
    if missing <= 0:
        return 0.0
    if status.restore_rate <= 0:
        return math.inf
    return missing / status.restore_rate


@runtime_checkable
class ThrottleBucket(Protocol):
    """What the client needs from a bucket; share one object between clients of a store.

    ``acquire(cost)`` returns once the bucket is expected to hold ``cost`` points and
    reserves them; ``update(status, released=cost)`` records the server's reading and
    releases that reservation (status is None when the response carried none).
    """

    async def acquire(self, cost: float) -> None: ...

    async def update(self, status: ThrottleStatus | None, *, released: float) -> None: ...


class LocalThrottleBucket:
    """An in-process estimate of one store's bucket, safe for concurrent coroutines.

    Until the first reading arrives the size of the bucket is unknown, so requests go
    one at a time; after that each caller waits (``asyncio.sleep``) until the reading,
    aged by the restore rate and reduced by points reserved for requests in flight, covers
    its estimated cost. The estimate is deliberately pessimistic: a reading may already
    include a request we still count as in flight.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_wait_seconds: float = 120.0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait_seconds
        self._status: ThrottleStatus | None = None
        self._read_at = 0.0
        self._reserved = 0.0
        self._lock = asyncio.Lock()
        self._probing = False

    @property
    def status(self) -> ThrottleStatus | None:
        return self._status

    def available(self) -> float | None:
        """Estimated points free for a new request now (None before the first reading)."""
        if self._status is None:
            return None
        return available_at(self._status, self._read_at, self._clock()) - self._reserved

    async def acquire(self, cost: float) -> None:
        waited = 0.0
        while True:
            async with self._lock:
                if self._status is None:
                    if not self._probing or waited >= self._max_wait:
                        # First request for this store: let it through alone to learn
                        # the bucket; the others wait for its reading.
                        self._probing = True
                        self._reserved += cost
                        return
                    delay = 0.05
                else:
                    wanted = min(cost, self._status.maximum_available)
                    free = self.available() or 0.0
                    if free >= wanted or waited >= self._max_wait:
                        # The bound on waiting keeps a bucket that never refills
                        # (restore rate 0) from hanging the caller forever.
                        self._reserved += cost
                        return
                    rate = self._status.restore_rate
                    delay = (wanted - free) / rate if rate > 0 else 1.0
            delay = max(0.01, min(delay, self._max_wait - waited, 5.0))
            await self._sleep(delay)
            waited += delay

    async def update(self, status: ThrottleStatus | None, *, released: float) -> None:
        async with self._lock:
            self._reserved = max(0.0, self._reserved - released)
            if status is not None:
                self._status = status
                self._read_at = self._clock()
            self._probing = False
