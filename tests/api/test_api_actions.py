"""Acting on work over HTTP: each POST's happy path, its broken inputs (nothing written),
the Shopify writes it queues, and the transition it records."""

from __future__ import annotations

from fulfillbridge.core.work import Mode, WorkState
from tests.api.seeding import add_work, counts, outbox


async def _post(world, path: str, body: dict | None = None, key: str | None = None, **headers):
    async with world.client(key) as http:
        return await http.post(path, json=body, headers=headers)


async def _unchanged(world, work_id: int, before: tuple[int, int, int]) -> None:
    assert await counts(world.database, work_id) == before


async def test_stage_reports_progress_and_refuses_unknown_or_backward_stages(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    url = f"/api/v1/work/{work_id}/stage"
    response = await _post(world, url, {"stage": "printing"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["work"]["state"] == "in_progress"
    assert body["work"]["stage"] == "printing"
    assert [q["kind"] for q in body["queued"]] == ["report_progress"]
    assert body["work"]["transitions"][-1]["actor"] == "api:acme-ops"
    assert await outbox(world.database, work_id) == [("report_progress", {"stage": "printing"})]

    await _post(world, url, {"stage": "packing"})
    before = await counts(world.database, work_id)
    backward = await _post(world, url, {"stage": "printing"})
    assert backward.status_code == 409
    assert "stages only move forward" in backward.json()["detail"]
    unknown = await _post(world, url, {"stage": "welding"})
    assert unknown.status_code == 422
    assert "printing, packing" in unknown.json()["detail"]
    missing = await _post(world, url, {})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "stage"]
    extra = await _post(world, url, {"stage": "packing", "colour": "red"})
    assert extra.status_code == 422
    assert extra.json()["detail"][0]["loc"] == ["body", "colour"]
    async with world.client() as http:
        broken = await http.post(
            url, content=b"{not json", headers={"content-type": "application/json"}
        )
    assert broken.status_code == 422
    await _unchanged(world, work_id, before)


async def test_hold_and_release(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    bad = await _post(world, f"/api/v1/work/{work_id}/hold", {"reason": "bored"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "reason"]
    held = await _post(
        world,
        f"/api/v1/work/{work_id}/hold",
        {"reason": "INCORRECT_ADDRESS", "notes": "flat number missing"},
    )
    assert held.status_code == 200, held.text
    assert held.json()["work"]["state"] == "on_hold"
    assert held.json()["work"]["hold_reason"] == "INCORRECT_ADDRESS"
    again = await _post(world, f"/api/v1/work/{work_id}/hold", {"reason": "OTHER"})
    assert again.status_code == 409
    assert "it is on_hold" in again.json()["detail"]
    ship = await _post(world, f"/api/v1/work/{work_id}/shipments", {"no_tracking": True})
    assert ship.status_code == 409
    released = await _post(world, f"/api/v1/work/{work_id}/release")
    assert released.json()["work"]["state"] == "accepted"
    assert (await _post(world, f"/api/v1/work/{work_id}/release")).status_code == 409
    assert await outbox(world.database, work_id) == [
        ("hold", {"reason": "INCORRECT_ADDRESS", "notes": "flat number missing"}),
        ("release_hold", {}),
    ]


async def test_partial_then_complete_shipment_with_packages(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    first = await _post(
        world,
        f"/api/v1/work/{work_id}/shipments",
        {
            "lines": [{"sku": "MUG-RED", "quantity": 1}],
            "packages": [
                {"company": "DHL", "number": "JD1", "url": "https://dhl.example/JD1"},
                {"company": "DHL", "number": "JD2"},
            ],
            "notify_customer": False,
        },
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["work"]["state"] == "partially_shipped"
    assert body["shipment"]["lines"][0]["sku"] == "MUG-RED"
    assert [p["number"] for p in body["shipment"]["packages"]] == ["JD1", "JD2"]
    rest = await _post(
        world,
        f"/api/v1/work/{work_id}/shipments",
        {"packages": [{"company": "DHL", "number": "JD3"}]},
    )
    assert rest.status_code == 201, rest.text
    assert rest.json()["work"]["state"] == "shipped"
    assert [line["remaining"] for line in rest.json()["work"]["lines"]] == [0, 0]
    writes = await outbox(world.database, work_id)
    assert [kind for kind, _ in writes] == ["create_fulfillment", "create_fulfillment"]
    line_ids = [line["line_id"] for line in rest.json()["work"]["lines"]]
    assert writes[0][1] == {
        "lines": {line_ids[0]: 1},
        "tracking": [
            {"company": "DHL", "number": "JD1", "url": "https://dhl.example/JD1"},
            {"company": "DHL", "number": "JD2", "url": None},
        ],
        "notify_customer": False,
    }
    assert writes[1][1]["lines"] == {line_ids[0]: 1, line_ids[1]: 1}
    # each shipment is linked to the outbox row that creates its fulfillment
    async with world.database.transaction() as session:
        from sqlalchemy import select

        from fulfillbridge.store.models import OutboxRow, ShipmentRow

        pairs = (
            await session.execute(
                select(ShipmentRow.id, OutboxRow.kind)
                .join(OutboxRow, ShipmentRow.outbox_id == OutboxRow.id)
                .where(ShipmentRow.work_order_id == work_id)
            )
        ).all()
    assert [kind for _, kind in pairs] == ["create_fulfillment", "create_fulfillment"]
    nothing_left = await _post(world, f"/api/v1/work/{work_id}/shipments", {"no_tracking": True})
    assert nothing_left.status_code == 409


async def test_broken_shipments_write_nothing(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    url = f"/api/v1/work/{work_id}/shipments"
    before = await counts(world.database, work_id)
    cases = [
        ({"lines": [{"sku": "MUG-RED", "quantity": 3}]}, 422, "MUG-RED has 2 left to ship"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, 422, "no line with SKU 'NOPE'"),
        ({"lines": [{"line_id": "gid://x/1", "quantity": 1}]}, 422, "no line 'gid://x/1'"),
        (
            {"lines": [{"sku": "MUG-RED", "quantity": 2}, {"sku": "MUG-RED", "quantity": 1}]},
            422,
            "MUG-RED has 0 left",
        ),
    ]
    for body, status, words in cases:
        response = await _post(world, url, {**body, "no_tracking": True})
        assert response.status_code == status, body
        assert words in response.json()["detail"], response.json()
    for body, loc in [
        ({"lines": [{"sku": "MUG-RED", "quantity": 0}]}, ["body", "lines", 0, "quantity"]),
        ({"lines": [{"sku": "MUG-RED", "line_id": "x", "quantity": 1}]}, ["body", "lines", 0]),
        ({"packages": [{"company": "", "number": "1"}]}, ["body", "packages", 0, "company"]),
        (
            {"packages": [{"company": "UPS", "number": "1", "url": "ftp://x"}]},
            ["body", "packages", 0, "url"],
        ),
        ({"notify_customer": "maybe", "no_tracking": True}, ["body", "notify_customer"]),
    ]:
        response = await _post(world, url, body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"] == loc
    await _unchanged(world, work_id, before)


async def test_shipment_for_cancelled_or_unknown_work_is_refused(world) -> None:
    cancelled = await add_work(world.database, world.acme_id, "acme", state=WorkState.CANCELLED)
    before = await counts(world.database, cancelled)
    response = await _post(
        world,
        f"/api/v1/work/{cancelled}/shipments",
        {"packages": [{"company": "UPS", "number": "1Z"}]},
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "cannot ship #1001: it is cancelled"
    await _unchanged(world, cancelled, before)
    unknown = await _post(world, "/api/v1/work/424242/shipments", {"no_tracking": True})
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no work order 424242"


async def test_tracking_update_and_delivery(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme", lines=[("MUG-RED", 1)])
    early = await _post(world, f"/api/v1/work/{work_id}/delivered")
    assert early.status_code == 409
    shipped = await _post(
        world,
        f"/api/v1/work/{work_id}/shipments",
        {"packages": [{"company": "UPS", "number": "WRONG"}]},
    )
    shipment_id = shipped.json()["shipment"]["id"]
    fixed = await _post(
        world,
        f"/api/v1/work/{work_id}/shipments/{shipment_id}/tracking",
        {"packages": [{"company": "UPS", "number": "1Z999", "url": "https://ups.example/1Z999"}]},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["work"]["shipments"][0]["packages"][0]["number"] == "1Z999"
    unknown = await _post(
        world,
        f"/api/v1/work/{work_id}/shipments/999/tracking",
        {"packages": [{"company": "UPS", "number": "1"}]},
    )
    assert unknown.status_code == 404
    assert "no shipment 999" in unknown.json()["detail"]
    empty = await _post(
        world, f"/api/v1/work/{work_id}/shipments/{shipment_id}/tracking", {"packages": []}
    )
    assert empty.status_code == 422
    delivered = await _post(world, f"/api/v1/work/{work_id}/delivered")
    assert delivered.status_code == 200
    assert delivered.json()["work"]["state"] == "delivered"
    assert delivered.json()["work"]["shipments"][0]["delivered_at"] is not None
    writes = await outbox(world.database, work_id)
    assert [kind for kind, _ in writes] == [
        "create_fulfillment",
        "update_tracking",
        "fulfillment_event",
    ]
    assert writes[1][1]["shipment_id"] == shipment_id
    assert writes[1][1]["tracking"][0]["number"] == "1Z999"
    assert writes[2][1]["status"] == "DELIVERED"
    assert writes[2][1]["shipment_id"] == shipment_id


async def test_give_up_and_cancel_close_the_work_as_incomplete(world) -> None:
    one = await add_work(world.database, world.acme_id, "acme", order_name="#1")
    two = await add_work(world.database, world.acme_id, "acme", order_name="#2")
    missing = await _post(world, f"/api/v1/work/{one}/give-up", {})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "reason"]
    blank = await _post(world, f"/api/v1/work/{one}/give-up", {"reason": "   "})
    assert blank.status_code == 422
    given = await _post(world, f"/api/v1/work/{one}/give-up", {"reason": "printer broke"})
    assert given.json()["work"]["state"] == "incomplete"
    assert given.json()["work"]["transitions"][-1]["detail"]["reason"] == "printer broke"
    cancelled = await _post(world, f"/api/v1/work/{two}/cancel", {"reason": "out of blanks"})
    assert cancelled.json()["work"]["state"] == "incomplete"
    assert await outbox(world.database, one) == [("close", {"message": "printer broke"})]
    assert await outbox(world.database, two) == [("close", {"message": "out of blanks"})]
    again = await _post(world, f"/api/v1/work/{one}/give-up", {"reason": "twice"})
    assert again.status_code == 409


async def test_move_between_warehouses_and_locations(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    moved = await _post(world, f"/api/v1/work/{work_id}/move", {"warehouse": "east"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["work"]["warehouse"] == "east"
    assert moved.json()["work"]["transitions"][-1]["detail"] == {
        "action": "move_warehouse",
        "from": "main",
        "to": "east",
    }
    assert await outbox(world.database, work_id) == []  # local only
    unknown = await _post(world, f"/api/v1/work/{work_id}/move", {"warehouse": "mars"})
    assert unknown.status_code == 422
    assert "unknown warehouse 'mars'" in unknown.json()["detail"]
    wrong_place = await _post(world, f"/api/v1/work/{work_id}/move", {"warehouse": "berlin"})
    assert wrong_place.status_code == 422
    assert "does not work for Shopify location" in wrong_place.json()["detail"]
    neither = await _post(world, f"/api/v1/work/{work_id}/move", {})
    assert neither.status_code == 422
    service = await _post(
        world, f"/api/v1/work/{work_id}/move", {"location_id": "gid://shopify/Location/2"}
    )
    assert service.status_code == 409
    assert "only order-management work" in service.json()["detail"]

    managed = await add_work(world.database, world.globex_id, "globex", mode=Mode.ORDER_MANAGEMENT)
    url = f"/api/v1/work/{managed}/move"
    elsewhere = await _post(
        world, url, {"location_id": "gid://shopify/Location/9"}, key=world.globex_key
    )
    assert elsewhere.status_code == 422
    assert "not one this store manages" in elsewhere.json()["detail"]
    ok = await _post(world, url, {"location_id": "gid://shopify/Location/2"}, key=world.globex_key)
    assert ok.status_code == 200, ok.text
    assert ok.json()["work"]["location_id"] == "gid://shopify/Location/2"
    assert ok.json()["work"]["warehouse"] == "main"  # main serves every location
    assert await outbox(world.database, managed) == [
        ("move", {"location_id": "gid://shopify/Location/2"})
    ]
    await _post(world, f"/api/v1/work/{managed}/stage", {"stage": "printing"}, key=world.globex_key)
    late = await _post(
        world, url, {"location_id": "gid://shopify/Location/1"}, key=world.globex_key
    )
    assert late.status_code == 409
    assert "open or on hold" in late.json()["detail"]


async def test_exception_retry_fix_and_override(world) -> None:
    problem = "shipping address is missing"
    work_id = await add_work(
        world.database,
        world.globex_id,
        "globex",
        mode=Mode.ORDER_MANAGEMENT,
        state=WorkState.EXCEPTION,
        address=None,
        warehouse=None,
        problems=[problem],
    )
    key = world.globex_key
    retried = await _post(world, f"/api/v1/work/{work_id}/retry", key=key)
    assert retried.status_code == 200, retried.text
    assert retried.json()["work"]["state"] == "exception"
    assert retried.json()["work"]["problems"] == [problem]
    assert retried.json()["work"]["transitions"][-1]["actor"] == "api:globex-ops"
    half = await _post(
        world,
        f"/api/v1/work/{work_id}/fix",
        {"shipping_address": {"address1": "2 Side St", "city": "Leeds"}},
        key=key,
    )
    assert half.json()["work"]["state"] == "exception"
    assert half.json()["work"]["problems"] == ["shipping address is incomplete: no country"]
    fixed = await _post(
        world, f"/api/v1/work/{work_id}/fix", {"shipping_address": {"country_code": "GB"}}, key=key
    )
    assert fixed.json()["work"]["state"] == "accepted"
    assert fixed.json()["work"]["warehouse"] == "main"
    assert fixed.json()["work"]["shipping_address"]["city"] == "Leeds"
    not_exception = await _post(world, f"/api/v1/work/{work_id}/retry", key=key)
    assert not_exception.status_code == 409

    other = await add_work(
        world.database,
        world.globex_id,
        "globex",
        mode=Mode.ORDER_MANAGEMENT,
        state=WorkState.EXCEPTION,
        lines=[(None, 1)],
        problems=["line 'Item None' has no SKU: set one on the product variant"],
    )
    overridden = await _post(
        world, f"/api/v1/work/{other}/override", {"reason": "hand-made item"}, key=key
    )
    assert overridden.status_code == 200, overridden.text
    work = overridden.json()["work"]
    assert work["state"] == "accepted"
    assert work["problems"] == []
    last = work["transitions"][-1]
    assert last["actor"] == "api:globex-ops"
    assert last["detail"]["reason"] == "hand-made item"
    assert last["detail"]["overridden_problems"] == [
        "line 'Item None' has no SKU: set one on the product variant"
    ]


async def test_fulfillment_service_retry_accepts_the_request(world) -> None:
    work_id = await add_work(
        world.database,
        world.acme_id,
        "acme",
        state=WorkState.EXCEPTION,
        warehouse=None,
        problems=["no warehouse is configured for Shopify location x"],
    )
    retried = await _post(world, f"/api/v1/work/{work_id}/retry")
    assert retried.json()["work"]["state"] == "accepted"
    assert [q["kind"] for q in retried.json()["queued"]] == ["accept_request"]


async def test_hostile_inputs_are_4xx_never_500(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    before = await counts(world.database, work_id)
    huge = 10**20
    async with world.client() as http:
        for method, path, body in [
            ("GET", f"/api/v1/work/{huge}", None),
            ("POST", f"/api/v1/work/{huge}/release", None),
            ("POST", f"/api/v1/work/{work_id}/shipments/{huge}/tracking", {"packages": []}),
            ("POST", f"/api/v1/work/{work_id}/shipments", {"lines": []}),
            ("POST", f"/api/v1/work/{work_id}/shipments", {"lines": [{"quantity": 1}]}),
            ("POST", f"/api/v1/work/{work_id}/shipments", {"lines": "all"}),
            ("POST", f"/api/v1/work/{work_id}/shipments", []),
            ("POST", f"/api/v1/work/{work_id}/stage", {"stage": "print\x00ing"}),
            ("POST", f"/api/v1/work/{work_id}/move", {"location_id": "Location/1"}),
            ("POST", f"/api/v1/work/{work_id}/fix", {"skus": [{"line_id": "x"}]}),
            (
                "GET",
                "/api/v1/work?cursor=eyJ1IjogIjIwMjYtMDEtMDEiLCAiaSI6IDEwMDAwMDAwMDAwMH0",
                None,
            ),
            ("GET", "/api/v1/work?store=%00", None),
        ]:
            response = await http.request(method, path, json=body)
            assert 400 <= response.status_code < 500, (path, body, response.text)
            assert response.json()["detail"]
    await _unchanged(world, work_id, before)
    # NUL characters inside free text are stored as given, not a crash
    held = await _post(
        world, f"/api/v1/work/{work_id}/hold", {"reason": "OTHER", "notes": "a\x00b"}
    )
    assert held.status_code == 200, held.text
    gone = await _post(world, f"/api/v1/work/{work_id}/give-up", {"reason": "x\x00y"})
    assert gone.status_code == 200, gone.text
