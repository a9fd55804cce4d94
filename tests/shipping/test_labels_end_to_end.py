"""Labels and tracking end to end: rate, buy through karrio against the UPS twin, print,
ship to the sandbox Shopify, and follow the parcel to the door as fulfillment events."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pypdf
import pytest
from sqlalchemy import select

from fulfillbridge.flows.tracking import poll_tracking
from fulfillbridge.store.models import ShipmentRow
from tests.shipping.conftest import ABROAD, Shop


@pytest.fixture
def shop_database_url(database_url: str) -> str:
    """These run on SQLite and PostgreSQL."""
    return database_url


FULFILLMENT = """query($id: ID!) { fulfillment(id: $id) { id status
    trackingInfo(first: 10) { company number url }
    events(first: 20) { nodes { status happenedAt estimatedDeliveryAt message } } } }"""


def fulfillment(shop: Shop, fulfillment_id: str) -> dict:
    return shop.admin(FULFILLMENT, {"id": fulfillment_id})["fulfillment"]


async def poll_later(shop: Shop, hours: float = 3) -> int:
    return await poll_tracking(shop.database, now=datetime.now(UTC) + timedelta(hours=hours))


async def test_rate_buy_print_ship_and_follow_to_the_door(shop: Shop) -> None:
    work_id, _ = await shop.work()
    base = f"/api/v1/work/{work_id}"
    async with shop.http() as http:
        rates = await http.post(f"{base}/rates", json={"package": "box-1"})
        assert rates.status_code == 200, rates.text
        services = {r["service"]: r for r in rates.json()["rates"]}
        assert {"ups_ground", "ups_next_day_air"} <= set(services)
        assert float(services["ups_next_day_air"]["amount"]) > float(
            services["ups_ground"]["amount"]
        )

        bought = await http.post(
            f"{base}/labels",
            json={"package": "box-1", "length_cm": 30, "width_cm": 20, "height_cm": 10},
        )
        assert bought.status_code == 201, bought.text
        label = bought.json()["label"]
        assert label["status"] == "bought" and label["service"] == "ups_ground"
        assert label["tracking_number"].startswith("1Z") and label["customs_form"] is False
        assert label["parcel"]["weight_grams"] == 2 * 400 + 500  # from the lines' weights
        # The cost UPS charged is recorded, and is what the rate said for the same parcel.
        ground = services["ups_ground"]
        assert (label["amount"], label["currency"]) == (ground["amount"], ground["currency"])
        listed = (await http.get(f"{base}/labels")).json()["labels"]
        assert [(x["amount"], x["currency"]) for x in listed] == [
            (ground["amount"], ground["currency"])
        ]

        pdf = await http.get(f"{base}/labels/{label['id']}.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        (page,) = pypdf.PdfReader(io.BytesIO(pdf.content), strict=True).pages
        assert (float(page.mediabox.width), float(page.mediabox.height)) == (288, 432)  # 4x6 in

        shipped = await http.post(f"{base}/labels/ship", json={"labels": [label["id"]]})
        assert shipped.status_code == 201, shipped.text
        (shipment,) = shipped.json()["shipments"]
        await shop.drain()

        detail = (await http.get(base)).json()
        assert detail["state"] == "shipped"
        fulfillment_id = detail["shipments"][0]["fulfillment_id"]
        seen = fulfillment(shop, fulfillment_id)
        assert seen["trackingInfo"][0]["company"] == "UPS"
        assert seen["trackingInfo"][0]["number"] == label["tracking_number"]
        assert seen["events"]["nodes"] == []

        # Nothing new at the carrier yet: asked, nothing passed on, asked again later.
        assert await poll_later(shop) == 1
        await shop.drain()
        assert fulfillment(shop, fulfillment_id)["events"]["nodes"] == []

        shop.scan(label["tracking_number"], "P")
        shop.scan(label["tracking_number"], "I")
        assert await poll_later(shop, hours=12) == 1
        await shop.drain()
        events = fulfillment(shop, fulfillment_id)["events"]["nodes"]
        # The pickup and the departure are both "in transit": one event, not two.
        assert [e["status"] for e in events] == ["IN_TRANSIT"]
        assert events[0]["estimatedDeliveryAt"] is not None

        # Out for delivery, nobody home, out again the next day, delivered.
        for kind in ("O", "X", "O", "D"):
            shop.scan(label["tracking_number"], kind)
        assert await poll_later(shop, hours=40) == 1
        await shop.drain()
        events = fulfillment(shop, fulfillment_id)["events"]["nodes"]
        assert [e["status"] for e in events] == [
            "IN_TRANSIT",
            "OUT_FOR_DELIVERY",
            "ATTEMPTED_DELIVERY",
            "OUT_FOR_DELIVERY",
            "DELIVERED",
        ]
        assert (await http.get(base)).json()["state"] == "delivered"

        listed = (await http.get(f"{base}/shipments/{shipment['id']}/events")).json()["events"]
        assert [e["shopify_status"] for e in listed] == [e["status"] for e in events]

    # The journey is over: the carrier is not asked again, and nothing is sent twice.
    async with shop.database.transaction() as session:
        row = await session.scalar(select(ShipmentRow).where(ShipmentRow.id == shipment["id"]))
        assert row is not None and row.next_poll_at is None
    assert await poll_later(shop, hours=100) == 0
    await shop.drain()
    assert len(fulfillment(shop, fulfillment_id)["events"]["nodes"]) == 5
    assert shop.twin_summary()["purchases"] == 1


async def test_an_international_parcel_gets_a_customs_form(shop: Shop) -> None:
    work_id, _ = await shop.work((1,), address=ABROAD, service="ups_express")
    base = f"/api/v1/work/{work_id}"
    async with shop.http() as http:
        bought = await http.post(f"{base}/labels", json={"package": "intl", "label_format": "ZPL"})
        assert bought.status_code == 201, bought.text
        label = bought.json()["label"]
        assert label["customs_form"] is True and label["label_format"] == "ZPL"
        zpl = await http.get(f"{base}/labels/{label['id']}.zpl")
        assert zpl.status_code == 200 and zpl.content.startswith(b"^XA")
        assert (await http.get(f"{base}/labels/{label['id']}.pdf")).status_code == 404
        form = await http.get(f"{base}/labels/{label['id']}/customs.pdf")
        assert form.status_code == 200 and form.content.startswith(b"%PDF")

    # Without HS codes the bridge refuses before the carrier is asked.
    bare_id, _ = await shop.work((1,), address=ABROAD, customs=False, service="ups_express")
    async with shop.http() as http:
        refused = await http.post(f"/api/v1/work/{bare_id}/labels", json={"package": "intl"})
    assert refused.status_code == 422
    assert "HS code" in refused.json()["detail"] and "SKU-0" in refused.json()["detail"]
    assert shop.twin_summary()["purchases"] == 1


async def test_a_retried_purchase_never_buys_twice(shop: Shop) -> None:
    work_id, _ = await shop.work()
    base = f"/api/v1/work/{work_id}"
    async with shop.http() as http:
        first = await http.post(f"{base}/labels", json={"package": "box-1"})
        again = await http.post(f"{base}/labels", json={"package": "box-1"})
        assert first.status_code == 201 and again.status_code == 200
        assert again.json()["label"]["id"] == first.json()["label"]["id"]
        assert again.json()["bought_now"] is False
        assert shop.twin_summary()["purchases"] == 1

        # UPS buys the label but its answer is lost, and so is the look-up that follows:
        # the purchase is left unknown, and the retry finds the label instead of buying.
        import httpx

        httpx.post(f"{shop.twin_url}/__twin/lose-next-answer").raise_for_status()
        httpx.post(f"{shop.twin_url}/__twin/fail-next-lookup").raise_for_status()
        lost = await http.post(f"{base}/labels", json={"package": "box-2", "weight_grams": 900})
        assert lost.status_code == 502, lost.text
        assert shop.twin_summary()["purchases"] == 2
        listed = (await http.get(f"{base}/labels")).json()["labels"]
        assert [x["status"] for x in listed] == ["bought", "unknown"]

        retried = await http.post(f"{base}/labels", json={"package": "box-2", "weight_grams": 900})
        assert retried.status_code == 201, retried.text
        label = retried.json()["label"]
        assert label["tracking_number"] in shop.twin_summary()["packages"]
        assert shop.twin_summary()["purchases"] == 2  # found, not bought again
        pdf = await http.get(f"{base}/labels/{label['id']}.pdf")
        assert pdf.content.startswith(b"%PDF")

        # Lost once more, but the look-up right after finds it: one call, one label.
        httpx.post(f"{shop.twin_url}/__twin/lose-next-answer").raise_for_status()
        found = await http.post(f"{base}/labels", json={"package": "box-3", "weight_grams": 500})
        assert found.status_code == 201, found.text
        assert shop.twin_summary()["purchases"] == 3


async def test_a_shipment_with_two_carriers_is_two_fulfillments(shop: Shop) -> None:
    work_id, line_ids = await shop.work((2, 1))
    base = f"/api/v1/work/{work_id}"
    async with shop.http() as http:
        ups = await http.post(
            f"{base}/labels",
            json={"package": "ups-box", "lines": [{"line_id": line_ids[0], "quantity": 2}]},
        )
        assert ups.status_code == 201, ups.text
        tracking = ups.json()["label"]["tracking_number"]
        shipped = await http.post(
            f"{base}/shipments",
            json={
                "lines": [
                    {"line_id": line_ids[0], "quantity": 2},
                    {"line_id": line_ids[1], "quantity": 1},
                ],
                "packages": [
                    {"company": "ups", "number": tracking, "lines": {line_ids[0]: 2}},
                    {"company": "fedex", "number": "7946000001", "lines": {line_ids[1]: 1}},
                ],
            },
        )
        assert shipped.status_code == 201, shipped.text
        assert len(shipped.json()["shipments"]) == 2
        await shop.drain()
        detail = (await http.get(base)).json()
    assert detail["state"] == "shipped"
    companies = {}
    for each in detail["shipments"]:
        info = fulfillment(shop, each["fulfillment_id"])["trackingInfo"]
        companies[info[0]["company"]] = [i["number"] for i in info]
    # Names as Shopify spells them, one carrier per fulfillment.
    assert companies == {"UPS": [tracking], "FedEx": ["7946000001"]}


async def test_a_parcel_returned_to_the_shipper_ends_in_failure(shop: Shop) -> None:
    work_id, _ = await shop.work((1,))
    base = f"/api/v1/work/{work_id}"
    async with shop.http() as http:
        label = (await http.post(f"{base}/labels", json={"package": "box"})).json()["label"]
        shipped = await http.post(f"{base}/labels/ship", json={"labels": [label["id"]]})
        shipment_id = shipped.json()["shipments"][0]["id"]
        await shop.drain()
        shop.scan(label["tracking_number"], "P")
        shop.scan(label["tracking_number"], "RS")
        assert await poll_later(shop) == 1
        await shop.drain()
        detail = (await http.get(base)).json()
    events = fulfillment(shop, detail["shipments"][0]["fulfillment_id"])["events"]["nodes"]
    assert [e["status"] for e in events] == ["IN_TRANSIT", "FAILURE"]
    assert detail["state"] == "shipped"  # not delivered: an operator decides what follows
    async with shop.database.transaction() as session:
        row = await session.get(ShipmentRow, shipment_id)
        assert row is not None and row.next_poll_at is None and row.tracking_status == "failure"
