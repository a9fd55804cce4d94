"""Broken input to the shipping API: clear 4xx answers naming the problem, and never a
label paid twice."""

from __future__ import annotations

from dataclasses import replace

import httpx

from tests.shipping.conftest import CUSTOMER, WAREHOUSE, Shop


async def test_a_parcel_over_the_weight_limit_is_refused_before_paying(shop: Shop) -> None:
    work_id, _ = await shop.work()
    async with shop.http() as http:
        heavy = await http.post(
            f"/api/v1/work/{work_id}/labels", json={"package": "crate", "weight_grams": 80_000}
        )
        rated = await http.post(
            f"/api/v1/work/{work_id}/rates", json={"package": "crate", "weight_grams": 80_000}
        )
    assert heavy.status_code == 422 and rated.status_code == 422
    assert "80.00 kg" in heavy.json()["detail"] and "UPS" in heavy.json()["detail"]
    assert shop.twin_summary()["purchases"] == 0


async def test_an_address_the_carrier_refuses(shop: Shop) -> None:
    work_id, _ = await shop.work(address=replace(CUSTOMER, zip="7870"))
    async with shop.http() as http:
        refused = await http.post(f"/api/v1/work/{work_id}/labels", json={"package": "box"})
        assert refused.status_code == 422
        assert refused.json()["detail"] == (
            "UPS refused to buy the label: The ShipTo postal code 7870 is invalid for US."
        )
        labels = (await http.get(f"/api/v1/work/{work_id}/labels")).json()["labels"]
        assert [(x["status"], x["tracking_number"]) for x in labels] == [("failed", None)]
        nothing = await http.get(f"/api/v1/work/{work_id}/labels/{labels[0]['id']}.pdf")
        assert nothing.status_code == 409
        # A refused purchase bought nothing: trying again asks the carrier again.
        again = await http.post(f"/api/v1/work/{work_id}/labels", json={"package": "box"})
        assert again.status_code == 422
    assert shop.twin_summary()["purchases"] == 0


async def test_voiding_before_and_after_pickup(shop: Shop) -> None:
    work_id, _ = await shop.work((2, 1))
    base = f"/api/v1/work/{work_id}"
    async with shop.http() as http:
        one = (await http.post(f"{base}/labels", json={"package": "a"})).json()["label"]
        voided = await http.post(f"{base}/labels/{one['id']}/void")
        assert voided.status_code == 200 and voided.json()["label"]["status"] == "voided"
        assert (await http.post(f"{base}/labels/{one['id']}/void")).status_code == 200
        # The same box cannot be bought again under its old name (it was voided).
        reused = await http.post(f"{base}/labels", json={"package": "a"})
        assert reused.status_code == 409 and "voided" in reused.json()["detail"]

        two = (await http.post(f"{base}/labels", json={"package": "b"})).json()["label"]
        shop.scan(two["tracking_number"], "P")
        late = await http.post(f"{base}/labels/{two['id']}/void")
        assert late.status_code == 409
        assert "received by UPS and can no longer be voided" in late.json()["detail"]
        labels = (await http.get(f"{base}/labels")).json()["labels"]
        assert [x["status"] for x in labels] == ["voided", "bought"]
        missing = await http.post(f"{base}/labels/999/void")
        assert missing.status_code == 404
    assert shop.twin_summary()["voids"] == 1


async def test_broken_label_requests(shop: Shop) -> None:
    work_id, _ = await shop.work()
    base = f"/api/v1/work/{work_id}"
    async with shop.http() as http:
        cases = [
            ({"package": "x", "service": "ups_rocket"}, 422, "ups_rocket"),
            ({"package": "x", "account": "nobody"}, 404, "nobody"),
            ({"package": "x", "lines": [{"line_id": "nope", "quantity": 1}]}, 422, "nope"),
            ({"package": "x", "length_cm": 10}, 422, "three dimensions"),
            ({"package": ""}, 422, None),
            ({"package": "x", "label_format": "PNG"}, 422, None),
            ({"package": "x", "weight_grams": -1}, 422, None),
            ({"package": "x", "surprise": 1}, 422, None),
        ]
        for body, status, words in cases:
            answer = await http.post(f"{base}/labels", json=body)
            assert answer.status_code == status, (body, answer.text)
            if words:
                assert words in str(answer.json()["detail"]), (body, answer.text)
        assert (
            await http.post("/api/v1/work/99999/labels", json={"package": "x"})
        ).status_code == 404
        assert (await http.get(f"{base}/labels/77.pdf")).status_code == 404
        ship = await http.post(f"{base}/labels/ship", json={"labels": [77]})
        assert ship.status_code == 404
        assert (await http.post(f"{base}/labels/ship", json={"labels": []})).status_code == 422

        # Packages of two carriers must say what each holds.
        two = await http.post(
            f"{base}/shipments",
            json={
                "packages": [
                    {"company": "UPS", "number": "1Z9"},
                    {"company": "FedEx", "number": "79"},
                ]
            },
        )
        assert two.status_code == 422 and "each package must list its lines" in two.text

        bought = (await http.post(f"{base}/labels", json={"package": "x"})).json()["label"]
        zpl = await http.get(f"{base}/labels/{bought['id']}.zpl")
        assert zpl.status_code == 404 and ".pdf" in zpl.json()["detail"]
        customs = await http.get(f"{base}/labels/{bought['id']}/customs.pdf")
        assert customs.status_code == 404
        first = await http.post(f"{base}/labels/ship", json={"labels": [bought["id"]]})
        repeat = await http.post(f"{base}/labels/ship", json={"labels": [bought["id"]]})
        assert first.status_code == 201 and repeat.status_code == 200
        assert repeat.json()["shipments"][0]["id"] == first.json()["shipments"][0]["id"]
        # Shipped: the label cannot be voided here any more.
        assert (await http.post(f"{base}/labels/{bought['id']}/void")).status_code == 409

    assert shop.twin_summary()["purchases"] == 1


async def test_broken_carrier_accounts(shop: Shop) -> None:
    account = {
        "name": "second",
        "carrier": "ups",
        "store": "demo",
        "credentials": {"client_id": "a", "client_secret": "b"},
        "ship_from": WAREHOUSE,
    }
    async with shop.http() as http:
        cases = [
            ({**account, "carrier": "pigeon"}, 422, "pigeon"),
            ({**account, "credentials": {"client_id": "a"}}, 422, "client_secret"),
            ({**account, "name": "Bad Name"}, 422, "Bad Name"),
            ({**account, "name": "ups-main"}, 409, "exists"),
            ({**account, "store": "elsewhere"}, 403, None),
            ({**account, "store": None}, 403, None),
            ({**account, "base_url": "ftp://x"}, 422, "base_url"),
            ({**account, "ship_from": {"city": "x"}}, 422, None),
        ]
        for body, status, words in cases:
            answer = await http.post("/api/v1/carrier-accounts", json=body)
            assert answer.status_code == status, (body, answer.text)
            if words:
                assert words in str(answer.json()["detail"]), (body, answer.text)
        listed = (await http.get("/api/v1/carrier-accounts")).json()
        assert [a["name"] for a in listed] == ["ups-main"]
        assert "credentials" not in listed[0] and "twin-secret" not in str(listed)


async def test_events_posted_by_the_operation(shop: Shop) -> None:
    work_id, _ = await shop.work((1,))
    base = f"/api/v1/work/{work_id}"
    async with shop.http() as http:
        templates = "/api/v1/stores/demo/tracking-url-templates"
        for body, status in [
            ({"Acme Freight": "https://track.acme.test/"}, 422),
            ({"Acme Freight": "javascript:{number}"}, 422),
            (["not", "an", "object"], 422),
        ]:
            answer = await http.put(templates, json=body)
            assert answer.status_code == status, (body, answer.text)
        elsewhere = await http.put(
            "/api/v1/stores/other/tracking-url-templates", json={"X": "https://x/{number}"}
        )
        assert elsewhere.status_code == 404
        good = await http.put(templates, json={"acme freight": "https://track.acme.test/{number}"})
        assert good.status_code == 200, good.text
        shipped = await http.post(
            f"{base}/shipments", json={"packages": [{"company": "Acme Freight", "number": "AF1"}]}
        )
        shipment_id = shipped.json()["shipment"]["id"]
        events = f"{base}/shipments/{shipment_id}/events"
        bad = [
            ({"status": "TELEPORTED"}, 422),
            ({"status": "IN_TRANSIT", "happened_at": "2026-01-01T00:00:00"}, 422),
            ({"status": "IN_TRANSIT", "happened_at": "2999-01-01T00:00:00Z"}, 422),
            ({"status": "IN_TRANSIT", "extra": 1}, 422),
        ]
        for body, status in bad:
            answer = await http.post(events, json=body)
            assert answer.status_code == status, (body, answer.text)
        assert (
            await http.post(f"{base}/shipments/999/events", json={"status": "DELIVERED"})
        ).status_code == 404

        moving = {"status": "IN_TRANSIT", "happened_at": "2026-12-01T10:00:00Z", "message": "left"}
        assert (await http.post(events, json=moving)).status_code == 201
        assert (await http.post(events, json=moving)).status_code == 200  # the same scan
        older = await http.post(
            events, json={"status": "OUT_FOR_DELIVERY", "happened_at": "2026-11-30T10:00:00Z"}
        )
        assert older.status_code == 409 and "in order" in older.json()["detail"]
        tried = await http.post(
            events, json={"status": "ATTEMPTED_DELIVERY", "happened_at": "2026-12-01T16:00:00Z"}
        )
        assert tried.status_code == 201
        done = await http.post(
            events,
            json={
                "status": "delivered",
                "happened_at": "2026-12-02T10:00:00Z",
                "estimated_delivery_at": "2026-12-02T18:00:00Z",
            },
        )
        assert done.status_code == 201 and done.json()["work_state"] == "delivered"
        after = await http.post(events, json={"status": "IN_TRANSIT"})
        assert after.status_code == 409
        await shop.drain()
        detail = (await http.get(base)).json()
    fulfillment_id = detail["shipments"][0]["fulfillment_id"]
    seen = shop.admin(
        """query($id: ID!) { fulfillment(id: $id) { trackingInfo(first: 5) { company url }
             events(first: 10) { nodes { status message happenedAt } } } }""",
        {"id": fulfillment_id},
    )["fulfillment"]
    assert [e["status"] for e in seen["events"]["nodes"]] == [
        "IN_TRANSIT",
        "ATTEMPTED_DELIVERY",
        "DELIVERED",
    ]
    assert seen["events"]["nodes"][0]["message"] == "left"
    assert seen["trackingInfo"][0] == {
        "company": "Acme Freight",
        "url": "https://track.acme.test/AF1",
    }


def test_the_twin_refuses_unknown_clients(twin) -> None:
    answer = httpx.post(
        f"{twin.url}/security/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("who", "knows"),
    )
    assert answer.status_code == 401
    assert answer.json()["response"]["errors"][0]["message"] == "ClientId is Invalid"
    unauthorised = httpx.post(f"{twin.url}/api/rating/v2409/Shop", json={})
    assert unauthorised.status_code == 401
