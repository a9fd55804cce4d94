"""PUT /api/v1/inventory, the status endpoint and fetch_stock, over real HTTP: the bridge's
app under uvicorn, the sandbox behind it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator

import httpx
import pytest

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.store.database import Database
from fulfillbridge.web.app import create_app
from tests.inventory.conftest import DOMAIN, Shop, add_store


@pytest.fixture
def bridge(settings: Settings) -> Iterator[str]:
    app = create_app(settings)  # the inventory routes are part of the app
    with BackgroundServer(app) as running:
        yield running.url


async def _key(database: Database, name: str, stores: list[str]) -> str:
    async with database.transaction() as session:
        return (await ApiKeyRepository(session).create(name, stores)).plain


async def _world(database: Database, sandbox_url: str, shop: Shop) -> dict[str, str]:
    shop.add("MUG", available=1)
    shop.add("TEE", available=1)
    await add_store(database, sandbox_url, shop)
    async with database.stores() as stores:
        await stores.add(
            name="globex",
            shop_domain="globex.myshopify.com",
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": "shpat_unused"},
        )
    return {
        "acme": await _key(database, "acme-ops", ["acme"]),
        "globex": await _key(database, "globex-ops", ["globex"]),
    }


async def test_put_applies_good_rows_and_lists_bad_ones(
    bridge: str, database: Database, shop: Shop, sandbox_url: str
) -> None:
    keys = await _world(database, sandbox_url, shop)
    body = {
        "rows": [
            {"sku": "MUG", "warehouse": "main", "quantity": 5},
            {"sku": "TEE", "quantity": "-2"},
            {"sku": "NOPE", "quantity": 1},
            {"store": "globex", "sku": "MUG", "quantity": 1},
        ]
    }
    headers = {"Authorization": f"Bearer {keys['acme']}"}
    async with httpx.AsyncClient(base_url=bridge, headers=headers, timeout=30) as http:
        answer = await http.put("/api/v1/inventory", json=body)
        assert answer.status_code == 200, answer.text
        data = answer.json()
        assert [(a["line"], a["result"]) for a in data["accepted"]] == [(1, "applied")]
        reasons = {r["line"]: r["reason"] for r in data["rejected"]}
        assert "negative" in reasons[2]
        assert "unknown SKU" in reasons[3]
        assert reasons[4] == "unknown store 'globex'"  # not this key's store: as if unknown
        assert shop.on_hand("MUG") == 5

        again = (await http.put("/api/v1/inventory", json=body)).json()
        assert [a["result"] for a in again["accepted"]] == ["unchanged"]
        assert again["stores"]["acme"]["calls"] == 0

        status = (await http.get("/api/v1/inventory/status")).json()["stores"]
        assert [s["store"] for s in status] == ["acme"]
        assert status[0]["in_sync"] == 1 and status[0]["last_sync_at"]
        assert {r["line"] for r in status[0]["last_rejections"]} == {2, 3}
        assert (await http.get("/api/v1/inventory/status?store=globex")).status_code == 404


async def test_auth_and_bad_bodies(
    bridge: str, database: Database, shop: Shop, sandbox_url: str
) -> None:
    keys = await _world(database, sandbox_url, shop)
    async with httpx.AsyncClient(base_url=bridge, timeout=30) as http:
        body = {"rows": [{"sku": "MUG", "quantity": 5}]}
        assert (await http.put("/api/v1/inventory", json=body)).status_code == 401
        wrong = {"Authorization": "Bearer fbk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbb"}
        assert (await http.put("/api/v1/inventory", json=body, headers=wrong)).status_code == 401
        globex = {"Authorization": f"Bearer {keys['globex']}"}
        answer = await http.put("/api/v1/inventory", json={"store": "acme", **body}, headers=globex)
        assert answer.json()["rejected"][0]["reason"] == "unknown store 'acme'"
        assert shop.on_hand("MUG") == 1
        acme = {"Authorization": f"Bearer {keys['acme']}"}
        for bad in ({"rows": []}, {"rows": "x"}, {"rows": [{"sku": "MUG", "qty": 1}]}):
            answer = await http.put("/api/v1/inventory", json=bad, headers=acme)
            assert answer.status_code == 422, answer.text
        answer = await http.put(
            "/api/v1/inventory",
            content=b"{not json",
            headers={**acme, "content-type": "application/json"},
        )
        assert answer.status_code == 422


async def test_fetch_stock_answers_from_the_levels(
    bridge: str, database: Database, shop: Shop, sandbox_url: str, settings: Settings
) -> None:
    await _world(database, sandbox_url, shop)
    from fulfillbridge.core.inventory import RawRow
    from fulfillbridge.flows import inventory

    await inventory.push(
        database,
        settings,
        [RawRow(2, "acme", "MUG", "main", 4), RawRow(3, "acme", "TEE", "berlin", 9)],
    )
    async with database.stores() as stores:  # as `store setup` gives it
        await stores.add_secrets("acme", {"callback_token": "acme-callback-token"})
    async with httpx.AsyncClient(base_url=bridge, timeout=30) as http:
        url = "/shopify/acme/acme-callback-token/fetch_stock"
        assert (await http.get(url, params={"sku": "MUG", "shop": DOMAIN})).json() == {"MUG": 4}
        # TEE's count is for Berlin, not the store's own (fulfillment-service) location.
        assert (await http.get(url, params={"shop": DOMAIN})).json() == {"MUG": 4}
        assert (await http.get(url, params={"sku": "TEE"})).json() == {}
        signature = base64.b64encode(
            hmac.new(b"sandbox-client-secret", b"", hashlib.sha256).digest()
        ).decode()
        signed = await http.get(
            url, params={"sku": "MUG"}, headers={"X-Shopify-Hmac-Sha256": signature}
        )
        assert signed.json() == {"MUG": 4}
        forged = await http.get(
            url, params={"sku": "MUG"}, headers={"X-Shopify-Hmac-Sha256": "AAAA"}
        )
        assert forged.status_code == 401
        other = await http.get(url, params={"sku": "MUG", "shop": "evil.myshopify.com"})
        assert other.status_code == 401
        # Without the right token nothing is answered, the same way for every store name.
        answers = [
            await http.get(path, params={"sku": "MUG"})
            for path in (
                "/shopify/nobody/acme-callback-token/fetch_stock",
                "/shopify/acme/guessed/fetch_stock",
                "/shopify/acme/fetch_stock",
            )
        ]
        assert [a.status_code for a in answers] == [404, 404, 404]
        assert answers[0].json() == answers[1].json()
        assert all("MUG" not in a.text for a in answers)


async def test_the_dashboard_shows_each_stores_inventory_sync(
    bridge: str, database: Database, shop: Shop, sandbox_url: str
) -> None:
    keys = await _world(database, sandbox_url, shop)
    rows = [{"sku": "MUG", "warehouse": "main", "quantity": 5}, {"sku": "NOPE", "quantity": 1}]
    async with httpx.AsyncClient(base_url=bridge, timeout=30) as http:
        put = await http.put(
            "/api/v1/inventory",
            json={"rows": rows},
            headers={"Authorization": f"Bearer {keys['acme']}"},
        )
        assert put.status_code == 200, put.text
        page = await http.get("/", auth=("ops", keys["acme"]))
    assert page.status_code == 200
    inventory = page.text.split("<h2>Inventory</h2>")[1].split("<h2>")[0]
    assert "<td>acme</td>" in inventory
    assert "globex" not in inventory  # the key sees its own store only
    assert "NOPE" in inventory  # the row the upload could not use, with its reason
