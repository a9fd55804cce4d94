"""`store configure` and `store setup` against the sandbox over HTTP: set-up from scratch,
a second run that changes nothing, drift repaired, order-management mode, bad input."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from fulfillbridge.commands.setup import configure_command, setup_command
from fulfillbridge.flows.setup import TOPICS, topic_enum
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN
from fulfillbridge.shopify import ShopifyClient, StaticToken
from tests.helpers import callback_token_of

PUBLIC = "http://127.0.0.1:9"  # set-up only registers addresses; nothing is sent there here


def _store_app() -> typer.Typer:
    app = typer.Typer()
    app.command("configure")(configure_command)
    app.command("setup")(setup_command)
    return app


@pytest.fixture
def store_cli(cli, monkeypatch):
    """`fulfillbridge store add` through the real CLI, then our two commands."""
    monkeypatch.setenv("FULFILLBRIDGE_PUBLIC_URL", PUBLIC)
    runner = CliRunner()
    app = _store_app()

    def invoke(*args: str, input: str | None = None):
        if args[0] == "setup":  # nothing listens at PUBLIC: skip the check that it answers
            args = (*args, "--no-verify-url")
        if args[0] in ("configure", "setup"):
            return runner.invoke(app, list(args), input=input, catch_exceptions=False)
        return cli("store", *args, input=input)

    return invoke


@pytest.fixture
def demo_store(store_cli, sandbox_url) -> str:
    added = store_cli(
        "add", "demo", "--shop", DEFAULT_SHOP_DOMAIN, "--token", DEFAULT_ACCESS_TOKEN,
        "--api-url", sandbox_url,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    return "demo"


def _graphql(sandbox_url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    async def run() -> Any:
        async with ShopifyClient(
            DEFAULT_SHOP_DOMAIN, StaticToken(DEFAULT_ACCESS_TOKEN), api_base_url=sandbox_url
        ) as client:
            response = await client.http.post(
                client.endpoint,
                json={"query": query, "variables": variables or {}},
                headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
            )
            body = response.json()
            assert "errors" not in body, body
            return body["data"]

    return asyncio.run(run())


def _subscriptions(sandbox_url: str) -> list[dict[str, Any]]:
    data = _graphql(sandbox_url, "{ webhookSubscriptions(first: 100) { nodes { id topic uri } } }")
    return data["webhookSubscriptions"]["nodes"]


def _services(sandbox_url: str) -> list[dict[str, Any]]:
    data = _graphql(
        sandbox_url,
        """{ shop { fulfillmentServices { id serviceName callbackUrl trackingSupport
             inventoryManagement requiresShippingMethod location { id } } } }""",
    )
    return [s for s in data["shop"]["fulfillmentServices"] if s["serviceName"] == "fulfillbridge"]


def _settings(home: Path, name: str) -> dict[str, Any]:
    import json

    with sqlite3.connect(home / "fulfillbridge.db") as conn:
        (raw,) = conn.execute("SELECT settings FROM stores WHERE name = ?", (name,)).fetchone()
    return json.loads(raw)


def test_setup_from_scratch_then_unchanged(store_cli, demo_store, sandbox_url, fb_home) -> None:
    first = store_cli("setup", demo_store)
    assert first.exit_code == 0, first.output
    wanted = TOPICS["fulfillment_service"]
    # The webhooks, the service, and the callback token.
    assert first.output.count("created") == len(wanted) + 2
    assert "set-up verified, changed" in first.output

    (service,) = _services(sandbox_url)
    token = asyncio.run(callback_token_of("demo"))
    assert len(token) >= 32
    assert service["callbackUrl"] == f"{PUBLIC}/shopify/demo/{token}"
    assert token not in first.output  # the token is a secret: printed as ***
    assert service["trackingSupport"] is True
    assert service["inventoryManagement"] is True
    assert service["requiresShippingMethod"] is True
    subscriptions = _subscriptions(sandbox_url)
    assert sorted(s["topic"] for s in subscriptions) == sorted(topic_enum(t) for t in wanted)
    assert {s["uri"] for s in subscriptions} == {f"{PUBLIC}/webhooks/shopify"}

    stored = _settings(fb_home, demo_store)
    assert stored["fulfillment_service_id"].split("?")[0] == service["id"].split("?")[0]
    assert stored["location_id"] == service["location"]["id"]
    assert set(stored["webhook_subscriptions"]) == set(wanted)

    second = store_cli("setup", demo_store)
    assert second.exit_code == 0, second.output
    assert "created" not in second.output and "repaired" not in second.output
    assert asyncio.run(callback_token_of("demo")) == token
    assert second.output.count("unchanged") >= len(wanted) + 1
    assert "set-up verified, unchanged" in second.output
    assert len(_subscriptions(sandbox_url)) == len(wanted)
    assert len(_services(sandbox_url)) == 1


def test_drift_is_repaired_and_reported(store_cli, demo_store, sandbox_url, fb_home) -> None:
    assert store_cli("setup", demo_store).exit_code == 0
    (service,) = _services(sandbox_url)
    victim = next(s for s in _subscriptions(sandbox_url) if s["topic"] == "ORDERS_CANCELLED")
    deleted = _graphql(
        sandbox_url,
        "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { userErrors { message } } }",
        {"id": victim["id"]},
    )
    assert deleted["webhookSubscriptionDelete"]["userErrors"] == []
    moved = next(s for s in _subscriptions(sandbox_url) if s["topic"] == "ORDERS_UPDATED")
    _graphql(
        sandbox_url,
        """mutation($id: ID!) { webhookSubscriptionUpdate(id: $id,
             webhookSubscription: {uri: "http://127.0.0.1:1/elsewhere"}) {
             userErrors { message } } }""",
        {"id": moved["id"]},
    )
    # Omitting requiresShippingMethod on update resets it to true
    # (docs/shopify.md#creating-and-updating); send false explicitly together with the
    # foreign callback URL so two things drifted.
    changed = _graphql(
        sandbox_url,
        """mutation($id: ID!) { fulfillmentServiceUpdate(id: $id,
             callbackUrl: "http://127.0.0.1:1/other", requiresShippingMethod: false) {
             userErrors { message } } }""",
        {"id": service["id"]},
    )
    assert changed["fulfillmentServiceUpdate"]["userErrors"] == []

    repaired = store_cli("setup", demo_store)
    assert repaired.exit_code == 0, repaired.output
    assert repaired.output.count("repaired") == 3, repaired.output
    assert "was deleted" in repaired.output
    assert "127.0.0.1:1/elsewhere" in repaired.output
    assert "callbackUrl" in repaired.output and "requiresShippingMethod" in repaired.output

    assert asyncio.run(callback_token_of("demo")) not in repaired.output
    (fixed,) = _services(sandbox_url)
    assert fixed["callbackUrl"] == f"{PUBLIC}/shopify/demo/{asyncio.run(callback_token_of('demo'))}"
    assert fixed["requiresShippingMethod"] is True
    topics = sorted(s["topic"] for s in _subscriptions(sandbox_url))
    assert topics == sorted(topic_enum(t) for t in TOPICS["fulfillment_service"])
    assert {s["uri"] for s in _subscriptions(sandbox_url)} == {f"{PUBLIC}/webhooks/shopify"}

    again = store_cli("setup", demo_store)
    assert "set-up verified, unchanged" in again.output


def test_callback_token_is_rotated_on_request(store_cli, demo_store, sandbox_url) -> None:
    assert store_cli("setup", demo_store).exit_code == 0
    old = asyncio.run(callback_token_of("demo"))
    rotated = store_cli("setup", demo_store, "--rotate-callback-token")
    assert rotated.exit_code == 0, rotated.output
    assert "rotated" in rotated.output and "set-up verified, changed" in rotated.output
    new = asyncio.run(callback_token_of("demo"))
    assert new != old and old not in rotated.output and new not in rotated.output
    (service,) = _services(sandbox_url)
    assert service["callbackUrl"] == f"{PUBLIC}/shopify/demo/{new}"
    # Broken input: an unknown store is named, nothing is created.
    unknown = store_cli("setup", "nobody", "--rotate-callback-token")
    assert unknown.exit_code == 1 and "no store named 'nobody'" in unknown.output


def test_deleted_service_is_recreated(store_cli, demo_store, sandbox_url, fb_home) -> None:
    assert store_cli("setup", demo_store).exit_code == 0
    (service,) = _services(sandbox_url)
    _graphql(
        sandbox_url,
        "mutation($id: ID!) { fulfillmentServiceDelete(id: $id, inventoryAction: DELETE) "
        "{ deletedId userErrors { message } } }",
        {"id": service["id"]},
    )
    assert _services(sandbox_url) == []
    repaired = store_cli("setup", demo_store)
    assert repaired.exit_code == 0, repaired.output
    assert "was deleted; created" in repaired.output
    (again,) = _services(sandbox_url)
    assert again["id"] != service["id"]
    assert _settings(fb_home, demo_store)["location_id"] == again["location"]["id"]


def test_order_management_mode_subscribes_without_service(
    store_cli, demo_store, sandbox_url, fb_home
) -> None:
    locations = _graphql(sandbox_url, "{ locations(first: 5) { nodes { id } } }")
    location = locations["locations"]["nodes"][0]["id"]
    configured = store_cli(
        "configure", demo_store, "--mode", "order_management", "--location", location,
        "--require-billing",
    )  # fmt: skip
    assert configured.exit_code == 0, configured.output
    assert "order_management" in configured.output
    done = store_cli("setup", demo_store)
    assert done.exit_code == 0, done.output
    assert _services(sandbox_url) == []
    topics = sorted(s["topic"] for s in _subscriptions(sandbox_url))
    assert topics == sorted(topic_enum(t) for t in TOPICS["order_management"])
    stored = _settings(fb_home, demo_store)
    assert stored["mode"] == "order_management"
    assert stored["managed_locations"] == [location]
    assert stored["require_billing_address"] is True
    assert "fulfillment_service_id" not in stored


def test_mode_switch_removes_unneeded_subscriptions(store_cli, demo_store, sandbox_url) -> None:
    assert store_cli("setup", demo_store).exit_code == 0
    location = _graphql(sandbox_url, "{ locations(first: 1) { nodes { id } } }")
    gid = location["locations"]["nodes"][0]["id"]
    store_cli("configure", demo_store, "--mode", "order_management", "--location", gid)
    switched = store_cli("setup", demo_store)
    assert switched.exit_code == 0, switched.output
    assert "removed" in switched.output
    topics = sorted(s["topic"] for s in _subscriptions(sandbox_url))
    assert topics == sorted(topic_enum(t) for t in TOPICS["order_management"])


def test_fulfillment_service_drops_new_and_paid_order_topics(
    store_cli, demo_store, sandbox_url
) -> None:
    """A fulfillment service's work comes as requests: a store subscribed to orders/create
    and orders/paid before (an earlier version did) loses them at its next set-up."""
    assert {"orders/create", "orders/paid"}.isdisjoint(TOPICS["fulfillment_service"])
    assert {"orders/create", "orders/paid"} <= set(TOPICS["order_management"])
    assert store_cli("setup", demo_store).exit_code == 0
    for enum in ("ORDERS_CREATE", "ORDERS_PAID"):
        made = _graphql(
            sandbox_url,
            """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
                 webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri}) {
                   userErrors { message } } }""",
            {"topic": enum, "uri": f"{PUBLIC}/webhooks/shopify"},
        )
        assert made["webhookSubscriptionCreate"]["userErrors"] == []
    again = store_cli("setup", demo_store)
    assert again.exit_code == 0, again.output
    assert "orders/create" in again.output and "not needed in this mode" in again.output
    topics = sorted(s["topic"] for s in _subscriptions(sandbox_url))
    assert topics == sorted(topic_enum(t) for t in TOPICS["fulfillment_service"])


def test_unknown_managed_location_is_refused_at_setup(store_cli, demo_store) -> None:
    store_cli(
        "configure", demo_store, "--mode", "order_management", "--location",
        "gid://shopify/Location/999999",
    )  # fmt: skip
    failed = store_cli("setup", demo_store)
    assert failed.exit_code == 1
    assert "gid://shopify/Location/999999" in failed.output
    assert "not active locations" in failed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--mode", "dropship"), "unknown mode 'dropship'"),
        (("--mode", "order_management"), "needs the merchant locations"),
        (("--location", "Warehouse 5"), "is not a Shopify location id"),
        (("--catalogue", "/nonexistent/skus.csv"), "does not exist"),
        (("--inventory-quantity", "committed"), "unknown inventory quantity 'committed'"),
    ],
)
def test_bad_configure_input_is_refused(store_cli, demo_store, fb_home, args, message) -> None:
    before = _settings(fb_home, demo_store)
    result = store_cli("configure", demo_store, *args)
    # A file named that is not there is a wrong command line (2); the rest are refusals (1).
    assert result.exit_code == (2 if "--catalogue" in args else 1), result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert _settings(fb_home, demo_store) == before  # nothing half-written


def test_configure_unknown_store_and_bad_catalogue(store_cli, demo_store, tmp_path) -> None:
    missing = store_cli("configure", "nope", "--mode", "fulfillment_service")
    assert missing.exit_code == 1 and "no store named 'nope'" in missing.output
    wide = tmp_path / "wide.csv"
    wide.write_text("A,1\nB,2\n")
    refused = store_cli("configure", demo_store, "--catalogue", str(wide))
    assert refused.exit_code == 1 and "no 'sku' header" in refused.output
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert "holds no SKU" in store_cli("configure", demo_store, "--catalogue", str(empty)).output


def test_inventory_quantity_name_is_chosen_per_store(store_cli, demo_store, fb_home) -> None:
    assert "inventory_quantity_name" not in _settings(fb_home, demo_store)
    done = store_cli("configure", demo_store, "--inventory-quantity", "available")
    assert done.exit_code == 0, done.output
    assert "available" in done.output
    assert _settings(fb_home, demo_store)["inventory_quantity_name"] == "available"


def test_catalogue_and_webhook_secret_rotation(store_cli, demo_store, fb_home, tmp_path) -> None:
    skus = tmp_path / "skus.csv"
    skus.write_text("title,sku\nTee,FB-TEE-BLK-M\nMug,FB-MUG-WHT\nTee again,FB-TEE-BLK-M\n")
    done = store_cli("configure", demo_store, "--catalogue", str(skus))
    assert done.exit_code == 0, done.output
    assert "2 SKUs" in done.output
    assert _settings(fb_home, demo_store)["catalogue"] == ["FB-TEE-BLK-M", "FB-MUG-WHT"]
    first = store_cli("configure", demo_store, "--webhook-secret", "-", input="first-secret\n")
    assert first.exit_code == 0 and "first-secret" not in first.output
    second = store_cli("configure", demo_store, "--webhook-secret", "second-secret")
    assert second.exit_code == 0 and "second-secret" not in second.output
    secrets = asyncio.run(_secrets(demo_store))
    assert secrets["webhook_secret"] == "second-secret"
    assert secrets["previous_webhook_secret"] == "first-secret"
    cleared = store_cli("configure", demo_store, "--no-catalogue")
    assert cleared.exit_code == 0 and "any SKU" in cleared.output


async def _secrets(name: str) -> dict[str, str]:
    from fulfillbridge.config import load_settings
    from fulfillbridge.store.database import Database

    database = Database.from_settings(load_settings())
    try:
        async with database.stores() as stores:
            return await stores.secrets(name)
    finally:
        await database.close()


def test_setup_of_unknown_store_fails_clearly(store_cli) -> None:
    result = store_cli("setup", "ghost")
    assert result.exit_code == 1
    assert "no store named 'ghost'" in result.output


def test_unreachable_shop_fails_without_traceback(store_cli, demo_store, sandbox_url) -> None:
    httpx.post(f"{sandbox_url}/__sandbox/faults", json={"api": {"server_error": 1.0}})
    try:
        result = store_cli("setup", demo_store)
    finally:
        httpx.post(f"{sandbox_url}/__sandbox/faults", json={})
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output
