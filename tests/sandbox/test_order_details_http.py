"""What an order carries to be made, over the sandbox's real HTTP server: orderCreate's
properties, note attributes and shipping lines, the delivery method, scheduled fulfillment
orders, pickup orders made ready, customs data, and metafields with metaobjects."""

from __future__ import annotations

from typing import Any

from tests.sandbox._shop_client import ShopClient

from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import DEFAULT_SHOP_DOMAIN

CREATE = """mutation($order: OrderCreateOrderInput!) {
  orderCreate(order: $order) {
    order {
      id note tags email phone displayFinancialStatus currencyCode
      customAttributes { key value }
      shippingLine { title code source }
      lineItems(first: 5) { nodes { vendor customAttributes { key value } } }
      fulfillmentOrders(first: 5) { nodes { id status
        deliveryMethod { methodType presentedName serviceCode }
        lineItems(first: 5) { nodes { id weight { unit value } financialSummaries {
          quantity originalUnitPriceSet { shopMoney { amount currencyCode } } } } } } }
    }
    userErrors { field message }
  }
}"""
FO = """query($id: ID!) { fulfillmentOrder(id: $id) { id status fulfillAt
  deliveryMethod { methodType } fulfillments(first: 5) { nodes { displayStatus status } } } }"""


def _shop(server: SandboxServer, **seed: Any) -> ShopClient:
    shop = ShopClient(server.url)
    if seed:
        shop.seed(**seed)
    return shop


def _events(server: SandboxServer) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    state = server.sandbox.shops[DEFAULT_SHOP_DOMAIN].state
    state.listeners.append(lambda topic, payload: seen.append((topic, payload)))
    return seen


def _custom_order(**overrides: Any) -> dict[str, Any]:
    order = {
        "email": "ada@example.com",
        "phone": "+16135550100",
        "note": "Leave at the door",
        "tags": ["vip", "engraved"],
        "financialStatus": "PENDING",
        "customAttributes": [{"key": "gift_message", "value": "Happy birthday!"}],
        "shippingLines": [
            {
                "title": "Express",
                "code": "EXPRESS",
                "source": "carrier",
                "priceSet": {"shopMoney": {"amount": "15.00", "currencyCode": "EUR"}},
            }
        ],
        "lineItems": [
            {
                "title": "Engraved ring",
                "quantity": 2,
                "sku": "RING-1",
                "vendor": "Silver Works",
                "requiresShipping": True,
                "weight": {"unit": "GRAMS", "value": 12.5},
                "priceSet": {"shopMoney": {"amount": "40.00", "currencyCode": "EUR"}},
                "properties": [
                    {"name": "Engraving", "value": "A & B"},
                    {"name": "_artwork_url", "value": "https://cdn.example.invalid/a.png"},
                ],
            }
        ],
    }
    return order | overrides


def test_order_create_keeps_what_the_buyer_gave(sandbox_server: SandboxServer) -> None:
    shop = _shop(sandbox_server)
    created = shop(CREATE, {"order": _custom_order()})["orderCreate"]
    assert created["userErrors"] == []
    order = created["order"]
    assert (order["note"], order["email"], order["phone"]) == (
        "Leave at the door",
        "ada@example.com",
        "+16135550100",
    )
    assert order["tags"] == ["engraved", "vip"] and order["currencyCode"] == "EUR"
    assert order["displayFinancialStatus"] == "PENDING"
    assert order["customAttributes"] == [{"key": "gift_message", "value": "Happy birthday!"}]
    assert order["shippingLine"] == {"title": "Express", "code": "EXPRESS", "source": "carrier"}
    line = order["lineItems"]["nodes"][0]
    assert line["vendor"] == "Silver Works"
    assert line["customAttributes"] == [
        {"key": "Engraving", "value": "A & B"},
        {"key": "_artwork_url", "value": "https://cdn.example.invalid/a.png"},
    ]
    fo = order["fulfillmentOrders"]["nodes"][0]
    assert fo["deliveryMethod"] == {
        "methodType": "SHIPPING",
        "presentedName": "Express",
        "serviceCode": "EXPRESS",
    }
    foli = fo["lineItems"]["nodes"][0]
    assert foli["weight"] == {"unit": "GRAMS", "value": 12.5}
    assert foli["financialSummaries"] == [
        {
            "quantity": 2,
            "originalUnitPriceSet": {"shopMoney": {"amount": "40.0", "currencyCode": "EUR"}},
        }
    ]


def test_pickup_and_local_lines_set_the_delivery_method(sandbox_server: SandboxServer) -> None:
    shop = _shop(sandbox_server)
    for code, expected in (("PICKUP", "PICK_UP"), ("LOCAL_DELIVERY", "LOCAL")):
        line = {
            "title": "Collect",
            "code": code,
            "priceSet": {"shopMoney": {"amount": "0.00", "currencyCode": "EUR"}},
        }
        order = shop(CREATE, {"order": _custom_order(shippingLines=[line])})["orderCreate"]
        fo = order["order"]["fulfillmentOrders"]["nodes"][0]
        assert fo["deliveryMethod"]["methodType"] == expected


def test_email_and_phone_need_read_customers(sandbox_server: SandboxServer) -> None:
    from tests.sandbox._shop_client import add_shop, scopes_without

    shop = add_shop(
        sandbox_server.url,
        "private.myshopify.com",
        scopes_without("read_customers", "write_customers"),
    )
    created = shop.raw(CREATE, {"order": _custom_order()})
    # The order is made; only its contact fields are withheld in the answer.
    assert created["data"]["orderCreate"]["order"]["note"] == "Leave at the door"
    assert [e["path"][-1] for e in created["errors"]] == ["email", "phone"]
    body = shop.raw(
        "query($q: String) { orders(first: 1, query: $q) { nodes { note email phone } } }",
        {"q": None},
    )
    assert body["data"]["orders"]["nodes"] == [
        {"note": "Leave at the door", "email": None, "phone": None}
    ]
    assert [e["extensions"]["code"] for e in body["errors"]] == ["ACCESS_DENIED"] * 2
    assert body["errors"][0]["message"] == (
        "Access denied for email field. Required access: `read_customers` access scope."
    )


def test_a_future_fulfill_at_schedules_until_the_clock_passes_it(
    sandbox_server: SandboxServer,
) -> None:
    shop = _shop(sandbox_server, products=3, orders=0)
    events = _events(sandbox_server)
    now = sandbox_server.sandbox.clock.now()
    made = shop.merchant(
        action="create_orders",
        count=2,
        variety="simple",
        fulfill_at=(now.replace(microsecond=0) + _hours(2)).isoformat(),
    )
    first, second = (o["fulfillment_orders"][0]["id"] for o in made["created_orders"])
    assert shop(FO, {"id": first})["fulfillmentOrder"]["status"] == "SCHEDULED"

    early = shop(
        "mutation($id: ID!) { fulfillmentOrderOpen(id: $id) { fulfillmentOrder { status } "
        "userErrors { field message } } }",
        {"id": second},
    )["fulfillmentOrderOpen"]
    assert early == {"fulfillmentOrder": {"status": "OPEN"}, "userErrors": []}
    rescheduled = shop(
        "mutation($id: ID!, $at: DateTime!) { fulfillmentOrderReschedule(id: $id, fulfillAt: $at)"
        " { fulfillmentOrder { id } userErrors { field message } } }",
        {"id": second, "at": "2040-01-01T00:00:00Z"},
    )["fulfillmentOrderReschedule"]
    assert rescheduled == {
        "fulfillmentOrder": None,
        "userErrors": [{"field": None, "message": "Fulfillment order must be scheduled."}],
    }
    later = shop(
        "mutation($id: ID!, $at: DateTime!) { fulfillmentOrderReschedule(id: $id, fulfillAt: $at)"
        " { fulfillmentOrder { status fulfillAt } userErrors { message } } }",
        {"id": first, "at": (now + _hours(3)).strftime("%Y-%m-%dT%H:%M:%SZ")},
    )["fulfillmentOrderReschedule"]
    assert later["fulfillmentOrder"]["status"] == "SCHEDULED"

    shop.advance_clock(2.5 * 3600)
    assert shop(FO, {"id": first})["fulfillmentOrder"]["status"] == "SCHEDULED"
    shop.advance_clock(3600)
    assert shop(FO, {"id": first})["fulfillmentOrder"]["status"] == "OPEN"
    ready = [
        p["fulfillment_order"]["id"]
        for t, p in events
        if t == "fulfillment_orders/scheduled_fulfillment_order_ready"
    ]
    assert ready == [second, first]


def _hours(n: float) -> Any:
    from datetime import timedelta

    return timedelta(hours=n)


def test_pickup_orders_are_made_ready_and_others_refused(sandbox_server: SandboxServer) -> None:
    shop = _shop(sandbox_server, products=3, orders=0)
    pickup = shop.merchant(action="create_orders", count=1, variety="simple", delivery="pickup")
    shipped = shop.merchant(action="create_orders", count=1, variety="simple")
    pickup_fo = pickup["created_orders"][0]["fulfillment_orders"][0]["id"]
    shipping_fo = shipped["created_orders"][0]["fulfillment_orders"][0]["id"]
    prepare = """mutation($input: FulfillmentOrderLineItemsPreparedForPickupInput!) {
      fulfillmentOrderLineItemsPreparedForPickup(input: $input) {
        userErrors { field message code } } }"""

    def run(*ids: str) -> list[dict[str, Any]]:
        entries = [{"fulfillmentOrderId": i} for i in ids]
        answer = shop(prepare, {"input": {"lineItemsByFulfillmentOrder": entries}})
        errors: list[dict[str, Any]] = answer["fulfillmentOrderLineItemsPreparedForPickup"][
            "userErrors"
        ]
        return errors

    refused = run(pickup_fo, shipping_fo)
    number = shipping_fo.rsplit("/", 1)[1]
    assert refused == [
        {
            "field": ["input", "lineItemsByFulfillmentOrder", "1", "fulfillmentOrderId"],
            "message": f"Invalid fulfillment_order_id provided {number}",
            "code": "FULFILLMENT_ORDER_INVALID",
        }
    ]
    assert shop(FO, {"id": pickup_fo})["fulfillmentOrder"]["status"] == "OPEN"  # all or none

    assert run(pickup_fo) == []
    ready = shop(FO, {"id": pickup_fo})["fulfillmentOrder"]
    assert ready["deliveryMethod"] == {"methodType": "PICK_UP"}
    assert ready["status"] == "CLOSED"
    assert ready["fulfillments"]["nodes"] == [
        {"displayStatus": "READY_FOR_PICKUP", "status": "SUCCESS"}
    ]
    again = run(pickup_fo)
    assert [e["code"] for e in again] == ["NO_LINE_ITEMS_TO_PREPARE_FOR_FULFILLMENT_ORDER"]


def test_seed_options_are_checked(sandbox_server: SandboxServer) -> None:
    shop = _shop(sandbox_server, products=2, orders=0)
    bad = shop.merchant(status=400, action="create_orders", count=1, delivery="drone")
    assert "delivery must be one of" in bad["error"]
    bad = shop.merchant(status=400, action="create_orders", count=1, fulfill_by="tomorrow")
    assert "fulfill_by must be an ISO 8601 time" in bad["error"]
    unpaid = shop.merchant(action="create_orders", count=1, payment_pending=True)
    order = shop(
        "query($id: ID!) { order(id: $id) { displayFinancialStatus } }",
        {"id": unpaid["created_orders"][0]["id"]},
    )
    assert order["order"]["displayFinancialStatus"] == "PENDING"


def test_customs_data_through_inventory_item_update(sandbox_server: SandboxServer) -> None:
    shop = _shop(sandbox_server, products=1, orders=0)
    variant = shop(
        "{ productVariants(first: 1) { nodes { id inventoryItem { id harmonizedSystemCode "
        "countryCodeOfOrigin } product { featuredMedia { id } } } } }"
    )["productVariants"]["nodes"][0]
    assert variant["inventoryItem"]["harmonizedSystemCode"] == "610910"
    assert variant["inventoryItem"]["countryCodeOfOrigin"] == "PT"
    updated = shop(
        "mutation($id: ID!) { inventoryItemUpdate(id: $id, input: {harmonizedSystemCode: "
        '"620520", countryCodeOfOrigin: IT}) { inventoryItem { harmonizedSystemCode '
        "countryCodeOfOrigin } userErrors { message } } }",
        {"id": variant["inventoryItem"]["id"]},
    )["inventoryItemUpdate"]
    assert updated == {
        "inventoryItem": {"harmonizedSystemCode": "620520", "countryCodeOfOrigin": "IT"},
        "userErrors": [],
    }


SET = """mutation($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) {
  metafields { namespace key type value } userErrors { field message code } } }"""
READ = """query($id: ID!, $keys: [String!]) { order(id: $id) {
  metafields(first: 10, keys: $keys) { nodes { namespace key type value
    reference { ... on Metaobject { id handle type fields { key type value } } } } }
  metafield(namespace: "custom", key: "size") { value } } }"""


def test_metafields_and_metaobject_references(sandbox_server: SandboxServer) -> None:
    shop = _shop(sandbox_server, products=1, orders=1)
    order_id = shop("{ orders(first: 1) { nodes { id } } }")["orders"]["nodes"][0]["id"]
    product_id = shop("{ products(first: 1) { nodes { id } } }")["products"]["nodes"][0]["id"]
    definition = shop(
        """mutation { metaobjectDefinitionCreate(definition: {type: "recipe", name: "Recipe",
             displayNameKey: "name", fieldDefinitions: [
               {key: "name", type: "single_line_text_field", required: true},
               {key: "steps", type: "json"}]}) {
             metaobjectDefinition { type fieldDefinitions { key } } userErrors { message } } }"""
    )["metaobjectDefinitionCreate"]
    assert definition["userErrors"] == []
    created = shop(
        """mutation { metaobjectCreate(metaobject: {type: "recipe", fields: [
             {key: "name", value: "Gold foil"}, {key: "steps", value: "[1, 2]"}]}) {
             metaobject { id handle displayName } userErrors { message } } }"""
    )["metaobjectCreate"]["metaobject"]
    assert created["handle"] == "gold-foil" and created["displayName"] == "Gold foil"

    written = shop(
        SET,
        {
            "m": [
                {
                    "ownerId": order_id,
                    "namespace": "custom",
                    "key": "recipe",
                    "type": "metaobject_reference",
                    "value": created["id"],
                },
                {
                    "ownerId": order_id,
                    "namespace": "custom",
                    "key": "size",
                    "type": "number_integer",
                    "value": "42",
                },
                {
                    "ownerId": product_id,
                    "namespace": "custom",
                    "key": "care",
                    "type": "multi_line_text_field",
                    "value": "Wash cold\nNo dryer",
                },
            ]
        },
    )["metafieldsSet"]
    assert written["userErrors"] == [] and len(written["metafields"]) == 3

    read = shop(READ, {"id": order_id, "keys": ["custom.recipe"]})["order"]
    assert read["metafield"] == {"value": "42"}
    [recipe] = read["metafields"]["nodes"]
    assert recipe["reference"] == {
        "id": created["id"],
        "handle": "gold-foil",
        "type": "recipe",
        "fields": [
            {"key": "name", "type": "single_line_text_field", "value": "Gold foil"},
            {"key": "steps", "type": "json", "value": "[1, 2]"},
        ],
    }
    product = shop(
        "query($id: ID!) { product(id: $id) { metafields(first: 5) { nodes { key value } } } }",
        {"id": product_id},
    )["product"]
    assert product["metafields"]["nodes"] == [{"key": "care", "value": "Wash cold\nNo dryer"}]

    deleted = shop(
        "mutation($id: ID!) { metaobjectDelete(id: $id) { deletedId userErrors { message } } }",
        {"id": created["id"]},
    )["metaobjectDelete"]
    assert deleted == {"deletedId": created["id"], "userErrors": []}
    gone = shop(READ, {"id": order_id, "keys": ["custom.recipe"]})["order"]
    [recipe] = gone["metafields"]["nodes"]
    assert recipe["value"] == created["id"] and recipe["reference"] is None


def test_metafield_and_metaobject_user_errors(sandbox_server: SandboxServer) -> None:
    shop = _shop(sandbox_server, products=1, orders=1)
    order_id = shop("{ orders(first: 1) { nodes { id } } }")["orders"]["nodes"][0]["id"]

    def one(type_name: str | None, value: str, key: str = "thing") -> list[dict[str, Any]]:
        entry = {"ownerId": order_id, "namespace": "custom", "key": key, "value": value}
        if type_name is not None:
            entry["type"] = type_name
        answer = shop(SET, {"m": [entry]})["metafieldsSet"]
        assert answer["metafields"] is None
        errors: list[dict[str, Any]] = answer["userErrors"]
        return errors

    assert one("number_integer", "4.5")[0] == {
        "field": ["metafields", "0", "value"],
        "message": "Value must be an integer.",
        "code": "INVALID_VALUE",
    }
    assert one("single_line_text_field", "two\nlines")[0]["code"] == "INVALID_VALUE"
    assert one("json", "{nope")[0]["message"] == "Value must be valid JSON."
    assert one("url", "ftp://example.invalid/x")[0]["code"] == "INVALID_VALUE"
    assert one("metaobject_reference", "gid://shopify/Metaobject/1")[0]["code"] == ("INVALID_VALUE")
    assert one("no_such_type", "x")[0]["code"] == "INVALID_TYPE"
    assert one(None, "x")[0] == {
        "field": ["metafields", "0", "type"],
        "message": "Type can't be blank.",
        "code": "BLANK",
    }
    assert one("single_line_text_field", "x", key="k")[0]["code"] == "TOO_SHORT"
    unknown = shop(
        SET,
        {
            "m": [
                {
                    "ownerId": "gid://shopify/Order/999999",
                    "key": "thing",
                    "type": "boolean",
                    "value": "true",
                }
            ]
        },
    )["metafieldsSet"]["userErrors"]
    assert unknown == [
        {
            "field": ["metafields", "0", "ownerId"],
            "message": "Owner does not exist.",
            "code": "INVALID",
        }
    ]
    undefined = shop(
        'mutation { metaobjectCreate(metaobject: {type: "nope", fields: []}) '
        "{ metaobject { id } userErrors { field message code } } }"
    )["metaobjectCreate"]
    assert undefined["userErrors"][0]["code"] == "UNDEFINED_OBJECT_TYPE"
    shop(
        'mutation { metaobjectDefinitionCreate(definition: {type: "badge", fieldDefinitions: '
        '[{key: "label", type: "single_line_text_field", required: true}]}) '
        "{ userErrors { message } } }"
    )
    missing = shop(
        'mutation { metaobjectCreate(metaobject: {type: "badge", fields: []}) '
        "{ metaobject { id } userErrors { field message code } } }"
    )["metaobjectCreate"]["userErrors"]
    assert [e["code"] for e in missing] == ["OBJECT_FIELD_REQUIRED"]
    not_found = shop(
        'mutation { metaobjectDelete(id: "gid://shopify/Metaobject/5") '
        "{ deletedId userErrors { field message code } } }"
    )["metaobjectDelete"]
    assert not_found == {
        "deletedId": None,
        "userErrors": [
            {"field": ["id"], "message": "Record not found", "code": "RECORD_NOT_FOUND"}
        ],
    }
