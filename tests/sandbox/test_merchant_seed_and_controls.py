"""Seeding stock at a fulfillment service, the automatic-request setting and the merchant
actions: in-process on a ShopState, then the controls' answers to bad input over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.orders import (
    MerchantSettingsError,
    merchant_settings_of,
    orders_of,
)
from fulfillbridge.sandbox.domain.services import services_of
from fulfillbridge.sandbox.merchant_actions import MerchantActionError, run_merchant_action
from fulfillbridge.sandbox.seed import SeedOptionError, create_orders, seed_shop
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import DEFAULT_SHOP_DOMAIN, Sandbox
from fulfillbridge.sandbox.state import ShopState

CALLBACK = "http://127.0.0.1:9/fs"
SHOP_CONTROLS = f"/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}"


def _shop() -> tuple[ShopState, list[tuple[str, dict[str, Any]]]]:
    shop = next(iter(Sandbox().shops.values())).state
    events: list[tuple[str, dict[str, Any]]] = []
    shop.listeners.append(lambda topic, payload: events.append((topic, payload)))
    return shop, events


def _service_location(shop: ShopState, name: str = "Print Partner") -> int:
    return services_of(shop).create(name=name, app_id="1", callback_url=CALLBACK).location_id


def test_stock_at_service_routes_every_catalogue_line_to_the_service() -> None:
    shop, events = _shop()
    location = _service_location(shop)
    summary = seed_shop(shop, products=7, orders=40, seed=4, stock_at="service")
    catalog = shop.part("catalog", Catalog)
    for item in catalog.inventory_items():
        assert catalog.stocked_locations(item.id) == [location]
    assert summary["service_location_id"] == location
    assert summary["orders"] == 40 and summary["order_errors"] == []
    orders = orders_of(shop)
    for order in orders.orders.values():
        for fo in orders.fos_of(order):
            lines = [orders.line_item(order, foli.line_item_id) for foli in fo.line_items]
            at_service = fo.location_id == location
            # Catalogue lines at the service, custom lines (no variant) with the merchant.
            assert all((line.variant_id is not None) == at_service for line in lines)
            assert fo.request_status == "UNSUBMITTED"  # the setting is off by default
    assert len(summary["service_fulfillment_order_ids"]) == 40
    assert summary["order_kinds"]["unknown_sku"] > 0 and summary["order_kinds"]["no_sku"] > 0
    assert not any(topic == "__callback__" for topic, _ in events)


def test_stock_at_both_gives_orders_at_the_service_and_at_the_merchant() -> None:
    shop, _events = _shop()
    location = _service_location(shop)
    merchant_settings_of(shop).update({"auto_submit_fulfillment_requests": True})
    summary = seed_shop(shop, products=7, orders=60, seed=9, stock_at="both")
    catalog = shop.part("catalog", Catalog)
    places = [set(catalog.stocked_locations(item.id)) for item in catalog.inventory_items()]
    assert any(place == {location} for place in places)
    assert any(place and location not in place for place in places)
    mixed = [
        order
        for order in summary["created_orders"]
        if {fo["at_fulfillment_service"] for fo in order["fulfillment_orders"]} == {True, False}
    ]
    assert mixed, "no order got fulfillment orders at both the service and the merchant"
    for order in summary["created_orders"]:
        for fo in order["fulfillment_orders"]:
            expected = "SUBMITTED" if fo["at_fulfillment_service"] else "UNSUBMITTED"
            assert fo["request_status"] == expected


def test_auto_submit_runs_the_submit_path_for_each_service_order() -> None:
    shop, events = _shop()
    _service_location(shop)
    merchant_settings_of(shop).update({"auto_submit_fulfillment_requests": True})
    summary = seed_shop(shop, products=4, orders=10, seed=1, stock_at="service", variety="simple")
    submitted = [p for t, p in events if t == "fulfillment_orders/fulfillment_request_submitted"]
    callbacks = [p for t, p in events if t == "__callback__"]
    assert len(submitted) == len(callbacks) == 10
    assert {p["submitted_fulfillment_order"]["id"] for p in submitted} == set(
        summary["service_fulfillment_order_ids"]
    )
    assert callbacks[0] == {"kind": "FULFILLMENT_REQUEST", "callback_url": CALLBACK, "app_id": "1"}
    orders = orders_of(shop)
    for fo in orders.fulfillment_orders.values():
        (request,) = fo.merchant_requests
        assert (request.kind, request.message) == ("FULFILLMENT_REQUEST", None)
    # Turned off again, new orders wait for the merchant.
    merchant_settings_of(shop).update({"auto_submit_fulfillment_requests": False})
    later = create_orders(shop, 2, variety="simple")
    assert [
        fo["request_status"] for o in later["created_orders"] for fo in o["fulfillment_orders"]
    ] == [
        "UNSUBMITTED",
        "UNSUBMITTED",
    ]


def test_create_orders_uses_the_current_catalogue_and_varies_between_calls() -> None:
    shop, _events = _shop()
    seed_shop(shop, products=5, orders=0)
    first = create_orders(shop, 6)
    second = create_orders(shop, 6)
    assert first["orders"] == second["orders"] == 6
    names = [o["name"] for o in first["created_orders"] + second["created_orders"]]
    assert names == [f"#{1001 + n}" for n in range(12)]
    catalogue_skus = {
        shop.part("catalog", Catalog).sku_of(v.id) for v in shop.part("catalog", Catalog).variants()
    }
    orders = orders_of(shop)
    for entry in first["created_orders"]:
        order = orders.order(int(entry["id"].rsplit("/", 1)[1]))
        assert order is not None
        assert any(line.sku in catalogue_skus for line in order.line_items)
    assert [o["kind"] for o in first["created_orders"]] != [
        o["kind"] for o in second["created_orders"]
    ]
    with pytest.raises(SeedOptionError, match="no variant stocked"):
        create_orders(_shop()[0], 1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stock_at": "warehouse"}, "stock_at must be one of"),
        ({"stock_at": "service"}, "needs a fulfillment service location"),
        ({"service_location_id": 5}, "only applies with stock_at"),
        ({"stock_at": "service", "service_location_id": "nope"}, "must be a location id"),
        ({"stock_at": "service", "service_location_id": 999999}, "no such location"),
    ],
)
def test_bad_stock_options_are_named(options: dict[str, Any], message: str) -> None:
    shop, _events = _shop()
    with pytest.raises(SeedOptionError, match=message):
        seed_shop(shop, **options)


def test_service_location_must_be_named_when_there_are_several() -> None:
    shop, _events = _shop()
    first = _service_location(shop, "Print Partner")
    _service_location(shop, "Mug Works")
    with pytest.raises(SeedOptionError, match="several fulfillment service locations"):
        seed_shop(shop, stock_at="service", orders=0)
    merchant = min(loc.id for loc in shop.locations.values() if not loc.fulfillment_service_id)
    with pytest.raises(SeedOptionError, match="is a merchant location"):
        seed_shop(shop, stock_at="service", service_location_id=merchant)
    summary = seed_shop(
        shop,
        products=2,
        orders=3,
        stock_at="service",
        service_location_id=f"gid://shopify/Location/{first}",
    )
    assert summary["service_location_id"] == first
    assert all(
        fo["location_id"] == first
        for fo in summary["created_orders"][0]["fulfillment_orders"]
        if fo["at_fulfillment_service"]
    )


def test_settings_refuse_unknown_names_and_non_booleans() -> None:
    shop, _events = _shop()
    settings = merchant_settings_of(shop)
    with pytest.raises(MerchantSettingsError, match="unknown setting"):
        settings.update({"auto_fulfil": True})
    with pytest.raises(MerchantSettingsError, match="must be true or false"):
        settings.update({"auto_submit_fulfillment_requests": "yes"})
    assert settings.to_dict() == {"auto_submit_fulfillment_requests": False}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"action": "ship_it"}, 400, "action must be one of"),
        ({"count": 2}, 400, "action must be one of"),
        ({"action": "create_orders"}, 400, "create_orders needs count"),
        ({"action": "create_orders", "count": -1}, 400, "count must be an integer"),
        ({"action": "create_orders", "count": 1, "colour": "red"}, 400, "unknown field(s) colour"),
        ({"action": "submit_fulfillment_request"}, 400, "exactly one of"),
        (
            {
                "action": "submit_fulfillment_request",
                "fulfillment_order_id": "gid://shopify/Order/1",
            },
            400,
            "must be a FulfillmentOrder id",
        ),
        (
            {
                "action": "submit_fulfillment_request",
                "fulfillment_order_id": 1,
                "line_items": [{"id": 3}],
            },
            400,
            "line_items[0] must be",
        ),
        (
            {"action": "submit_fulfillment_request", "fulfillment_order_id": 77777},
            404,
            "no fulfillment order 77777",
        ),
        (
            {"action": "submit_cancellation_request", "fulfillment_order_id": 1, "message": 5},
            400,
            "message must be a string",
        ),
        ({"action": "cancel_order", "order_id": 1}, 400, "needs reason"),
        ({"action": "cancel_order", "order_id": 1, "reason": "BORED"}, 400, "needs reason"),
        ({"action": "cancel_order", "reason": "OTHER"}, 400, "cancel_order needs order_id"),
        ({"action": "cancel_order", "order_id": 424242, "reason": "OTHER"}, 404, "no order 424242"),
        (
            {"action": "cancel_order", "order_id": 1, "reason": "OTHER", "restock": "no"},
            400,
            "restock must be a boolean",
        ),
    ],
)
def test_merchant_control_names_bad_input(
    sandbox_server: SandboxServer, body: dict[str, Any], status: int, message: str
) -> None:
    response = httpx.post(sandbox_server.url + SHOP_CONTROLS + "/merchant", json=body, timeout=10)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_merchant_control_refuses_what_the_state_does_not_allow(
    sandbox_server: SandboxServer,
) -> None:
    seeded = httpx.post(
        sandbox_server.url + "/__sandbox/seed",
        json={"products": 2, "orders": 2, "variety": "simple"},
        timeout=30,
    ).json()["result"]
    merchant_fo = seeded["created_orders"][0]["fulfillment_orders"][0]["id"]
    order_id = seeded["created_orders"][0]["id"]
    cases = [
        # A merchant-managed fulfillment order has no service to ask (docs/shopify.md#errors-seen).
        (
            {"action": "submit_fulfillment_request", "fulfillment_order_id": merchant_fo},
            "must be of api type",
        ),
        (
            {"action": "submit_fulfillment_request", "order_id": order_id},
            "has no fulfillment order",
        ),
        (
            {"action": "submit_cancellation_request", "fulfillment_order_id": merchant_fo},
            "must be of api type",
        ),
    ]
    for body, message in cases:
        response = httpx.post(
            sandbox_server.url + SHOP_CONTROLS + "/merchant", json=body, timeout=10
        )
        assert response.status_code == 409, (body, response.text)
        assert message in response.json()["error"]
    first = httpx.post(
        sandbox_server.url + SHOP_CONTROLS + "/merchant",
        json={
            "action": "cancel_order",
            "order_id": order_id,
            "reason": "STAFF",
            "staff_note": "dup",
        },
        timeout=10,
    )
    assert first.status_code == 200, first.text
    again = httpx.post(
        sandbox_server.url + SHOP_CONTROLS + "/merchant",
        json={"action": "cancel_order", "order_id": order_id, "reason": "STAFF"},
        timeout=10,
    )
    assert again.status_code == 409
    assert again.json()["userErrors"] == [
        {"field": ["orderId"], "message": "Cannot cancel an order that has already been canceled"}
    ]


def test_controls_answer_400_and_404(sandbox_server: SandboxServer) -> None:
    url = sandbox_server.url
    cases = [
        ("/__sandbox/seed", {"stock_at": "elsewhere"}, 400, "stock_at must be one of"),
        ("/__sandbox/seed", {"stock_at": "service"}, 400, "needs a fulfillment service"),
        (
            SHOP_CONTROLS + "/settings",
            {"auto_submit_fulfillment_requests": 1},
            400,
            "true or false",
        ),
        (SHOP_CONTROLS + "/settings", {"autosubmit": True}, 400, "unknown setting(s) autosubmit"),
        (SHOP_CONTROLS + "/settings", [1], 400, "must be a JSON object"),
        (SHOP_CONTROLS + "/merchant", [1], 400, "must be a JSON object"),
        (
            "/__sandbox/shops/nowhere.myshopify.com/merchant",
            {"action": "create_orders", "count": 1},
            404,
            "no shop",
        ),
        ("/__sandbox/shops/nowhere.myshopify.com/settings", {}, 404, "no shop"),
    ]
    for path, body, status, message in cases:
        response = httpx.post(url + path, json=body, timeout=10)
        assert response.status_code == status, (path, response.text)
        assert message in response.json()["error"], (path, response.text)
    empty = httpx.post(url + SHOP_CONTROLS + "/merchant", content=b"", timeout=10)
    assert empty.status_code == 400 and "JSON body is required" in empty.json()["error"]
    # Refused changes left the settings alone.
    settings = httpx.get(url + SHOP_CONTROLS + "/settings", timeout=10).json()
    assert settings == {"settings": {"auto_submit_fulfillment_requests": False}}


def test_run_merchant_action_in_process() -> None:
    shop, events = _shop()
    location = _service_location(shop)
    seed_shop(shop, products=3, orders=0, stock_at="service")
    made = run_merchant_action(
        shop, {"action": "create_orders", "count": 6, "seed": 3, "variety": "simple"}
    )
    orders = orders_of(shop)
    fo = next(
        fo
        for fo in map(orders.require_fo, made["service_fulfillment_order_ids"])
        if fo.line_items[0].total_quantity > 1
    )
    line = fo.line_items[0]
    partial = run_merchant_action(
        shop,
        {
            "action": "submit_fulfillment_request",
            "fulfillment_order_id": fo.gid,
            "line_items": [{"id": line.gid, "quantity": 1}],
            "shipping_method": "EXPRESS",
        },
    )
    (sent,) = partial["submitted"]
    (rest,) = partial["unsubmitted"]
    assert sent["id"] == fo.gid and sent["request_status"] == "SUBMITTED"
    assert rest["request_status"] == "UNSUBMITTED" and rest["location_id"] == location
    assert line.total_quantity == 1
    assert fo.merchant_requests[0].request_options == {
        "notify_customer": False,
        "shipping_method": "EXPRESS",
    }
    with pytest.raises(MerchantActionError) as refused:
        run_merchant_action(
            shop, {"action": "submit_fulfillment_request", "fulfillment_order_id": fo.gid}
        )
    assert refused.value.status == 409
    assert [t for t, _ in events].count("__callback__") == 1
