"""Broken input on the HTTP endpoints that no other test tries it on: the bridge's app (over
httpx.ASGITransport on ``create_app`` and a real SQLite file) and the sandbox (over real
HTTP). Each answer must be a 4xx naming the problem, and nothing may be written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fulfillbridge.core.work import Mode, WorkState
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import DEFAULT_SHOP_DOMAIN
from fulfillbridge.store.database import Database
from fulfillbridge.web.app import create_app
from tests.api.seeding import add_key, add_store, add_work, api_settings, counts

HUGE_ID = 10**20  # past every database's integers
CLIENT = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}
SHOP_CONTROLS = f"/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}"


# --- the bridge ----------------------------------------------------------------------------


@dataclass
class Bridge:
    database: Database
    http: httpx.AsyncClient
    key: str
    work_id: int
    exception_id: int


@pytest.fixture
async def bridge(fb_home: Path) -> AsyncIterator[Bridge]:
    settings = api_settings(fb_home, f"sqlite:///{fb_home.parent / 'bridge.db'}")
    database = Database.from_settings(settings)
    app = create_app(settings, database=database)
    store_id = await add_store(database, "acme")
    work_id = await add_work(database, store_id, "acme")
    exception_id = await add_work(
        database,
        store_id,
        "acme",
        order_name="#1002",
        state=WorkState.EXCEPTION,
        mode=Mode.ORDER_MANAGEMENT,
        problems=["shipping address is missing"],
        address=None,
    )
    key = await add_key(database, "acme-ops", ["acme"])
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bridge.test", headers=headers, timeout=20
    ) as http:
        yield Bridge(database, http, key, work_id, exception_id)
    await database.close()


async def _snapshot(bridge: Bridge) -> tuple[tuple[int, int, int], ...]:
    return (
        await counts(bridge.database, bridge.work_id),
        await counts(bridge.database, bridge.exception_id),
    )


async def _callback_token(bridge: Bridge, store: str) -> str:
    """Give the store a callback token, as `store setup` does, and return it."""
    async with bridge.database.stores() as stores:
        await stores.add_secrets(store, {"callback_token": "tok-" + store})
    return "tok-" + store


def _problem_names(response: httpx.Response, *words: str) -> None:
    assert 400 <= response.status_code < 500, response.text
    text = response.text
    for word in words:
        assert word in text, (word, text)
    assert "Traceback" not in text


@pytest.mark.parametrize(
    "action",
    ["stage", "hold", "shipments", "give-up", "cancel", "move", "fix", "override"],
)
async def test_malformed_json_bodies_are_422_naming_the_json_error(
    bridge: Bridge, action: str
) -> None:
    before = await _snapshot(bridge)
    for work_id in (bridge.work_id, bridge.exception_id):
        response = await bridge.http.post(
            f"/api/v1/work/{work_id}/{action}",
            content=b'{"reason": "half',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["type"] == "json_invalid"
    assert await _snapshot(bridge) == before


async def test_tracking_update_with_malformed_json_is_422(bridge: Bridge) -> None:
    before = await _snapshot(bridge)
    response = await bridge.http.post(
        f"/api/v1/work/{bridge.work_id}/shipments/1/tracking",
        content=b"[{",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert await _snapshot(bridge) == before


async def test_cancel_and_override_refuse_missing_wrong_or_overlong_reasons(
    bridge: Bridge,
) -> None:
    before = await _snapshot(bridge)
    for action, work_id in (("cancel", bridge.work_id), ("override", bridge.exception_id)):
        url = f"/api/v1/work/{work_id}/{action}"
        missing = await bridge.http.post(url, json={})
        assert missing.status_code == 422
        assert missing.json()["detail"][0]["loc"] == ["body", "reason"]
        wrong_type = await bridge.http.post(url, json={"reason": ["a", "list"]})
        assert wrong_type.status_code == 422
        assert wrong_type.json()["detail"][0]["loc"] == ["body", "reason"]
        overlong = await bridge.http.post(url, json={"reason": "x" * 501})
        assert overlong.status_code == 422
        assert overlong.json()["detail"][0]["type"] == "string_too_long"
        extra = await bridge.http.post(url, json={"reason": "ok", "force": True})
        assert extra.status_code == 422
        assert extra.json()["detail"][0]["loc"] == ["body", "force"]
    assert await _snapshot(bridge) == before


async def test_override_of_work_that_is_no_exception_is_409(bridge: Bridge) -> None:
    before = await _snapshot(bridge)
    response = await bridge.http.post(
        f"/api/v1/work/{bridge.work_id}/override", json={"reason": "just because"}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "cannot override #1001: it is accepted"
    assert await _snapshot(bridge) == before


@pytest.mark.parametrize("action", ["delivered", "retry", "release"])
async def test_bodiless_actions_refuse_unknown_and_malformed_ids(
    bridge: Bridge, action: str
) -> None:
    before = await _snapshot(bridge)
    unknown = await bridge.http.post(f"/api/v1/work/999999/{action}")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no work order 999999"
    for bad in ("0", "-3", "abc", str(HUGE_ID)):
        response = await bridge.http.post(f"/api/v1/work/{bad}/{action}")
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["path", "work_id"]
    assert await _snapshot(bridge) == before


async def test_dashboard_retry_refuses_ids_past_the_database_integers(bridge: Bridge) -> None:
    before = await _snapshot(bridge)
    for bad in (str(HUGE_ID), "0"):
        response = await bridge.http.post(
            f"/dashboard/work/{bad}/retry", auth=("ops", bridge.key), follow_redirects=False
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["path", "work_id"]
    assert await _snapshot(bridge) == before


async def test_dashboard_refuses_a_malformed_basic_header(bridge: Bridge) -> None:
    before = await _snapshot(bridge)
    for header in ("Basic !!!not-base64", "Basic //79", "Bearer " + bridge.key):
        page = await bridge.http.get("/", headers={"Authorization": header})
        assert page.status_code == 401, header
        assert "sign in with an API key" in page.text
        retry = await bridge.http.post(
            f"/dashboard/work/{bridge.exception_id}/retry", headers={"Authorization": header}
        )
        assert retry.status_code == 401, header
    assert await _snapshot(bridge) == before


async def test_inventory_status_refuses_an_overlong_store_name(bridge: Bridge) -> None:
    response = await bridge.http.get("/api/v1/inventory/status", params={"store": "s" * 65})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "store"]


async def test_inventory_put_refuses_wrong_types_before_any_row_is_read(bridge: Bridge) -> None:
    for body, where in (
        ({"rows": [{"sku": 5, "quantity": 1}]}, ["body", "rows", 0, "sku"]),
        ({"rows": [{"sku": "MUG", "quantity": [1]}]}, ["body", "rows", 0, "quantity"]),
        ({"store": ["acme"], "rows": [{"sku": "MUG", "quantity": 1}]}, ["body", "store"]),
        ({"rows": {"sku": "MUG"}}, ["body", "rows"]),
    ):
        response = await bridge.http.put("/api/v1/inventory", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"][: len(where)] == where
    # No sync ran: nothing synced, nothing rejected, nothing pending.
    status = (await bridge.http.get("/api/v1/inventory/status")).json()["stores"]
    assert [(s["store"], s["last_sync_at"], s["pending"]) for s in status] == [("acme", None, 0)]
    assert status[0]["last_rejections"] == []


async def test_shopify_callbacks_refuse_an_unknown_store_and_a_foreign_shop(
    bridge: Bridge,
) -> None:
    before = await _snapshot(bridge)
    token = await _callback_token(bridge, "acme")
    for path in ("fetch_stock", "fetch_tracking_numbers"):
        params = {"order_names[]": "#1001.1", "sku": "MUG"}
        unknown = await bridge.http.get(f"/shopify/nowhere/{token}/{path}", params=params)
        wrong = await bridge.http.get(f"/shopify/acme/wrong-token/{path}", params=params)
        _problem_names(unknown, "no fulfillment service answers at this address")
        assert unknown.status_code == wrong.status_code == 404
        assert unknown.json() == wrong.json()
        foreign = await bridge.http.get(
            f"/shopify/acme/{token}/{path}", params={**params, "shop": "evil.myshopify.com"}
        )
        assert foreign.status_code == 401
        _problem_names(foreign, "evil.myshopify.com is not the shop of store acme")
    assert await _snapshot(bridge) == before


# --- the sandbox (over real HTTP) ----------------------------------------------------------


def test_sandbox_bucket_control_names_bad_input(sandbox_url: str) -> None:
    url = f"{sandbox_url}{SHOP_CONTROLS}/bucket"
    before = httpx.get(f"{sandbox_url}/__sandbox/shops", timeout=10).json()
    for body, status, words in (
        ({"available": -1}, 400, "available must be a non-negative number"),
        ({"available": "lots"}, 400, "available must be a non-negative number"),
        ({"available": True}, 400, "available must be a non-negative number"),
        ({}, 400, "available must be a non-negative number"),
        ([5], 400, "must be a JSON object"),
        ({"available": 5, "app_id": "999"}, 404, "no app 999 on demo-shop.myshopify.com"),
    ):
        response = httpx.post(url, json=body, timeout=10)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["error"]
    broken = httpx.post(url, content=b"{", headers={"content-type": "application/json"}, timeout=10)
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]
    empty = httpx.post(url, content=b"", timeout=10)
    assert empty.status_code == 400 and "JSON body is required" in empty.json()["error"]
    unknown = httpx.post(
        f"{sandbox_url}/__sandbox/shops/nowhere.myshopify.com/bucket",
        json={"available": 1},
        timeout=10,
    )
    assert unknown.status_code == 404 and "no shop" in unknown.json()["error"]
    malformed = httpx.post(
        f"{sandbox_url}/__sandbox/shops/bad%20domain!/bucket", json={"available": 1}, timeout=10
    )
    assert malformed.status_code == 400 and "invalid shop domain" in malformed.json()["error"]
    # Every refusal left the buckets as they were.
    assert httpx.get(f"{sandbox_url}/__sandbox/shops", timeout=10).json() == before


def test_sandbox_bulk_results_of_unknown_operations_are_404(sandbox_url: str) -> None:
    for path in (
        f"/__sandbox/bulk/{DEFAULT_SHOP_DOMAIN}/999.jsonl",
        f"/__sandbox/bulk/{DEFAULT_SHOP_DOMAIN}/abc.jsonl",
        f"/__sandbox/bulk/{DEFAULT_SHOP_DOMAIN}/-1.jsonl",
        "/__sandbox/bulk/nowhere.myshopify.com/1.jsonl",
    ):
        response = httpx.get(sandbox_url + path, timeout=10)
        assert response.status_code == 404, path
        assert response.json() == {"error": "no such bulk operation result"}


def test_sandbox_token_endpoint_names_bad_requests(sandbox_url: str) -> None:
    url = f"{sandbox_url}/admin/oauth/access_token"
    json_type = {"content-type": "application/json"}
    cases = [
        ({"content": b"{", "headers": json_type}, "invalid_request", "not valid JSON"),
        ({"json": ["client_credentials"]}, "invalid_request", "must be an object"),
        ({"json": {}}, "invalid_request", "client_id and client_secret are required"),
        (
            {"json": {**CLIENT, "grant_type": "password"}},
            "unsupported_grant_type",
            "unsupported grant_type 'password'",
        ),
        (
            {"json": {**CLIENT, "grant_type": "authorization_code", "code": "never-issued"}},
            "invalid_grant",
            "authorization code is unknown",
        ),
        (
            {"json": {**CLIENT, "grant_type": "refresh_token", "refresh_token": "shprt_x"}},
            "invalid_grant",
            "refresh token is unknown",
        ),
    ]
    for kwargs, error, words in cases:
        response = httpx.post(url, timeout=10, **kwargs)
        assert response.status_code == 400, (kwargs, response.text)
        assert response.json()["error"] == error
        assert words in response.json()["error_description"]
        assert "sandbox-client-secret" not in response.text
    # None of the refused requests issued a token: only the configured one is known.
    scopes = httpx.get(
        f"{sandbox_url}/admin/oauth/access_scopes.json",
        headers={"X-Shopify-Access-Token": "shpat_never_issued"},
        timeout=10,
    )
    assert scopes.status_code == 401


def test_sandbox_authorize_refuses_unknown_scopes(sandbox_url: str) -> None:
    response = httpx.get(
        f"{sandbox_url}/admin/oauth/authorize",
        params={
            "client_id": CLIENT["client_id"],
            "redirect_uri": "http://127.0.0.1:9/callback",
            "scope": "read_orders,admin_everything",
        },
        timeout=10,
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_scope",
        "error_description": "unknown scope(s): admin_everything",
    }


def test_sandbox_oauth_refuses_non_ascii_credentials_with_400(sandbox_url: str) -> None:
    token = httpx.post(
        f"{sandbox_url}/admin/oauth/access_token",
        json={"client_id": "clé", "client_secret": "x", "grant_type": "client_credentials"},
        timeout=10,
    )
    assert token.status_code == 400, token.text
    assert token.json()["error"] == "invalid_client"
    secret = httpx.post(
        f"{sandbox_url}/admin/oauth/access_token",
        json={**CLIENT, "client_secret": "secrète", "grant_type": "client_credentials"},
        timeout=10,
    )
    assert secret.status_code == 400, secret.text
    authorize = httpx.get(
        f"{sandbox_url}/admin/oauth/authorize",
        params={"client_id": "clé", "redirect_uri": "http://127.0.0.1:9/callback"},
        timeout=10,
        follow_redirects=False,
    )
    assert authorize.status_code == 400, authorize.text


def test_sandbox_clock_refuses_advances_it_cannot_represent() -> None:
    # Its own server: the bug leaves a sandbox broken for whoever uses it next.
    with SandboxServer() as server:
        url = f"{server.url}/__sandbox/clock"
        before = httpx.get(url, timeout=10).json()
        for raw in (b'{"advance": 1e20}', b'{"advance": NaN}', b'{"advance": Infinity}'):
            response = httpx.post(
                url, content=raw, headers={"content-type": "application/json"}, timeout=10
            )
            assert response.status_code == 400, (raw, response.text)
            assert "advance" in response.json()["error"]
        after = httpx.get(url, timeout=10)
        assert after.status_code == 200
        assert after.json()["frozen"] == before["frozen"]
