"""The work order carries what the operation needs to make and ship the order, end to end:
the sandbox's merchant makes personalised, express, pickup, unpaid and dated orders; the
bridge takes them in through Shopify's webhooks and callbacks; the operation reads them
through the REST API, the CSV export and its own signed webhooks."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fulfillbridge.flows import notify, setup
from fulfillbridge.flows.work_settings import work_setting_changes
from fulfillbridge.serving import BackgroundServer
from tests.e2e.conftest import connect_store
from tests.e2e.harness import SHOP, STORE, Bridge, Merchant, Operation, eventually, ups, worker

SECRET = "operation-secret"


class OperationEndpoint:
    """The operation's webhook receiver, verifying each delivery with the Standard
    Webhooks library as a receiver written against the convention would."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.server = BackgroundServer(Starlette(routes=[Route("/in", self._in, methods=["POST"])]))
        self._verifier = Webhook(notify.standard_secret(SECRET))

    async def _in(self, request: Request) -> Response:
        body = await request.body()
        try:
            self._verifier.verify(body, dict(request.headers))
        except Exception:
            self.refused += 1
            return Response(status_code=401)
        document = json.loads(body)
        document["webhook_id"] = request.headers["webhook-id"]
        self.received.append(document)
        return Response(status_code=204)

    @property
    def url(self) -> str:
        return f"{self.server.url}/in"

    def events(self, name: str) -> list[dict[str, Any]]:
        return [d for d in self.received if d["event"] == name]


async def _merchant_orders(merchant: Merchant, **options: Any) -> list[dict[str, Any]]:
    made = await merchant.control(
        f"/__sandbox/shops/{SHOP}/merchant",
        {"action": "create_orders", "count": 1, "variety": "simple", **options},
    )
    return made["result"]["created_orders"] if "result" in made else made["created_orders"]


def _at(fo: dict[str, Any], location: str) -> bool:
    return str(fo["location_id"]).rsplit("/", 1)[-1] == location.rsplit("/", 1)[-1]


async def _configure(bridge: Bridge, rules: Path | None = None, **work: Any) -> None:
    changes = work_setting_changes(shipping_rules=rules, **work)
    await setup.configure_store(bridge.settings, STORE, work_changes=changes)


def _signed(bridge: Bridge) -> None:
    bridge.settings = bridge.settings.model_copy(
        update={"operation_webhook_secret": SecretStr(SECRET)}
    )


async def test_a_personalised_express_order_reaches_the_operation_whole(
    service_store: Bridge, merchant: Merchant, cli, tmp_path: Path
) -> None:
    bridge = service_store
    _signed(bridge)
    await merchant.seed_catalogue("service")
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "rules": [
                    {"name": "express", "service_code": "EXPRESS", "carrier": "UPS",
                     "service": "Express Saver"},
                ],
                "default": {"carrier": "Royal Mail", "service": "Tracked 48"},
            }
        )
    )  # fmt: skip
    endpoint = OperationEndpoint()
    async with endpoint.server:
        await _configure(bridge, rules, operation_webhook_url=endpoint.url)
        (order,) = await _merchant_orders(merchant, personalised=True, delivery="express")
        (standard,) = await _merchant_orders(merchant)
        fo_id = order["fulfillment_orders"][0]["id"]
        operation = Operation(bridge, await bridge.api_key())
        try:
            async with worker(bridge, fast=True):
                await bridge.wait_state(fo_id, "accepted")
                await bridge.wait_state(standard["fulfillment_orders"][0]["id"], "accepted")
                await bridge.wait_sent()
                detail = await operation.detail(fo_id)
                other = await operation.detail(standard["fulfillment_orders"][0]["id"])
        finally:
            await operation.aclose()

    line = detail["lines"][0]
    properties = {p["key"]: p["value"] for p in line["properties"]}
    assert properties["Engraving"].startswith("For ")
    artwork = properties["_artwork_url"]
    assert artwork.startswith("https://") and artwork.endswith(".png")
    assert line["unit_price"] and line["currency"] and line["image_url"]
    assert line["hs_code"] and line["country_of_origin"]
    assert detail["note"] == "Please wrap it as a gift."
    assert detail["note_attributes"][0]["key"] == "gift_message"
    assert detail["delivery"]["presented_name"] == "Express"
    assert (detail["delivery"]["carrier"], detail["delivery"]["carrier_service"]) == (
        "UPS",
        "Express Saver",
    )
    assert detail["delivery"]["mapping_rule"] == "express"
    assert (other["delivery"]["carrier"], other["delivery"]["mapping_rule"]) == (
        "Royal Mail",
        "default",
    )

    # The operation's webhook: signed by the convention, carrying the same work.
    assert endpoint.refused == 0
    (new,) = [d for d in endpoint.events("new_work") if d["fulfillment_order_id"] == fo_id]
    sent_line = new["data"]["lines"][0]
    assert {p["key"]: p["value"] for p in sent_line["properties"]}["_artwork_url"] == artwork
    assert new["data"]["delivery"]["carrier_service"] == "Express Saver"

    # The CSV a small team prints.
    exported = await asyncio.to_thread(cli, "orders", "export")
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    (row,) = [r for r in rows if r["order"] == order["name"]]
    assert "Engraving=For " in row["personalisation"] and artwork in row["personalisation"]
    assert (row["carrier"], row["carrier_service"]) == ("UPS", "Express Saver")

    # Deliveries are listed with their status, and one can be sent again.
    async with endpoint.server:
        listing = await operation_list(bridge)
        delivered = [d for d in listing if d["event"] == "new_work" and d["status"] == "done"]
        assert len(delivered) == 2
        again = await post(bridge, f"/deliveries/{delivered[0]['id']}/redeliver")
        assert again["status"] == "pending" and again["webhook_id"] == delivered[0]["webhook_id"]
        async with worker(bridge, fast=True):
            await eventually(lambda: _count(endpoint, delivered[0]["webhook_id"], 1))


async def _count(endpoint: OperationEndpoint, webhook_id: str, at_least: int) -> bool:
    return sum(d["webhook_id"] == webhook_id for d in endpoint.received) >= at_least


async def operation_list(bridge: Bridge) -> list[dict[str, Any]]:
    async with bridge.api(await bridge.api_key("deliveries")) as http:
        response = await http.get("/deliveries")
        assert response.status_code == 200, response.text
        bad = await http.get("/deliveries", params={"status": "lost"})
        assert bad.status_code == 422 and "status 'lost'" in bad.text
        return response.json()["items"]


async def post(bridge: Bridge, path: str) -> dict[str, Any]:
    async with bridge.api(await bridge.api_key("redeliver")) as http:
        response = await http.post(path)
        assert response.status_code == 200, response.text
        missing = await http.post("/deliveries/999999/redeliver")
        assert missing.status_code == 404
        return response.json()


async def test_overdue_work_is_listed_first(service_store: Bridge, merchant: Merchant) -> None:
    bridge = service_store
    await merchant.seed_catalogue("service")
    now = datetime.now(UTC)
    (later,) = await _merchant_orders(merchant, fulfill_by=(now + timedelta(days=5)).isoformat())
    (undated,) = await _merchant_orders(merchant)
    (late,) = await _merchant_orders(merchant, fulfill_by=(now - timedelta(hours=2)).isoformat())
    ids = [o["fulfillment_orders"][0]["id"] for o in (later, undated, late)]
    operation = Operation(bridge, await bridge.api_key())
    try:
        async with worker(bridge, fast=True):
            for fo_id in ids:
                await bridge.wait_state(fo_id, "accepted")
        http = operation.http
        by_deadline = (await http.get("/work", params={"sort": "deadline"})).json()["items"]
        assert [w["fulfillment_order_id"] for w in by_deadline] == [ids[2], ids[0], ids[1]]
        assert [w["overdue"] for w in by_deadline] == [True, False, False]
        overdue = (await http.get("/work", params={"overdue": "true"})).json()["items"]
        assert [w["fulfillment_order_id"] for w in overdue] == [ids[2]]
        soon = (now + timedelta(days=6)).isoformat()
        due = (await http.get("/work", params={"due_before": soon})).json()["items"]
        assert {w["fulfillment_order_id"] for w in due} == {ids[0], ids[2]}
        # A page of one continues in the same order.
        first = (await http.get("/work", params={"sort": "deadline", "limit": 1})).json()
        second = await http.get(
            "/work", params={"sort": "deadline", "limit": 1, "cursor": first["next_cursor"]}
        )
        assert second.json()["items"][0]["fulfillment_order_id"] == ids[0]
        mixed = await http.get("/work", params={"cursor": first["next_cursor"]})
        assert mixed.status_code == 400 and "another sort order" in mixed.text
        assert (await http.get("/work", params={"sort": "random"})).status_code == 422
    finally:
        await operation.aclose()


async def test_a_pickup_order_is_marked_ready_not_shipped(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    await merchant.seed_catalogue("service")
    (order,) = await _merchant_orders(merchant, delivery="pickup")
    fo_id = order["fulfillment_orders"][0]["id"]
    operation = Operation(bridge, await bridge.api_key())
    try:
        async with worker(bridge, fast=True):
            await bridge.wait_state(fo_id, "accepted")
            refused = await operation.ship(fo_id, [ups("1Z999")], expect=409)
            assert "ready for pickup" in refused["detail"]
            ready = await operation.act(fo_id, "ready-for-pickup")
            assert ready["work"]["state"] == "ready_for_pickup"
            assert [q["kind"] for q in ready["queued"]] == ["prepared_for_pickup"]
            await bridge.wait_sent(fo_id)
    finally:
        await operation.aclose()
    data = await merchant.graphql(
        """query($id: ID!) { fulfillmentOrder(id: $id) { status
             fulfillments(first: 5) { nodes { displayStatus } } } }""",
        {"id": fo_id},
    )
    fulfillments = data["fulfillmentOrder"]["fulfillments"]["nodes"]
    assert [f["displayStatus"] for f in fulfillments] == ["READY_FOR_PICKUP"]


async def test_an_unpaid_order_waits_in_order_management(
    bridge: Bridge, merchant: Merchant, sandbox_url: str
) -> None:
    await merchant.seed_catalogue("merchant")
    managed = (await merchant.locations())["Shop location"]
    await connect_store(bridge, sandbox_url, mode="order_management", locations=[managed])
    unpaid = await _merchant_orders(merchant, payment_pending=True)
    paid = await _merchant_orders(merchant)
    ours = [
        fo["id"]
        for order in unpaid + paid
        for fo in order["fulfillment_orders"]
        if _at(fo, managed)
    ]
    async with worker(bridge, fast=True):
        await bridge.wait_state(ours[-1], "accepted")
        await bridge.wait_sent()
        assert await bridge.work_for(ours[0]) is None  # held back: not paid
        # Allowed for this store: the next unpaid order becomes work, flagged.
        await _configure(bridge, allow_payment_pending=True)
        later = await _merchant_orders(merchant, payment_pending=True)
        (fo,) = [f for f in later[0]["fulfillment_orders"] if _at(f, managed)]
        row = await bridge.wait_state(fo["id"], "accepted")
    assert row.flags == ["payment pending (pending)"]


async def test_configured_metafields_reach_the_work_with_metaobjects_resolved(
    service_store: Bridge, merchant: Merchant
) -> None:
    """A customiser keeps its recipe in a metaobject the order points at, and care notes on
    the product: the work carries both; a reference to a deleted metaobject is reported."""
    bridge = service_store
    await merchant.seed_catalogue("service")
    await _configure(
        bridge, metafields=["order:custom.recipe", "order:custom.gone", "product:custom.care"]
    )
    definition = await merchant.graphql(
        """mutation { metaobjectDefinitionCreate(definition: {type: "recipe", name: "Recipe",
             fieldDefinitions: [{key: "name", type: "single_line_text_field"},
                                {key: "foil", type: "single_line_text_field"}]}) {
             userErrors { message } } }"""
    )
    assert definition["metaobjectDefinitionCreate"]["userErrors"] == []
    made = {}
    for name in ("Gold foil", "Old recipe"):
        created = await merchant.graphql(
            """mutation($name: String!) { metaobjectCreate(metaobject: {type: "recipe",
                 fields: [{key: "name", value: $name}, {key: "foil", value: "gold"}]}) {
                 metaobject { id } userErrors { message } } }""",
            {"name": name},
        )
        made[name] = created["metaobjectCreate"]["metaobject"]["id"]
    # The order is made while the worker is away, so its metafields are set before the
    # bridge reads it (a storefront app writes them at checkout).
    (order,) = await _merchant_orders(merchant)
    fo_id = order["fulfillment_orders"][0]["id"]
    product = await merchant.graphql(
        """query($id: ID!) { order(id: $id) { lineItems(first: 1) { nodes {
             product { id } } } } }""",
        {"id": order["id"]},
    )
    product_id = product["order"]["lineItems"]["nodes"][0]["product"]["id"]

    def field(owner: str, key: str, kind: str, value: str) -> dict[str, str]:
        return {"ownerId": owner, "namespace": "custom", "key": key, "type": kind, "value": value}

    written = await merchant.graphql(
        """mutation($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) {
             userErrors { message } } }""",
        {
            "m": [
                field(order["id"], "recipe", "metaobject_reference", made["Gold foil"]),
                field(order["id"], "gone", "metaobject_reference", made["Old recipe"]),
                field(product_id, "care", "multi_line_text_field", "Wash cold\nNo dryer"),
            ]
        },
    )
    assert written["metafieldsSet"]["userErrors"] == []
    deleted = await merchant.graphql(
        "mutation($id: ID!) { metaobjectDelete(id: $id) { userErrors { message } } }",
        {"id": made["Old recipe"]},
    )
    assert deleted["metaobjectDelete"]["userErrors"] == []
    operation = Operation(bridge, await bridge.api_key())
    try:
        async with worker(bridge, fast=True):
            await bridge.wait_state(fo_id, "accepted")
            detail = await operation.detail(fo_id)
    finally:
        await operation.aclose()
    recipe = detail["metafields"]["custom.recipe"]
    assert recipe["type"] == "metaobject_reference"
    assert recipe["metaobject"]["fields"] == {"name": "Gold foil", "foil": "gold"}
    gone = detail["metafields"]["custom.gone"]
    assert gone["value"] == made["Old recipe"] and "metaobject" not in gone
    assert any("no longer has" in w and "custom.gone" in w for w in detail["warnings"])
    care = detail["lines"][0]["metafields"]["product"]["custom.care"]
    assert care["value"] == "Wash cold\nNo dryer"
