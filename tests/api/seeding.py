"""Work orders, stores and API keys written straight into the database, the way intake
would leave them, so the operation's side can be tested on its own."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.core.work import Address, Mode, WorkLine, WorkOrder, WorkState
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import OutboxRow, ShipmentRow, WorkTransitionRow
from fulfillbridge.store.work import WorkRepository

ADDRESS = Address(
    name="Ada Lovelace",
    address1="1 Analytical Way",
    city="London",
    zip="N1 1AA",
    country_code="GB",
)


def api_settings(home, database_url: str | None = None) -> Settings:
    return Settings(
        home=home,
        database_url=database_url,
        stages=["printing", "packing"],
        cancel_cutoff_stage="packing",
        warehouses=[
            {"name": "main", "priority": 1},
            {"name": "east", "priority": 2},
            {"name": "berlin", "priority": 3, "locations": ["gid://shopify/Location/2"]},
        ],
    )


async def add_store(
    database: Database, name: str, *, mode: str = "fulfillment_service", **settings
) -> int:
    async with database.stores() as stores:
        store = await stores.add(
            name=name,
            shop_domain=f"{name}.myshopify.com",
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": "shpat_not_used_here"},
            settings={"mode": mode, **settings},
        )
    return store.id


_counter = iter(range(1, 1_000_000))


async def add_work(
    database: Database,
    store_id: int,
    store: str,
    *,
    order_name: str = "#1001",
    lines: Sequence[tuple[str | None, int]] = (("MUG-RED", 2), ("TEE-L", 1)),
    state: WorkState = WorkState.ACCEPTED,
    mode: Mode = Mode.FULFILLMENT_SERVICE,
    warehouse: str | None = "main",
    address: Address | None = ADDRESS,
    problems: Sequence[str] = (),
    location: str | None = "gid://shopify/Location/1",
) -> int:
    n = next(_counter)
    order = WorkOrder(
        store=store,
        remote_id=f"gid://shopify/FulfillmentOrder/{n}",
        order_name=order_name,
        mode=mode,
        lines=tuple(
            WorkLine(
                line_id=f"gid://shopify/FulfillmentOrderLineItem/{n}{i}",
                sku=sku,
                quantity=qty,
                title=f"Item {sku}",
            )
            for i, (sku, qty) in enumerate(lines)
        ),
        state=state,
        warehouse=warehouse,
        shipping_address=address,
        problems=tuple(problems),
    )
    async with database.transaction() as session:
        row = await WorkRepository(session).create(
            store_id,
            order,
            order_remote_id=f"gid://shopify/Order/{n}",
            location_remote_id=location,
            actor="intake",
        )
        return row.id


async def add_key(database: Database, name: str, stores: Sequence[str] = ()) -> str:
    async with database.transaction() as session:
        created = await ApiKeyRepository(session).create(name, stores)
    return created.plain


async def outbox(database: Database, work_id: int) -> list[tuple[str, dict]]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(OutboxRow).where(OutboxRow.work_order_id == work_id).order_by(OutboxRow.id)
        )
        return [(row.kind, row.payload) for row in rows]


async def counts(database: Database, work_id: int) -> tuple[int, int, int]:
    """(outbox rows, transitions, shipments) of one work order."""
    async with database.transaction() as session:
        result = []
        for model, column in (
            (OutboxRow, OutboxRow.work_order_id),
            (WorkTransitionRow, WorkTransitionRow.work_order_id),
            (ShipmentRow, ShipmentRow.work_order_id),
        ):
            result.append(
                await session.scalar(
                    select(func.count()).select_from(model).where(column == work_id)
                )
            )
        return tuple(result)  # type: ignore[return-value]
