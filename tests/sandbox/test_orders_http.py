"""Orders through the sandbox's GraphQL endpoint: orderCreate, order(id), orders(query:)
filters, sorting and paging, orderCancel, and the webhook events they raise."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.app import SandboxASGI
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN

GRAPHQL = "/admin/api/2026-07/graphql.json"
HEADERS = {"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN}

ORDER_FIELDS = """
  id name createdAt updatedAt cancelledAt cancelReason closed email note tags
  displayFinancialStatus displayFulfillmentStatus
  totalPriceSet { shopMoney { amount currencyCode } }
  shippingAddress { firstName lastName address1 city provinceCode countryCodeV2 zip }
  billingAddress { city countryCodeV2 }
  shippingLines(first: 5) { nodes { title originalPriceSet { shopMoney { amount } } } }
  lineItems(first: 10) {
    nodes { id sku name title quantity currentQuantity requiresShipping
            variant { id sku inventoryItem { id } } }
  }
  fulfillmentOrders(first: 5) { nodes { id status requestStatus assignedLocation { name } } }
  fulfillments { id }
"""

CREATE = f"""mutation($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {{
  orderCreate(order: $order, options: $options) {{
    order {{ {ORDER_FIELDS} }}
    userErrors {{ field message }}
  }}
}}"""


class Api:
    def __init__(self, client: httpx.AsyncClient, app: SandboxASGI) -> None:
        self.client = client
        self.app = app
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.state.listeners.append(lambda topic, payload: self.events.append((topic, payload)))

    @property
    def state(self) -> Any:
        return self.app.sandbox.shops[DEFAULT_SHOP_DOMAIN].state

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.client.post(
            GRAPHQL, json={"query": query, "variables": variables or {}}, headers=HEADERS
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def order(self, **overrides: Any) -> dict[str, Any]:
        order = {
            "email": "buyer@example.com",
            "note": "gift wrap",
            "tags": ["wholesale", "b2b"],
            "shippingAddress": {
                "firstName": "Ada",
                "lastName": "Lovelace",
                "address1": "1 Analytical Way",
                "city": "Toronto",
                "provinceCode": "ON",
                "countryCode": "CA",
                "zip": "M5H 2M9",
            },
            "billingAddress": {"city": "Toronto", "countryCode": "CA"},
            "shippingLines": [
                {
                    "title": "Standard",
                    "priceSet": {"shopMoney": {"amount": "5.00", "currencyCode": "USD"}},
                }
            ],
            "lineItems": [
                {
                    "title": "Poster",
                    "sku": "POSTER-A2",
                    "quantity": 2,
                    "requiresShipping": True,
                    "priceSet": {"shopMoney": {"amount": "12.50", "currencyCode": "USD"}},
                }
            ],
            **overrides,
        }
        data = await self(CREATE, {"order": order})
        assert data["orderCreate"]["userErrors"] == []
        return data["orderCreate"]["order"]


@pytest.fixture
async def api(sandbox_app: SandboxASGI) -> Any:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"https://{DEFAULT_SHOP_DOMAIN}"
    ) as client:
        yield Api(client, sandbox_app)


async def _variant(api: Api, sku: str) -> dict[str, Any]:
    data = await api(
        """mutation($p: ProductCreateInput!) { productCreate(product: $p) {
             product { variants(first: 1) { nodes { id inventoryItem { id } } } } } }""",
        {"p": {"title": f"Product {sku}"}},
    )
    variant = data["productCreate"]["product"]["variants"]["nodes"][0]
    await api(
        """mutation($id: ID!, $sku: String) { inventoryItemUpdate(id: $id, input: {sku: $sku}) {
             userErrors { message } } }""",
        {"id": variant["inventoryItem"]["id"], "sku": sku},
    )
    return variant


async def test_order_create_and_read_back(api: Api) -> None:
    variant = await _variant(api, "MUG-RED")
    created = await api.order(
        lineItems=[
            {"variantId": variant["id"], "quantity": 3, "requiresShipping": True},
            {
                "title": "Custom engraving",
                "quantity": 1,
                "priceSet": {"shopMoney": {"amount": "4.00", "currencyCode": "USD"}},
            },
        ],
        transactions=[
            {
                "kind": "SALE",
                "status": "SUCCESS",
                "gateway": "manual",
                "amountSet": {"shopMoney": {"amount": "9.00", "currencyCode": "USD"}},
            }
        ],
    )
    assert created["name"] == "#1001"
    assert created["tags"] == ["b2b", "wholesale"]
    assert created["displayFinancialStatus"] == "PAID"
    assert created["displayFulfillmentStatus"] == "UNFULFILLED"
    assert created["totalPriceSet"]["shopMoney"] == {"amount": "9.0", "currencyCode": "USD"}
    assert created["shippingAddress"]["countryCodeV2"] == "CA"
    assert created["shippingLines"]["nodes"][0]["title"] == "Standard"
    lines = created["lineItems"]["nodes"]
    assert lines[0]["sku"] == "MUG-RED" and lines[0]["variant"]["id"] == variant["id"]
    assert lines[0]["variant"]["inventoryItem"]["id"] == variant["inventoryItem"]["id"]
    assert lines[1]["variant"] is None and lines[1]["requiresShipping"] is False
    # Custom and stocked lines share the shop's only location: one fulfillment order.
    (fo,) = created["fulfillmentOrders"]["nodes"]
    assert (fo["status"], fo["requestStatus"]) == ("OPEN", "UNSUBMITTED")
    read = await api(
        f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}", {"id": created["id"]}
    )
    assert read["order"] == created
    topics = [t for t, _ in api.events]
    assert topics.count("orders/create") == 1 and topics.count("orders/paid") == 1
    payload = next(p for t, p in api.events if t == "orders/create")
    assert payload["admin_graphql_api_id"] == created["id"]
    assert payload["id"] == int(created["id"].rsplit("/", 1)[1])
    assert payload["shipping_address"]["country_code"] == "CA"
    assert payload["line_items"][0]["sku"] == "MUG-RED"


async def test_order_create_refuses_bad_lines(api: Api) -> None:
    data = await api(CREATE, {"order": {"lineItems": [{"quantity": 1}]}})
    assert data["orderCreate"]["order"] is None
    assert data["orderCreate"]["userErrors"] == [
        {
            "field": ["order", "lineItems", "0", "title"],
            "message": "Title can't be blank for custom line items",
        }
    ]
    data = await api(
        CREATE,
        {"order": {"lineItems": [{"variantId": "gid://shopify/ProductVariant/1", "quantity": 1}]}},
    )
    assert data["orderCreate"]["userErrors"][0]["field"] == ["order", "lineItems", "0", "variantId"]


async def test_orders_query_filters_sort_and_pages(api: Api) -> None:
    first = await api.order()
    api.state.clock.advance(60)
    second = await api.order(
        transactions=[
            {
                "kind": "SALE",
                "status": "SUCCESS",
                "gateway": "manual",
                "amountSet": {"shopMoney": {"amount": "30.00", "currencyCode": "USD"}},
            }
        ]
    )
    api.state.clock.advance(60)
    third = await api.order()
    await api(
        """mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, restock: true) {
             userErrors { message } } }""",
        {"id": third["id"]},
    )

    async def names(query: str | None, **extra: Any) -> list[str]:
        data = await api(
            """query($q: String, $sort: OrderSortKeys, $rev: Boolean) {
                 orders(first: 10, query: $q, sortKey: $sort, reverse: $rev) {
                   nodes { name } } }""",
            {"q": query, **extra},
        )
        return [n["name"] for n in data["orders"]["nodes"]]

    assert await names(None, sort="ID") == ["#1001", "#1002", "#1003"]
    assert await names(f"updated_at:>'{second['updatedAt']}'", sort="ID") == ["#1003"]
    assert await names(f"updated_at:>={second['updatedAt']}", sort="ID") == ["#1002", "#1003"]
    assert await names("status:cancelled") == ["#1003"]
    assert await names("status:open", sort="ID") == ["#1001", "#1002"]
    assert await names("status:any", sort="ID") == ["#1001", "#1002", "#1003"]
    assert await names("financial_status:paid") == ["#1002"]
    assert await names("fulfillment_status:unfulfilled", sort="ID") == ["#1001", "#1002", "#1003"]
    assert await names("name:#1002") == ["#1002"]
    first_number = first["id"].rsplit("/", 1)[1]
    assert await names(f"id:>{first_number}", sort="ID") == ["#1002", "#1003"]
    # Shopify ignores a filter it does not know (Shopify docs, search syntax).
    assert await names("no_such_filter:1", sort="ID") == ["#1001", "#1002", "#1003"]
    assert await names(None, sort="UPDATED_AT", rev=True) == ["#1003", "#1002", "#1001"]
    page = await api(
        """{ orders(first: 2, sortKey: ID) {
               nodes { name } pageInfo { hasNextPage endCursor } } }"""
    )
    assert [n["name"] for n in page["orders"]["nodes"]] == ["#1001", "#1002"]
    assert page["orders"]["pageInfo"]["hasNextPage"] is True
    rest = await api(
        """query($after: String) { orders(first: 2, after: $after, sortKey: ID) {
             nodes { name } pageInfo { hasNextPage } } }""",
        {"after": page["orders"]["pageInfo"]["endCursor"]},
    )
    assert [n["name"] for n in rest["orders"]["nodes"]] == ["#1003"]
    assert rest["orders"]["pageInfo"]["hasNextPage"] is False


async def test_order_cancel_closes_and_emits(api: Api) -> None:
    order = await api.order()
    data = await api(
        """mutation($id: ID!) { orderCancel(orderId: $id, reason: FRAUD, restock: true,
             staffNote: "chargeback") { job { id done } orderCancelUserErrors { field message code }
             userErrors { field message } } }""",
        {"id": order["id"]},
    )
    result = data["orderCancel"]
    assert result["job"]["done"] is False and result["userErrors"] == []
    read = await api(
        f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}", {"id": order["id"]}
    )
    assert read["order"]["cancelReason"] == "FRAUD" and read["order"]["closed"] is True
    assert read["order"]["fulfillmentOrders"]["nodes"][0]["status"] == "CLOSED"
    cancelled = next(p for t, p in api.events if t == "orders/cancelled")
    assert cancelled["cancel_reason"] == "fraud" and cancelled["cancelled_at"] is not None
    again = await api(
        """mutation($id: ID!) { orderCancel(orderId: $id, reason: OTHER, restock: false) {
             orderCancelUserErrors { field message code } } }""",
        {"id": order["id"]},
    )
    assert again["orderCancel"]["orderCancelUserErrors"] == [
        {
            "field": ["orderId"],
            "message": "Cannot cancel an order that has already been canceled",
            "code": "INVALID",
        }
    ]


def test_order_and_fulfillment_over_real_http(sandbox_server: SandboxServer) -> None:
    url = sandbox_server.graphql_url()
    with httpx.Client(timeout=10, headers=HEADERS) as client:
        created = client.post(
            url,
            json={
                "query": CREATE,
                "variables": {
                    "order": {
                        "lineItems": [
                            {
                                "title": "Flyer",
                                "quantity": 1,
                                "requiresShipping": True,
                                "priceSet": {
                                    "shopMoney": {"amount": "1.00", "currencyCode": "USD"}
                                },
                            }
                        ]
                    }
                },
            },
        ).json()
        fo = created["data"]["orderCreate"]["order"]["fulfillmentOrders"]["nodes"][0]["id"]
        fulfilled = client.post(
            url,
            json={
                "query": """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
                    fulfillment { status displayStatus order { displayFulfillmentStatus } }
                    userErrors { field message } } }""",
                "variables": {"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}]}},
            },
        ).json()
    fulfillment = fulfilled["data"]["fulfillmentCreate"]["fulfillment"]
    assert fulfillment == {
        "status": "SUCCESS",
        "displayStatus": "FULFILLED",
        "order": {"displayFulfillmentStatus": "FULFILLED"},
    }
