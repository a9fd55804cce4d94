"""A push: the operation's counts checked, mapped and written to each store, and what
became of every row recorded (``inventory status``, ``fetch_stock``).

Rows are checked and resolved to Shopify levels by ``core.inventory``; only levels that
differ from the last value we know are sent (``send``). Pushes to one store run one
after the other, whichever process they come from (``lock.store_lock``): a push reads the
levels the previous one left, so its ``changeFromQuantity`` is never our own earlier value
taken for a change in Shopify.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fulfillbridge import metrics
from fulfillbridge.config import Settings
from fulfillbridge.core.inventory import (
    LevelRow,
    LevelTarget,
    RawRow,
    Rejection,
    ResolvedRow,
    changed_levels,
    check_rows,
    resolve_rows,
)
from fulfillbridge.core.inventory_feed import feed_of, mask_url
from fulfillbridge.core.stores import Store, StoreNotFound
from fulfillbridge.flows.connect import open_store_client
from fulfillbridge.flows.inventory.base import CallMeter, StoreBusy, store_levels
from fulfillbridge.flows.inventory.lock import store_lock
from fulfillbridge.flows.inventory.mapping import refresh_mapping_locked
from fulfillbridge.flows.inventory.send import Progress, SendOutcome, send_all
from fulfillbridge.store.database import Database
from fulfillbridge.store.inventory import InventoryRepository, StoreInventoryStatus


@dataclass
class StoreResult:
    store: str
    rows: int = 0
    applied: int = 0
    unchanged: int = 0
    rejected: int = 0
    calls: int = 0
    points: int = 0


@dataclass
class PushReport:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    stores: dict[str, StoreResult] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.stores.values())

    @property
    def points(self) -> int:
        return sum(s.points for s in self.stores.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": [r.as_dict() for r in sorted(self.rejected, key=lambda r: r.line)],
            "stores": {name: vars(result) for name, result in self.stores.items()},
        }


@dataclass
class _Planned:
    """A checked row with its Shopify target and the id of its level record."""

    row: LevelRow
    target: LevelTarget
    level_id: int


async def _plan(
    database: Database,
    store: Store,
    resolved: Sequence[ResolvedRow],
    received_at: datetime,
) -> list[_Planned]:
    """Record the wanted levels (status pending) and build the targets to compare."""
    async with database.transaction() as session:
        repo = InventoryRepository(session)
        existing = await repo.levels(store.id)
        new = []
        changes = []
        for found in resolved:
            row = found.row
            level = existing.get(found.key)
            if level is None:
                new.append(
                    {
                        "item_id": found.item_id,
                        "location_id": found.location_id,
                        "sku": row.sku,
                        "warehouse": row.warehouse,
                        "wanted": row.quantity,
                        "known": found.seen,
                        "status": "pending",
                        "received_at": received_at,
                    }
                )
            elif level.wanted != row.quantity or level.status != "in_sync":
                changes.append(
                    {
                        "id": level.id,
                        "wanted": row.quantity,
                        "sku": row.sku,
                        "warehouse": row.warehouse,
                        "status": "pending" if level.known != row.quantity else "in_sync",
                        "reason": None,
                        "received_at": received_at,
                    }
                )
        await repo.add_levels(store.id, new)
        await repo.update_levels(changes)
        await session.flush()
        levels = await repo.levels(store.id) if new else existing
    planned = []
    for found in resolved:
        level = levels[found.key]
        target = LevelTarget(
            item_id=found.item_id,
            location_id=found.location_id,
            quantity=found.row.quantity,
            known=level.known,
            revision=level.revision,
            line=found.row.line,
            sku=found.row.sku,
        )
        planned.append(_Planned(found.row, target, level.id))
    return planned


async def _record(
    database: Database,
    planned: Sequence[_Planned],
    unchanged: Sequence[LevelTarget],
    outcome: SendOutcome,
) -> None:
    ids = {p.target.key: p.level_id for p in planned}
    revisions = {p.target.key: p.target.revision for p in planned}
    changes = []
    for target in outcome.applied:
        changes.append(
            {
                "id": ids[target.key],
                "known": target.quantity,
                "revision": revisions[target.key] + 1,
                "status": "in_sync",
                "reason": None,
            }
        )
    for target, value in outcome.in_sync:
        changes.append(
            {
                "id": ids[target.key],
                "known": value,
                "revision": revisions[target.key] + 1,
                "status": "in_sync",
                "reason": None,
            }
        )
    for target, reason, value in outcome.refused:
        change: dict[str, Any] = {"id": ids[target.key], "status": "rejected", "reason": reason}
        if value is not None:
            change["known"] = value
            change["revision"] = revisions[target.key] + 1
        changes.append(change)
    for target in unchanged:
        changes.append({"id": ids[target.key], "status": "in_sync", "reason": None})
    async with database.transaction() as session:
        await InventoryRepository(session).update_levels(changes)


async def _push_store(
    database: Database,
    settings: Settings,
    store: Store,
    rows: Sequence[LevelRow],
    refused_early: Sequence[Rejection],
    received_at: datetime,
    report: PushReport,
    progress: Progress | None,
) -> None:
    started = datetime.now(UTC)
    result = report.stores.setdefault(store.name, StoreResult(store.name))
    result.rows += len(rows) + len(refused_early)
    place = store_levels(store, settings)
    async with database.transaction() as session:
        mapping = await InventoryRepository(session).mapping(store.id)
    meter = CallMeter()
    if not mapping and rows:
        mapped = await refresh_mapping_locked(database, settings, store.name)
        meter.calls += mapped.calls
        meter.points += mapped.points
        async with database.transaction() as session:
            mapping = await InventoryRepository(session).mapping(store.id)
    resolved, rejected = resolve_rows(place, rows, mapping)
    rejected += refused_early
    planned = await _plan(database, store, resolved, received_at)
    to_send, unchanged = changed_levels(p.target for p in planned)
    outcome = SendOutcome()
    if to_send:
        _, client = await open_store_client(database, settings, store.name)
        async with client:
            outcome = await send_all(
                client, meter, store.name, place.quantity_name, to_send, received_at, progress
            )
    await _record(database, planned, unchanged, outcome)
    by_key = {p.target.key: p.row for p in planned}
    for target, reason, _ in outcome.refused:
        row = by_key[target.key]
        rejected.append(Rejection(row.line, reason, row.store, row.sku, row.warehouse or None))
    refused_keys = {t.key for t, _, _ in outcome.refused}
    applied_keys = {t.key for t in outcome.applied}
    for p in planned:
        if p.target.key in refused_keys:
            continue
        report.accepted.append(
            {
                "line": p.row.line,
                "store": store.name,
                "sku": p.row.sku,
                "warehouse": p.row.warehouse or None,
                "quantity": p.row.quantity,
                "result": "applied" if p.target.key in applied_keys else "unchanged",
            }
        )
    result.applied += len(applied_keys)
    result.unchanged += len(planned) - len(applied_keys) - len(refused_keys)
    result.rejected += len(rejected)
    result.calls += meter.calls
    result.points += meter.points
    report.rejected += rejected
    async with database.transaction() as session:
        await InventoryRepository(session).record_sync(
            store.id,
            started_at=started,
            rows=result.rows,
            sent=len(to_send),
            applied=len(applied_keys),
            unchanged=result.unchanged,
            calls=meter.calls,
            points=meter.points,
            rejections=[r.as_dict() for r in sorted(rejected, key=lambda r: r.line)],
        )


def _rejected_store(
    report: PushReport,
    store_name: str,
    rows: Sequence[LevelRow],
    early: Sequence[Rejection],
    reason: str,
) -> None:
    """Every row of a store the push could not get to, answered (none half-applied)."""
    found = report.stores.setdefault(store_name, StoreResult(store_name))
    found.rows += len(rows) + len(early)
    found.rejected += len(rows) + len(early)
    report.rejected += early
    report.rejected += [
        Rejection(r.line, reason, r.store, r.sku, r.warehouse or None) for r in rows
    ]


async def push(
    database: Database,
    settings: Settings,
    rows: Sequence[RawRow],
    *,
    allowed_stores: frozenset[str] | None = None,
    received_at: datetime | None = None,
    progress: Progress | None = None,
    refused: Mapping[str, Sequence[Rejection]] | None = None,
) -> PushReport:
    """Check, map and write ``rows``. Every row ends up either accepted (applied, or already
    at that level) or rejected with its line and reason; good rows are applied whatever
    happens to the others. ``allowed_stores`` (an API key's stores) makes rows of other
    stores look exactly like rows of unknown stores. ``refused``: rows the caller already
    rejected (e.g. unreadable feed lines), recorded with their store's sync.

    Pushes to one store run one after the other, whichever process they come from
    (``store_lock``)."""
    clock = time.monotonic()
    received = received_at or datetime.now(UTC)
    report = PushReport()
    good, rejected = check_rows(rows)
    async with database.stores() as stores:
        known = {s.name: s for s in await stores.list()}

    def ours(name: str | None) -> bool:
        return name in known and (allowed_stores is None or name in allowed_stores)

    by_store: dict[str, list[LevelRow]] = {}
    early: dict[str, list[Rejection]] = {}
    for store_name, found in (refused or {}).items():
        if ours(store_name):
            early.setdefault(store_name, []).extend(found)
        else:
            report.rejected.extend(found)
    for rejection in rejected:
        if rejection.store is not None and ours(rejection.store):
            early.setdefault(rejection.store, []).append(rejection)
        else:
            report.rejected.append(rejection)
    for row in good:
        if not ours(row.store):
            report.rejected.append(
                Rejection(
                    row.line,
                    f"unknown store {row.store!r}",
                    row.store,
                    row.sku,
                    row.warehouse or None,
                )
            )
            continue
        by_store.setdefault(row.store, []).append(row)
    for store_name in sorted(set(by_store) | set(early)):
        store_rows = by_store.get(store_name, [])
        store_early = early.get(store_name, [])
        try:
            async with store_lock(database, known[store_name]):
                await _push_store(
                    database,
                    settings,
                    known[store_name],
                    store_rows,
                    store_early,
                    received,
                    report,
                    progress,
                )
        except StoreBusy as exc:
            # Waited long enough: every row is still answered, none half-applied.
            _rejected_store(report, store_name, store_rows, store_early, str(exc))
    report.rejected.sort(key=lambda r: r.line)
    report.accepted.sort(key=lambda a: a["line"])
    report.seconds = time.monotonic() - clock
    metrics.count_rejected_rows(r.store if ours(r.store) else None for r in report.rejected)
    return report


async def status(
    database: Database,
    *,
    allowed_stores: frozenset[str] | None = None,
    store: str | None = None,
    skus: Sequence[str] = (),
) -> list[StoreInventoryStatus]:
    """Per store: last sync, levels in sync, pending, rejected rows with reasons; and the
    levels of ``skus``, when asked."""
    async with database.stores() as stores:
        listed = [
            s
            for s in await stores.list()
            if (allowed_stores is None or s.name in allowed_stores)
            and (store is None or s.name == store)
        ]
    if store is not None and not listed:
        raise StoreNotFound(f"no store named {store!r}")
    out = []
    async with database.transaction() as session:
        repo = InventoryRepository(session)
        for s in listed:
            found = await repo.status(s.id, s.name)
            if skus:
                found = dataclasses.replace(found, levels=await repo.sku_levels(s.id, skus))
            feed = feed_of(s)
            if feed is not None:
                polled = await repo.feed(s.id) or {}
                found = dataclasses.replace(
                    found,
                    feed={"url": mask_url(feed.url), "interval_seconds": feed.interval, **polled},
                )
            out.append(found)
    return out


async def fetch_stock(
    database: Database, store: Store, skus: Sequence[str] | None
) -> dict[str, int]:
    """What Shopify's fetch_stock callback gets: the levels the operation reported at the
    store's fulfillment-service location, by SKU."""
    location = store.settings.get("location_id")
    if not location:
        return {}
    async with database.transaction() as session:
        return await InventoryRepository(session).stock(store.id, location, skus)
