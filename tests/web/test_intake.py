"""Intake over real HTTP: the bridge under uvicorn, webhooks and callbacks signed like
Shopify signs them (and sent by the sandbox itself), stored once, refused when forged."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from fulfillbridge.config import load_settings
from fulfillbridge.flows.configure import configure_store
from fulfillbridge.flows.setup import setup_store
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.shopify import sign_webhook
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import ShipmentRow, WorkOrderRow
from fulfillbridge.web.app import create_app
from tests.helpers import add_shop, callback_token_of, now_header

SECRET = "sandbox-client-secret"  # what the sandbox signs the token app's webhooks with
GRAPHQL = "/admin/api/2026-07/graphql.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bridge_app():
    app = create_app(load_settings())
    return app


@pytest.fixture
def bridge(cli, sandbox_url, monkeypatch) -> Iterator[BackgroundServer]:
    """A connected, configured and set-up store `demo`, and the bridge serving it."""
    port = _free_port()
    monkeypatch.setenv("FULFILLBRIDGE_PUBLIC_URL", f"http://127.0.0.1:{port}")
    added = cli(
        "store", "add", "demo", "--shop", DEFAULT_SHOP_DOMAIN, "--token", DEFAULT_ACCESS_TOKEN,
        "--api-url", sandbox_url,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    asyncio.run(configure_store(load_settings(), "demo", webhook_secret=SECRET))
    asyncio.run(setup_store(load_settings(), "demo"))
    with BackgroundServer(_bridge_app(), port=port) as server:
        yield server


def _rows(home: Path, source: str | None = None) -> list[tuple[Any, ...]]:
    query = "SELECT source, topic, delivery_id, event_id, payload FROM inbox_events"
    with sqlite3.connect(home / "fulfillbridge.db") as conn:
        rows = conn.execute(query + " ORDER BY id").fetchall()
    return [r for r in rows if source is None or r[0] == source]


def _webhook(
    url: str,
    payload: Any,
    *,
    secret: str | None = SECRET,
    topic: str = "orders/create",
    shop: str = DEFAULT_SHOP_DOMAIN,
    webhook_id: str | None = None,
    raw: bytes | None = None,
    drop: tuple[str, ...] = (),
    triggered_at: str | None = None,
) -> httpx.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at or now_header(),
        "X-Shopify-API-Version": "2026-07",
    }
    if secret is not None:
        headers["X-Shopify-Hmac-Sha256"] = sign_webhook(body, secret)
    for name in drop:
        headers.pop(name, None)
    return httpx.post(url + "/webhooks/shopify", content=body, headers=headers)


def test_signed_webhook_is_stored_once(bridge, fb_home) -> None:
    order = {"id": 1001, "admin_graphql_api_id": "gid://shopify/Order/1001", "name": "#1001"}
    first = _webhook(bridge.url, order, webhook_id="wh-1")
    assert first.status_code == 200, first.text
    assert first.json() == {"ok": True, "duplicate": False}
    again = _webhook(bridge.url, order, webhook_id="wh-1")
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    rows = _rows(fb_home)
    assert len(rows) == 1
    source, topic, delivery_id, event_id, payload = rows[0]
    assert (source, topic, delivery_id) == ("webhook", "orders/create", "wh-1")
    assert event_id and json.loads(payload) == order
    metrics = httpx.get(bridge.url + "/metrics").text
    assert 'fulfillbridge_shopify_intake_total{kind="webhook",outcome="duplicate"} 1.0' in metrics


def test_forged_and_unsigned_webhooks_are_refused(bridge, fb_home, caplog) -> None:
    caplog.set_level("INFO")
    forged = _webhook(bridge.url, {"id": 1}, secret="not-the-secret")
    assert forged.status_code == 401
    assert "does not match" in forged.json()["error"]
    unsigned = _webhook(bridge.url, {"id": 1}, secret=None)
    assert unsigned.status_code == 401
    assert "missing" in unsigned.json()["error"]
    # A valid signature over a different body: the raw bytes are what is signed.
    body = b'{"id": 1}'
    tampered = httpx.post(
        bridge.url + "/webhooks/shopify",
        content=b'{"id": 2}',
        headers={
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": DEFAULT_SHOP_DOMAIN,
            "X-Shopify-Webhook-Id": "w",
            "X-Shopify-Hmac-Sha256": sign_webhook(body, SECRET),
        },
    )
    assert tampered.status_code == 401
    assert _rows(fb_home) == []
    # Refusals are logged with their reason, never with a secret or a signature.
    assert "webhook refused (401)" in caplog.text
    assert SECRET not in caplog.text and sign_webhook(body, SECRET) not in caplog.text


def test_rotated_secret_and_previous_secret_are_both_accepted(bridge, fb_home) -> None:
    assert _webhook(bridge.url, {"id": 1}).status_code == 200  # caches the current secret
    asyncio.run(configure_store(load_settings(), "demo", webhook_secret="rotated-secret"))
    new = _webhook(bridge.url, {"id": 2}, secret="rotated-secret")
    assert new.status_code == 200, new.text
    old = _webhook(bridge.url, {"id": 3}, secret=SECRET)
    assert old.status_code == 200, old.text
    assert _webhook(bridge.url, {"id": 4}, secret="never-was").status_code == 401
    assert len(_rows(fb_home)) == 3


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({"raw": b'{"id": 1,'}, 400, "not valid JSON"),
        ({"raw": b"[1, 2]"}, 400, "must be a JSON object"),
        ({"topic": "carts/create"}, 400, "unknown topic 'carts/create'"),
        # An unknown shop is answered like a wrong signature: no oracle of connected shops.
        ({"shop": "stranger.myshopify.com"}, 401, "signature does not match"),
        ({"triggered_at": "2026-01-01T00:00:00Z"}, 401, "is more than 72 hours old"),
        ({"drop": ("X-Shopify-Shop-Domain",)}, 400, "X-Shopify-Shop-Domain header is missing"),
        ({"drop": ("X-Shopify-Topic",)}, 400, "X-Shopify-Topic header is missing"),
        ({"drop": ("X-Shopify-Webhook-Id",)}, 400, "X-Shopify-Webhook-Id header is missing"),
    ],
)
def test_bad_webhooks_get_a_4xx_with_a_reason(bridge, fb_home, kwargs, status, reason) -> None:
    response = _webhook(bridge.url, {"id": 1}, **kwargs)
    assert response.status_code == status
    assert reason in response.json()["error"]
    assert _rows(fb_home) == []


def _notify(
    url: str,
    store: str,
    body: bytes,
    *,
    secret: str = SECRET,
    shop: str = DEFAULT_SHOP_DOMAIN,
    token: str | None = None,
):
    token = token or asyncio.run(callback_token_of("demo"))
    return httpx.post(
        f"{url}/shopify/{store}/{token}/fulfillment_order_notification",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
        },
    )


def test_callback_ping_is_stored(bridge, fb_home) -> None:
    body = b'{"kind":"FULFILLMENT_REQUEST"}'
    assert _notify(bridge.url, "demo", body).status_code == 200
    assert _notify(bridge.url, "demo", body).status_code == 200  # a second request: kept
    rows = _rows(fb_home, "callback")
    assert [r[1] for r in rows] == ["fulfillment_order_notification/fulfillment_request"] * 2
    assert rows[0][2] != rows[1][2]
    assert _notify(bridge.url, "demo", body, secret="forged").status_code == 401
    other_shop = _notify(bridge.url, "demo", body, shop="other.myshopify.com")
    assert other_shop.status_code == 401
    # An unknown store and a wrong token get the same answer.
    unknown = _notify(bridge.url, "nobody", body)
    wrong = _notify(bridge.url, "demo", body, token="not-the-token")
    assert unknown.status_code == wrong.status_code == 404
    assert unknown.json() == wrong.json()

    # The plain address other tools know still takes a signed notification: the signature
    # is what lets it in. Unsigned or forged it is a 401, and an unknown store there gets
    # that very answer, so the address tells nothing about which stores exist.
    def plain(store: str, secret: str = SECRET):
        return httpx.post(
            f"{bridge.url}/shopify/{store}/fulfillment_order_notification",
            content=body,
            headers={"X-Shopify-Shop-Domain": DEFAULT_SHOP_DOMAIN,
                     "X-Shopify-Hmac-Sha256": sign_webhook(body, secret)},
        )  # fmt: skip

    assert plain("demo").status_code == 200
    forged, nobody = plain("demo", secret="forged"), plain("nobody")
    assert forged.status_code == nobody.status_code == 401
    assert forged.json() == nobody.json()
    bad_kind = _notify(bridge.url, "demo", b'{"kind":"PLEASE"}')
    assert bad_kind.status_code == 400 and "unknown notification kind" in bad_kind.json()["error"]
    assert len(_rows(fb_home, "callback")) == 3


def _sandbox_graphql(sandbox_url: str, query: str, variables: dict | None = None) -> Any:
    response = httpx.post(
        sandbox_url + GRAPHQL,
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def _deliveries(sandbox_url: str) -> list[dict[str, Any]]:
    state = httpx.get(f"{sandbox_url}/__sandbox/state", params={"shop": DEFAULT_SHOP_DOMAIN})
    return state.json()["parts"].get("outbound", [])


def _settled(sandbox_url: str, expected: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        deliveries = _deliveries(sandbox_url)
        done = [d for d in deliveries if d["status"] not in ("pending", "retrying")]
        if len(done) >= expected and len(done) == len(deliveries):
            return deliveries
        assert time.monotonic() < deadline, f"sandbox deliveries did not settle: {deliveries}"
        time.sleep(0.1)


def test_sandbox_webhooks_arrive_once_despite_duplicates_and_reordering(
    bridge, fb_home, sandbox_url
) -> None:
    # A fulfillment service's set-up leaves out orders/create (its work comes as requests);
    # subscribing the bridge to it here gives one delivery per seeded order.
    made = _sandbox_graphql(
        sandbox_url,
        """mutation($uri: String!) {
             webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: {uri: $uri}) {
               userErrors { message } } }""",
        {"uri": f"{bridge.url}/webhooks/shopify"},
    )
    assert made["webhookSubscriptionCreate"]["userErrors"] == []
    faults = {"seed": 4, "webhooks": {"duplicate": 1.0, "reorder": 0.5}}
    httpx.post(f"{sandbox_url}/__sandbox/faults", json=faults).raise_for_status()
    seeded = httpx.post(
        f"{sandbox_url}/__sandbox/seed",
        params={"shop": DEFAULT_SHOP_DOMAIN},
        json={"products": 4, "orders": 6, "seed": 3, "variety": "simple"},
    )
    assert seeded.status_code == 200, seeded.text
    deliveries = _settled(sandbox_url, expected=6)
    to_bridge = [d for d in deliveries if d["url"].startswith(bridge.url)]
    assert to_bridge and all(d["status"] == "delivered" for d in to_bridge), to_bridge
    duplicated = [d for d in to_bridge if d["duplicated"]]
    # Reordered deliveries are held back and skip the duplicate draw; the rest came twice.
    assert duplicated and all(d["attempts"] == 2 for d in duplicated)
    rows = _rows(fb_home, "webhook")
    assert sorted(r[2] for r in rows) == sorted(d["webhook_id"] for d in to_bridge)
    topics = {r[1] for r in rows}
    assert "orders/create" in topics
    assert sum(1 for r in rows if r[1] == "orders/create") == 6


def test_sandbox_fulfillment_request_pings_the_callback(bridge, fb_home, sandbox_url) -> None:
    settings = json.loads(
        sqlite3.connect(fb_home / "fulfillbridge.db")
        .execute("SELECT settings FROM stores WHERE name='demo'")
        .fetchone()[0]
    )
    created = _sandbox_graphql(
        sandbox_url,
        """mutation { orderCreate(order: {lineItems: [{title: "Poster", quantity: 1,
             priceSet: {shopMoney: {amount: "10.00", currencyCode: USD}}, sku: "P-1"}],
             shippingAddress: {address1: "1 Main St", city: "Ottawa", countryCode: CA,
             zip: "K1A 0B1", lastName: "Doe"}}) {
             order { fulfillmentOrders(first: 1) { nodes { id } } }
             userErrors { field message } } }""",
    )
    assert created["orderCreate"]["userErrors"] == []
    fo = created["orderCreate"]["order"]["fulfillmentOrders"]["nodes"][0]["id"]
    moved = _sandbox_graphql(
        sandbox_url,
        """mutation($id: ID!, $to: ID!) { fulfillmentOrderMove(id: $id, newLocationId: $to) {
             movedFulfillmentOrder { id } userErrors { field message } } }""",
        {"id": fo, "to": settings["location_id"]},
    )
    assert moved["fulfillmentOrderMove"]["userErrors"] == [], moved
    target = moved["fulfillmentOrderMove"]["movedFulfillmentOrder"]["id"]
    submitted = _sandbox_graphql(
        sandbox_url,
        """mutation($id: ID!) { fulfillmentOrderSubmitFulfillmentRequest(id: $id) {
             submittedFulfillmentOrder { id } userErrors { field message } } }""",
        {"id": target},
    )
    assert submitted["fulfillmentOrderSubmitFulfillmentRequest"]["userErrors"] == []
    deadline = time.monotonic() + 10
    while not _rows(fb_home, "callback"):
        assert time.monotonic() < deadline, _deliveries(sandbox_url)
        time.sleep(0.1)
    (callback,) = _rows(fb_home, "callback")
    assert callback[1] == "fulfillment_order_notification/fulfillment_request"
    assert json.loads(callback[4]) == {"kind": "FULFILLMENT_REQUEST"}
    _settled(sandbox_url, expected=1)
    webhook_topics = {r[1] for r in _rows(fb_home, "webhook")}
    assert "fulfillment_orders/fulfillment_request_submitted" in webhook_topics


def _add_shipments() -> None:
    """Two packages of order #1007, as the operation's shipping would have stored them."""

    async def add() -> None:
        database = Database.from_settings(load_settings())
        try:
            async with database.transaction() as session:
                found = await session.execute(text("SELECT id FROM stores WHERE name='demo'"))
                (store_id,) = found.one()
                work = WorkOrderRow(
                    store_id=store_id,
                    remote_id="gid://shopify/FulfillmentOrder/77",
                    order_remote_id="gid://shopify/Order/7",
                    order_name="#1007",
                    mode="fulfillment_service",
                    state="shipped",
                    lines=[],
                )
                session.add(work)
                await session.flush()
                for number in ("1Z-FIRST", "1Z-SECOND"):
                    session.add(
                        ShipmentRow(
                            work_order_id=work.id,
                            lines={},
                            tracking=[{"company": "UPS", "number": number, "url": None}],
                        )
                    )
                    await session.flush()
        finally:
            await database.close()

    asyncio.run(add())


def test_fetch_tracking_numbers(bridge, fb_home) -> None:
    _add_shipments()
    token = asyncio.run(callback_token_of("demo"))
    url = f"{bridge.url}/shopify/demo/{token}/fetch_tracking_numbers"
    params = [
        ("order_names[]", "#1007.1"),
        ("order_names[]", "#1007.2"),
        ("order_names[]", "#1999.1"),
        ("shop", DEFAULT_SHOP_DOMAIN),
    ]
    answer = httpx.get(url, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "tracking_numbers": {"#1007.1": "1Z-FIRST", "#1007.2": "1Z-SECOND"},
        "message": "Successfully received the tracking numbers",
        "success": True,
    }
    other = httpx.get(url, params=[("order_names[]", "#1007.1"), ("shop", "x.myshopify.com")])
    assert other.status_code == 401
    forged = httpx.get(url, params=params, headers={"X-Shopify-Hmac-Sha256": "Zm9yZ2Vk"})
    assert forged.status_code == 401
    signed = httpx.get(
        url, params=params, headers={"X-Shopify-Hmac-Sha256": sign_webhook(b"", SECRET)}
    )
    assert signed.status_code == 200
    assert httpx.get(url).status_code == 400
    # Without the token, nothing is answered, and unknown stores look the same.
    answers = [
        httpx.get(f"{bridge.url}/shopify/{where}/fetch_tracking_numbers", params=params)
        for where in (f"nobody/{token}", "demo/guessed-token")
    ]
    assert {a.status_code for a in answers} == {404}
    assert answers[0].json() == answers[1].json()
    legacy = httpx.get(f"{bridge.url}/shopify/demo/fetch_tracking_numbers", params=params)
    assert legacy.status_code == 404 and "1Z-FIRST" not in legacy.text


def test_webhook_secrets_never_include_the_access_token() -> None:
    from fulfillbridge.core.stores import AuthKind
    from fulfillbridge.flows.intake import webhook_secrets

    token_store = {
        "access_token": "shpat_x",
        "webhook_secret": "new",
        "previous_webhook_secret": "old",
    }
    assert webhook_secrets(AuthKind.TOKEN, token_store) == ("new", "old")
    assert webhook_secrets(AuthKind.TOKEN, {"access_token": "shpat_x"}) == ()
    app_store = {"client_secret": "cs", "previous_webhook_secret": "old"}
    assert webhook_secrets(AuthKind.CLIENT_CREDENTIALS, app_store) == ("cs", "old")
    assert webhook_secrets(AuthKind.OAUTH, {"client_secret": "cs", "access_token": "t"}) == ("cs",)
    # After `store update --client-secret`, the replaced secret still verifies.
    rotated = {"client_secret": "new", "previous_client_secret": "old"}
    assert webhook_secrets(AuthKind.CLIENT_CREDENTIALS, rotated) == ("new", "old")


def test_store_without_webhook_secret_says_how_to_set_it(
    bridge, cli, sandbox_url, fb_home, caplog
) -> None:
    caplog.set_level("WARNING")
    base = add_shop(sandbox_url, "plain.myshopify.com", access_token="shpat_plain")
    added = cli("store", "add", "plain", "--shop", "plain", "--token", "shpat_plain",
                "--api-url", base, "--no-check")  # fmt: skip
    assert added.exit_code == 0, added.output
    refused = _webhook(bridge.url, {"id": 1}, shop="plain.myshopify.com")
    # Answered like any unverified webhook; the operator's log says what to do.
    assert refused.status_code == 401
    assert refused.json()["error"] == "the X-Shopify-Hmac-Sha256 signature does not match"
    assert "store configure --webhook-secret" in caplog.text
    assert _rows(fb_home) == []


def test_store_removed_meanwhile_gets_503(bridge, cli, fb_home) -> None:
    assert _webhook(bridge.url, {"id": 1}).status_code == 200  # the store is cached now
    assert cli("store", "remove", "demo", "--yes").exit_code == 0
    unavailable = _webhook(bridge.url, {"id": 2})
    # Not stored (its store is gone): a 503 makes Shopify deliver again, never a false 200.
    assert unavailable.status_code == 503, unavailable.text
    assert "deliver again later" in unavailable.json()["error"]
    assert _rows(fb_home) == []
