"""Every bridge read that spreads WorkFulfillmentOrder, run over HTTP against a seeded
personalised order: each field the bridge reads comes back with the seeded values, with and
without $withCustomer and read_customers, and each read's requested cost stays under
Shopify's single-query limit."""

from __future__ import annotations

from typing import Any

import pytest
from tests.sandbox._shop_client import ShopClient, add_shop, create_service, scopes_without

from fulfillbridge.sandbox.cost import MAX_SINGLE_QUERY_COST
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.shopify import operation

WORK_READS = (
    "AssignedFulfillmentOrders",
    "FulfillmentOrdersByIds",
    "OrderFulfillmentOrders",
    "FulfillmentOrdersUpdatedSince",
    "OpenFulfillmentOrders",
)
DEADLINE = "2031-03-01T17:00:00Z"
WINDOW = ("2031-03-03T09:00:00Z", "2031-03-05T18:00:00Z")


def _seeded(shop: ShopClient) -> dict[str, Any]:
    """A fulfillment service stocking the catalogue and one personalised express order."""
    create_service(shop)
    shop.seed(products=3, orders=0, stock_at="service")
    made = shop.merchant(
        action="create_orders",
        count=1,
        variety="simple",
        personalised=True,
        delivery="express",
        fulfill_by=DEADLINE,
        min_delivery_at=WINDOW[0],
        max_delivery_at=WINDOW[1],
    )
    order: dict[str, Any] = made["created_orders"][0]
    return order


def _variables(name: str, order: dict[str, Any], with_customer: bool) -> dict[str, Any]:
    fo_id = order["fulfillment_orders"][0]["id"]
    common: dict[str, Any] = {"withCustomer": with_customer}
    return (
        common
        | {
            "AssignedFulfillmentOrders": {"first": 25},
            "FulfillmentOrdersByIds": {"ids": [fo_id]},
            "OrderFulfillmentOrders": {"id": order["id"], "first": 25},
            "FulfillmentOrdersUpdatedSince": {
                "query": "updated_at:>='2020-01-01T00:00:00Z'",
                "first": 25,
            },
            "OpenFulfillmentOrders": {"first": 25},
        }[name]
    )


def _work_orders(name: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    if name == "FulfillmentOrdersByIds":
        return [n for n in data["nodes"] if n]
    if name == "OrderFulfillmentOrders":
        nodes: list[dict[str, Any]] = data["order"]["fulfillmentOrders"]["nodes"]
        return nodes
    root = "assignedFulfillmentOrders" if name.startswith("Assigned") else "fulfillmentOrders"
    found: list[dict[str, Any]] = data[root]["nodes"]
    return found


def _check_work_order(fo: dict[str, Any], *, contact: bool) -> None:
    assert fo["status"] == "OPEN" and fo["fulfillBy"] == DEADLINE
    assert fo["fulfillAt"] is not None and fo["fulfillmentHolds"] == []
    assert fo["deliveryMethod"] == {
        "methodType": "SHIPPING",
        "presentedName": "Express",
        "serviceCode": "EXPRESS",
        "minDeliveryDateTime": WINDOW[0],
        "maxDeliveryDateTime": WINDOW[1],
    }
    order = fo["order"]
    assert order["note"] == "Please wrap it as a gift."
    assert order["tags"] == ["seeded", "single-line"]
    assert order["currencyCode"] == "USD" and order["displayFinancialStatus"] == "PAID"
    assert order["customAttributes"][0]["key"] == "gift_message"
    assert order["customAttributes"][0]["value"].startswith("Happy birthday, ")
    assert order["shippingLine"] == {"title": "Express", "code": "EXPRESS", "source": None}
    if contact:
        assert order["email"].endswith("@example.com") and order["phone"].startswith("+1613555")
    else:
        assert "email" not in order and "phone" not in order
    line = fo["lineItems"]["nodes"][0]
    assert line["sku"].startswith("FB-") and line["vendor"]
    assert line["inventoryItemId"].startswith("gid://shopify/InventoryItem/")
    assert line["image"]["url"].startswith("https://cdn.example.invalid/products/")
    assert line["weight"]["unit"] == "KILOGRAMS"
    summary = line["financialSummaries"][0]
    assert summary["quantity"] == line["totalQuantity"]
    assert summary["originalUnitPriceSet"]["shopMoney"]["currencyCode"] == "USD"
    assert float(summary["originalUnitPriceSet"]["shopMoney"]["amount"]) > 0
    assert summary["approximateDiscountedUnitPriceSet"] == summary["originalUnitPriceSet"]
    variant = line["variant"]
    assert variant["selectedOptions"] and variant["inventoryItem"]["harmonizedSystemCode"]
    assert len(variant["inventoryItem"]["countryCodeOfOrigin"]) == 2
    attributes = {a["key"]: a["value"] for a in line["lineItem"]["customAttributes"]}
    assert attributes["Engraving"].startswith("For ")
    assert attributes["_artwork_url"].startswith("https://cdn.example.invalid/artwork/")
    assert line["lineItem"]["product"]["id"].startswith("gid://shopify/Product/")


@pytest.mark.parametrize("name", WORK_READS)
def test_work_reads_serve_every_field_with_the_seeded_values(
    sandbox_server: SandboxServer, name: str
) -> None:
    shop = ShopClient(sandbox_server.url)
    order = _seeded(shop)
    text = operation(name).document
    for with_customer in (True, False):
        body = shop.raw(text, _variables(name, order, with_customer))
        assert "errors" not in body, body["errors"]
        found = _work_orders(name, body["data"])
        assert [fo["id"] for fo in found] == [order["fulfillment_orders"][0]["id"]]
        _check_work_order(found[0], contact=with_customer)
        cost = body["extensions"]["cost"]
        assert cost["requestedQueryCost"] < MAX_SINGLE_QUERY_COST


@pytest.mark.parametrize("name", WORK_READS)
def test_without_read_customers_only_with_customer_is_refused(
    sandbox_server: SandboxServer, name: str
) -> None:
    shop = add_shop(
        sandbox_server.url,
        "no-contact.myshopify.com",
        scopes_without("read_customers", "write_customers"),
    )
    order = _seeded(shop)
    text = operation(name).document
    body = shop.raw(text, _variables(name, order, with_customer=False))
    assert "errors" not in body, body["errors"]
    _check_work_order(_work_orders(name, body["data"])[0], contact=False)

    refused = shop.raw(text, _variables(name, order, with_customer=True))
    denied = sorted(e["path"][-1] for e in refused["errors"])
    assert denied == ["email", "phone"]
    assert {e["extensions"]["code"] for e in refused["errors"]} == {"ACCESS_DENIED"}
    assert "`read_customers` access scope" in refused["errors"][0]["message"]
    fo = _work_orders(name, refused["data"])[0]
    assert fo["order"]["email"] is None and fo["order"]["note"] == "Please wrap it as a gift."


def test_requested_costs_of_the_work_reads(sandbox_server: SandboxServer) -> None:
    """The figures (first: 25) as the sandbox's cost rule computes them."""
    shop = ShopClient(sandbox_server.url)
    order = _seeded(shop)
    costs = {
        name: shop.raw(operation(name).document, _variables(name, order, True))["extensions"][
            "cost"
        ]["requestedQueryCost"]
        for name in WORK_READS
    }
    assert all(cost < MAX_SINGLE_QUERY_COST for cost in costs.values()), costs
    print("requested costs:", costs)
