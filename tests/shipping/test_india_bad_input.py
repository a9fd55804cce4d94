"""Broken input to the aggregators: parcels over a courier's weight, pincodes refused, a
cancellation after pickup, webhooks without the account's token or with a broken body.
Clear 4xx answers naming the problem, and nothing bought or recorded by a refusal."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from tests.flows.outbox_helpers import STORE
from tests.shipping.india import CLICKPOST, CUSTOMER_BENGALURU, HOOK_TOKEN, SHIPROCKET, India


async def buy(india: India, work_id: int, **package: object) -> httpx.Response:
    async with india.http() as http:
        return await http.post(f"/api/v1/work/{work_id}/labels", json={"package": "p", **package})


async def test_parcels_over_the_couriers_weight(india: India) -> None:
    work_id = await india.work((1,))
    shadowfax = await buy(india, work_id, account=SHIPROCKET, service="sr_95", weight_grams=8000)
    assert shadowfax.status_code == 422
    assert shadowfax.json()["detail"] == (
        "Shiprocket refused to assign an AWB: Shadowfax Surface takes at most 5 kg; "
        "the shipment weighs 8 kg"
    )
    xpressbees = await buy(
        india, work_id, package="q", account=CLICKPOST, service="cp_6", weight_grams=12_000
    )
    assert xpressbees.status_code == 422
    assert "Clickpost: no courier partner delivers" in xpressbees.json()["detail"]
    assert "courier partner 6" in xpressbees.json()["detail"]
    async with india.http() as http:
        labels = (await http.get(f"/api/v1/work/{work_id}/labels")).json()["labels"]
        # Nothing bought: a lighter parcel under the same name is bought on the next try.
        assert [x["status"] for x in labels] == ["failed", "failed"]
        retry = await http.post(
            f"/api/v1/work/{work_id}/labels",
            json={"package": "p", "account": SHIPROCKET, "service": "sr_95", "weight_grams": 4000},
        )
        assert retry.status_code == 201, retry.text
    assert india.summary("shiprocket")["purchases"] == 1
    assert india.summary("shiprocket")["orders"] == 1  # the order was continued, not doubled
    assert india.summary("clickpost")["purchases"] == 0


@pytest.mark.parametrize(
    ("account", "service"), [(SHIPROCKET, "sr_43"), (CLICKPOST, "cp_4")], ids=["sr", "cp"]
)
async def test_a_pincode_no_courier_serves(india: India, account: str, service: str) -> None:
    work_id = await india.work((1,), address=replace(CUSTOMER_BENGALURU, zip="999999"))
    refused = await buy(india, work_id, account=account, service=service)
    assert refused.status_code == 422, refused.text
    assert "999999" in refused.json()["detail"]
    async with india.http() as http:
        rated = await http.post(
            f"/api/v1/work/{work_id}/rates", json={"package": "p", "account": account}
        )
    assert rated.status_code == 422 and "999999" in rated.json()["detail"]
    carrier = "shiprocket" if account == SHIPROCKET else "clickpost"
    assert india.summary(carrier)["purchases"] == 0


async def test_a_pincode_that_is_not_six_digits(india: India) -> None:
    work_id = await india.work((1,), address=replace(CUSTOMER_BENGALURU, zip="5600"))
    refused = await buy(india, work_id, account=SHIPROCKET, service="sr_43")
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "Shiprocket refused to take the order: billing_pincode: The billing pincode must be "
        "6 digits."
    )


@pytest.mark.parametrize(
    ("account", "service", "pickup"),
    [(SHIPROCKET, "sr_51", 42), (CLICKPOST, "cp_6", 4)],
    ids=["sr", "cp"],
)
async def test_cancelling_before_and_after_pickup(
    india: India, account: str, service: str, pickup: int
) -> None:
    carrier = "shiprocket" if account == SHIPROCKET else "clickpost"
    work_id = await india.work((2, 1))
    base = f"/api/v1/work/{work_id}"
    async with india.http() as http:
        early = (await buy(india, work_id, package="a", account=account, service=service)).json()
        voided = await http.post(f"{base}/labels/{early['label']['id']}/void")
        assert voided.status_code == 200 and voided.json()["label"]["status"] == "voided"

        late = (await buy(india, work_id, package="b", account=account, service=service)).json()
        india.scan(carrier, late["label"]["tracking_number"], pickup)
        refused = await http.post(f"{base}/labels/{late['label']['id']}/void")
        assert refused.status_code == 409, refused.text
        assert "picked up" in refused.json()["detail"]
        labels = (await http.get(f"{base}/labels")).json()["labels"]
    assert [x["status"] for x in labels] == ["voided", "bought"]
    assert india.summary(carrier)["cancellations"] == 1


async def test_labels_these_carriers_do_not_make(india: India) -> None:
    work_id = await india.work((1,))
    cases = [
        ({"account": SHIPROCKET, "service": "sr_43", "label_format": "ZPL"}, "PDF only"),
        ({"account": SHIPROCKET, "service": "ups_ground"}, "'ups_ground' is not one of"),
        ({"account": CLICKPOST, "service": "sr_43"}, "'sr_43' is not one of cp_<courier"),
        ({"account": CLICKPOST}, "no service given"),
    ]
    for package, detail in cases:
        answer = await buy(india, work_id, **package)
        assert answer.status_code == 422, (package, answer.text)
        assert detail in answer.json()["detail"], (package, answer.text)
    assert india.summary("shiprocket")["orders"] == 0


async def test_webhooks_without_the_token_or_with_a_broken_body(india: India) -> None:
    work_id = await india.work((1,))
    base = f"/api/v1/work/{work_id}"
    label = (await buy(india, work_id, account=SHIPROCKET, service="sr_43")).json()["label"]
    async with india.http() as http:
        await http.post(f"{base}/labels/ship", json={"labels": [label["id"]]})
    awb = label["tracking_number"]
    scan = {
        "awb": awb,
        "scans": [{"date": "2026-12-01 10:00:00", "activity": "Picked", "sr-status": "42"}],
    }
    async with httpx.AsyncClient(base_url=india.shop.url) as hooks:
        url = f"/webhooks/carriers/{SHIPROCKET}"
        cases = [
            (url, {"x-api-key": "wrong"}, scan, 401),
            (url, {}, scan, 401),
            ("/webhooks/carriers/nobody", {"x-api-key": HOOK_TOKEN}, scan, 401),
            (url, {"x-api-key": HOOK_TOKEN}, b"{not json", 422),
            (url, {"x-api-key": HOOK_TOKEN}, {"scans": []}, 422),
            (url, {"x-api-key": HOOK_TOKEN}, {"awb": awb, "scans": "x"}, 422),
            (f"/webhooks/carriers/{CLICKPOST}", {"webhook_key": HOOK_TOKEN}, {"waybill": "W"}, 422),
            (f"/webhooks/carriers/{CLICKPOST}", {"webhook_key": "wrong"}, {"waybill": "W"}, 401),
        ]
        for path, headers, body, status in cases:
            sent = (
                await hooks.post(path, content=body, headers=headers)
                if isinstance(body, bytes)
                else await hooks.post(path, json=body, headers=headers)
            )
            assert sent.status_code == status, (path, headers, body, sent.text)
            assert sent.json()["detail"], sent.text
        # Nothing above was recorded; the right token is.
        async with india.http() as http:
            shipment_id = (await http.get(base)).json()["shipments"][0]["id"]
            assert (await http.get(f"{base}/shipments/{shipment_id}/events")).json()["events"] == []
        ok = await hooks.post(url, json=scan, headers={"x-api-key": HOOK_TOKEN})
        assert ok.status_code == 200 and ok.json() == {"parcels": 1, "matched": 1, "events": 1}
        again = await hooks.post(url, json=scan, headers={"x-api-key": HOOK_TOKEN})
        assert again.json() == {"parcels": 1, "matched": 1, "events": 0}  # once only
        stranger = await hooks.post(
            url, json={**scan, "awb": "0000"}, headers={"x-api-key": HOOK_TOKEN}
        )
        assert stranger.json() == {"parcels": 1, "matched": 0, "events": 0}


async def test_accounts_with_broken_credentials(india: India) -> None:
    async with india.http() as http:
        for credentials, detail in [
            ({"email": "a@b.example"}, "shiprocket credentials need: password"),
            ({"email": "a", "password": "b", "token": "c"}, "not token"),
        ]:
            answer = await http.post(
                "/api/v1/carrier-accounts",
                json={
                    "name": "bad",
                    "carrier": "shiprocket",
                    "store": STORE,
                    "credentials": credentials,
                    "ship_from": {"address1": "x", "city": "Pune", "country_code": "IN"},
                },
            )
            assert answer.status_code == 422, answer.text
            assert detail in answer.json()["detail"]
