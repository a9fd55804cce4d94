"""The background worker: work stores' queues (inbox and outbox), reconcile stores on
schedule, poll feeds, announce deadlines, keep house.

``run_worker(settings)`` loops until ``stop`` is set (or once, with ``once=True``). Any
number of workers, in any number of processes, may share one database:

* **Queues.** A worker holds the queues of up to ``worker_stores`` stores with due work at
  once (``store.queues``: one worker per store at a time, the store waiting longest first);
  each store is given back when its turn ends and another taken in its place
  (``work_stores``; ``work_queues`` is one set of turns, for ``once``). Per store, its inbox
  events one after the other (``flows.processing``; one pull of the assigned fulfillment
  orders answers every request ping before it) beside its outbox rows,
  ``worker_outbox_concurrency`` at a time (``flows.outbox``). A hung request to one store
  holds back only that store.
* **Heartbeat.** Every ``worker_heartbeat_seconds`` the worker writes its row in
  ``worker_heartbeats`` and renews every claim it holds; a worker that dies stops renewing,
  and its claims are free ``worker_lease_seconds`` later.
* **Periodic work** (reconciliation, feeds, deadlines, housekeeping) runs beside the queues,
  never in their way; each store is polled by one worker per interval
  (``flows.reconcile``), each feed too (``flows.inventory_feed``).

A failing step is logged and the loop goes on: one bad event, store or row never stops the
worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fulfillbridge import metrics
from fulfillbridge.config import Settings
from fulfillbridge.flows.deadlines import announce_deadlines
from fulfillbridge.flows.housekeeping import housekeeping_due
from fulfillbridge.flows.inventory_feed import poll_feeds
from fulfillbridge.flows.outbox import send_due
from fulfillbridge.flows.processing import process_inbox
from fulfillbridge.flows.reconcile import reconcile_due_stores
from fulfillbridge.flows.tracking import poll_schedule, poll_tracking
from fulfillbridge.store import leases, queues
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import StoreRow

logger = logging.getLogger("fulfillbridge.worker")

Sender = Callable[..., Awaitable[int]]
# Outbox rows one store's turn sends at most: the store is given back after, so others
# waiting get their turn.
OUTBOX_PER_TURN = 50
# While a store's inbox is being worked, its outbox is looked at this often.
OUTBOX_LOOK_SECONDS = 0.05


@dataclass
class RoundReport:
    """What one round of the loop did."""

    inbox: int = 0
    reconciled: int = 0
    feeds: int = 0  # inventory feeds polled
    sent: int = 0
    stores: int = 0  # stores whose queues were worked

    @property
    def busy(self) -> bool:
        return bool(self.inbox or self.sent)


@dataclass
class WorkerState:
    """What the heartbeat reports about this worker."""

    worker_id: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    current: dict[int, str] = field(default_factory=dict)  # store id -> name, held now
    rounds: int = 0

    def beat(self) -> queues.Beat:
        names = sorted(self.current.values())
        return queues.Beat(
            worker_id=self.worker_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=self.started_at,
            current_store=names[0] if names else None,
            stores_held=len(names),
            rounds=self.rounds,
        )


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _now() -> datetime:
    return datetime.now(UTC)


async def _claim_stores(
    database: Database, settings: Settings, holder: str, limit: int | None = None
) -> dict[int, str]:
    """Take the queues of up to ``limit`` (``worker_stores``) stores with due work: {id: name}."""
    now = _now()
    taken: dict[int, str] = {}
    wanted_count = settings.worker_stores if limit is None else limit
    async with database.transaction() as session:
        wanted = await queues.stores_with_work(session, now=now, limit=wanted_count)
    for store_id in wanted:
        async with database.transaction() as session:
            if await queues.claim_store(
                session, store_id, holder, now=now, seconds=settings.worker_lease_seconds
            ):
                name = await session.get(StoreRow, store_id)
                taken[store_id] = name.name if name is not None else str(store_id)
    return taken


async def _work_store(
    database: Database,
    settings: Settings,
    store_id: int,
    *,
    worker_id: str,
    sender: Sender | None,
) -> tuple[int, int]:
    """One store's turn: its inbox beside its outbox. (events handled, rows sent)"""

    async def inbox() -> int:
        try:
            return await process_inbox(
                database, settings, limit=settings.worker_inbox_batch, store_id=store_id
            )
        except Exception:
            logger.exception("processing the inbox of store %s failed; trying again", store_id)
            return 0

    async def outbox() -> int:
        if sender is None:
            return 0
        try:
            return int(
                await sender(
                    database,
                    settings,
                    worker_id=worker_id,
                    limit=OUTBOX_PER_TURN,
                    store_id=store_id,
                )
                or 0
            )
        except Exception:
            logger.exception("sending the outbox of store %s failed; trying again", store_id)
            return 0

    # The outbox is sent while the inbox is worked, and looked at again as the inbox
    # queues writes (an acceptance goes out as soon as its request was applied, not after
    # the rest of the store's events).
    reading = asyncio.create_task(inbox())
    sent = 0
    while True:
        more = await outbox()
        sent += more
        if more:
            continue
        if reading.done():
            more = await outbox()  # what the inbox's last events queued
            sent += more
            if not more:
                break
            continue
        await asyncio.wait({reading}, timeout=OUTBOX_LOOK_SECONDS)
    return reading.result(), sent


async def work_queues(
    database: Database,
    settings: Settings,
    *,
    worker_id: str,
    sender: Sender | None,
    state: WorkerState | None = None,
) -> RoundReport:
    """One turn at the queues of the stores this worker can take now."""
    report = RoundReport()
    holder = leases.new_holder(worker_id)
    try:
        taken = await _claim_stores(database, settings, holder)
    except Exception:
        logger.exception("finding stores with work failed; trying again next round")
        return report
    if not taken:
        return report
    if state is not None:
        state.current = dict(taken)
    report.stores = len(taken)
    keeper = asyncio.create_task(_keep_alive(database, settings, worker_id, state))
    try:
        done = await asyncio.gather(
            *(
                _work_store(database, settings, store_id, worker_id=worker_id, sender=sender)
                for store_id in taken
            )
        )
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        for store_id in taken:
            try:
                async with database.transaction() as session:
                    await queues.release_store(session, store_id, holder)
            except Exception:  # the lease runs out on its own
                logger.warning("giving back store %s failed", store_id, exc_info=True)
        if state is not None:
            state.current = {}
            state.rounds += 1
    report.inbox = sum(handled for handled, _ in done)
    report.sent = sum(sent for _, sent in done)
    return report


async def work_stores(
    database: Database,
    settings: Settings,
    *,
    worker_id: str,
    sender: Sender | None,
    state: WorkerState,
    stop: asyncio.Event,
) -> None:
    """Work stores' queues until ``stop``: up to ``worker_stores`` at once, each given back
    the moment its turn ends and another store with due work taken in its place, so a store
    with much to do never keeps the others' turns waiting (``work_queues`` takes a set of
    stores and waits for the slowest before it takes more)."""
    holder = leases.new_holder(worker_id)
    turns: dict[asyncio.Task[tuple[int, int]], int] = {}
    keeper = asyncio.create_task(_keep_alive(database, settings, worker_id, state))
    try:
        while not stop.is_set():
            free = settings.worker_stores - len(turns)
            if free > 0:
                try:
                    taken = await _claim_stores(database, settings, holder, limit=free)
                except Exception:
                    logger.exception("finding stores with work failed; trying again")
                    taken = {}
                for store_id, name in taken.items():
                    state.current[store_id] = name
                    turn = asyncio.create_task(
                        _work_store(
                            database, settings, store_id, worker_id=worker_id, sender=sender
                        )
                    )
                    turns[turn] = store_id
            waiting: set[asyncio.Future[Any]] = set(turns)
            # With a free place, look for more work when rung, after the poll interval or
            # when a turn ends; with none, only when a turn ends.
            bell = asyncio.ensure_future(
                database.wait_for_work(settings.worker_poll_seconds)
                if len(turns) < settings.worker_stores
                else stop.wait()
            )
            halt = asyncio.ensure_future(stop.wait())
            try:
                done, _ = await asyncio.wait(
                    {*waiting, bell, halt}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in (bell, halt):
                    waiter.cancel()
            for turn in [t for t in done if t in turns]:
                await _end_turn(database, turns.pop(turn), holder, state)
                with contextlib.suppress(Exception):  # _work_store logs its own failures
                    turn.result()
            # The loop's pulse for monitoring: it wakes at least every poll interval, so an
            # idle worker is seen alive too.
            metrics.worker_round_done()
    finally:
        for turn in turns:
            turn.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*turns, return_exceptions=True)
        for store_id in list(turns.values()):
            await _end_turn(database, store_id, holder, state)
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper


async def _end_turn(database: Database, store_id: int, holder: str, state: WorkerState) -> None:
    try:
        async with database.transaction() as session:
            await queues.release_store(session, store_id, holder)
    except Exception:  # the lease runs out on its own
        logger.warning("giving back store %s failed", store_id, exc_info=True)
    state.current.pop(store_id, None)
    state.rounds += 1


async def _keep_alive(
    database: Database, settings: Settings, worker_id: str, state: WorkerState | None
) -> None:
    """Renew this worker's claims while it works (and record its heartbeat when it has one)."""
    while True:
        await asyncio.sleep(settings.worker_heartbeat_seconds)
        await beat(database, settings, worker_id, state)


async def beat(
    database: Database, settings: Settings, worker_id: str, state: WorkerState | None
) -> None:
    """Renew every claim of ``worker_id`` (and write its heartbeat row, given its state)."""
    now = _now()
    try:
        async with database.transaction() as session:
            if state is not None:
                await queues.beat(
                    session, state.beat(), now=now, lease_seconds=settings.worker_lease_seconds
                )
            else:
                for lease in (leases.STORE_QUEUE, leases.OUTBOX_SEND):
                    await leases.renew_held(
                        session, lease, worker_id, now=now, seconds=settings.worker_lease_seconds
                    )
    except Exception:  # a database hiccup: the next beat tries again
        logger.warning("heartbeat of worker %s failed", worker_id, exc_info=True)


async def run_periodic(database: Database, settings: Settings) -> RoundReport:
    """Reconciliation, feeds, deadlines and housekeeping, each when due."""
    report = RoundReport()
    try:
        report.reconciled = len(await reconcile_due_stores(database, settings))
    except Exception:
        logger.exception("reconciliation failed; trying again next round")
    try:
        report.feeds = len(await poll_feeds(database, settings))
    except Exception:
        logger.exception("polling inventory feeds failed; trying again next round")
    try:
        await announce_deadlines(database, settings)
    except Exception:
        logger.exception("announcing deadlines failed; trying again next round")
    try:
        await housekeeping_due(database, settings)
    except Exception:
        logger.exception("housekeeping failed; trying again later")
    try:
        await poll_tracking(database, schedule=poll_schedule(settings))
    except Exception:
        logger.exception("tracking parcels failed; trying again next round")
    return report


async def run_round(
    database: Database, settings: Settings, *, worker_id: str, sender: Sender | None
) -> RoundReport:
    """The queues, then the periodic work, once (``run_worker`` runs them side by side)."""
    report = await work_queues(database, settings, worker_id=worker_id, sender=sender)
    periodic = await run_periodic(database, settings)
    report.reconciled, report.feeds = periodic.reconciled, periodic.feeds
    return report


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_worker(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    once: bool = False,
    worker_id: str | None = None,
    database: Database | None = None,
) -> None:
    """Work until ``stop`` is set; with ``once``, one round and return. The database is
    opened from ``settings`` (and closed again) unless one is given."""
    stop = stop or asyncio.Event()
    worker_id = worker_id or default_worker_id()
    owned = database is None
    db = database or Database.from_settings(settings)
    sender: Sender = send_due
    state = WorkerState(worker_id)
    logger.info("worker %s started", worker_id)

    async def heartbeat() -> None:
        while not stop.is_set():
            await beat(db, settings, worker_id, state)
            await _sleep_or_stop(stop, settings.worker_heartbeat_seconds)

    async def periodic() -> None:
        while not stop.is_set():
            await run_periodic(db, settings)
            await _sleep_or_stop(stop, settings.worker_poll_seconds)

    helpers: list[asyncio.Task[None]] = []
    try:
        if once:
            await beat(db, settings, worker_id, state)
            await run_round(db, settings, worker_id=worker_id, sender=sender)
            metrics.worker_round_done()
            return
        helpers = [
            asyncio.create_task(heartbeat(), name=f"{worker_id}-heartbeat"),
            asyncio.create_task(periodic(), name=f"{worker_id}-periodic"),
        ]
        await work_stores(db, settings, worker_id=worker_id, sender=sender, state=state, stop=stop)
    finally:
        stop.set()
        for task in helpers:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*helpers, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with db.transaction() as session:
                await queues.forget_worker(session, worker_id)
        if owned:
            await db.close()
        logger.info("worker %s stopped", worker_id)
