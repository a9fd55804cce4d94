"""What an operator's monitoring reads from the database: queue depths and ages, the shared
throttle estimates, worker heartbeats (``read_backlog``, for ``metrics.BacklogCollector``)
and whether the schema is current (``schema_status``, for ``/readyz``).

The backlog is read with a synchronous engine of its own: Prometheus collectors are called
synchronously (in the worker's metrics thread, or while the HTTP app renders /metrics). It
opens a connection per scrape (no pool), so nothing is left open between scrapes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    and_,
    case,
    column,
    create_engine,
    func,
    inspect,
    or_,
    select,
    table,
)
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from fulfillbridge.metrics import Backlog, BucketFigure, HeartbeatFigure, QueueFigure
from fulfillbridge.store import db
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import (
    InboxEventRow,
    OutboxRow,
    StoreRow,
    ThrottleStateRow,
    as_utc,
)

# Outbox statuses: waiting ones, and the one a person must look at.
_WAITING = ("pending", "sending", "unknown")
_FAILED = "failed"
# Worker heartbeats are written by the worker into this table where the schema has it; a
# database without it reports no heartbeat figures (each worker still reports its own
# fulfillbridge_worker_up and last-round time).
HEARTBEAT_TABLE = "worker_heartbeats"


def backlog_engine(url: str) -> Engine:
    return create_engine(db.normalize_url(url, asynchronous=False), poolclass=NullPool)


def _age(now: datetime, then: datetime | None) -> float:
    return 0.0 if then is None else max(0.0, (now - as_utc(then)).total_seconds())


def read_backlog(engine: Engine) -> Backlog:
    now = datetime.now(UTC)
    with engine.connect() as conn:
        names = {i: n for i, n in conn.execute(select(StoreRow.id, StoreRow.name)).all()}
        backlog = Backlog(
            inbox=_inbox(conn, names, now),
            outbox=_outbox(conn, names, now),
            buckets=_buckets(conn, names, time.time()),
        )
        if inspect(conn).has_table(HEARTBEAT_TABLE):
            backlog.heartbeats = _heartbeats(conn, now)
    return backlog


def _inbox(conn: Connection, names: dict[int, str], now: datetime) -> list[QueueFigure]:
    # Every unprocessed event is due: a failed one waits only seconds (flows.processing).
    waiting = InboxEventRow.processed_at.is_(None)
    gave_up = and_(InboxEventRow.processed_at.is_not(None), InboxEventRow.last_error.is_not(None))
    rows = conn.execute(
        select(
            InboxEventRow.store_id,
            InboxEventRow.topic,
            func.sum(case((waiting, 1), else_=0)),
            func.min(case((waiting, InboxEventRow.received_at), else_=None)),
            func.sum(case((gave_up, 1), else_=0)),
        )
        .where(or_(waiting, gave_up))
        .group_by(InboxEventRow.store_id, InboxEventRow.topic)
    ).all()
    return [
        QueueFigure(
            store=names.get(store_id, str(store_id)),
            kind=topic,
            waiting=int(count or 0),
            due=int(count or 0),
            oldest_due_age=_age(now, _as_datetime(oldest)),
            failed=int(failed or 0),
        )
        for store_id, topic, count, oldest, failed in rows
    ]


def _outbox(conn: Connection, names: dict[int, str], now: datetime) -> list[QueueFigure]:
    waiting = OutboxRow.status.in_(_WAITING)
    lease_free = or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now)
    due = or_(
        and_(OutboxRow.status.in_(("pending", "unknown")), OutboxRow.next_attempt_at <= now),
        # A row left "sending" by a worker that died is due once its lease ran out.
        and_(OutboxRow.status == "sending", lease_free),
    )
    rows = conn.execute(
        select(
            OutboxRow.store_id,
            OutboxRow.kind,
            func.sum(case((waiting, 1), else_=0)),
            func.sum(case((due, 1), else_=0)),
            func.min(case((due, OutboxRow.created_at), else_=None)),
            func.sum(case((OutboxRow.status == _FAILED, 1), else_=0)),
        )
        .where(OutboxRow.status.in_((*_WAITING, _FAILED)))
        .group_by(OutboxRow.store_id, OutboxRow.kind)
    ).all()
    return [
        QueueFigure(
            store=names.get(store_id, str(store_id)),
            kind=kind,
            waiting=int(count or 0),
            due=int(due_count or 0),
            oldest_due_age=_age(now, _as_datetime(oldest)),
            failed=int(failed or 0),
        )
        for store_id, kind, count, due_count, oldest, failed in rows
    ]


def _buckets(conn: Connection, names: dict[int, str], now: float) -> list[BucketFigure]:
    figures = []
    state = ThrottleStateRow
    rows = conn.execute(
        select(
            state.store_id, state.available, state.maximum, state.restore_rate, state.measured_at
        )
    ).all()
    for store_id, available, maximum, restore_rate, measured_at in rows:
        if maximum <= 0:  # a probe marker: the bucket's size is being learnt
            continue
        # The same ageing as store.throttle: the estimate refills at the restore rate.
        free = min(maximum, available + restore_rate * max(0.0, now - measured_at))
        figures.append(BucketFigure(names.get(store_id, str(store_id)), free, maximum))
    return figures


def _heartbeats(conn: Connection, now: datetime) -> list[HeartbeatFigure]:
    beats = table(HEARTBEAT_TABLE, column("worker_id"), column("beat_at"))
    rows = conn.execute(select(beats.c.worker_id, beats.c.beat_at)).all()
    return [HeartbeatFigure(str(worker), _age(now, _as_datetime(at))) for worker, at in rows]


def _as_datetime(value: object) -> datetime | None:
    """A time from an aggregate or a raw column: SQLite may hand back text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None  # the database's revision
    head: str | None  # the newest revision this version of the code ships

    @property
    def ready(self) -> bool:
        return self.current is not None and self.current == self.head


async def schema_status(database: Database) -> SchemaStatus:
    """The database's migration revision against the code's head (raises when the database
    cannot be reached)."""
    head = ScriptDirectory.from_config(db.alembic_config(database.url)).get_current_head()
    async with database.engine.connect() as conn:
        current = await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    return SchemaStatus(current=current, head=head)
