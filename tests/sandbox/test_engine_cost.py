"""Query cost: the one rule of ``sandbox.cost`` checked against every cost in the captures,
and the leaky bucket (charge, refund, THROTTLED, refill on the sandbox clock)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from fulfillbridge.sandbox.cost import CostCalculator, connection_size
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.shopify.schema import admin_schema

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
GRAPHQL = "/admin/api/2026-07/graphql.json"
TOKEN = {"X-Shopify-Access-Token": "shpat_sandbox"}

# Captured requested costs the rule does not reproduce, and why. Keys: (file, path in file).
REQUESTED_DISAGREEMENTS: dict[tuple[str, str], str] = {
    (
        "2026-04_orders_fulfillment-state-preconditions.json",
        "trackingAlreadyCancelled",
    ): "fulfillmentTrackingInfoUpdate is charged 51, not 10 + 1: Shopify gives this mutation "
    "its own cost, which no type-based rule can derive",
    (
        "2026-04_products_inventory-quantity-contracts-2026-04.json",
        "upstreamCalls/0",
    ): "inventoryLevels(first: 50) inside nodes(): Shopify charges 27, the rule 32; its sizing "
    "of large pages is unpublished and ceil(sqrt(n)) overestimates n = 50",
    **{
        (
            "2026-04_shipping-fulfillments_fulfillment-order-lifecycle.json",
            f"upstreamCalls/{index}",
        ): "lineItems(first: 250): Shopify charges 31, the rule 41; ceil(sqrt(250)) = 16 nodes "
        "where Shopify appears to count about 11"
        for index in (0, 1, 3, 4)
    },
}


def _exchanges() -> Iterator[tuple[str, str, dict[str, Any]]]:
    def walk(value: Any, path: list[str]) -> Iterator[tuple[list[str], dict[str, Any]]]:
        if isinstance(value, dict):
            if isinstance(value.get("query"), str):
                yield path, value
            for key, child in value.items():
                yield from walk(child, [*path, str(key)])
        elif isinstance(value, list):
            for index, child in enumerate(value):
                yield from walk(child, [*path, str(index)])

    for file in sorted(CAPTURES.glob("*.json")):
        for path, exchange in walk(json.loads(file.read_text()), []):
            yield file.name, "/".join(path), exchange


def _body(exchange: dict[str, Any]) -> dict[str, Any]:
    response = exchange.get("response") or {}
    body = response.get("payload", response.get("body", response))
    return body if isinstance(body, dict) else {}


def _costed() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    found = []
    for name, path, exchange in _exchanges():
        cost = _body(exchange).get("extensions", {}).get("cost")
        if cost:
            found.append((name, path, exchange, cost))
    return found


COSTED = _costed()


def _calculator(exchange: dict[str, Any]) -> tuple[CostCalculator, OperationDefinitionNode]:
    document = parse(exchange["query"])
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    name = exchange.get("operationName")
    operation = next(
        (op for op in operations if name and op.name and op.name.value == name), operations[0]
    )
    return CostCalculator(admin_schema(), fragments, exchange.get("variables")), operation


def test_captures_hold_many_costs() -> None:
    assert len(COSTED) > 150


@pytest.mark.parametrize(
    ("name", "path", "exchange", "cost"), COSTED, ids=[f"{n}:{p}" for n, p, _, _ in COSTED]
)
def test_requested_cost_matches_capture(
    name: str, path: str, exchange: dict[str, Any], cost: dict[str, Any]
) -> None:
    calculator, operation = _calculator(exchange)
    computed = calculator.requested(operation)
    reason = REQUESTED_DISAGREEMENTS.get((name, path))
    if reason is not None:
        assert computed != cost["requestedQueryCost"], f"now agrees; drop the exception: {reason}"
        return
    assert computed == cost["requestedQueryCost"]


def test_actual_cost_agrees_with_most_captures() -> None:
    # Actual costs depend on data Shopify returned and on per-field costs it does not
    # publish; the rule must still be right for the bulk of them, and never above requested.
    agree = 0
    for _name, _path, exchange, cost in COSTED:
        calculator, operation = _calculator(exchange)
        actual = calculator.actual(operation, _body(exchange).get("data"))
        agree += actual == cost["actualQueryCost"]
    assert agree / len(COSTED) > 0.55, f"{agree}/{len(COSTED)}"


def test_connection_sizing() -> None:
    assert [connection_size(n) for n in (0, 1, 5, 10, 250)] == [0, 1, 3, 4, 16]


def _post(server: SandboxServer, query: str, **variables: Any) -> httpx.Response:
    return httpx.post(
        server.url + GRAPHQL,
        json={"query": query, "variables": variables},
        headers=TOKEN,
        timeout=10,
    )


def test_cost_extension_reports_requested_and_actual(sandbox_server: SandboxServer) -> None:
    # One location exists: requested sizes first: 10 (2 + 4), actual the one returned (2 + 1).
    body = _post(sandbox_server, "{ locations(first: 10) { nodes { id name } } }").json()
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 6
    assert cost["actualQueryCost"] == 3
    # Charged 6, refunded 3.
    assert cost["throttleStatus"]["currentlyAvailable"] == 1997


def test_query_over_1000_points_is_refused(sandbox_server: SandboxServer) -> None:
    query = (
        "{ products(first: 250) { nodes { id variants(first: 250) { nodes { id"
        " inventoryItem { inventoryLevels(first: 250) { nodes { id } } } } } } } }"
    )
    body = _post(sandbox_server, query).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["maxCost"] == 1000
    assert body["extensions"]["cost"]["requestedQueryCost"] > 1000
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert "data" not in body


def test_drained_bucket_throttles_and_refills_on_the_clock(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.url
    shop = "demo-shop.myshopify.com"
    httpx.post(f"{base}/__sandbox/clock", json={"freeze": None}).raise_for_status()
    drained = httpx.post(f"{base}/__sandbox/shops/{shop}/bucket", json={"available": 3})
    assert drained.status_code == 200
    query = "{ locations(first: 10) { nodes { id } } }"  # requests 6
    throttled = _post(sandbox_server, query)
    # docs/shopify.md#throttled-answers: THROTTLED comes with HTTP 200 (or 429) and
    # actualQueryCost null.
    assert throttled.status_code == 200
    body = throttled.json()
    assert body["errors"] == [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": 6,
        "actualQueryCost": None,
        "throttleStatus": {"maximumAvailable": 2000, "currentlyAvailable": 3, "restoreRate": 100},
    }
    httpx.post(f"{base}/__sandbox/clock", json={"advance": 0.05}).raise_for_status()  # +5 pts
    after = _post(sandbox_server, query).json()
    assert "errors" not in after
    # 3 + 5 restored, 6 charged, 3 refunded (one location returned: actual 3).
    assert after["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 5
    httpx.post(f"{base}/__sandbox/clock", json={"advance": 60}).raise_for_status()
    full = _post(sandbox_server, "{ shop { name } }").json()
    assert full["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 1999

    log = httpx.get(f"{base}/__sandbox/shops/{shop}/requests").json()["requests"]
    assert [(e["requested"], e["actual"], e["throttled"]) for e in log] == [
        (6, None, True),
        (6, 3, False),
        (1, 1, False),
    ]
    assert log[0]["available_after"] == 3
    assert log[1]["available_after"] == 5
    assert log[-1]["available_after"] == 1999


def test_mutation_costs_ten_plus_payload(sandbox_server: SandboxServer) -> None:
    # A mutation without a sandbox resolver still gets costed (and named as not implemented).
    query = (
        'mutation { marketingActivityDeleteExternal(remoteId: "x")'
        " { deletedMarketingActivityId userErrors { message } } }"
    )
    body = _post(sandbox_server, query).json()
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10
    assert "not implemented by the sandbox" in body["errors"][0]["message"]
