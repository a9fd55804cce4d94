"""The OAuth install flow end to end: install link, the sandbox's authorize page, our
callback under uvicorn, the code exchange, the stored token, a working `store check`."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from fulfillbridge.config import load_settings
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.shopify import callback_hmac
from fulfillbridge.web.app import INSTALL_REFUSED, create_app
from tests.helpers import add_shop

SHOP = "demo-shop.myshopify.com"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def bridge(fb_home, monkeypatch):
    port = _free_port()
    monkeypatch.setenv("FULFILLBRIDGE_PUBLIC_URL", f"http://127.0.0.1:{port}")
    with BackgroundServer(create_app(load_settings()), port=port) as server:
        yield server


def _install_link(cli, sandbox_url: str) -> str:
    result = cli(
        "store",
        "add",
        "oa",
        "--shop",
        SHOP,
        "--client-id",
        "sandbox-client-id",
        "--client-secret",
        "sandbox-client-secret",
        "--oauth",
        "--api-url",
        sandbox_url,
    )
    assert result.exit_code == 0, result.output
    return next(line for line in result.output.split() if "/admin/oauth/authorize?" in line)


def test_install_round_trip(cli, sandbox_url, bridge) -> None:
    link = _install_link(cli, sandbox_url)
    with httpx.Client(follow_redirects=False) as http:
        approval = http.get(link)
        assert approval.status_code in (302, 303), approval.text
        callback = approval.headers["location"]
        assert callback.startswith(bridge.url + "/shopify/oauth/callback?")
        done = http.get(callback)
        assert done.status_code == 200, done.text
        assert "Installed" in done.text
        # The same callback again: the state was used up, so it is refused.
        replay = http.get(callback)
        assert replay.status_code == 400
        assert replay.json()["error"] == INSTALL_REFUSED
    check = cli("store", "check", "oa")
    assert check.exit_code == 0, check.output
    metrics = httpx.get(bridge.url + "/metrics").text
    assert 'fulfillbridge_oauth_installs_total{outcome="installed"} 1.0' in metrics


def test_forged_callback_is_refused(cli, sandbox_url, bridge, caplog) -> None:
    caplog.set_level("WARNING")
    link = _install_link(cli, sandbox_url)
    state = parse_qs(urlsplit(link).query)["state"][0]
    params = {"code": "forged", "shop": SHOP, "state": state, "timestamp": "1"}
    params["hmac"] = callback_hmac(params, "not-the-secret")
    response = httpx.get(f"{bridge.url}/shopify/oauth/callback?{urlencode(params)}")
    # One answer for every refusal (no oracle of shops and stores); the log says why.
    assert response.status_code == 400
    assert response.json()["error"] == INSTALL_REFUSED
    assert "hmac" in caplog.text
    # A correct signature but the wrong state is refused too.
    params = {"code": "c", "shop": SHOP, "state": "other", "timestamp": "1"}
    params["hmac"] = callback_hmac(params, "sandbox-client-secret")
    response = httpx.get(f"{bridge.url}/shopify/oauth/callback?{urlencode(params)}")
    assert response.status_code == 400 and response.json()["error"] == INSTALL_REFUSED
    assert "state" in caplog.text
    assert cli("store", "check", "oa").exit_code == 1  # still not installed


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        ("shop=not%20a%20shop", 400),
        ("shop=unknown.myshopify.com&code=x&state=y&hmac=z", 400),
    ],
)
def test_broken_callbacks(bridge, query: str, status: int) -> None:
    response = httpx.get(f"{bridge.url}/shopify/oauth/callback?{query}")
    assert response.status_code == status
    assert response.json()["error"] == INSTALL_REFUSED


def test_unknown_shop_and_token_store_are_answered_like_a_forged_install(
    cli, sandbox_url, bridge
) -> None:
    """Whether a shop is connected, and how, is not told to whoever calls the callback."""
    base = add_shop(sandbox_url, "tk-shop.myshopify.com", access_token="shpat_tk")
    added = cli("store", "add", "tk", "--shop", "tk-shop", "--token", "shpat_tk",
                "--api-url", base)  # fmt: skip
    assert added.exit_code == 0, added.output
    answers = [
        httpx.get(f"{bridge.url}/shopify/oauth/callback?shop={shop}&code=x&state=y&hmac=z")
        for shop in ("unknown.myshopify.com", "tk-shop.myshopify.com")
    ]
    assert [(a.status_code, a.json()) for a in answers] == [
        (400, {"error": INSTALL_REFUSED})
    ] * 2, added.output


def test_health_and_metrics(bridge) -> None:
    assert httpx.get(bridge.url + "/healthz").json()["status"] == "ok"
    assert httpx.get(bridge.url + "/metrics").status_code == 200
