"""Client credentials and the OAuth install flow against the sandbox's OAuth endpoints."""

import asyncio
import logging
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from fulfillbridge.shopify import (
    AuthenticationError,
    ClientCredentials,
    ExpiringOfflineToken,
    OAuthError,
    OAuthInstall,
    operation,
)

from .conftest import CLIENT_ID, CLIENT_SECRET, SHOP

CC_SHOP = "owned-shop.myshopify.com"


@pytest.fixture
def cc_shop(sandbox):
    sandbox.add_shop(
        domain=CC_SHOP,
        client_id="owned-client",
        client_secret="owned-secret-value",
        scopes=["read_locations", "write_fulfillments", "read_orders"],
    )
    return CC_SHOP


async def test_client_credentials_fetch_and_refetch_after_expiry(
    sandbox, make_client, cc_shop, caplog
):
    caplog.set_level(logging.DEBUG)
    creds = ClientCredentials("owned-client", "owned-secret-value")
    client = make_client(shop=cc_shop, credentials=creds)
    data = await client.execute(operation("ShopInfo"))
    assert data["shop"]["myshopifyDomain"] == cc_shop
    assert creds.fetch_count == 1
    first = creds.token
    assert first.expires_at - time.time() == pytest.approx(86399, abs=60)
    assert set(first.scopes) == {"read_locations", "write_fulfillments", "read_orders"}
    await client.execute("ShopInfo")
    assert creds.fetch_count == 1  # cached

    # A day passes on Shopify's side: the token is refused; a new one is fetched once,
    # even when several requests are refused at the same time.
    sandbox.clock(advance=86400)
    await asyncio.gather(*(client.execute("ShopInfo") for _ in range(4)))
    assert creds.fetch_count == 2
    assert creds.token.access_token != first.access_token
    for secret in ("owned-secret-value", first.access_token, creds.token.access_token):
        assert secret not in caplog.text


def _refusals(caplog):
    return [r for r in caplog.records if getattr(r, "shopify_http_status", None) == 401]


async def test_client_credentials_refetch_shortly_before_expiry(
    sandbox, make_client, cc_shop, caplog
):
    caplog.set_level(logging.INFO, logger="fulfillbridge.shopify")
    now = [time.time()]
    creds = ClientCredentials("owned-client", "owned-secret-value", clock=lambda: now[0])
    client = make_client(shop=cc_shop, credentials=creds)
    await client.execute("ShopInfo")
    first = creds.token
    now[0] += 86399 - 200  # within the five-minute margin: fetch before it lapses
    await client.execute("ShopInfo")
    assert creds.fetch_count == 2 and creds.token.access_token != first.access_token
    # no request was refused on the way
    assert _refusals(caplog) == []
    assert len(sandbox.requests(cc_shop)) == 2


async def test_client_credentials_wrong_secret(sandbox, make_client, cc_shop):
    client = make_client(shop=cc_shop, credentials=ClientCredentials("owned-client", "nope-secret"))
    with pytest.raises(OAuthError) as info:
        await client.execute("ShopInfo")
    assert "nope-secret" not in str(info.value)
    assert "HTTP 400" in str(info.value)


async def test_granted_scopes_endpoint(make_client, cc_shop):
    client = make_client(
        shop=cc_shop, credentials=ClientCredentials("owned-client", "owned-secret-value")
    )
    assert set(await client.granted_scopes()) == {
        "read_locations",
        "write_fulfillments",
        "read_orders",
    }


async def test_oauth_install_round_trip(sandbox, make_client, caplog):
    caplog.set_level(logging.INFO, logger="fulfillbridge.shopify")
    base = sandbox.base_url(SHOP)
    install = OAuthInstall(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=("read_locations", "read_orders"),
        redirect_uri="https://bridge.example/shopify/callback",
    )
    link = install.authorize_url(SHOP, base_url=base)
    async with httpx.AsyncClient() as http:
        answer = await http.get(link.url)  # the sandbox approves at once and redirects
        assert answer.status_code == 302
        location = urlsplit(answer.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == install.redirect_uri
        query = dict(parse_qsl(location.query))

        callback = install.verify_callback(query, expected_state=link.state)
        assert callback.shop == SHOP
        # tampering or a foreign state is caught
        with pytest.raises(OAuthError):
            install.verify_callback(
                {**query, "shop": "other.myshopify.com"}, expected_state=link.state
            )
        with pytest.raises(OAuthError):
            install.verify_callback(query, expected_state="not-the-state")

        token = await install.exchange_code(callback.shop, callback.code, http=http, base_url=base)
        assert token.refresh_token and token.expires_at
        assert set(token.scopes) == {"read_locations", "read_orders"}
        with pytest.raises(OAuthError, match=r"invalid_grant|unknown"):
            await install.exchange_code(callback.shop, callback.code, http=http, base_url=base)

    saved = []

    async def save(shop, new_token):
        saved.append((shop, new_token))

    creds = ExpiringOfflineToken(SHOP, token, install, on_refresh=save)
    client = make_client(credentials=creds)
    data = await client.execute("Locations", {"first": 5})
    assert data["locations"]["nodes"]
    # An hour later the token has lapsed on Shopify's side: refreshed once, saved, retried.
    sandbox.clock(advance=3601)
    await asyncio.gather(*(client.execute("Locations", {"first": 5}) for _ in range(3)))
    assert len(saved) == 1 and saved[0][0] == SHOP
    assert saved[0][1].access_token != token.access_token
    assert creds.token is saved[0][1]
    # Close to expiry by our own clock: refreshed before sending, without a 401.
    refusals_before = len(_refusals(caplog))
    assert refusals_before >= 1  # the lapsed token above was refused before its refresh
    install.clock = lambda: time.time() + 3400
    await client.execute("ShopInfo")
    assert len(saved) == 2
    assert len(_refusals(caplog)) == refusals_before
    # the old refresh token was rotated away
    async with httpx.AsyncClient() as http:
        with pytest.raises(OAuthError):
            await install.refresh(SHOP, token, http=http, base_url=base)


async def test_expiring_token_without_refresh_token_surfaces_401(sandbox, make_client):
    from fulfillbridge.shopify import AccessToken

    install = OAuthInstall(CLIENT_ID, CLIENT_SECRET, ("read_orders",), "https://x.example/cb")
    creds = ExpiringOfflineToken(SHOP, AccessToken("shpat_not_valid_anywhere_123"), install)
    with pytest.raises(AuthenticationError):
        await make_client(credentials=creds).execute("ShopInfo")
