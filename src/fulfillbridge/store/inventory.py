"""Inventory storage: the SKU mapping per store, the levels asked for and known, the syncs.

The mapping is kept twice: ``inventory_items`` holds one row per inventory item with its
product (what Shopify said), ``inventory_skus`` the SKU -> items view derived from it (what
a push reads). A full refresh replaces both; a webhook about one product replaces that
product's items and derives again only the SKUs they touched, so a SKU shared with another
product is still seen as ambiguous.

Written for catalogues of tens of thousands of SKUs: reads load a store's rows at once and
writes go in bulk (one statement per kind of change), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.store import leases
from fulfillbridge.store.models import (
    InventoryFeedRow,
    InventoryItemRow,
    InventoryLevelRow,
    InventorySkuRow,
    InventorySyncRow,
)

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
class ItemEntry:
    """What Shopify says about one inventory item that has a SKU."""

    item_id: str
    sku: str
    tracked: bool
    product_id: str | None = None
    # location gid -> {quantity name: quantity}
    levels: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class MappingChange:
    """What replacing some items changed, by SKU."""

    added: tuple[str, ...] = ()  # SKUs mapped now and not before
    removed: tuple[str, ...] = ()  # SKUs mapped before and no longer
    duplicated: tuple[str, ...] = ()  # touched SKUs now on several items (refused at push)
    items: int = 0  # items of the products now mapped


def sku_entries(items: Iterable[ItemEntry]) -> list[SkuEntry]:
    """The SKU view of items: one entry per SKU; a SKU on several items keeps them all
    (ambiguous: refused at push, never guessed) and no levels."""
    by_sku: dict[str, list[ItemEntry]] = {}
    for item in items:
        by_sku.setdefault(item.sku, []).append(item)
    entries = []
    for sku, found in by_sku.items():
        found.sort(key=lambda i: i.item_id)
        entries.append(
            SkuEntry(
                sku=sku,
                item_ids=tuple(i.item_id for i in found),
                tracked=all(i.tracked for i in found),
                levels=dict(found[0].levels) if len(found) == 1 else {},
            )
        )
    return entries


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
    feed: dict[str, Any] | None = None  # the store's feed, when it has one (flows adds it)
    # The levels of the SKUs asked for (`inventory status --sku`): what the operation asked
    # for and what Shopify holds, per warehouse.
    levels: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class FeedClaim:
    """A feed poll this worker won, with the validators of the content last applied from
    that same URL (None when there are none or the URL changed)."""

    etag: str | None
    last_modified: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def _batches(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _BULK):
        yield items[start : start + _BULK]


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- mapping ---------------------------------------------------------------------------

    async def replace_mapping(self, store_id: int, items: Sequence[ItemEntry]) -> None:
        """The store's mapping becomes exactly ``items`` (a refresh drops vanished SKUs)."""
        await self._session.execute(
            delete(InventoryItemRow).where(InventoryItemRow.store_id == store_id)
        )
        await self._session.execute(
            delete(InventorySkuRow).where(InventorySkuRow.store_id == store_id)
        )
        await self._insert_items(store_id, items)
        await self._insert_skus(store_id, sku_entries(items))
        current = {i.item_id: i.sku for i in items}
        levels = await self._session.execute(
            select(InventoryLevelRow.id, InventoryLevelRow.item_id, InventoryLevelRow.sku).where(
                InventoryLevelRow.store_id == store_id
            )
        )
        await self._delete_levels(
            [level_id for level_id, item, sku in levels if current.get(item) != sku]
        )

    async def replace_products(
        self,
        store_id: int,
        product_ids: Sequence[str],
        items: Sequence[ItemEntry],
        *,
        removed_items: Sequence[str] = (),
    ) -> MappingChange:
        """The items of ``product_ids`` become exactly ``items`` (each carrying one of those
        products); ``removed_items`` are dropped wherever they are. Only the SKUs these
        items had or have are derived again."""
        new_ids = [i.item_id for i in items]
        gone_ids = list(removed_items)
        condition = InventoryItemRow.item_id.in_(new_ids + gone_ids)
        if product_ids:
            condition = condition | InventoryItemRow.product_id.in_(list(product_ids))
        before = {
            item_id: sku
            for item_id, sku in await self._session.execute(
                select(InventoryItemRow.item_id, InventoryItemRow.sku).where(
                    InventoryItemRow.store_id == store_id, condition
                )
            )
        }
        touched = set(before.values()) | {i.sku for i in items}
        previously_mapped = await self._mapped(store_id, touched)
        for batch in _batches(list(before)):
            await self._session.execute(
                delete(InventoryItemRow).where(
                    InventoryItemRow.store_id == store_id,
                    InventoryItemRow.item_id.in_(list(batch)),
                )
            )
        await self._insert_items(store_id, items)
        await self._session.flush()
        entries = await self._rebuild_skus(store_id, touched)
        # Levels of an item that is gone or carries another SKU now describe nothing the
        # operation asked for: forgotten, so a push starts again from the mapping's levels.
        now = {i.item_id: i.sku for i in items}
        stale = [item for item, sku in before.items() if now.get(item) != sku]
        if stale:
            levels = await self._session.execute(
                select(InventoryLevelRow.id).where(
                    InventoryLevelRow.store_id == store_id,
                    InventoryLevelRow.item_id.in_(stale),
                )
            )
            await self._delete_levels([level_id for (level_id,) in levels])
        mapped = {e.sku for e in entries}
        return MappingChange(
            added=tuple(sorted(mapped - previously_mapped)),
            removed=tuple(sorted(previously_mapped - mapped)),
            duplicated=tuple(sorted(e.sku for e in entries if len(e.item_ids) > 1)),
            items=len(items),
        )

    async def _mapped(self, store_id: int, skus: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for batch in _batches(sorted(skus)):
            found |= set(
                await self._session.scalars(
                    select(InventorySkuRow.sku).where(
                        InventorySkuRow.store_id == store_id, InventorySkuRow.sku.in_(list(batch))
                    )
                )
            )
        return found

    async def _rebuild_skus(self, store_id: int, skus: Iterable[str]) -> list[SkuEntry]:
        """Derive the SKU rows of ``skus`` again from every item of the store carrying them."""
        items: list[ItemEntry] = []
        for batch in _batches(sorted(skus)):
            await self._session.execute(
                delete(InventorySkuRow).where(
                    InventorySkuRow.store_id == store_id, InventorySkuRow.sku.in_(list(batch))
                )
            )
            rows = await self._session.execute(
                select(
                    InventoryItemRow.item_id,
                    InventoryItemRow.sku,
                    InventoryItemRow.tracked,
                    InventoryItemRow.product_id,
                    InventoryItemRow.levels,
                ).where(
                    InventoryItemRow.store_id == store_id, InventoryItemRow.sku.in_(list(batch))
                )
            )
            items += [
                ItemEntry(item_id, sku, bool(tracked), product_id, levels or {})
                for item_id, sku, tracked, product_id, levels in rows
            ]
        entries = sku_entries(items)
        await self._insert_skus(store_id, entries)
        return entries

    async def _insert_items(self, store_id: int, items: Sequence[ItemEntry]) -> None:
        now = _now()
        rows = [
            {
                "store_id": store_id,
                "item_id": i.item_id,
                "product_id": i.product_id,
                "sku": i.sku,
                "tracked": i.tracked,
                "levels": {loc: dict(q) for loc, q in i.levels.items()},
                "refreshed_at": now,
            }
            for i in items
        ]
        for batch in _batches(rows):
            await self._session.execute(insert(InventoryItemRow), list(batch))

    async def _insert_skus(self, store_id: int, entries: Sequence[SkuEntry]) -> None:
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

    async def _delete_levels(self, level_ids: Sequence[int]) -> None:
        for batch in _batches(list(level_ids)):
            await self._session.execute(
                delete(InventoryLevelRow).where(InventoryLevelRow.id.in_(list(batch)))
            )

    async def items_of(self, store_id: int) -> list[ItemEntry]:
        rows = await self._session.execute(
            select(
                InventoryItemRow.item_id,
                InventoryItemRow.sku,
                InventoryItemRow.tracked,
                InventoryItemRow.product_id,
                InventoryItemRow.levels,
            )
            .where(InventoryItemRow.store_id == store_id)
            .order_by(InventoryItemRow.item_id)
        )
        return [ItemEntry(i, s, bool(t), p, lv or {}) for i, s, t, p, lv in rows]

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

    # -- feeds -----------------------------------------------------------------------------

    async def feed_due(self, store_id: int, url_hash: str, due_before: datetime) -> bool:
        """A read-only look first, so a worker's round writes nothing for a feed not due."""
        row = await self._session.get(InventoryFeedRow, store_id)
        if row is None or row.url_hash != url_hash or row.started_at is None:
            return True
        started = row.started_at.replace(tzinfo=row.started_at.tzinfo or UTC)
        return started <= due_before

    async def claim_feed(
        self, store_id: int, url_hash: str, holder: str, *, now: datetime, interval: float
    ) -> FeedClaim | None:
        """Claim this round of the store's feed (``leases.FEED_POLL``): when it was never
        polled, its URL changed, or its last poll started ``interval`` seconds ago or more.
        The claim re-checks it, so several workers on one database poll it once."""
        # Another URL: the validators were for the old one, and the old one's round does not
        # hold the new one back.
        await self._session.execute(
            update(InventoryFeedRow)
            .where(
                InventoryFeedRow.store_id == store_id,
                or_(InventoryFeedRow.url_hash.is_(None), InventoryFeedRow.url_hash != url_hash),
            )
            .values(url_hash=url_hash, etag=None, last_modified=None, started_at=None)
            .execution_options(synchronize_session=False)
        )
        claimed = await leases.claim(
            self._session,
            leases.FEED_POLL,
            {"store_id": store_id},
            holder,
            now=now,
            seconds=interval,
            create={"url_hash": url_hash, "rows": 0, "rejected": 0},
        )
        if not claimed:
            return None
        validators = await self._session.execute(
            select(InventoryFeedRow.etag, InventoryFeedRow.last_modified).where(
                InventoryFeedRow.store_id == store_id
            )
        )
        etag, last_modified = validators.one()
        return FeedClaim(etag, last_modified)

    async def record_feed(self, store_id: int, **values: Any) -> None:
        """What a poll came to (fetched_at, http_status, rows, rejected, error, and the
        validators when the content was applied)."""
        await self._session.execute(
            update(InventoryFeedRow)
            .where(InventoryFeedRow.store_id == store_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def feed(self, store_id: int) -> dict[str, Any] | None:
        row = await self._session.get(InventoryFeedRow, store_id)
        if row is None:
            return None
        return {
            "last_fetched_at": row.fetched_at,
            "last_changed_at": row.changed_at,
            "http_status": row.http_status,
            "rows": row.rows,
            "rejected": row.rejected,
            "error": row.error,
        }

    async def sku_levels(self, store_id: int, skus: Sequence[str]) -> list[dict[str, Any]]:
        rows = await self._session.scalars(
            select(InventoryLevelRow)
            .where(InventoryLevelRow.store_id == store_id, InventoryLevelRow.sku.in_(skus))
            .order_by(InventoryLevelRow.sku, InventoryLevelRow.warehouse)
        )
        return [
            {
                "sku": row.sku,
                "warehouse": row.warehouse,
                "location_id": row.location_id,
                "wanted": row.wanted,
                "known": row.known,
                "status": row.status,
            }
            for row in rows
        ]

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
