"""Inventory storage: the SKU mapping per store, the levels asked for and known, the syncs.

Written for catalogues of tens of thousands of SKUs: reads load a store's rows at once and
writes go in bulk (one statement per kind of change), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.store.models import InventoryLevelRow, InventorySkuRow, InventorySyncRow

_BULK = 1000  # rows per bulk statement (keeps SQLite under its variable limit)


@dataclass(frozen=True)
class SkuEntry:
    """What the store's variants say about one SKU."""

    sku: str
    item_ids: tuple[str, ...]
    tracked: bool
    # location gid -> {quantity name: quantity}, for a SKU on exactly one item
    levels: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class LevelState:
    id: int
    item_id: str
    location_id: str
    sku: str
    warehouse: str
    wanted: int | None
    known: int | None
    revision: int
    status: str
    reason: str | None


@dataclass(frozen=True)
class StoreInventoryStatus:
    store: str
    mapped_skus: int
    mapping_refreshed_at: datetime | None
    last_sync_at: datetime | None
    in_sync: int
    pending: int
    rejected_levels: list[dict[str, Any]]
    last_rejections: list[dict[str, Any]]
    last_sync: dict[str, Any] | None


def _now() -> datetime:
    return datetime.now(UTC)


def _batches(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _BULK):
        yield items[start : start + _BULK]


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- mapping ---------------------------------------------------------------------------

    async def replace_mapping(self, store_id: int, entries: Sequence[SkuEntry]) -> None:
        """The store's mapping becomes exactly ``entries`` (a refresh drops vanished SKUs)."""
        await self._session.execute(
            delete(InventorySkuRow).where(InventorySkuRow.store_id == store_id)
        )
        now = _now()
        rows = [
            {
                "store_id": store_id,
                "sku": e.sku,
                "item_ids": list(e.item_ids),
                "tracked": e.tracked,
                "levels": {loc: dict(q) for loc, q in e.levels.items()},
                "refreshed_at": now,
            }
            for e in entries
        ]
        for batch in _batches(rows):
            await self._session.execute(insert(InventorySkuRow), list(batch))

    async def mapping(self, store_id: int) -> dict[str, SkuEntry]:
        rows = await self._session.execute(
            select(
                InventorySkuRow.sku,
                InventorySkuRow.item_ids,
                InventorySkuRow.tracked,
                InventorySkuRow.levels,
            ).where(InventorySkuRow.store_id == store_id)
        )
        return {
            sku: SkuEntry(sku, tuple(items or ()), bool(tracked), levels or {})
            for sku, items, tracked, levels in rows
        }

    async def mapping_summary(self, store_id: int) -> tuple[int, datetime | None]:
        count, refreshed = (
            await self._session.execute(
                select(func.count(), func.max(InventorySkuRow.refreshed_at)).where(
                    InventorySkuRow.store_id == store_id
                )
            )
        ).one()
        return int(count or 0), refreshed

    # -- levels ----------------------------------------------------------------------------

    async def levels(self, store_id: int) -> dict[tuple[str, str], LevelState]:
        rows = await self._session.scalars(
            select(InventoryLevelRow).where(InventoryLevelRow.store_id == store_id)
        )
        return {
            (r.item_id, r.location_id): LevelState(
                r.id,
                r.item_id,
                r.location_id,
                r.sku,
                r.warehouse,
                r.wanted,
                r.known,
                r.revision,
                r.status,
                r.reason,
            )
            for r in rows
        }

    async def add_levels(self, store_id: int, new: Sequence[Mapping[str, Any]]) -> None:
        """Insert levels seen for the first time (keys: item_id, location_id, sku, warehouse,
        wanted, known, status, received_at)."""
        now = _now()
        rows = [{"store_id": store_id, "revision": 0, "updated_at": now, **n} for n in new]
        for batch in _batches(rows):
            await self._session.execute(insert(InventoryLevelRow), list(batch))

    async def update_levels(self, changes: Sequence[Mapping[str, Any]]) -> None:
        """Bulk update by primary key; each mapping carries ``id`` and the columns to set."""
        now = _now()
        rows = [{**c, "updated_at": now} for c in changes]
        # Group by the set of columns so each bulk statement is uniform.
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            by_shape.setdefault(tuple(sorted(row)), []).append(row)
        for group in by_shape.values():
            for batch in _batches(group):
                await self._session.execute(update(InventoryLevelRow), list(batch))

    async def stock(
        self, store_id: int, location_id: str, skus: Sequence[str] | None = None
    ) -> dict[str, int]:
        """The quantities the operation reported at one location, by SKU."""
        query = select(InventoryLevelRow.sku, InventoryLevelRow.wanted).where(
            InventoryLevelRow.store_id == store_id,
            InventoryLevelRow.location_id == location_id,
            InventoryLevelRow.wanted.is_not(None),
        )
        if skus is not None:
            query = query.where(InventoryLevelRow.sku.in_(list(skus)))
        return {sku: int(wanted) for sku, wanted in await self._session.execute(query)}

    # -- syncs -----------------------------------------------------------------------------

    async def record_sync(
        self,
        store_id: int,
        *,
        started_at: datetime,
        rows: int,
        sent: int,
        applied: int,
        unchanged: int,
        calls: int,
        points: int,
        rejections: Sequence[Mapping[str, Any]],
    ) -> int:
        row = InventorySyncRow(
            store_id=store_id,
            started_at=started_at,
            finished_at=_now(),
            rows=rows,
            sent=sent,
            applied=applied,
            unchanged=unchanged,
            calls=calls,
            points=points,
            rejections=[dict(r) for r in rejections],
        )
        self._session.add(row)
        await self._session.flush()
        return row.id

    async def status(self, store_id: int, store_name: str) -> StoreInventoryStatus:
        counts = dict(
            (
                await self._session.execute(
                    select(InventoryLevelRow.status, func.count())
                    .where(InventoryLevelRow.store_id == store_id)
                    .group_by(InventoryLevelRow.status)
                )
            ).all()
        )
        rejected = await self._session.execute(
            select(InventoryLevelRow.sku, InventoryLevelRow.warehouse, InventoryLevelRow.reason)
            .where(InventoryLevelRow.store_id == store_id, InventoryLevelRow.status == "rejected")
            .order_by(InventoryLevelRow.sku)
            .limit(500)
        )
        last = await self._session.scalar(
            select(InventorySyncRow)
            .where(InventorySyncRow.store_id == store_id)
            .order_by(InventorySyncRow.id.desc())
            .limit(1)
        )
        mapped, refreshed = await self.mapping_summary(store_id)
        return StoreInventoryStatus(
            store=store_name,
            mapped_skus=mapped,
            mapping_refreshed_at=refreshed,
            last_sync_at=last.finished_at if last else None,
            in_sync=int(counts.get("in_sync", 0)),
            pending=int(counts.get("pending", 0)),
            rejected_levels=[
                {"sku": sku, "warehouse": warehouse, "reason": reason}
                for sku, warehouse, reason in rejected
            ],
            last_rejections=list(last.rejections or []) if last else [],
            last_sync=(
                {
                    "id": last.id,
                    "started_at": last.started_at,
                    "finished_at": last.finished_at,
                    "rows": last.rows,
                    "sent": last.sent,
                    "applied": last.applied,
                    "unchanged": last.unchanged,
                    "calls": last.calls,
                    "points": last.points,
                }
                if last
                else None
            ),
        )
