"""The sandbox's Admin GraphQL endpoint over real HTTP: routing, auth, request errors,
validation and execution errors, scopes. Shapes follow docs/shopify.md and the captures."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.app import MAX_BODY_BYTES
from fulfillbridge.sandbox.server import SandboxServer

GRAPHQL = "/admin/api/2026-07/graphql.json"
TOKEN = {"X-Shopify-Access-Token": "shpat_sandbox"}
INVALID_TOKEN = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}


def _post(server: SandboxServer, body: Any = None, **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", TOKEN)
    path = kwargs.pop("path", GRAPHQL)
    return httpx.post(server.url + path, json=body, headers=headers, timeout=10, **kwargs)


def test_small_query_answers_with_data_and_cost(sandbox_server: SandboxServer) -> None:
    # A fresh shop on a frozen clock: the bucket is full and nothing refills it meanwhile,
    # whatever other tests on this session's server did to it or to the clock.
    httpx.post(sandbox_server.url + "/__sandbox/reset", timeout=10).raise_for_status()
    clock = sandbox_server.url + "/__sandbox/clock"
    httpx.post(clock, json={"freeze": None}, timeout=10).raise_for_status()
    try:
        response = _post(
            sandbox_server, {"query": "{ shop { name myshopifyDomain currencyCode } }"}
        )
    finally:
        httpx.post(clock, json={"unfreeze": True}, timeout=10).raise_for_status()
    assert response.status_code == 200
    assert response.headers["x-shopify-api-version"] == "2026-07"
    body = response.json()
    assert body["data"]["shop"] == {
        "name": "Demo Shop",
        "myshopifyDomain": "demo-shop.myshopify.com",
        "currencyCode": "USD",
    }
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 and cost["actualQueryCost"] == 1
    status = cost["throttleStatus"]
    assert (status["maximumAvailable"], status["restoreRate"]) == (2000, 100)
    assert status["currentlyAvailable"] == 1999  # one point spent from a full bucket


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Shopify-Access-Token": "shpat_wrong"},
        # docs/shopify.md#custom-apps-static-tokens: a shpat_ token sent as a Bearer token is
        # refused with 401.
        {"Authorization": "Bearer shpat_sandbox"},
    ],
    ids=["no-token", "wrong-token", "bearer"],
)
def test_bad_credentials_get_401(sandbox_server: SandboxServer, headers: dict[str, str]) -> None:
    response = _post(sandbox_server, {"query": "{ shop { name } }"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_unknown_shop_is_404(sandbox_server: SandboxServer) -> None:
    by_host = _post(
        sandbox_server,
        {"query": "{ shop { name } }"},
        headers={**TOKEN, "Host": "nobody.myshopify.com"},
    )
    by_path = _post(
        sandbox_server, {"query": "{ shop { name } }"}, path="/shops/nobody.myshopify.com" + GRAPHQL
    )
    assert by_host.status_code == 404 and by_path.status_code == 404
    assert by_host.json() == {"errors": "Not Found"}


def test_several_shops_are_addressed_by_path_prefix_and_host(
    sandbox_server: SandboxServer,
) -> None:
    created = httpx.post(
        sandbox_server.url + "/__sandbox/shops",
        json={"domain": "second-shop", "access_token": "shpat_second", "plan": "Plus"},
    )
    assert created.status_code == 201
    assert created.json()["domain"] == "second-shop.myshopify.com"
    assert "shpat_second" not in created.text  # secrets are never echoed
    query = {"query": "{ shop { name plan { shopifyPlus } } }"}
    second = {"X-Shopify-Access-Token": "shpat_second"}
    by_path = _post(
        sandbox_server, query, headers=second, path="/shops/second-shop.myshopify.com" + GRAPHQL
    )
    by_host = _post(sandbox_server, query, headers={**second, "Host": "second-shop.myshopify.com"})
    for response in (by_path, by_host):
        assert response.status_code == 200
        assert response.json()["data"]["shop"] == {
            "name": "Second Shop",
            "plan": {"shopifyPlus": True},
        }
        # The Plus preset (state.PLANS) sizes its bucket.
        assert response.json()["extensions"]["cost"]["throttleStatus"]["restoreRate"] == 1000
    # Tokens belong to their shop: the demo shop's token does not open the second one.
    wrong = _post(sandbox_server, query, path="/shops/second-shop.myshopify.com" + GRAPHQL)
    assert wrong.status_code == 401


def test_malformed_json_is_400_naming_the_problem(sandbox_server: SandboxServer) -> None:
    response = httpx.post(
        sandbox_server.url + GRAPHQL,
        content=b'{"query": "{ shop { name } }"',
        headers={**TOKEN, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["errors"]
    assert "Traceback" not in response.text


def test_missing_query_is_400(sandbox_server: SandboxServer) -> None:
    response = _post(sandbox_server, {"variables": {}})
    assert response.status_code == 400
    assert response.json() == {"errors": {"query": "Required parameter missing or invalid"}}


def test_wrong_content_type_is_415_and_graphql_body_is_accepted(
    sandbox_server: SandboxServer,
) -> None:
    wrong = httpx.post(
        sandbox_server.url + GRAPHQL,
        content=b"query={ shop { name } }",
        headers={**TOKEN, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert wrong.status_code == 415
    assert "application/json" in wrong.json()["errors"]
    graphql_body = httpx.post(
        sandbox_server.url + GRAPHQL,
        content=b"{ shop { name } }",
        headers={**TOKEN, "Content-Type": "application/graphql"},
    )
    assert graphql_body.status_code == 200
    assert graphql_body.json()["data"]["shop"]["name"] == "Demo Shop"


def test_oversized_body_is_413(sandbox_server: SandboxServer) -> None:
    padding = "#" * (MAX_BODY_BYTES + 10)
    response = _post(sandbox_server, {"query": "{ shop { name } }" + padding})
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["errors"]


def test_versions_retired_fall_forward_and_unknown_are_404(sandbox_server: SandboxServer) -> None:
    query = {"query": "{ shop { name } }"}
    retired = _post(sandbox_server, query, path="/admin/api/2024-01/graphql.json")
    assert retired.status_code == 200
    assert retired.headers["x-shopify-api-version"] == "2026-01"
    for version in ("2031-01", "2026-05", "latest"):
        response = _post(sandbox_server, query, path=f"/admin/api/{version}/graphql.json")
        assert response.status_code == 404, version


def test_validation_errors_are_shaped_like_shopify(sandbox_server: SandboxServer) -> None:
    # Same document as the capture 2026-04_shipping-fulfillments_fulfillment-event-create-
    # validation.json (userErrorCodeSelection): Shopify answers 200 with this error.
    query = (
        "mutation FulfillmentEventCreateCodeSelection($fulfillmentEvent: FulfillmentEventInput!) {"
        " fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) {"
        " fulfillmentEvent { id } userErrors { field message code } } }"
    )
    variables = {"fulfillmentEvent": {"fulfillmentId": "gid://shopify/Fulfillment/1"}}
    response = _post(sandbox_server, {"query": query, "variables": variables})
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body and "extensions" not in body
    [error] = body["errors"]
    assert error["message"] == "Field 'code' doesn't exist on type 'UserError'"
    assert error["path"] == [
        "mutation FulfillmentEventCreateCodeSelection",
        "fulfillmentEventCreate",
        "userErrors",
        "code",
    ]
    assert error["extensions"] == {
        "code": "undefinedField",
        "typeName": "UserError",
        "fieldName": "code",
    }
    assert error["locations"][0]["line"] == 1


def test_invalid_variable_gets_invalid_variable_code(sandbox_server: SandboxServer) -> None:
    # Capture: fulfillment-event-create-validation.json, invalidStatusVariable.
    query = (
        "mutation E($fulfillmentEvent: FulfillmentEventInput!) {"
        " fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) { userErrors { message } } }"
    )
    value = {"fulfillmentId": "gid://shopify/Fulfillment/1", "status": "NOT_A_STATUS"}
    body = _post(sandbox_server, {"query": query, "variables": {"fulfillmentEvent": value}}).json()
    [error] = body["errors"]
    assert error["message"].startswith(
        "Variable $fulfillmentEvent of type FulfillmentEventInput! was provided invalid value"
    )
    assert error["extensions"]["code"] == "INVALID_VARIABLE"
    assert error["extensions"]["value"] == value
    assert error["extensions"]["problems"][0]["path"] == ["status"]


def test_syntax_error_is_reported_not_raised(sandbox_server: SandboxServer) -> None:
    response = _post(sandbox_server, {"query": "{ shop { name }"})
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"].startswith("syntax error")


def test_field_without_resolver_is_named_not_silently_null(sandbox_server: SandboxServer) -> None:
    body = _post(sandbox_server, {"query": "{ shop { name accountOwner { id } } }"}).json()
    [error] = body["errors"]
    assert error["message"] == "Field 'Shop.accountOwner' is not implemented by the sandbox"
    assert error["path"] == ["shop", "accountOwner"]
    assert error["extensions"]["code"] == "NOT_IMPLEMENTED_BY_SANDBOX"


def test_root_field_without_resolver_is_named(sandbox_server: SandboxServer) -> None:
    body = _post(
        sandbox_server, {"query": '{ marketingEvent(id: "gid://shopify/MarketingEvent/1") { id } }'}
    ).json()
    assert body["errors"][0]["message"] == (
        "Field 'QueryRoot.marketingEvent' is not implemented by the sandbox"
    )
    assert body["data"] == {"marketingEvent": None}


def test_access_denied_without_scope(sandbox_server: SandboxServer) -> None:
    created = httpx.post(
        sandbox_server.url + "/__sandbox/shops",
        json={"domain": "narrow", "access_token": "shpat_narrow", "scopes": ["read_orders"]},
    )
    assert created.status_code == 201
    response = _post(
        sandbox_server,
        {"query": "{ shop { name } locations(first: 5) { nodes { id } } }"},
        headers={"X-Shopify-Access-Token": "shpat_narrow"},
        path="/shops/narrow.myshopify.com" + GRAPHQL,
    )
    body = response.json()
    assert response.status_code == 200
    # locations is non-null (LocationConnection!), so the denial nulls the whole data.
    assert body["data"] is None
    [error] = body["errors"]
    # Shape of the ACCESS_DENIED errors in 2026-04_shipping-fulfillments_fulfillment-order-*.
    assert error["message"] == (
        "Access denied for locations field. Required access: `read_locations` access scope."
    )
    assert error["extensions"] == {
        "code": "ACCESS_DENIED",
        "documentation": "https://shopify.dev/api/usage/access-scopes",
        "requiredAccess": "`read_locations` access scope.",
    }
    assert error["path"] == ["locations"]


def test_write_scope_implies_read(sandbox_server: SandboxServer) -> None:
    httpx.post(
        sandbox_server.url + "/__sandbox/shops",
        json={"domain": "writer", "access_token": "shpat_w", "scopes": ["write_locations"]},
    ).raise_for_status()
    body = _post(
        sandbox_server,
        {"query": "{ locations(first: 1) { nodes { name } } }"},
        headers={"X-Shopify-Access-Token": "shpat_w"},
        path="/shops/writer.myshopify.com" + GRAPHQL,
    ).json()
    assert "errors" not in body
    assert body["data"]["locations"]["nodes"] == [{"name": "Shop location"}]


def test_current_app_installation_lists_granted_scopes(sandbox_server: SandboxServer) -> None:
    httpx.post(
        sandbox_server.url + "/__sandbox/shops",
        json={
            "domain": "scoped",
            "access_token": "shpat_s",
            "scopes": ["read_orders", "write_fulfillments"],
        },
    ).raise_for_status()
    body = _post(
        sandbox_server,
        {"query": "{ currentAppInstallation { accessScopes { handle } } }"},
        headers={"X-Shopify-Access-Token": "shpat_s"},
        path="/shops/scoped.myshopify.com" + GRAPHQL,
    ).json()
    handles = [s["handle"] for s in body["data"]["currentAppInstallation"]["accessScopes"]]
    assert handles == ["read_orders", "write_fulfillments"]


def test_node_and_nodes_find_locations(sandbox_server: SandboxServer) -> None:
    first = _post(sandbox_server, {"query": "{ locations(first: 1) { nodes { id } } }"}).json()
    location_id = first["data"]["locations"]["nodes"][0]["id"]
    query = (
        "query($id: ID!, $ids: [ID!]!) { node(id: $id) { __typename id ... on Location { name } }"
        " nodes(ids: $ids) { id } }"
    )
    body = _post(
        sandbox_server,
        {
            "query": query,
            "variables": {"id": location_id, "ids": [location_id, "gid://shopify/Location/999"]},
        },
    ).json()
    assert body["data"]["node"] == {
        "__typename": "Location",
        "id": location_id,
        "name": "Shop location",
    }
    assert body["data"]["nodes"] == [{"id": location_id}, None]
    bad = _post(sandbox_server, {"query": '{ node(id: "nonsense") { id } }'}).json()
    assert bad["errors"][0]["message"] == "Invalid global id 'nonsense'"


def test_operation_name_selects_among_several(sandbox_server: SandboxServer) -> None:
    document = "query A { shop { name } } query B { shop { email } }"
    chosen = _post(sandbox_server, {"query": document, "operationName": "B"}).json()
    assert chosen["data"] == {"shop": {"email": "owner@demo-shop.example"}}
    missing = _post(sandbox_server, {"query": document}).json()
    assert missing["errors"][0]["message"] == "An operation name is required"
    unknown = _post(sandbox_server, {"query": document, "operationName": "C"}).json()
    assert unknown["errors"][0]["message"] == 'No operation named "C"'


async def test_in_process_app_serves_the_same(sandbox_app: Any) -> None:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://demo-shop.myshopify.com"
    ) as client:
        ok = await client.post(GRAPHQL, json={"query": "{ shop { name } }"}, headers=TOKEN)
        unauthorised = await client.post(GRAPHQL, json={"query": "{ shop { name } }"})
    assert ok.json()["data"]["shop"]["name"] == "Demo Shop"
    assert unauthorised.status_code == 401
