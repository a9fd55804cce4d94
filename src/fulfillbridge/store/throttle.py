"""A store's Shopify throttle bucket kept in the database, shared by every worker process.

Shopify keeps one leaky bucket per app and store (docs/shopify.md#the-bucket): several worker
processes talking to the same store draw from the same points. Each process estimating the
bucket on its own would let all of them spend the same free points at once and be
THROTTLED. :class:`SharedThrottleBucket` keeps one estimate per store in ``throttle_state``:

* ``acquire(cost)`` ages the stored reading by the restore rate, and when it covers
  ``cost`` plus the points every process has in flight (``reserved``), adds the cost to
  ``reserved`` (a reservation every other process sees) and returns; otherwise it sleeps
  for the time the refill needs and looks again.
* ``update(status, released=cost)`` takes the reservation back out of ``reserved`` and
  records the server's reading (the lower of it and the aged previous one). Reservations
  stay apart from the reading because Shopify may have taken the reading before the
  requests still in flight reached it: folding them into one number and then taking the
  reading, as this module once did, forgot those requests, and a busy store was answered
  THROTTLED although every process shared the estimate. A request that got no reading
  back (a 5xx, a timeout) leaves the estimate as it was: its reservation is the ceiling
  for a read never answered before, far more than it costs, and the next answer's
  reading shows what Shopify charged.

Each step is one short write transaction that locks the row before reading it (on
PostgreSQL ``SELECT ... FOR UPDATE``; on SQLite, which lacks it, a no-op UPDATE first, so the
transaction holds the write lock from its start): two processes never both spend the same
points.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.store.database import Database
from fulfillbridge.store.models import ThrottleStateRow

if TYPE_CHECKING:  # only the shape: store/ does not depend on the Shopify client
    from fulfillbridge.shopify import ThrottleStatus

# Never sleep longer than this in one go: a reading from another process may free points.
_MAX_SINGLE_SLEEP = 2.0
_MIN_SLEEP = 0.01
# While one request learns the bucket, the others look again this often, and take over when
# it has not answered for this long.
PROBE_POLL_SECONDS = 0.05
# Shopify reports currentlyAvailable as a whole number (docs/shopify.md#the-bucket, every
# capture), so a reading may be up to half a point high: keep a point in hand.
SAFETY_MARGIN = 1.0
PROBE_TIMEOUT_SECONDS = 30.0
# No request stays in flight longer than this (the client's timeouts are shorter): points
# reserved before it and never given back belong to a process that died mid-request.
STALE_RESERVATION_SECONDS = 90.0


def _aged(row: ThrottleStateRow, now: float) -> float:
    """Points the stored estimate says are free at ``now``."""
    elapsed = max(0.0, now - row.measured_at)
    return min(row.maximum, row.available + row.restore_rate * elapsed)


def _probe_marker(store_id: int, now: float) -> ThrottleStateRow:
    """A row saying "a request is learning this bucket" (size unknown: maximum 0)."""
    return ThrottleStateRow(
        store_id=store_id,
        available=0.0,
        maximum=0.0,
        restore_rate=0.0,
        measured_at=now,
        reserved=0.0,
        reserved_at=now,
    )


def _in_flight(row: ThrottleStateRow, now: float) -> float:
    """Points reserved by requests not answered yet (none once the newest reservation is
    older than any request can be)."""
    if now - (row.reserved_at or 0.0) > STALE_RESERVATION_SECONDS:
        row.reserved = 0.0
    return row.reserved or 0.0


def _reserve(row: ThrottleStateRow, cost: float, now: float) -> None:
    row.reserved = _in_flight(row, now) + cost
    row.reserved_at = now


class SharedThrottleBucket:
    """One store's bucket estimate in ``throttle_state`` (implements
    :class:`fulfillbridge.shopify.ThrottleBucket`). Use one object per client or share it;
    the coordination happens in the database either way."""

    def __init__(
        self,
        database: Database,
        store_id: int,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_wait_seconds: float = 120.0,
    ) -> None:
        self._database = database
        self.store_id = store_id
        # Wall-clock seconds: readings are compared across processes, not one monotonic clock.
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait_seconds

    def __repr__(self) -> str:
        return f"SharedThrottleBucket(store_id={self.store_id})"

    async def _locked_row(self, session: AsyncSession) -> ThrottleStateRow | None:
        query = (
            select(ThrottleStateRow)
            .where(ThrottleStateRow.store_id == self.store_id)
            .execution_options(populate_existing=True)
        )
        if session.get_bind().dialect.name == "postgresql":
            # One statement: the row lock comes with the read.
            return await session.scalar(query.with_for_update())
        # SQLite has no FOR UPDATE: the no-op write takes the write lock before the read.
        await session.execute(
            update(ThrottleStateRow)
            .where(ThrottleStateRow.store_id == self.store_id)
            .values(measured_at=ThrottleStateRow.measured_at)
        )
        return await session.scalar(query)

    async def acquire(self, cost: float) -> None:
        waited = 0.0
        while True:
            try:
                delay = await self._try_acquire(cost, force=waited >= self._max_wait)
            except IntegrityError:
                # Another process wrote the first row at the same moment: look again.
                delay = _MIN_SLEEP
            if delay is None:
                return
            delay = max(_MIN_SLEEP, min(delay, _MAX_SINGLE_SLEEP, self._max_wait - waited))
            await self._sleep(delay)
            waited += delay

    async def _try_acquire(self, cost: float, *, force: bool) -> float | None:
        """Reserve ``cost`` and return None, or return how long to wait first."""
        async with self._database.transaction() as session:
            row = await self._locked_row(session)
            now = self._clock()
            if row is None:
                # Nobody knows this store's bucket yet: this request goes alone to learn it,
                # the others wait for its reading (like LocalThrottleBucket's probe).
                marker = _probe_marker(self.store_id, now)
                _reserve(marker, cost, now)
                session.add(marker)
                await session.flush()
                return None
            if row.maximum <= 0:
                if force or now - row.measured_at > PROBE_TIMEOUT_SECONDS:
                    row.measured_at = now  # the probe never answered: probe again
                    _reserve(row, cost, now)
                    return None
                return PROBE_POLL_SECONDS
            free = _aged(row, now) - _in_flight(row, now) - SAFETY_MARGIN
            wanted = min(cost, row.maximum - SAFETY_MARGIN)
            if free >= wanted or force:
                # Reserve: the next process sees the points as spent until the answer.
                _reserve(row, cost, now)
                return None
            rate = row.restore_rate
            return (wanted - free) / rate if rate > 0 else 1.0

    async def update(self, status: ThrottleStatus | None, *, released: float) -> None:
        for _ in range(3):
            try:
                await self._update_once(status, released)
                return
            except IntegrityError:
                # Another process inserted the first reading at the same moment: read again.
                continue

    async def _update_once(self, status: ThrottleStatus | None, released: float) -> None:
        async with self._database.transaction() as session:
            row = await self._locked_row(session)
            now = self._clock()
            if row is None:
                row = _probe_marker(self.store_id, now)
                session.add(row)
            row.reserved = max(0.0, _in_flight(row, now) - released)
            if row.maximum <= 0:
                # The probe's answer: the first real reading (or, without one, let the
                # next request probe at once).
                if status is None:
                    row.measured_at = 0.0
                else:
                    row.available = status.currently_available
                    row.maximum = status.maximum_available
                    row.restore_rate = status.restore_rate
                    row.measured_at = now
                return
            if status is None:
                return  # no reading (a 5xx, no answer): the next answer will tell
            row.maximum = status.maximum_available
            row.restore_rate = status.restore_rate
            row.available = min(_aged(row, now), status.currently_available)
            row.measured_at = now

    async def estimate(self) -> float | None:
        """Points the shared estimate says are free now, or None before the first reading."""
        async with self._database.transaction() as session:
            row = await session.get(ThrottleStateRow, self.store_id)
            if row is None or row.maximum <= 0:
                return None
            now = self._clock()
            return _aged(row, now) - _in_flight(row, now)
