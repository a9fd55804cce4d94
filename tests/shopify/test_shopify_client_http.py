"""The client against the sandbox over real HTTP: queries, pagination, errors, logging."""

import logging

import pytest

from fulfillbridge.shopify import (
    AccessDenied,
    AuthenticationError,
    ConnectError,
    MaxCostExceeded,
    NotFoundError,
    Operation,
    QueryInvalid,
    ShopifyClient,
    StaticToken,
    UserErrors,
    audit_scopes,
    operation,
)

from .conftest import SHOP, TOKEN

CREATE_SERVICE = Operation.from_document(
    "mutation CreateService($name: String!) { fulfillmentServiceCreate(name: $name) "
    "{ fulfillmentService { id serviceName } userErrors { field message } } }"
)


async def test_shop_info(client):
    data = await client.execute(operation("ShopInfo"))
    shop = data["shop"]
    assert shop["myshopifyDomain"] == SHOP
    assert shop["name"]
    assert shop["currencyCode"] == "USD"
    assert shop["plan"]["publicDisplayName"]
    assert client.last_cost is not None and client.last_cost.actual is not None
    assert client.last_cost.throttle_status.maximum_available == 2000


async def test_execute_accepts_an_operation_name(client):
    data = await client.execute("AccessScopes")
    handles = {s["handle"] for s in data["currentAppInstallation"]["accessScopes"]}
    assert handles == set(await client.granted_scopes())
    assert "read_locations" in handles or "write_locations" in handles


async def test_paginate_locations(sandbox, client):
    # Give the shop enough locations for several pages: each fulfillment service comes
    # with a location of its own (docs/shopify.md#creating-and-updating).
    for index in range(6):
        await client.execute(CREATE_SERVICE, {"name": f"Depot {index}"})
    pages = [
        page async for page in client.paginate_pages("Locations", path=("locations",), page_size=2)
    ]
    assert len(pages) >= 4
    assert all(len(page["nodes"]) <= 2 for page in pages)
    names = [
        node["name"]
        async for node in client.paginate("Locations", path=("locations",), page_size=2)
    ]
    assert len(names) == len(set(names)) == sum(len(p["nodes"]) for p in pages)
    assert {f"Depot {i}" for i in range(6)} <= set(names)
    # every page after the first was asked for with the previous page's end cursor
    log = [e for e in sandbox.requests() if e["operation"] == "Locations"]
    assert len(log) == 2 * len(pages)


async def test_bad_token_is_authentication_error_without_leaking_it(make_client, caplog):
    secret = "shpat_this_token_is_wrong_0123456789"
    client = make_client(credentials=StaticToken(secret))
    caplog.set_level(logging.DEBUG, logger="fulfillbridge.shopify")
    with pytest.raises(AuthenticationError) as info:
        await client.execute(operation("ShopInfo"))
    assert info.value.status_code == 401
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in caplog.text
    # a refused static token is not sent again (a 401 would only repeat)
    attempts = [r for r in caplog.records if getattr(r, "shopify_operation", None) == "ShopInfo"]
    assert len(attempts) == 1 and attempts[0].shopify_http_status == 401
    with pytest.raises(AuthenticationError):
        await client.granted_scopes()


async def test_bearer_style_token_is_refused(sandbox, make_client):
    client = make_client(credentials=StaticToken(f"Bearer {TOKEN}"))
    with pytest.raises(AuthenticationError):
        await client.execute("ShopInfo")


async def test_unknown_shop_and_version_are_not_found(sandbox, make_client):
    with pytest.raises(NotFoundError):
        await make_client(shop="no-such-shop.myshopify.com").execute("ShopInfo")
    # a retired version falls forward (docs/shopify.md#versions); one that never existed is a 404
    assert await make_client(api_version="2019-01").execute("ShopInfo")
    with pytest.raises(NotFoundError):
        await make_client(api_version="2031-13").execute("ShopInfo")


async def test_access_denied_on_partial_scope_shop(sandbox, make_client):
    sandbox.add_shop(
        domain="narrow-shop.myshopify.com", scopes=["read_orders"], access_token="shpat_narrow"
    )
    client = make_client(shop="narrow-shop.myshopify.com", credentials=StaticToken("shpat_narrow"))
    with pytest.raises(AccessDenied) as info:
        await client.execute("Locations", {"first": 5})
    assert "locations" in str(info.value).lower()
    granted = await client.granted_scopes()
    assert granted == ("read_orders",)
    audit = {a.feature: a for a in audit_scopes(granted)}
    assert audit["orders"].ok and not audit["locations"].ok


async def test_user_errors_raise_unless_asked_not_to(client):
    with pytest.raises(UserErrors) as info:
        await client.execute(CREATE_SERVICE, {"name": ""})
    assert any(e.field == ("name",) for e in info.value.user_errors)
    data = await client.execute(CREATE_SERVICE, {"name": ""}, raise_user_errors=False)
    assert data["fulfillmentServiceCreate"]["userErrors"]


async def test_query_over_the_cost_limit_is_refused_before_running(client):
    part = "locations(first: 250) { nodes { id inventoryLevels(first: 250) { nodes { id } } } }"
    huge = Operation.from_document(f"query Huge {{ a: {part} b: {part} c: {part} d: {part} }}")
    with pytest.raises(MaxCostExceeded) as info:
        await client.execute(huge)
    assert "MAX_COST_EXCEEDED" in str(info.value)


async def test_in_process_transport():
    import httpx

    from fulfillbridge.sandbox.app import create_app

    # No server at all: the sandbox app runs inside this process; the shop is found by
    # the Host header of the default base URL https://demo-shop.myshopify.com.
    transport = httpx.ASGITransport(app=create_app())
    async with ShopifyClient(SHOP, StaticToken(TOKEN), transport=transport) as client:
        assert client.endpoint == f"https://{SHOP}/admin/api/2026-07/graphql.json"
        data = await client.execute("ShopInfo")
        assert data["shop"]["myshopifyDomain"] == SHOP


async def test_invalid_query_is_query_invalid(client):
    broken = Operation.from_document("query Broken { shop { noSuchField } }")
    with pytest.raises(QueryInvalid):
        await client.execute(broken)


async def test_connect_error_after_bounded_retries(sandbox):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    from .conftest import FAST_RETRIES

    async with ShopifyClient(
        SHOP, StaticToken(TOKEN), api_base_url=f"http://127.0.0.1:{port}", retry_policy=FAST_RETRIES
    ) as client:
        with pytest.raises(ConnectError) as info:
            await client.execute("ShopInfo")
        # a mutation that never left is retried too and reported the same way
        with pytest.raises(ConnectError):
            await client.execute(CREATE_SERVICE, {"name": "x"})
    assert TOKEN not in str(info.value)


async def test_log_line_per_request(client, caplog):
    caplog.set_level(logging.INFO, logger="fulfillbridge.shopify")
    await client.execute("ShopInfo")
    records = [r for r in caplog.records if r.name == "fulfillbridge.shopify"]
    assert len(records) == 1
    record = records[0]
    assert record.shopify_operation == "ShopInfo"
    assert record.shopify_shop == SHOP
    assert record.shopify_http_status == 200
    assert record.shopify_attempt == 1
    assert record.shopify_cost_requested >= 1
    assert record.shopify_bucket_available is not None
    assert record.shopify_duration_ms >= 0
    assert "ShopInfo" in record.getMessage() and SHOP in record.getMessage()
    assert TOKEN not in caplog.text
