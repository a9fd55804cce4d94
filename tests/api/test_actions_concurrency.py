"""flows.actions under contention: concurrent shipments of the same units never ship more
than remains, and each success is exactly one fulfillment."""

from __future__ import annotations

import asyncio

from fulfillbridge.core.work import Tracking
from fulfillbridge.flows import actions
from tests.api.seeding import add_store, add_work, outbox


async def test_concurrent_shipments_never_exceed_what_remains(database, settings) -> None:
    store_id = await add_store(database, "acme")
    work_id = await add_work(database, store_id, "acme", lines=[("MUG-RED", 2)])

    async def ship(n: int) -> str:
        command = actions.Ship((actions.ShipLine(1, sku="MUG-RED"),), (Tracking("UPS", f"1Z{n}"),))
        try:
            await actions.run_action(database, settings, str(work_id), command, actor=f"t{n}")
        except actions.ActionError as exc:
            return f"{exc.code}: {exc.message}"
        return "shipped"

    results = await asyncio.gather(*(ship(n) for n in range(5)))
    assert results.count("shipped") == 2, results
    for refused in (r for r in results if r != "shipped"):
        assert refused.startswith(("work_not_allowed", "work_invalid")), refused
    writes = await outbox(database, work_id)
    assert [kind for kind, _ in writes] == ["create_fulfillment", "create_fulfillment"]
    async with database.transaction() as session:
        row, _ = await actions.get_work(session, work_id)
        assert row.state == "shipped"
        assert row.lines[0]["shipped"] == 2
        assert len(await actions.shipments_of(session, work_id)) == 2


async def test_dedupe_key_ships_once(database, settings) -> None:
    store_id = await add_store(database, "acme")
    work_id = await add_work(database, store_id, "acme")
    key = actions.dedupe_key("acme", "#1001", "UPS", "1Z1")
    command = actions.Ship(None, (Tracking("UPS", "1Z1"),), dedupe_key=key)
    results = await asyncio.gather(
        *(
            actions.run_action(database, settings, "#1001", command, actor="csv", store="acme")
            for _ in range(3)
        )
    )
    assert sorted(r.applied for r in results) == [False, False, True]
    assert [kind for kind, _ in await outbox(database, work_id)] == ["create_fulfillment"]
