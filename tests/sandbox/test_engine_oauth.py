"""OAuth against the sandbox over real HTTP: client credentials, the authorization-code
install flow with Shopify's hmac, expiring tokens with refresh, access_scopes.json."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, urlsplit

import httpx

from fulfillbridge.sandbox.server import SandboxServer

GRAPHQL = "/admin/api/2026-07/graphql.json"
CLIENT = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}


def _shop_query(server: SandboxServer, token: str) -> httpx.Response:
    return httpx.post(
        server.url + GRAPHQL,
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": token},
    )


def test_client_credentials_grant_issues_a_24h_token(sandbox_server: SandboxServer) -> None:
    response = httpx.post(
        sandbox_server.url + "/admin/oauth/access_token",
        data={"grant_type": "client_credentials", **CLIENT},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "expires_in"}
    assert body["expires_in"] == 86399
    assert "read_orders" in body["scope"].split(",")
    assert _shop_query(sandbox_server, body["access_token"]).status_code == 200
    # The token lapses on the sandbox clock.
    httpx.post(sandbox_server.url + "/__sandbox/clock", json={"advance": 86400}).raise_for_status()
    assert _shop_query(sandbox_server, body["access_token"]).status_code == 401


def test_client_credentials_accepts_json_and_refuses_a_wrong_secret(
    sandbox_server: SandboxServer,
) -> None:
    ok = httpx.post(
        sandbox_server.url + "/admin/oauth/access_token",
        json={"grant_type": "client_credentials", **CLIENT},
    )
    assert ok.status_code == 200
    wrong = httpx.post(
        sandbox_server.url + "/admin/oauth/access_token",
        data={"grant_type": "client_credentials", **CLIENT, "client_secret": "guess"},
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_client"
    assert "guess" not in wrong.text and "sandbox-client-secret" not in wrong.text


def _authorize(server: SandboxServer, scope: str) -> dict[str, str]:
    response = httpx.get(
        server.url + "/admin/oauth/authorize",
        params={
            "client_id": "sandbox-client-id",
            "scope": scope,
            "redirect_uri": "http://127.0.0.1:9/callback",
            "state": "nonce-123",
        },
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://127.0.0.1:9/callback"
    return dict(parse_qsl(location.query))


def test_authorization_code_flow_with_verifiable_hmac(sandbox_server: SandboxServer) -> None:
    params = _authorize(sandbox_server, "read_orders,write_fulfillments")
    assert params["state"] == "nonce-123"
    assert params["shop"] == "demo-shop.myshopify.com"
    assert {"code", "hmac", "host", "timestamp"} <= set(params)
    # Verify as an app must (Shopify docs): sorted k=v pairs without hmac, HMAC-SHA256 hex.
    message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "hmac")
    expected = hmac.new(b"sandbox-client-secret", message.encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, params["hmac"])

    exchange = httpx.post(
        sandbox_server.url + "/admin/oauth/access_token",
        data={**CLIENT, "code": params["code"]},
    )
    assert exchange.status_code == 200
    token = exchange.json()
    assert set(token) == {"access_token", "scope"}  # offline, non-expiring
    assert token["scope"] == "read_orders,write_fulfillments"
    scopes = httpx.get(
        sandbox_server.url + "/admin/oauth/access_scopes.json",
        headers={"X-Shopify-Access-Token": token["access_token"]},
    )
    assert scopes.json() == {
        "access_scopes": [{"handle": "read_orders"}, {"handle": "write_fulfillments"}]
    }
    # A code is good once.
    again = httpx.post(
        sandbox_server.url + "/admin/oauth/access_token",
        data={**CLIENT, "code": params["code"]},
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_expiring_offline_token_refreshes_and_rotates(sandbox_server: SandboxServer) -> None:
    params = _authorize(sandbox_server, "read_orders")
    first = httpx.post(
        sandbox_server.url + "/admin/oauth/access_token",
        data={**CLIENT, "code": params["code"], "expiring": "1"},
    ).json()
    assert first["expires_in"] == 3600 and first["refresh_token"]
    httpx.post(sandbox_server.url + "/__sandbox/clock", json={"advance": 3601}).raise_for_status()
    assert _shop_query(sandbox_server, first["access_token"]).status_code == 401
    refreshed = httpx.post(
        sandbox_server.url + "/admin/oauth/access_token",
        data={**CLIENT, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["access_token"] != first["access_token"]
    assert _shop_query(sandbox_server, second["access_token"]).status_code == 200
    reused = httpx.post(
        sandbox_server.url + "/admin/oauth/access_token",
        data={**CLIENT, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert reused.status_code == 400


def test_access_scopes_json_needs_a_valid_token(sandbox_server: SandboxServer) -> None:
    ok = httpx.get(
        sandbox_server.url + "/admin/oauth/access_scopes.json",
        headers={"X-Shopify-Access-Token": "shpat_sandbox"},
    )
    assert {"handle": "read_locations"} in ok.json()["access_scopes"]
    refused = httpx.get(sandbox_server.url + "/admin/oauth/access_scopes.json")
    assert refused.status_code == 401


def test_authorize_refuses_bad_redirect_and_unknown_client(sandbox_server: SandboxServer) -> None:
    bad_redirect = httpx.get(
        sandbox_server.url + "/admin/oauth/authorize",
        params={"client_id": "sandbox-client-id", "scope": "read_orders", "redirect_uri": "nope"},
    )
    assert bad_redirect.status_code == 400
    unknown = httpx.get(
        sandbox_server.url + "/admin/oauth/authorize",
        params={"client_id": "who", "scope": "read_orders", "redirect_uri": "http://127.0.0.1/"},
    )
    assert unknown.status_code == 400
