"""Shiprocket and Clickpost end to end, with Indian addresses: rate, buy against the twin,
print the label PDF, ship to the sandbox Shopify under the courier's Shopify name, and follow
the parcel to the door by polling and by the carrier's tracking webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from fulfillbridge.flows.tracking import poll_tracking
from fulfillbridge.store.models import ShipmentRow, TrackingEventRow
from tests.shipping.india import CLICKPOST, SHIPROCKET, India

FULFILLMENT = """query($id: ID!) { fulfillment(id: $id) { id status
    trackingInfo(first: 10) { company number url }
    events(first: 20) { nodes { status happenedAt estimatedDeliveryAt } } } }"""

# Per carrier: account, service to buy, the courier it means and Shopify's name for it,
# and the carrier's status codes for pickup, in transit, out for delivery, delivered.
CASES = {
    "shiprocket": (SHIPROCKET, "sr_43", "Delhivery", (42, 18, 17, 7)),
    "clickpost": (CLICKPOST, "cp_4", "Delhivery", (4, 5, 6, 8)),
}


@pytest.fixture
def shop_database_url(database_url: str) -> str:
    """These run on SQLite and PostgreSQL."""
    return database_url


def fulfillment(india: India, fulfillment_id: str) -> dict:
    return india.shop.admin(FULFILLMENT, {"id": fulfillment_id})["fulfillment"]


async def poll_later(india: India, hours: float) -> int:
    return await poll_tracking(india.shop.database, now=datetime.now(UTC) + timedelta(hours=hours))


@pytest.mark.parametrize("carrier", sorted(CASES))
async def test_rate_buy_print_ship_and_follow_to_the_door(india: India, carrier: str) -> None:
    account, service, company, (pickup, transit, out, delivered) = CASES[carrier]
    work_id = await india.work(carrier=carrier.title())
    base = f"/api/v1/work/{work_id}"
    async with india.http() as http:
        rates = await http.post(f"{base}/rates", json={"package": "box-1", "account": account})
        assert rates.status_code == 200, rates.text
        quoted = {r["service"]: r for r in rates.json()["rates"]}
        assert service in quoted and quoted[service]["currency"] == "INR"
        assert float(quoted[service]["amount"]) > 0

        bought = await http.post(
            f"{base}/labels",
            json={
                "package": "box-1",
                "account": account,
                "service": service,
                "length_cm": 30,
                "width_cm": 20,
                "height_cm": 10,
            },
        )
        assert bought.status_code == 201, bought.text
        label = bought.json()["label"]
        assert label["company"] == company and label["status"] == "bought"
        assert label["parcel"]["weight_grams"] == 2 * 400 + 500
        number = label["tracking_number"]
        assert number in india.summary(carrier)["awbs" if carrier == "shiprocket" else "waybills"]

        pdf = await http.get(f"{base}/labels/{label['id']}.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert b"/MediaBox [ 0 0 288 432 ]" in pdf.content.replace(b".0 ", b" ")

        shipped = await http.post(f"{base}/labels/ship", json={"labels": [label["id"]]})
        assert shipped.status_code == 201, shipped.text
        (shipment,) = shipped.json()["shipments"]
        await india.shop.drain()
        detail = (await http.get(base)).json()
        assert detail["state"] == "shipped"
        fulfillment_id = detail["shipments"][0]["fulfillment_id"]
        seen = fulfillment(india, fulfillment_id)
        # Shopify's own name for the courier, and no link of ours: Shopify builds it.
        assert seen["trackingInfo"] == [{"company": company, "number": number, "url": None}]
        assert seen["events"]["nodes"] == []

        # Polled: picked up and moving, one IN_TRANSIT.
        india.scan(carrier, number, pickup)
        india.scan(carrier, number, transit)
        assert await poll_later(india, 3) == 1
        await india.shop.drain()
        events = fulfillment(india, fulfillment_id)["events"]["nodes"]
        assert [e["status"] for e in events] == ["IN_TRANSIT"]
        assert events[0]["estimatedDeliveryAt"] is not None

        # Pushed: the carrier's webhook brings the rest without a poll.
        india.send_webhooks(carrier)
        assert india.scan(carrier, number, out)["webhook_status"] == 200
        assert india.scan(carrier, number, delivered)["webhook_status"] == 200
        await india.shop.drain()
        events = fulfillment(india, fulfillment_id)["events"]["nodes"]
        assert [e["status"] for e in events] == ["IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"]
        assert (await http.get(base)).json()["state"] == "delivered"

    # The journey is over: no more polls, and the same scans again change nothing.
    async with india.shop.database.transaction() as session:
        row = await session.get(ShipmentRow, shipment["id"])
        assert row is not None and row.next_poll_at is None
        sources = list(
            await session.scalars(
                select(TrackingEventRow.source).where(
                    TrackingEventRow.shipment_id == shipment["id"]
                )
            )
        )
    assert sources == ["carrier"] * 3
    assert await poll_later(india, 100) == 0
    assert india.summary(carrier)["purchases"] == 1


async def test_a_courier_shopify_does_not_list_gets_the_aggregators_tracking_page(
    india: India,
) -> None:
    work_id = await india.work((1,))
    base = f"/api/v1/work/{work_id}"
    async with india.http() as http:
        bought = await http.post(
            f"{base}/labels", json={"package": "p", "account": SHIPROCKET, "service": "sr_95"}
        )
        assert bought.status_code == 201, bought.text
        label = bought.json()["label"]
        assert label["company"] == "Shadowfax Surface"  # not on Shopify's list: as named
        shipped = await http.post(f"{base}/labels/ship", json={"labels": [label["id"]]})
        assert shipped.status_code == 201, shipped.text
        await india.shop.drain()
        detail = (await http.get(base)).json()
    info = fulfillment(india, detail["shipments"][0]["fulfillment_id"])["trackingInfo"]
    assert info == [
        {
            "company": "Shadowfax Surface",
            "number": label["tracking_number"],
            "url": f"https://shiprocket.co/tracking/{label['tracking_number']}",
        }
    ]


async def test_shiprocket_chooses_the_courier_when_none_is_named(india: India) -> None:
    work_id = await india.work((1,), service=None)
    async with india.http() as http:
        bought = await http.post(
            f"/api/v1/work/{work_id}/labels", json={"package": "p", "account": SHIPROCKET}
        )
    assert bought.status_code == 201, bought.text
    assert bought.json()["label"]["service"] == "shiprocket_auto"
    assert bought.json()["label"]["company"] == "Delhivery"  # the twin's recommended courier
    # The pickup was requested with the purchase.
    (awb,) = india.summary("shiprocket")["awbs"].values()
    assert awb["pickup_requested"] is True


@pytest.mark.parametrize("carrier", sorted(CASES))
async def test_a_lost_answer_buys_once(india: India, carrier: str) -> None:
    account, service, company, _ = CASES[carrier]
    work_id = await india.work((1,))
    base = f"/api/v1/work/{work_id}"
    package = {"package": "box", "account": account, "service": service}
    india.lose_next_answer(carrier)
    async with india.http() as http:
        first = await http.post(f"{base}/labels", json=package)
        if carrier == "shiprocket":
            # The AWB was assigned, the answer lost: found by our reference at once.
            assert first.status_code == 201, first.text
        else:
            # Clickpost has no look-up by reference: the purchase is left unknown ...
            assert first.status_code == 502, first.text
            listed = (await http.get(f"{base}/labels")).json()["labels"]
            assert [x["status"] for x in listed] == ["unknown"]
            # ... and buying again is refused by Clickpost as a duplicate naming the waybill.
            first = await http.post(f"{base}/labels", json=package)
            assert first.status_code == 201, first.text
        label = first.json()["label"]
        assert label["company"] == company
        again = await http.post(f"{base}/labels", json=package)
        assert again.status_code == 200 and again.json()["bought_now"] is False
        pdf = await http.get(f"{base}/labels/{label['id']}.pdf")
        assert pdf.content.startswith(b"%PDF")
    assert india.summary(carrier)["purchases"] == 1
