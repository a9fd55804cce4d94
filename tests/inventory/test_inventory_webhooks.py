"""The SKU mapping kept fresh by Shopify's catalogue webhooks, end to end: the merchant
changes the catalogue through Shopify's mutations (the sandbox, over HTTP), the sandbox sends
products/* and inventory_items/* webhooks to the bridge's real app, the worker processes the
inbox, and a push for a SKU that appeared meanwhile goes through without `inventory map`."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select

from fulfillbridge.config import Settings, load_settings
from fulfillbridge.core.inventory import RawRow
from fulfillbridge.flows.configure import configure_store
from fulfillbridge.flows.inventory import PushReport, push, refresh_mapping
from fulfillbridge.flows.processing import process_inbox
from fulfillbridge.flows.setup import TOPIC_SCOPES, TOPICS, setup_store, topic_enum
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.shopify import sign_webhook
from fulfillbridge.store.database import Database
from fulfillbridge.store.inventory import InventoryRepository, SkuEntry
from fulfillbridge.store.models import InboxEventRow
from fulfillbridge.web.app import create_app
from tests.helpers import add_shop, now_header

SECRET = "sandbox-client-secret"  # what the sandbox signs the token app's webhooks with
GRAPHQL = "/admin/api/2026-07/graphql.json"
STORE = "demo"
CATALOGUE = ("products/", "inventory_items/")
VARIANTS = "variants(first: 20) { nodes { id sku inventoryItem { id } } }"
PRODUCT_SET = f"""mutation($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {{
  productSet(input: $input, identifier: $identifier, synchronous: true) {{
    product {{ id {VARIANTS} }} userErrors {{ field message code }} }} }}"""
ITEM_UPDATE = """mutation($id: ID!, $input: InventoryItemInput!) {
  inventoryItemUpdate(id: $id, input: $input) {
    inventoryItem { id sku } userErrors { message } } }"""
ON_HAND = """query($id: ID!, $location: ID!) { inventoryItem(id: $id) {
  inventoryLevel(locationId: $location) { quantities(names: ["on_hand"]) { quantity } } } }"""

T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def bridge(cli, sandbox_url, monkeypatch) -> Iterator[BackgroundServer]:
    """Store `demo` connected and set up (its webhooks aimed at the bridge), the bridge's
    app serving them."""
    port = _free_port()
    monkeypatch.setenv("FULFILLBRIDGE_PUBLIC_URL", f"http://127.0.0.1:{port}")
    added = cli(
        "store", "add", STORE, "--shop", DEFAULT_SHOP_DOMAIN, "--token", DEFAULT_ACCESS_TOKEN,
        "--api-url", sandbox_url,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    asyncio.run(configure_store(load_settings(), STORE, webhook_secret=SECRET))
    report = asyncio.run(setup_store(load_settings(), STORE))
    subscribed = {s.target for s in report.steps if s.item == "webhook" and s.result == "created"}
    assert {"products/update", "inventory_items/update", "inventory_items/delete"} <= subscribed
    with BackgroundServer(create_app(load_settings()), port=port) as server:
        yield server


def _db(run: Callable[[Database, Settings], Awaitable[T]]) -> T:
    async def main() -> T:
        settings = load_settings()
        database = Database.from_settings(settings)
        try:
            return await run(database, settings)
        finally:
            await database.close()

    return asyncio.run(main())


def _graphql(sandbox_url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        sandbox_url + GRAPHQL,
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def _location() -> str:
    async def run(database: Database, _settings: Settings) -> str:
        async with database.stores() as stores:
            return (await stores.get(STORE)).settings["location_id"]

    return _db(run)


def _variant(sku: str, location: str, size: str, variant_id: str | None = None) -> dict:
    spec: dict[str, Any] = {
        "optionValues": [{"optionName": "Size", "name": size}],
        "sku": sku,
        "inventoryQuantities": [{"locationId": location, "name": "on_hand", "quantity": 0}],
    }
    if variant_id:
        spec["id"] = variant_id
    return spec


def _product_set(
    sandbox_url: str, title: str, variants: list[dict], product_id: str | None = None
) -> dict[str, Any]:
    sizes = [v["optionValues"][0]["name"] for v in variants]
    data = _graphql(
        sandbox_url,
        PRODUCT_SET,
        {
            "input": {
                "title": title,
                "productOptions": [{"name": "Size", "values": [{"name": s} for s in sizes]}],
                "variants": variants,
            },
            "identifier": {"id": product_id} if product_id else None,
        },
    )
    assert data["productSet"]["userErrors"] == [], data
    return data["productSet"]["product"]


def _items(product: dict[str, Any]) -> dict[str, str]:
    return {v["sku"]: v["inventoryItem"]["id"] for v in product["variants"]["nodes"]}


def _deliveries(sandbox_url: str) -> list[dict[str, Any]]:
    state = httpx.get(f"{sandbox_url}/__sandbox/state", params={"shop": DEFAULT_SHOP_DOMAIN})
    return state.json()["parts"].get("outbound", [])


def _settle(sandbox_url: str, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Wait until the sandbox delivered every webhook it planned (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        deliveries = _deliveries(sandbox_url)
        if all(d["status"] not in ("pending", "retrying") for d in deliveries):
            return deliveries
        assert time.monotonic() < deadline, f"deliveries did not settle: {deliveries}"
        time.sleep(0.05)


def _work(sandbox_url: str) -> list[InboxEventRow]:
    """Let the sandbox's webhooks arrive, run the worker over the inbox until it is empty,
    and give back the catalogue events it processed; every one must have succeeded."""
    _settle(sandbox_url)

    async def run(database: Database, settings: Settings) -> list[InboxEventRow]:
        for _ in range(20):
            if not await process_inbox(database, settings):
                break
        async with database.transaction() as session:
            rows = list(await session.scalars(select(InboxEventRow).order_by(InboxEventRow.id)))
        return [r for r in rows if r.topic.startswith(CATALOGUE)]

    events = _db(run)
    for event in events:
        assert event.processed_at is not None and event.last_error is None, (
            event.topic,
            event.last_error,
        )
    return events


def _mapping() -> dict[str, SkuEntry]:
    async def run(database: Database, _settings: Settings) -> dict[str, SkuEntry]:
        async with database.stores() as stores:
            store = await stores.get(STORE)
        async with database.transaction() as session:
            return await InventoryRepository(session).mapping(store.id)

    return _db(run)


def _push(*rows: tuple[str, int]) -> PushReport:
    raw = [RawRow(n, STORE, sku, "", quantity) for n, (sku, quantity) in enumerate(rows, 2)]
    return _db(lambda database, settings: push(database, settings, raw))


def _map_everything() -> None:
    _db(lambda database, settings: refresh_mapping(database, settings, STORE))


def _on_hand(sandbox_url: str, item: str, location: str) -> int:
    data = _graphql(sandbox_url, ON_HAND, {"id": item, "location": location})
    return data["inventoryItem"]["inventoryLevel"]["quantities"][0]["quantity"]


def _mapping_reads(sandbox_url: str) -> int:
    """How often the bridge read the whole catalogue (the `inventory map` query)."""
    log = httpx.get(f"{sandbox_url}/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}/requests").json()
    full = {"VariantsForInventoryMapping", "BulkQueryRun"}
    return sum(entry["operation"] in full for entry in log["requests"])


def test_new_changed_and_deleted_variants_reach_the_mapping(bridge, sandbox_url) -> None:
    location = _location()
    mug = _product_set(sandbox_url, "Mug", [_variant("MUG-1", location, "One")])
    _work(sandbox_url)  # before any mapping: nothing to keep fresh yet
    _map_everything()
    assert set(_mapping()) == {"MUG-1"}
    full_reads = _mapping_reads(sandbox_url)

    # A new product: its SKUs are mapped from the webhook, pushed without `inventory map`.
    tee = _product_set(
        sandbox_url, "Tee", [_variant("TEE-S", location, "S"), _variant("TEE-M", location, "M")]
    )
    items = _items(tee)
    events = _work(sandbox_url)
    assert {e.topic for e in events} >= {"products/create", "inventory_items/create"}
    mapping = _mapping()
    assert set(mapping) == {"MUG-1", "TEE-S", "TEE-M"}
    assert mapping["TEE-S"].item_ids == (items["TEE-S"],) and mapping["TEE-S"].tracked
    report = _push(("TEE-S", 7))
    assert report.rejected == [] and report.accepted[0]["result"] == "applied"
    assert _on_hand(sandbox_url, items["TEE-S"], location) == 7

    # A SKU changed on the item (inventoryItemUpdate): the old SKU is gone, the new one maps.
    _graphql(sandbox_url, ITEM_UPDATE, {"id": items["TEE-M"], "input": {"sku": "TEE-M2"}})
    _work(sandbox_url)
    mapping = _mapping()
    assert "TEE-M" not in mapping and mapping["TEE-M2"].item_ids == (items["TEE-M"],)
    report = _push(("TEE-M", 1), ("TEE-M2", 4))
    assert [r.sku for r in report.rejected] == ["TEE-M"]
    assert "unknown SKU 'TEE-M'" in report.rejected[0].reason
    assert _on_hand(sandbox_url, items["TEE-M"], location) == 4

    # A variant deleted (left out of productSet): its SKU and known levels are forgotten.
    variants = {v["sku"]: v["id"] for v in tee["variants"]["nodes"]}
    _product_set(
        sandbox_url, "Tee", [_variant("TEE-M2", location, "M", variants["TEE-M"])], tee["id"]
    )
    _work(sandbox_url)
    assert set(_mapping()) == {"MUG-1", "TEE-M2"}
    report = _push(("TEE-S", 9), ("TEE-M2", 4))
    assert [r.sku for r in report.rejected] == ["TEE-S"]
    assert report.accepted[0]["result"] == "unchanged"  # TEE-M2's known level was kept
    assert _items(mug)["MUG-1"] == _mapping()["MUG-1"].item_ids[0]
    assert _mapping_reads(sandbox_url) == full_reads  # never read the whole catalogue again


def test_a_sku_made_duplicate_by_a_product_update_is_reported(bridge, sandbox_url, caplog) -> None:
    location = _location()
    _product_set(sandbox_url, "Mug", [_variant("MUG-1", location, "One")])
    cap = _product_set(sandbox_url, "Cap", [_variant("CAP-1", location, "One")])
    _settle(sandbox_url)
    _map_everything()
    _work(sandbox_url)
    assert set(_mapping()) == {"MUG-1", "CAP-1"}

    # The merchant gives the cap the mug's SKU (another product, productVariantsBulkUpdate).
    (variant,) = cap["variants"]["nodes"]
    caplog.set_level(logging.WARNING, logger="fulfillbridge.flows.inventory")
    data = _graphql(
        sandbox_url,
        """mutation($id: ID!, $variants: [ProductVariantsBulkInput!]!) {
          productVariantsBulkUpdate(productId: $id, variants: $variants) {
            userErrors { message } } }""",
        {"id": cap["id"], "variants": [{"id": variant["id"], "inventoryItem": {"sku": "MUG-1"}}]},
    )
    assert data["productVariantsBulkUpdate"]["userErrors"] == []
    _work(sandbox_url)
    mapping = _mapping()
    assert "CAP-1" not in mapping and len(mapping["MUG-1"].item_ids) == 2
    assert any("MUG-1" in r.getMessage() for r in caplog.records)
    report = _push(("MUG-1", 3))
    assert report.accepted == []
    assert "belongs to 2 variants" in report.rejected[0].reason

    # Made unique again in Shopify: the SKU maps to the mug's item alone, and is pushed.
    _graphql(
        sandbox_url, ITEM_UPDATE, {"id": variant["inventoryItem"]["id"], "input": {"sku": "CAP-2"}}
    )
    _work(sandbox_url)
    mapping = _mapping()
    assert len(mapping["MUG-1"].item_ids) == 1 and "CAP-2" in mapping
    assert _push(("MUG-1", 3)).rejected == []


def _deliver_late(bridge: BackgroundServer, topic: str, payload: Any) -> None:
    """A webhook Shopify sent earlier arriving now (late, after later ones), signed as
    Shopify signs it."""
    body = json.dumps(payload).encode()
    response = httpx.post(
        bridge.url + "/webhooks/shopify",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": DEFAULT_SHOP_DOMAIN,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": now_header(),
            "X-Shopify-API-Version": "2026-07",
            "X-Shopify-Hmac-Sha256": sign_webhook(body, SECRET),
        },
    )
    assert response.status_code == 200, response.text


def test_a_late_webhook_does_not_bring_back_a_deleted_variant(bridge, sandbox_url) -> None:
    location = _location()
    bag = _product_set(
        sandbox_url, "Bag", [_variant("BAG-S", location, "S"), _variant("BAG-L", location, "L")]
    )
    _settle(sandbox_url)
    _map_everything()
    created = _work(sandbox_url)
    # What Shopify said when both variants existed: kept to be delivered again, late.
    stale = [(e.topic, e.payload) for e in created]
    assert any(t == "products/create" and len(p["variants"]) == 2 for t, p in stale)
    assert any(t == "inventory_items/create" and p["sku"] == "BAG-L" for t, p in stale)

    variants = {v["sku"]: v["id"] for v in bag["variants"]["nodes"]}
    _product_set(
        sandbox_url, "Bag", [_variant("BAG-S", location, "S", variants["BAG-S"])], bag["id"]
    )
    seen = _work(sandbox_url)
    assert set(_mapping()) == {"BAG-S"}

    for topic, payload in stale:
        _deliver_late(bridge, topic, payload)
    late = _work(sandbox_url)
    assert len(late) == len(seen) + len(stale)  # every late one was processed ...
    assert set(_mapping()) == {"BAG-S"}  # ... and what Shopify holds now still wins
    report = _push(("BAG-L", 2))
    assert "unknown SKU 'BAG-L'" in report.rejected[0].reason


def test_setup_without_catalogue_scopes_skips_those_topics_and_says_why(
    cli, sandbox_url, monkeypatch
) -> None:
    monkeypatch.setenv("FULFILLBRIDGE_PUBLIC_URL", "http://127.0.0.1:9")
    granted = [
        "read_orders",
        "read_locations",
        "write_fulfillments",
        "read_assigned_fulfillment_orders",
        "write_assigned_fulfillment_orders",
    ]
    base = add_shop(
        sandbox_url, "narrow.myshopify.com", access_token="shpat_narrow", scopes=granted
    )
    added = cli(
        "store", "add", "narrow", "--shop", "narrow", "--token", "shpat_narrow", "--api-url", base
    )
    assert added.exit_code == 3, added.output  # inventory sync lacks scopes: said, not fatal
    first = cli("store", "setup", "narrow", "--no-verify-url")
    assert first.exit_code == 0, first.output
    assert first.output.count("skipped") == len(
        [t for t in TOPIC_SCOPES if t in TOPICS["fulfillment_service"]]
    )  # the return topics only for stores with returns on
    assert "needs the read_products scope" in first.output
    assert "needs the read_inventory scope" in first.output
    assert "set-up verified, changed" in first.output
    subscribed = _graphql_at(
        base, "shpat_narrow", "{ webhookSubscriptions(first: 50) { nodes { topic } } }"
    )
    topics = {n["topic"] for n in subscribed["webhookSubscriptions"]["nodes"]}
    assert topics == {topic_enum(t) for t in TOPICS["fulfillment_service"] if t not in TOPIC_SCOPES}
    again = cli("store", "setup", "narrow", "--no-verify-url")
    assert again.exit_code == 0, again.output
    assert "set-up verified, unchanged" in again.output  # a skipped topic is no change


def _graphql_at(base: str, token: str, query: str) -> Any:
    response = httpx.post(
        base + GRAPHQL, json={"query": query}, headers={"X-Shopify-Access-Token": token}
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_a_catalogue_event_failing_on_shopify_is_retried(bridge, sandbox_url) -> None:
    location = _location()
    _product_set(sandbox_url, "Mug", [_variant("MUG-1", location, "One")])
    _settle(sandbox_url)
    _map_everything()
    _work(sandbox_url)
    _product_set(sandbox_url, "Tee", [_variant("TEE-S", location, "S")])
    _settle(sandbox_url)

    faults = httpx.post(f"{sandbox_url}/__sandbox/faults", json={"api": {"server_error": 1.0}})
    faults.raise_for_status()

    async def one_pass(database: Database, settings: Settings) -> list[InboxEventRow]:
        await process_inbox(database, settings)
        async with database.transaction() as session:
            rows = await session.scalars(
                select(InboxEventRow).where(InboxEventRow.processed_at.is_(None))
            )
            return list(rows)

    waiting = _db(one_pass)
    failed = [e for e in waiting if e.attempts]
    assert failed and all("ServerError" in (e.last_error or "") for e in failed), [
        (e.topic, e.attempts, e.last_error) for e in waiting
    ]
    assert "TEE-S" not in _mapping()

    httpx.post(f"{sandbox_url}/__sandbox/faults", json={}).raise_for_status()
    deadline = time.monotonic() + 20  # the first retry is due 5 s after the failure
    while _db(one_pass):
        assert time.monotonic() < deadline, "the failed event was not retried"
        time.sleep(0.5)
    assert "TEE-S" in _mapping()
