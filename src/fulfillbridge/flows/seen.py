"""Which fulfillment orders Shopify changed since we last read them in full.

A pull of assigned work and a reconciliation poll first ask Shopify for ids and
``updatedAt`` only (a few points), then read in full just the fulfillment orders that are
new to us or changed since: a work order here holding that ``updatedAt`` or a later one,
or (for fulfillment orders that are no work of ours) a read by this process at it, means
there is nothing new to learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select

from fulfillbridge.flows.pulls import stamps
from fulfillbridge.shopify.mapping import RemoteFulfillmentOrder
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import WorkOrderRow, as_utc

# A bound, not a cache policy: forgetting costs one more full read.
_REMEMBERED = 100_000


async def changed_since_read(
    database: Database, store_id: int, found: Mapping[str, datetime | None]
) -> list[str]:
    """The ids in ``found`` (id -> ``updatedAt``) worth reading in full."""
    if not found:
        return []
    async with database.transaction() as session:
        rows = await session.execute(
            select(WorkOrderRow.remote_id, WorkOrderRow.remote_updated_at).where(
                WorkOrderRow.store_id == store_id, WorkOrderRow.remote_id.in_(list(found))
            )
        )
        known = {remote_id: updated for remote_id, updated in rows}
    seen = _seen(database)
    changed = []
    for fo_id, updated in found.items():
        ours = known.get(fo_id) or seen.get((store_id, fo_id))
        if updated is None or ours is None or as_utc(ours) < updated:
            changed.append(fo_id)
    return changed


def remember_read(
    database: Database, store_id: int, remotes: Sequence[RemoteFulfillmentOrder]
) -> None:
    """Fulfillment orders just read in full (and applied by the caller)."""
    seen = _seen(database)
    if len(seen) > _REMEMBERED:
        seen.clear()
    for remote in remotes:
        if remote.updated_at is not None:
            seen[(store_id, remote.remote_id)] = remote.updated_at


def _seen(database: Database) -> dict[tuple[int, str], datetime]:
    memory = database.memory.setdefault("fulfillment_orders_read", {})
    assert isinstance(memory, dict)
    return memory


__all__ = ["changed_since_read", "remember_read", "stamps"]
