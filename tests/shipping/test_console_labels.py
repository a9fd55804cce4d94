"""Labels from the operator's console over real HTTP: buy one for a package with the form,
print it, ship the checked packages and see the fulfillment with its tracking in the
sandbox's Shopify, the carrier's scans on the work page; refusals come back as a message."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from fulfillbridge.flows.tracking import poll_tracking
from tests.console.client import Console, flash, signed_in
from tests.shipping.conftest import Shop
from tests.shipping.test_labels_end_to_end import fulfillment


def _label_id(page: str, page_path: str) -> int:
    found = re.search(rf'href="{page_path}/labels/(\d+)\.pdf"', page)
    assert found is not None, page
    return int(found.group(1))


async def _console(shop: Shop) -> Console:
    return await signed_in(shop.url, shop.key)


async def test_buy_print_and_ship_a_label_from_the_work_page(shop: Shop) -> None:
    work_id, _ = await shop.work()
    page_path = f"/console/work/{work_id}"
    console = await _console(shop)
    async with console:
        page = await console.get(page_path)
        assert "Buy a label" in page.text and "no labels bought" in page.text

        refused = await console.post(
            f"{page_path}/labels", {"package": "box-1", "weight_grams": "90000"}
        )
        assert refused.status_code == 303
        assert flash(refused).startswith("error|label: the package weighs 90.00 kg")

        bought = await console.post(
            f"{page_path}/labels", {"package": "box-1", "account": "ups-main"}
        )
        assert bought.status_code == 303, bought.text
        said = flash(bought)
        assert said.startswith("ok|label for 'box-1' bought: UPS 1Z"), said
        number = said.rsplit(" ", 1)[1].strip('"')

        again = await console.post(f"{page_path}/labels", {"package": "box-1"})
        assert "already bought, nothing paid again" in flash(again)
        assert shop.twin_summary()["purchases"] == 1

        page = await console.get(page_path)
        labels_part = page.text.split("<h2>Labels</h2>")[1].split("<h2>Actions")[0]
        assert number in labels_part and "2 &times; SKU-0" in labels_part, labels_part
        label_id = _label_id(page.text, page_path)
        pdf = await console.http.get(f"{page_path}/labels/{label_id}.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"
        wrong_kind = await console.http.get(f"{page_path}/labels/{label_id}.zpl")
        assert wrong_kind.status_code == 404 and "bought as PDF" in wrong_kind.text
        no_customs = await console.http.get(f"{page_path}/labels/{label_id}/customs.pdf")
        assert no_customs.status_code == 404
        unknown = await console.http.get(f"{page_path}/labels/999999.pdf")
        assert unknown.status_code == 404

        bad_choice = await console.post(f"{page_path}/labels/ship", [("label", "x")])
        assert "not a label id" in flash(bad_choice)

        shipped = await console.post(
            f"{page_path}/labels/ship", [("label", str(label_id)), ("notify", "1")]
        )
        assert "labelled packages shipped; now shipped" in flash(shipped)
        repeated = await console.post(f"{page_path}/labels/ship", [("label", str(label_id))])
        assert "shipped already" in flash(repeated)
        voided = await console.post(f"{page_path}/labels/{label_id}/void", {})
        assert "already reported to Shopify" in flash(voided)
        await shop.drain()

        async with httpx.AsyncClient(
            base_url=shop.url, headers={"Authorization": f"Bearer {shop.key}"}
        ) as api:
            detail = (await api.get(f"/api/v1/work/{work_id}")).json()
        fulfillment_id = detail["shipments"][0]["fulfillment_id"]
        seen = fulfillment(shop, fulfillment_id)
        assert seen["trackingInfo"][0] == {**seen["trackingInfo"][0], "number": number}

        shop.scan(number, "P")
        await poll_tracking(shop.database, now=datetime.now(UTC) + timedelta(hours=3))
        await shop.drain()
        page = await console.get(page_path)
        assert "Shopify IN_TRANSIT" in page.text
        # The scan is in the timeline as an event, not as a change from shipped to shipped.
        timeline = page.text.split("<h2>Timeline</h2>")[1].split("</ol>")[0]
        assert "tracking, still shipped" in timeline and "statuses: IN_TRANSIT" in timeline
        assert "shipped &rarr; shipped" not in timeline
        assert [e["status"] for e in fulfillment(shop, fulfillment_id)["events"]["nodes"]] == [
            "IN_TRANSIT"
        ]


async def test_a_label_voided_from_the_console_is_voided_at_the_carrier(shop: Shop) -> None:
    work_id, _ = await shop.work()
    page_path = f"/console/work/{work_id}"
    console = await _console(shop)
    async with console:
        await console.get(page_path)
        bought = await console.post(f"{page_path}/labels", {"package": "box-1"})
        assert "bought" in flash(bought)
        page = await console.get(page_path)
        label_id = _label_id(page.text, page_path)
        voided = await console.post(f"{page_path}/labels/{label_id}/void", {})
        assert flash(voided) == f"ok|label {label_id} voided at the carrier"
        assert shop.twin_summary()["voids"] == 1
        # Bad input from a hand-made form: named, nothing bought.
        for fields, said in (
            ({"package": ""}, "package must name the box"),
            ({"package": "box-2", "weight_grams": "heavy"}, "is not a number"),
            ({"package": "box-2", "label_format": "GIF"}, "is not PDF or ZPL"),
            ({"package": "box-2", "service": "ups_rocket"}, "ups_rocket"),
        ):
            answer = await console.post(f"{page_path}/labels", fields)
            assert said in flash(answer), (fields, flash(answer))
        assert shop.twin_summary()["purchases"] == 1
        # A form without its token is refused before anything runs.
        forged = await console.http.post(
            f"{page_path}/labels",
            data={"package": "box-3"},
            headers={"Origin": shop.url},
        )
        assert forged.status_code == 403
