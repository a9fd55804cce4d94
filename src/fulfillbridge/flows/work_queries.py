"""Finding the operation's work: by a reference (work id, order name, Shopify id) and in
pages (oldest change first, or nearest deadline first), limited to the stores a caller may
see. Shared by the API, the CLI and the dashboard."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.core.work import FINAL_STATES, WorkState
from fulfillbridge.flows.work_commands import INVALID, NOT_FOUND, ActionError
from fulfillbridge.store.models import StoreRow, WorkOrderRow, as_utc


async def store_names(session: AsyncSession) -> dict[int, str]:
    rows = await session.execute(select(StoreRow.id, StoreRow.name))
    return {store_id: name for store_id, name in rows.all()}


def _visible(names: dict[int, str], stores: Collection[str] | None) -> dict[int, str]:
    if stores is None:
        return names
    return {store_id: name for store_id, name in names.items() if name in stores}


async def get_work(
    session: AsyncSession, work_id: int, *, stores: Collection[str] | None = None
) -> tuple[WorkOrderRow, str]:
    """The work order with this id, if its store is among ``stores`` (None: any)."""
    row = await session.get(WorkOrderRow, work_id)
    names = _visible(await store_names(session), stores)
    if row is None or row.store_id not in names:
        raise ActionError(f"no work order {work_id}", status=NOT_FOUND)
    return row, names[row.store_id]


async def find_work(
    session: AsyncSession,
    ref: str,
    *,
    store: str | None = None,
    stores: Collection[str] | None = None,
) -> tuple[WorkOrderRow, str]:
    """Work by reference: a work id (digits), an order name (``#1001``), or a Shopify
    FulfillmentOrder or Order gid. When an order has several work orders, the one still
    open is chosen; if that is still ambiguous the error lists the ids to use."""
    ref = ref.strip()
    if not ref:
        raise ActionError("no order given", status=INVALID, field="order")
    if ref.isdigit():
        row, name = await get_work(session, int(ref), stores=stores)
        if store is not None and name != store:
            raise ActionError(
                f"work order {ref} belongs to store {name}, not {store}", status=NOT_FOUND
            )
        return row, name
    names = _visible(await store_names(session), stores)
    if store is not None:
        if store not in names.values():
            raise ActionError(f"no store named {store!r}", status=NOT_FOUND, field="store")
        names = {k: v for k, v in names.items() if v == store}
    if ref.startswith("gid://shopify/FulfillmentOrder/"):
        match = WorkOrderRow.remote_id == ref
    elif ref.startswith("gid://shopify/Order/"):
        match = WorkOrderRow.order_remote_id == ref
    else:
        match = WorkOrderRow.order_name == ref
    rows = list(
        await session.scalars(
            select(WorkOrderRow)
            .where(match, WorkOrderRow.store_id.in_(list(names)))
            .order_by(WorkOrderRow.id)
        )
    )
    where = f" in store {store}" if store else ""
    if not rows:
        raise ActionError(f"no work order for {ref}{where}", status=NOT_FOUND, field="order")
    if len({row.store_id for row in rows}) > 1:
        found = ", ".join(sorted({names[row.store_id] for row in rows}))
        raise ActionError(
            f"{ref} exists in several stores ({found}): name one with --store", field="order"
        )
    if len(rows) > 1:
        open_rows = [row for row in rows if WorkState(row.state) not in FINAL_STATES]
        if len(open_rows) == 1:
            rows = open_rows
        else:
            ids = ", ".join(str(row.id) for row in rows)
            raise ActionError(
                f"{ref}{where} has several work orders ({ids}): use the work id", field="order"
            )
    return rows[0], names[rows[0].store_id]


@dataclass(frozen=True)
class Position:
    """Where a page ended: (updated_at, id) when sorted by change, (deadline, id) when
    sorted by deadline (a None deadline sorts last)."""

    updated_at: datetime | None
    work_id: int
    sort: str = "updated"


SORTS = ("updated", "deadline")
# Work that still has to leave: a deadline matters only for it.
OPEN_WORK = frozenset(
    {
        WorkState.SCHEDULED,
        WorkState.RECEIVED,
        WorkState.ACCEPTED,
        WorkState.IN_PROGRESS,
        WorkState.ON_HOLD,
        WorkState.PARTIALLY_SHIPPED,
        WorkState.EXCEPTION,
    }
)


async def list_work(
    session: AsyncSession,
    *,
    stores: Collection[str] | None = None,
    store: str | None = None,
    states: Collection[WorkState] = (),
    updated_since: datetime | None = None,
    due_before: datetime | None = None,
    overdue: bool = False,
    sort: str = "updated",
    now: datetime | None = None,
    after: Position | None = None,
    limit: int = 50,
) -> tuple[list[tuple[WorkOrderRow, str]], Position | None]:
    """A page of work and the position to continue from (None when there is no more):
    oldest change first, or (``sort="deadline"``) the nearest deadline first, work
    without a deadline last. ``due_before`` and ``overdue`` keep open work whose
    deadline falls before that time or has passed."""
    if sort not in SORTS:
        raise ActionError(f"sort {sort!r} is not one of {', '.join(SORTS)}", status=INVALID)
    if after is not None and after.sort != sort:
        raise ActionError("the cursor was issued for another sort order", status=INVALID)
    names = _visible(await store_names(session), stores)
    if store is not None:
        names = {k: v for k, v in names.items() if v == store}
    query = select(WorkOrderRow).where(WorkOrderRow.store_id.in_(list(names)))
    if states:
        query = query.where(WorkOrderRow.state.in_([s.value for s in states]))
    if updated_since is not None:
        query = query.where(WorkOrderRow.updated_at >= as_utc(updated_since))
    deadline_limits = [as_utc(due_before)] if due_before is not None else []
    if overdue:
        deadline_limits.append(as_utc(now or datetime.now(UTC)))
    if deadline_limits:
        query = query.where(
            WorkOrderRow.fulfill_by.is_not(None),
            WorkOrderRow.fulfill_by < min(deadline_limits),
            WorkOrderRow.state.in_([s.value for s in OPEN_WORK]),
        )
    column = WorkOrderRow.fulfill_by if sort == "deadline" else WorkOrderRow.updated_at
    if after is not None:
        if after.updated_at is None:
            query = query.where(column.is_(None), WorkOrderRow.id > after.work_id)
        else:
            at = as_utc(after.updated_at)
            query = query.where(
                or_(
                    column > at,
                    and_(column == at, WorkOrderRow.id > after.work_id),
                    column.is_(None),
                )
            )
    query = query.order_by(column.is_(None), column, WorkOrderRow.id).limit(limit + 1)
    rows = list(await session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    page = [(row, names[row.store_id]) for row in rows]
    last = None
    if more and rows:
        key = rows[-1].fulfill_by if sort == "deadline" else rows[-1].updated_at
        last = Position(as_utc(key) if key is not None else None, rows[-1].id, sort)
    return page, last
