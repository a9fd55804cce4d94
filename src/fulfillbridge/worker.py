"""The background worker: process the inbox, reconcile stores on schedule, send the outbox.

``run_worker(settings)`` loops until ``stop`` is set (or once, with ``once=True``). Any
number of workers, in any number of processes, may share one database: inbox events are
applied once (``flows.processing``), each store is polled by one worker per interval
(``flows.reconcile.claim_reconcile_run``), each inventory feed too
(``flows.inventory_feed.poll_feeds``), and outbox rows are leased (``flows.outbox``).
A failing round is logged and the loop goes on: one bad event, store or row never stops
the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fulfillbridge import metrics
from fulfillbridge.config import Settings
from fulfillbridge.flows.deadlines import announce_deadlines
from fulfillbridge.flows.housekeeping import housekeeping_due
from fulfillbridge.flows.inventory_feed import poll_feeds
from fulfillbridge.flows.outbox import send_due
from fulfillbridge.flows.processing import process_inbox
from fulfillbridge.flows.reconcile import reconcile_due_stores
from fulfillbridge.store.database import Database

logger = logging.getLogger("fulfillbridge.worker")

INBOX_BATCH = 25  # small rounds: the outbox is sent between them
OUTBOX_BATCH = 100

Sender = Callable[..., Awaitable[int]]


@dataclass
class RoundReport:
    """What one round of the loop did."""

    inbox: int = 0
    reconciled: int = 0
    feeds: int = 0  # inventory feeds polled
    sent: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.inbox or self.sent)


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def run_round(
    database: Database, settings: Settings, *, worker_id: str, sender: Sender | None
) -> RoundReport:
    report = RoundReport()
    try:
        report.inbox = await process_inbox(database, settings, limit=INBOX_BATCH)
    except Exception:
        logger.exception("processing the inbox failed; trying again next round")
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
    if sender is not None:
        try:
            report.sent = int(
                await sender(database, settings, worker_id=worker_id, limit=OUTBOX_BATCH) or 0
            )
        except Exception:
            logger.exception("sending the outbox failed; trying again next round")
    return report


async def _idle(database: Database, stop: asyncio.Event, seconds: float) -> None:
    """Sleep until the poll interval ends, work is rung in, or ``stop`` is set."""
    stopping = asyncio.ensure_future(stop.wait())
    ringing = asyncio.ensure_future(database.wait_for_work(seconds))
    try:
        await asyncio.wait({stopping, ringing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (stopping, ringing):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(stopping, ringing, return_exceptions=True)


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
    logger.info("worker %s started", worker_id)
    try:
        while not stop.is_set():
            report = await run_round(db, settings, worker_id=worker_id, sender=sender)
            metrics.worker_round_done()
            if once:
                break
            if report.busy:
                await asyncio.sleep(0)  # more may be waiting: go again at once
                continue
            await _idle(db, stop, settings.worker_poll_seconds)
    finally:
        if owned:
            await db.close()
        logger.info("worker %s stopped", worker_id)
