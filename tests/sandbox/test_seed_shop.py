"""Seeding: seed_shop in-process, through POST /__sandbox/seed, and the same scenario
built with Shopify's own mutations over HTTP (productSet, inventorySetQuantities,
orderCreate)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.orders import orders_of
from fulfillbridge.sandbox.seed import SeedOptionError, seed_shop
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import Sandbox
from fulfillbridge.sandbox.state import ShopState

GRAPHQL = "/admin/api/2026-07/graphql.json"
TOKEN = {"X-Shopify-Access-Token": "shpat_sandbox"}


def _shop() -> ShopState:
    return next(iter(Sandbox().shops.values())).state


def test_seed_builds_catalogue_stock_and_varied_orders() -> None:
    shop = _shop()
    summary = seed_shop(shop, products=10, orders=120, seed=7)
    catalog = shop.part("catalog", Catalog)
    assert summary["products"] == 10 == len(catalog.products())
    assert summary["orders"] == 120 and summary["order_errors"] == []
    assert all(count > 0 for count in summary["order_kinds"].values()), summary
    skus = {catalog.sku_of(v.id) for v in catalog.variants()}
    assert "FB-TEE-BLK-M" in skus
    assert len(shop.locations) == 2
    orders = list(orders_of(shop).orders.values())
    assert all(o.financial_status == "PAID" for o in orders)
    assert any(o.shipping_address is None for o in orders)
    assert any(len(o.fulfillment_order_ids) > 1 for o in orders)  # stock split over locations
    custom = [li for o in orders for li in o.line_items if li.variant_id is None]
    assert any(li.sku is None for li in custom)
    unknown = [li.sku for li in custom if li.sku]
    assert unknown and all(not catalog.variants_by_sku(sku) for sku in unknown)
    # Orders committed stock at their locations.
    committed = sum(
        level.quantity("committed")
        for item in catalog.inventory_items()
        for level in catalog.levels_of_item(item.id)
    )
    assert committed > 0


def test_seed_is_repeatable_and_simple_variety_is_plain() -> None:
    first, second = _shop(), _shop()
    assert seed_shop(first, products=4, orders=10, seed=3) == seed_shop(
        second, products=4, orders=10, seed=3
    )
    plain = seed_shop(_shop(), products=4, orders=10, seed=3, variety="simple")
    assert plain["order_kinds"]["single_line"] == 10


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"products": -1}, "products must be an integer"),
        ({"orders": "many"}, "orders must be an integer"),
        ({"variety": {"weird": 0.1}}, "unknown variety key"),
        ({"variety": {"split": 0.9, "no_sku": 0.5}}, "more than 1"),
        ({"products": 0, "orders": 3}, "orders need a catalogue"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], message: str) -> None:
    with pytest.raises(SeedOptionError, match=message):
        seed_shop(_shop(), **options)


def test_seed_endpoint(sandbox_server: SandboxServer) -> None:
    response = httpx.post(
        sandbox_server.url + "/__sandbox/seed",
        json={"products": 3, "orders": 5, "seed": 1},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["orders"] == 5
    bad = httpx.post(sandbox_server.url + "/__sandbox/seed", json={"products": -4}, timeout=10)
    assert bad.status_code == 400
    assert "products must be an integer" in bad.text
    body = httpx.post(
        sandbox_server.url + GRAPHQL,
        json={
            "query": '{ productVariants(first: 5, query: "sku:FB-TEE-BLK-M") '
            "{ nodes { sku inventoryQuantity } } }"
        },
        headers=TOKEN,
        timeout=10,
    ).json()
    assert [n["sku"] for n in body["data"]["productVariants"]["nodes"]] == ["FB-TEE-BLK-M"]


def _gql(server: SandboxServer, query: str, variables: dict[str, Any]) -> Any:
    response = httpx.post(
        server.url + GRAPHQL,
        json={"query": query, "variables": variables},
        headers=TOKEN,
        timeout=10,
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_same_scenario_through_shopify_mutations(sandbox_server: SandboxServer) -> None:
    location = _gql(sandbox_server, "{ location { id } }", {})["location"]["id"]
    product = _gql(
        sandbox_server,
        """mutation($input: ProductSetInput!) { productSet(input: $input) { product {
             variants(first: 5) { nodes { id sku inventoryItem { id } } } }
             userErrors { field message } } }""",
        {
            "input": {
                "title": "Classic Tee",
                "productOptions": [{"name": "Size", "values": [{"name": "M"}, {"name": "L"}]}],
                "variants": [
                    {
                        "optionValues": [{"optionName": "Size", "name": size}],
                        "price": "19.00",
                        "inventoryItem": {"sku": f"FB-TEE-BLK-{size}", "tracked": True},
                    }
                    for size in ("M", "L")
                ],
            }
        },
    )["productSet"]["product"]
    medium, large = product["variants"]["nodes"]
    stocked = _gql(
        sandbox_server,
        """mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input)
             @idempotent(key: "seed-over-http") { userErrors { field message } } }""",
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": "logistics://seed/1",
                "quantities": [
                    {
                        "inventoryItemId": v["inventoryItem"]["id"],
                        "locationId": location,
                        "quantity": 20,
                        "changeFromQuantity": 0,
                    }
                    for v in (medium, large)
                ],
            }
        },
    )
    assert stocked["inventorySetQuantities"]["userErrors"] == []
    created = _gql(
        sandbox_server,
        """mutation($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
             orderCreate(order: $order, options: $options) { order { id name
             displayFinancialStatus lineItems(first: 5) { nodes { sku quantity } } }
             userErrors { field message } } }""",
        {
            "order": {
                "email": "ada@example.com",
                "financialStatus": "PAID",
                "lineItems": [
                    {"variantId": medium["id"], "quantity": 2},
                    {
                        "title": "Discontinued item",
                        "sku": "FB-LEGACY-123",
                        "quantity": 1,
                        "priceSet": {"shopMoney": {"amount": "5.00", "currencyCode": "USD"}},
                    },
                ],
            },
            "options": {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
        },
    )["orderCreate"]
    assert created["userErrors"] == []
    assert created["order"]["displayFinancialStatus"] == "PAID"
    assert created["order"]["lineItems"]["nodes"] == [
        {"sku": "FB-TEE-BLK-M", "quantity": 2},
        {"sku": "FB-LEGACY-123", "quantity": 1},
    ]
    level = _gql(
        sandbox_server,
        """query($id: ID!, $loc: ID!) { inventoryItem(id: $id) { inventoryLevel(locationId: $loc)
             { quantities(names: ["available", "committed", "on_hand"]) { name quantity } } } }""",
        {"id": medium["inventoryItem"]["id"], "loc": location},
    )["inventoryItem"]["inventoryLevel"]["quantities"]
    assert level == [
        {"name": "available", "quantity": 18},
        {"name": "committed", "quantity": 2},
        {"name": "on_hand", "quantity": 20},
    ]
