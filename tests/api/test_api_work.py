"""Reading work over HTTP: authentication, store scope, listing with filters and cursor
pagination, one work order in detail, and the OpenAPI document."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from fulfillbridge.core.work import WorkState
from fulfillbridge.store.api_keys import ApiKeyRepository
from tests.api.seeding import add_work


async def test_missing_invalid_and_revoked_keys_are_refused(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    async with httpx.AsyncClient(base_url=world.url) as anonymous:
        response = await anonymous.get("/api/v1/work")
        assert response.status_code == 401
        assert "missing API key" in response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"
        for bad in ("fbk_nothing", world.acme_key + "x", "Basic abc"):
            response = await anonymous.get(
                f"/api/v1/work/{work_id}", headers={"Authorization": f"Bearer {bad}"}
            )
            assert response.status_code == 401, bad
        response = await anonymous.post(f"/api/v1/work/{work_id}/release")
        assert response.status_code == 401
    async with world.database.transaction() as session:
        await ApiKeyRepository(session).revoke("acme-ops")
    async with world.client() as http:
        response = await http.get("/api/v1/work")
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]


async def test_a_key_never_sees_another_stores_work(world) -> None:
    mine = await add_work(world.database, world.acme_id, "acme", order_name="#1")
    theirs = await add_work(world.database, world.globex_id, "globex", order_name="#2")
    async with world.client(world.acme_key) as http:
        listed = (await http.get("/api/v1/work")).json()
        assert [item["id"] for item in listed["items"]] == [mine]
        assert (await http.get(f"/api/v1/work/{theirs}")).status_code == 404
        forbidden = await http.get("/api/v1/work", params={"store": "globex"})
        assert forbidden.status_code == 403
        assert "globex" in forbidden.json()["detail"]
        post = await http.post(f"/api/v1/work/{theirs}/stage", json={"stage": "printing"})
        assert post.status_code == 404
    async with world.client(world.all_key) as http:
        listed = (await http.get("/api/v1/work")).json()
        assert sorted(item["id"] for item in listed["items"]) == sorted([mine, theirs])
        unknown = await http.get("/api/v1/work", params={"store": "nope"})
        assert unknown.status_code == 404
        assert "nope" in unknown.json()["detail"]


async def test_list_item_shape(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme", order_name="#1001")
    async with world.client() as http:
        (item,) = (await http.get("/api/v1/work")).json()["items"]
    assert item["id"] == work_id
    assert item["store"] == "acme"
    assert item["order_name"] == "#1001"
    assert item["order_id"].startswith("gid://shopify/Order/")
    assert item["fulfillment_order_id"].startswith("gid://shopify/FulfillmentOrder/")
    assert item["state"] == "accepted"
    assert item["warehouse"] == "main"
    assert item["shipping_address"]["city"] == "London"
    assert [
        (line["sku"], line["quantity"], line["shipped"], line["remaining"])
        for line in item["lines"]
    ] == [("MUG-RED", 2, 0, 2), ("TEE-L", 1, 0, 1)]
    assert datetime.fromisoformat(item["created_at"]).tzinfo is not None


async def test_filters_and_cursor_pagination(world) -> None:
    ids = [
        await add_work(world.database, world.acme_id, "acme", order_name=f"#{n}") for n in range(7)
    ]
    received = await add_work(
        world.database, world.acme_id, "acme", order_name="#new", state=WorkState.RECEIVED
    )
    async with world.client() as http:
        seen: list[int] = []
        cursor = None
        for _ in range(10):  # bounded: 8 items in pages of 3
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await http.get("/api/v1/work", params=params)).json()
            assert len(page["items"]) <= 3
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [*ids, received]

        only_received = await http.get("/api/v1/work", params={"state": "received"})
        assert [i["id"] for i in only_received.json()["items"]] == [received]
        both = await http.get("/api/v1/work", params=[("state", "received"), ("state", "accepted")])
        assert len(both.json()["items"]) == 8

        # A change moves work to the end of the change order and into updated_since.
        await asyncio.sleep(0.05)
        mark = datetime.now(UTC)
        await asyncio.sleep(0.05)
        assert (
            await http.post(f"/api/v1/work/{ids[2]}/stage", json={"stage": "printing"})
        ).is_success
        since = await http.get("/api/v1/work", params={"updated_since": mark.isoformat()})
        assert [i["id"] for i in since.json()["items"]] == [ids[2]]
        naive = mark.replace(tzinfo=None).isoformat()  # read as UTC
        since = await http.get("/api/v1/work", params={"updated_since": naive})
        assert [i["id"] for i in since.json()["items"]] == [ids[2]]
        future = (mark + timedelta(days=1)).isoformat()
        empty = await http.get("/api/v1/work", params={"updated_since": future})
        assert empty.json() == {"items": [], "next_cursor": None}


async def test_bad_list_parameters_are_4xx_naming_the_problem(world) -> None:
    async with world.client() as http:
        response = await http.get("/api/v1/work", params={"limit": 251})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "limit"]
        response = await http.get("/api/v1/work", params={"state": "flying"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "state", 0]
        response = await http.get("/api/v1/work", params={"updated_since": "yesterday"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "updated_since"]
        response = await http.get("/api/v1/work", params={"cursor": "not-a-cursor!"})
        assert response.status_code == 400
        assert "cursor" in response.json()["detail"]
        response = await http.get("/api/v1/work/abc")
        assert response.status_code == 422
        response = await http.get("/api/v1/work/999999")
        assert response.status_code == 404
        assert response.json()["detail"] == "no work order 999999"


async def test_detail_has_transitions_and_shipments(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    async with world.client() as http:
        shipped = await http.post(
            f"/api/v1/work/{work_id}/shipments",
            json={
                "lines": [{"sku": "MUG-RED", "quantity": 1}],
                "packages": [{"company": "UPS", "number": "1Z1", "url": "https://ups.example/1Z1"}],
            },
        )
        assert shipped.status_code == 201, shipped.text
        detail = (await http.get(f"/api/v1/work/{work_id}")).json()
    assert [(t["from_state"], t["to_state"], t["actor"]) for t in detail["transitions"]] == [
        (None, "accepted", "intake"),
        ("accepted", "partially_shipped", "api:acme-ops"),
    ]
    (shipment,) = detail["shipments"]
    assert shipment["lines"] == [
        {"line_id": detail["lines"][0]["line_id"], "sku": "MUG-RED", "quantity": 1}
    ]
    assert shipment["packages"] == [
        {"company": "UPS", "number": "1Z1", "url": "https://ups.example/1Z1"}
    ]
    assert shipment["status"] == "pending"
    assert detail["lines"][0]["remaining"] == 1


async def test_openapi_document_describes_the_api(world) -> None:
    async with httpx.AsyncClient(base_url=world.url) as http:
        document = (await http.get("/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/api/v1/work",
        "/api/v1/work/{work_id}",
        "/api/v1/work/{work_id}/stage",
        "/api/v1/work/{work_id}/hold",
        "/api/v1/work/{work_id}/release",
        "/api/v1/work/{work_id}/shipments",
        "/api/v1/work/{work_id}/shipments/{shipment_id}/tracking",
        "/api/v1/work/{work_id}/delivered",
        "/api/v1/work/{work_id}/give-up",
        "/api/v1/work/{work_id}/cancel",
        "/api/v1/work/{work_id}/move",
        "/api/v1/work/{work_id}/retry",
        "/api/v1/work/{work_id}/override",
        "/api/v1/work/{work_id}/ready-for-pickup",
        "/api/v1/deliveries",
        "/api/v1/deliveries/{delivery_id}/redeliver",
        "/api/v1/inventory",
        "/api/v1/inventory/status",
        "/shopify/{store}/{token}/fetch_stock",
    ):
        assert path in paths, path
    shipment = paths["/api/v1/work/{work_id}/shipments"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in shipment["parameters"])
    assert shipment["description"]
    assert "201" in shipment["responses"] and "409" in shipment["responses"]
    listing = paths["/api/v1/work"]["get"]
    assert {"400", "401", "403", "422"} <= set(listing["responses"])
    assert {p["name"] for p in listing["parameters"]} == {
        "state",
        "store",
        "updated_since",
        "due_before",
        "overdue",
        "sort",
        "cursor",
        "limit",
    }
    schemas = document["components"]["schemas"]
    assert "ShipmentRequest" in schemas and "WorkPage" in schemas
    assert "AWAITING_PAYMENT" in schemas["HoldReason"]["enum"]
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
