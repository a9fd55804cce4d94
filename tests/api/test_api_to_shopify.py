"""The operation's API all the way to Shopify: actions posted over HTTP are sent by the
outbox worker to the sandbox, and the fulfillment order there ends as the operation said.
(The merchant's side is set up through the sandbox's Admin API; see tests/flows.)"""

from __future__ import annotations

import httpx
import pytest

from fulfillbridge.core import work as core
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from fulfillbridge.web.app import create_app
from tests.api.seeding import add_key, api_settings
from tests.flows.outbox_helpers import (
    Admin,
    apply,
    connect_store,
    create_service,
    drain,
    new_work,
    order_for_service,
)


@pytest.fixture
async def bridge(fb_home, sandbox_url):
    settings = api_settings(fb_home)
    database = Database.from_settings(settings)
    app = create_app(settings)
    async with BackgroundServer(app) as server:
        yield settings, database, server.url
    await database.close()
    if getattr(app.state, "database", None) is not None:
        await app.state.database.close()


async def test_stage_shipments_tracking_and_delivery_reach_shopify(bridge, sandbox_url) -> None:
    settings, database, url = bridge
    admin = Admin(sandbox_url)
    try:
        setup = create_service(admin)
        remote = order_for_service(admin, setup, (3, 2))
        store_id = await connect_store(database, sandbox_url)
        work_id = await new_work(database, store_id, remote)
        await apply(database, work_id, core.accept, warehouse="main")  # as processing would
        key = await add_key(database, "ops", ["demo"])
        base = f"/api/v1/work/{work_id}"
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=20
        ) as http:

            async def post(path: str, body: dict | None = None, **headers: str) -> dict:
                response = await http.post(base + path, json=body, headers=headers)
                assert response.is_success, response.text
                return response.json()

            await post("/stage", {"stage": "printing"})
            first = await post(
                "/shipments",
                {
                    "lines": [{"sku": "SKU-0", "quantity": 2}],
                    "packages": [
                        {"company": "UPS", "number": "1Z1", "url": "https://ups.example/1Z1"},
                        {"company": "UPS", "number": "1Z2"},
                    ],
                },
            )
            await drain(database, settings)
            await post(
                f"/shipments/{first['shipment']['id']}/tracking",
                {"packages": [{"company": "DHL", "number": "JD9"}], "notify_customer": False},
            )
            rest = {"packages": [{"company": "UPS", "number": "1Z3"}]}
            await post("/shipments", rest, **{"Idempotency-Key": "rest"})
            await drain(database, settings)
            await post("/shipments", rest, **{"Idempotency-Key": "rest"})  # a repeat
            await post("/delivered")
            await drain(database, settings)
            detail = (await http.get(base)).json()
        fo = admin.fulfillment_order(remote.fo_id)
    finally:
        admin.close()

    assert detail["state"] == "delivered"
    assert all(s["fulfillment_id"] for s in detail["shipments"])
    assert fo["status"] == "CLOSED"
    assert [line["remainingQuantity"] for line in fo["lineItems"]["nodes"]] == [0, 0]
    fulfillments = fo["fulfillments"]["nodes"]
    assert len(fulfillments) == 2  # the repeated POST made no second fulfillment
    assert [[t["number"] for t in f["trackingInfo"]] for f in fulfillments] == [["JD9"], ["1Z3"]]
    assert [[q["quantity"] for q in f["fulfillmentLineItems"]["nodes"]] for f in fulfillments] == [
        [2],
        [1, 2],
    ]
    assert [[e["status"] for e in f["events"]["nodes"]] for f in fulfillments] == [
        ["DELIVERED"],
        ["DELIVERED"],
    ]
    assert {f["id"] for f in fulfillments} == {s["fulfillment_id"] for s in detail["shipments"]}
