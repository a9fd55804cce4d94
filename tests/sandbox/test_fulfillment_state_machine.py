"""The fulfillment-order state machine of the sandbox's order domain (no HTTP).

Transitions follow docs/shopify.md#fulfillment-order-state-machine and the captures named in
each test; these tests drive the pure domain part directly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fulfillbridge.sandbox.clock import SandboxClock
from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.orders import (
    NotFound,
    Orders,
    OrderUserErrors,
    create_order,
    fulfill_order,
    orders_of,
)
from fulfillbridge.sandbox.domain.services import services_of
from fulfillbridge.sandbox.state import Location, ShopState, gid

APP = "1"


@pytest.fixture
def shop() -> ShopState:
    state = ShopState(domain="unit.myshopify.com", name="Unit", plan="Basic", clock=SandboxClock())
    state.clock.freeze()
    first = state.next_id()
    state.locations[first] = Location(id=first, name="Shop location")
    return state


@pytest.fixture
def events(shop: ShopState) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(topic: str, payload: dict[str, Any]) -> None:
        # Webhook bodies are sent as JSON: every payload must serialise as it is.
        json.dumps(payload)
        seen.append((topic, payload))

    shop.listeners.append(record)
    return seen


def _custom_order(shop: ShopState, quantity: int = 2, **extra: Any) -> Any:
    return create_order(
        shop,
        {
            "email": "buyer@example.com",
            "lineItems": [
                {
                    "title": "Poster",
                    "sku": "POSTER-1",
                    "quantity": quantity,
                    "requiresShipping": True,
                    "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "USD"}},
                }
            ],
            **extra,
        },
    )


def _service_fo(shop: ShopState, quantity: int = 3) -> tuple[Orders, Any]:
    """An order whose only line is stocked at a fulfillment-service location."""
    service = services_of(shop).create(
        name="Print Partner", app_id=APP, callback_url="http://127.0.0.1:9/cb"
    )
    catalog = shop.part("catalog", Catalog)
    product = catalog.create_product("Mug", default_variant=False)
    variant = catalog.add_variant(product.id, sku="MUG-1", tracked=True, price="12.00")
    catalog.activate(variant.inventory_item_id, service.location_id, available=50)
    order = create_order(
        shop,
        {"lineItems": [{"variantId": variant.gid, "quantity": quantity}]},
        {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
    )
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    assert fo.location_id == service.location_id
    return orders, fo


def _errors(exc: pytest.ExceptionInfo[OrderUserErrors]) -> list[tuple[Any, str]]:
    return [(e.field, e.message) for e in exc.value.errors]


def test_new_order_has_one_open_unsubmitted_fulfillment_order(shop, events) -> None:
    order = _custom_order(shop)
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    assert (fo.status, fo.request_status) == ("OPEN", "UNSUBMITTED")
    assert order.name == "#1001"
    assert fo.fulfill_at is not None and fo.fulfill_at.endswith(":00:00Z")
    assert orders.supported_actions(fo) == [
        "CREATE_FULFILLMENT",
        "REPORT_PROGRESS",
        "MOVE",
        "HOLD",
        "SPLIT",
    ]
    topics = [t for t, _ in events]
    assert topics[0] == "orders/create"
    assert "fulfillment_orders/order_routing_complete" in topics
    payload = events[0][1]
    assert payload["id"] == order.id and payload["admin_graphql_api_id"] == order.gid
    assert payload["line_items"][0]["sku"] == "POSTER-1"


def test_paid_order_emits_orders_paid(shop, events) -> None:
    _custom_order(
        shop,
        transactions=[
            {
                "kind": "SALE",
                "status": "SUCCESS",
                "gateway": "manual",
                "amountSet": {"shopMoney": {"amount": "20.00", "currencyCode": "USD"}},
            }
        ],
    )
    assert [t for t, _ in events][:2] == ["orders/create", "orders/paid"]


def test_fulfillment_closes_fulfillment_order_and_fulfils_order(shop, events) -> None:
    order = _custom_order(shop)
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    first = orders.create_fulfillment(
        {
            "lineItemsByFulfillmentOrder": [
                {
                    "fulfillmentOrderId": fo.gid,
                    "fulfillmentOrderLineItems": [{"id": fo.line_items[0].gid, "quantity": 1}],
                }
            ],
            "trackingInfo": {"number": "1Z1", "company": "UPS"},
        }
    )
    assert fo.status == "IN_PROGRESS"
    assert orders.display_fulfillment_status(order) == "PARTIALLY_FULFILLED"
    orders.create_fulfillment({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo.gid}]})
    assert fo.status == "CLOSED" and fo.remaining() == 0
    assert orders.display_fulfillment_status(order) == "FULFILLED"
    assert first.name == "#1001.1" and first.tracking[0].number == "1Z1"
    topics = [t for t, _ in events]
    assert "fulfillments/create" in topics and "orders/fulfilled" in topics
    # A closed fulfillment order cannot be fulfilled again (capture fulfillment-create-
    # preconditions "closed").
    with pytest.raises(OrderUserErrors) as exc:
        orders.create_fulfillment({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo.gid}]})
    assert _errors(exc) == [
        (["fulfillment"], f"Fulfillment order {fo.id} has an unfulfillable status= closed.")
    ]


def test_fulfillment_input_errors(shop) -> None:
    order = _custom_order(shop, quantity=1)
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    line = fo.line_items[0].gid

    def attempt(quantity: int) -> list[tuple[Any, str]]:
        with pytest.raises(OrderUserErrors) as exc:
            orders.create_fulfillment(
                {
                    "lineItemsByFulfillmentOrder": [
                        {
                            "fulfillmentOrderId": fo.gid,
                            "fulfillmentOrderLineItems": [{"id": line, "quantity": quantity}],
                        }
                    ]
                }
            )
        return _errors(exc)

    assert attempt(0) == [
        (
            [
                "fulfillment",
                "lineItemsByFulfillmentOrder",
                "0",
                "fulfillmentOrderLineItems",
                "0",
                "quantity",
            ],
            "Quantity must be greater than 0",
        )
    ]
    assert attempt(2) == [
        (["fulfillment"], "Invalid fulfillment order line item quantity requested.")
    ]
    with pytest.raises(OrderUserErrors) as exc:
        orders.create_fulfillment(
            {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": gid("FulfillmentOrder", 9)}]}
        )
    assert _errors(exc) == [(["fulfillment"], "Fulfillment order does not exist.")]
    assert fo.remaining() == 1  # nothing changed


def test_partial_hold_splits_and_release_merges_back(shop, events) -> None:
    # Capture fulfillment-order-lifecycle "holdRelease".
    order = _custom_order(shop, quantity=2)
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    hold, held, remainder = orders.hold(
        fo,
        {
            "reason": "OTHER",
            "handle": "h1",
            "fulfillmentOrderLineItems": [{"id": fo.line_items[0].gid, "quantity": 1}],
        },
        APP,
    )
    assert held is fo and fo.status == "ON_HOLD" and fo.remaining() == 1
    assert remainder is not None and remainder.status == "OPEN" and remainder.remaining() == 1
    assert orders.supported_actions(fo) == ["RELEASE_HOLD", "HOLD", "MOVE"]
    line = order.line_items[0]
    assert orders.fulfillable_quantity(line, order) == 1
    assert hold.display_reason == "Other"
    orders.release_hold(fo, [hold.gid], APP)
    assert fo.status == "OPEN" and fo.remaining() == 2
    assert remainder.status == "CLOSED" and remainder.remaining() == 0
    topics = [t for t, _ in events]
    assert "fulfillment_orders/placed_on_hold" in topics
    assert "fulfillment_orders/hold_released" in topics


def test_hold_validation_rules(shop) -> None:
    # Capture fulfillment-order-hold-validation.
    order = _custom_order(shop, quantity=5)
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    line = fo.line_items[0].gid
    orders.hold(
        fo,
        {
            "reason": "OTHER",
            "handle": "a1",
            "fulfillmentOrderLineItems": [{"id": line, "quantity": 2}],
        },
        APP,
    )
    with pytest.raises(OrderUserErrors) as exc:
        orders.hold(fo, {"reason": "OTHER", "handle": "a1"}, APP)
    assert exc.value.errors[0].code == "DUPLICATE_FULFILLMENT_HOLD_HANDLE"
    with pytest.raises(OrderUserErrors) as exc:
        orders.hold(
            fo,
            {
                "reason": "OTHER",
                "handle": "a2",
                "fulfillmentOrderLineItems": [{"id": line, "quantity": 1}],
            },
            APP,
        )
    assert exc.value.errors[0].code == "FULFILLMENT_ORDER_NOT_SPLITTABLE"
    for n in range(2, 11):
        orders.hold(fo, {"reason": "OTHER", "handle": f"a{n}"}, APP)
    assert len(fo.holds) == 10
    with pytest.raises(OrderUserErrors) as exc:
        orders.hold(fo, {"reason": "OTHER", "handle": "a11"}, APP)
    assert exc.value.errors[0].code == "FULFILLMENT_ORDER_HOLD_LIMIT_REACHED"
    # Another app has its own allowance of ten.
    orders.hold(fo, {"reason": "OTHER", "handle": "a11"}, "2")
    with pytest.raises(OrderUserErrors) as exc:
        orders.hold(
            fo,
            {"reason": "OTHER", "fulfillmentOrderLineItems": [{"id": line, "quantity": 0}]},
            APP,
        )
    assert exc.value.errors[0].code == "GREATER_THAN_ZERO"


def test_report_progress_open_and_cancel(shop) -> None:
    # Capture fulfillment-order-lifecycle "scheduleProgressOpenClose" and "reroute".
    order = _custom_order(shop, quantity=1)
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    orders.report_progress(fo, "picking")
    assert fo.status == "IN_PROGRESS"
    assert orders.display_fulfillment_status(order) == "IN_PROGRESS"
    with pytest.raises(OrderUserErrors) as exc:
        orders.cancel_fo(fo)
    assert _errors(exc) == [
        (
            ["id"],
            "Cannot cancel fulfillment order that has had progress reported. "
            "Mark as unfulfilled first.",
        )
    ]
    orders.mark_open(fo)
    with pytest.raises(OrderUserErrors) as exc:
        orders.mark_open(fo)
    assert _errors(exc) == [
        (None, "Expected fulfillment order status to be valid but it was open.")
    ]
    with pytest.raises(OrderUserErrors) as exc:
        orders.close(fo, "give up")
    assert _errors(exc) == [
        (None, "The fulfillment order's assigned fulfillment service must be of api type")
    ]
    closed, replacement = orders.cancel_fo(fo)
    assert closed.status == "CLOSED" and closed.line_items == []
    assert replacement is not None and replacement.status == "OPEN" and replacement.remaining() == 1
    with pytest.raises(OrderUserErrors) as exc:
        orders.cancel_fo(fo)
    assert _errors(exc) == [
        (None, "Fulfillment order is not in cancelable request state and can't be canceled.")
    ]


def test_move_split_merge_and_deadline(shop) -> None:
    second = shop.next_id()
    shop.locations[second] = Location(id=second, name="Warehouse B")
    order = _custom_order(shop, quantity=3)
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    moved, original, remaining = orders.move(
        fo, gid("Location", second), [{"id": fo.line_items[0].gid, "quantity": 1}]
    )
    assert moved is not fo and moved.location_id == second and moved.remaining() == 1
    assert original is fo and remaining is fo and fo.remaining() == 2
    kept, created = orders.split(fo, [{"id": fo.line_items[0].gid, "quantity": 1}], 0)
    assert kept.remaining() == 1 and created.remaining() == 1
    assert "MERGE" in orders.supported_actions(kept)
    merged = orders.merge(
        [{"fulfillmentOrderId": kept.gid}, {"fulfillmentOrderId": created.gid}], 0
    )
    assert merged is kept and kept.remaining() == 2 and created.status == "CLOSED"
    orders.set_deadline([kept], "2026-07-14T12:22:11.690Z")
    assert kept.fulfill_by == "2026-07-14T12:22:11Z"
    with pytest.raises(OrderUserErrors) as exc:
        orders.reschedule(kept, "2026-07-14T12:00:00Z")
    assert _errors(exc) == [(None, "Fulfillment order must be scheduled.")]
    # Moving an untouched fulfillment order moves it whole.
    whole, _, rest = orders.move(
        moved, gid("Location", shop.locations and min(shop.locations)), None
    )
    assert whole is moved and rest is None


def test_unknown_fulfillment_order_is_not_found(shop) -> None:
    with pytest.raises(NotFound) as exc:
        orders_of(shop).require_fo("gid://shopify/FulfillmentOrder/0")
    assert str(exc.value) == "Invalid id: gid://shopify/FulfillmentOrder/0"


def test_service_request_accept_and_fulfil(shop, events) -> None:
    orders, fo = _service_fo(shop, quantity=3)
    catalog = shop.part("catalog", Catalog)
    line = orders.order_of(fo).line_items[0]
    assert line.inventory_item_id is not None
    assert catalog.quantity(line.inventory_item_id, fo.location_id, "committed") == 3
    _original, _submitted, unsubmitted = orders.submit_fulfillment_request(
        fo,
        message="please",
        notify_customer=False,
        lines=[{"id": fo.line_items[0].gid, "quantity": 2}],
    )
    assert (fo.status, fo.request_status) == ("OPEN", "SUBMITTED") and fo.remaining() == 2
    assert unsubmitted is not None
    assert (unsubmitted.status, unsubmitted.request_status) == ("OPEN", "UNSUBMITTED")
    assert fo.merchant_requests[0].kind == "FULFILLMENT_REQUEST"
    assert orders.assignment_status(fo) == "FULFILLMENT_REQUESTED"
    callbacks = [p for t, p in events if t == "__callback__"]
    assert callbacks == [
        {"kind": "FULFILLMENT_REQUEST", "callback_url": "http://127.0.0.1:9/cb", "app_id": APP}
    ]
    submitted_event = next(p for t, p in events if t.endswith("fulfillment_request_submitted"))
    assert submitted_event["unsubmitted_fulfillment_order"]["id"] == unsubmitted.gid
    orders.accept_fulfillment_request(fo, "ok")
    assert (fo.status, fo.request_status) == ("IN_PROGRESS", "ACCEPTED")
    orders.create_fulfillment({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo.gid}]})
    assert fo.status == "CLOSED"
    # Fulfilled units leave on_hand and committed (50 on hand, 2 shipped).
    assert catalog.quantity(line.inventory_item_id, fo.location_id, "on_hand") == 48
    assert catalog.quantity(line.inventory_item_id, fo.location_id, "committed") == 1


def test_service_reject_cancellation_and_close(shop, events) -> None:
    orders, fo = _service_fo(shop, quantity=1)
    orders.submit_fulfillment_request(fo, message=None, notify_customer=None, lines=None)
    orders.reject_fulfillment_request(fo, "no stock", "INVENTORY_OUT_OF_STOCK")
    assert (fo.status, fo.request_status) == ("OPEN", "REJECTED")
    orders.submit_fulfillment_request(fo, message=None, notify_customer=None, lines=None)
    orders.accept_fulfillment_request(fo, None)
    orders.submit_cancellation_request(fo, "customer changed mind")
    # Shopify keeps the request status; the request shows as a merchant request.
    assert (fo.status, fo.request_status) == ("IN_PROGRESS", "ACCEPTED")
    assert fo.cancellation_pending
    assert [r.kind for r in fo.merchant_requests][-1] == "CANCELLATION_REQUEST"
    assert [p["kind"] for t, p in events if t == "__callback__"][-1] == "CANCELLATION_REQUEST"
    orders.reject_cancellation_request(fo, "already packed")
    assert (fo.status, fo.request_status) == ("IN_PROGRESS", "CANCELLATION_REJECTED")
    orders.close(fo, "cannot finish")
    assert (fo.status, fo.request_status) == ("INCOMPLETE", "CLOSED")


def test_service_accept_cancellation(shop) -> None:
    orders, fo = _service_fo(shop, quantity=1)
    orders.submit_fulfillment_request(fo, message=None, notify_customer=None, lines=None)
    with pytest.raises(OrderUserErrors):
        orders.submit_cancellation_request(fo, None)  # not accepted yet
    orders.accept_fulfillment_request(fo, None)
    orders.submit_cancellation_request(fo, None)
    orders.accept_cancellation_request(fo, None)
    assert (fo.status, fo.request_status) == ("CLOSED", "CANCELLATION_ACCEPTED")


def test_submit_to_merchant_location_is_refused(shop) -> None:
    order = _custom_order(shop, quantity=1)
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    with pytest.raises(OrderUserErrors) as exc:
        orders.submit_fulfillment_request(fo, message=None, notify_customer=None, lines=None)
    assert _errors(exc) == [
        (None, "The fulfillment order's assigned fulfillment service must be of api type")
    ]


def test_cancel_and_fulfillment_events(shop, events) -> None:
    order = _custom_order(shop, quantity=1)
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    fulfillment = orders.create_fulfillment(
        {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo.gid}]}
    )
    orders.create_event(
        {
            "fulfillmentId": fulfillment.gid,
            "status": "IN_TRANSIT",
            "happenedAt": "2026-01-01T10:00:00Z",
        }
    )
    assert fulfillment.display_status == "IN_TRANSIT"
    assert fulfillment.event_time("IN_TRANSIT") == "2026-01-01T10:00:00Z"
    orders.cancel_fulfillment(fulfillment.gid)
    orders.cancel_fulfillment(fulfillment.gid)  # idempotent (capture state-preconditions)
    assert fulfillment.display_status == "CANCELED"
    assert fo.status == "OPEN" and fo.remaining() == 1
    with pytest.raises(OrderUserErrors) as exc:
        orders.create_event({"fulfillmentId": gid("Fulfillment", 1), "status": "DELIVERED"})
    assert _errors(exc) == [(["fulfillmentEvent", "fulfillmentId"], "Fulfillment does not exist.")]
    job = orders.cancel_order(order.gid, reason="OTHER", restock=True)
    assert job["done"] is False and order.cancelled_at is not None and order.closed
    assert fo.status == "CLOSED"
    assert "orders/cancelled" in [t for t, _ in events]
    with pytest.raises(OrderUserErrors) as exc:
        orders.cancel_order(order.gid, reason="OTHER", restock=True)
    assert _errors(exc) == [(["orderId"], "Cannot cancel an order that has already been canceled")]


def test_routing_prefers_first_location_that_stocks_everything(shop) -> None:
    catalog = shop.part("catalog", Catalog)
    primary = min(shop.locations)
    second = shop.next_id()
    shop.locations[second] = Location(id=second, name="B")
    a = catalog.add_variant(
        catalog.create_product("A", default_variant=False).id, sku="A", tracked=True
    )
    b = catalog.add_variant(
        catalog.create_product("B", default_variant=False).id, sku="B", tracked=True
    )
    catalog.activate(a.inventory_item_id, primary, available=5)
    catalog.activate(a.inventory_item_id, second, available=5)
    catalog.activate(b.inventory_item_id, second, available=5)
    both = create_order(
        shop,
        {"lineItems": [{"variantId": a.gid, "quantity": 1}, {"variantId": b.gid, "quantity": 1}]},
    )
    orders = orders_of(shop)
    assert [fo.location_id for fo in orders.fos_of(both)] == [second]
    # Not enough anywhere for both: each line goes where it can be shipped.
    catalog.set_quantity(b.inventory_item_id, second, "available", 0)
    catalog.activate(b.inventory_item_id, primary, available=3)
    catalog.set_quantity(a.inventory_item_id, primary, "available", 0)
    split = create_order(
        shop,
        {"lineItems": [{"variantId": a.gid, "quantity": 2}, {"variantId": b.gid, "quantity": 2}]},
    )
    assert sorted(fo.location_id for fo in orders.fos_of(split)) == sorted([primary, second])
    # A configured priority wins over ascending ids.
    catalog.set_quantity(a.inventory_item_id, primary, "available", 5)
    orders.location_priority = [second, primary]
    only_a = create_order(shop, {"lineItems": [{"variantId": a.gid, "quantity": 1}]})
    assert [fo.location_id for fo in orders.fos_of(only_a)] == [second]


def test_order_cancel_validation(shop) -> None:
    order = _custom_order(shop, quantity=1)
    orders = orders_of(shop)
    with pytest.raises(OrderUserErrors) as exc:
        orders.cancel_order(order.gid, reason="OTHER", restock=False, staff_note="x" * 256)
    assert (
        exc.value.errors[0].message == "Staff note is too long. Maximum length is 255 characters."
    )
    with pytest.raises(OrderUserErrors) as exc:
        orders.cancel_order(
            order.gid,
            reason="OTHER",
            restock=False,
            refund=False,
            refund_method={"originalPaymentMethodsRefund": True},
        )
    assert _errors(exc) == [
        (["refund"], "Only one of the arguments `refund` or `refund_method` is allowed.")
    ]
    assert order.cancelled_at is None


def test_reroute_moves_to_first_allowed_location_that_ships(shop) -> None:
    catalog = shop.part("catalog", Catalog)
    primary = min(shop.locations)
    second = shop.next_id()
    shop.locations[second] = Location(id=second, name="B")
    product = catalog.create_product("Cap", default_variant=False)
    variant = catalog.add_variant(product.id, sku="CAP", tracked=True)
    catalog.activate(variant.inventory_item_id, primary, available=5)
    catalog.activate(variant.inventory_item_id, second, available=5)
    order = create_order(
        shop,
        {"lineItems": [{"variantId": variant.gid, "quantity": 2}]},
        {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
    )
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    assert fo.location_id == primary
    assert orders.reroute([fo], None, [primary]) == [fo]
    assert fo.location_id == second
    # The commitment followed the fulfillment order.
    assert catalog.quantity(variant.inventory_item_id, primary, "committed") == 0
    assert catalog.quantity(variant.inventory_item_id, second, "committed") == 2
    catalog.set_quantity(variant.inventory_item_id, primary, "available", 0)
    with pytest.raises(OrderUserErrors) as exc:
        orders.reroute([fo], [primary], None)
    assert _errors(exc) == [
        (["fulfillmentOrderIds", "0"], "No allowed location can fulfill the fulfillment order.")
    ]


def test_fulfillment_cancel_puts_stock_back(shop) -> None:
    catalog = shop.part("catalog", Catalog)
    location = min(shop.locations)
    product = catalog.create_product("Pin", default_variant=False)
    variant = catalog.add_variant(product.id, sku="PIN", tracked=True)
    catalog.activate(variant.inventory_item_id, location, available=10)
    order = create_order(
        shop,
        {"lineItems": [{"variantId": variant.gid, "quantity": 4}]},
        {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
    )
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    item = variant.inventory_item_id

    def levels() -> tuple[int, int, int]:
        return tuple(  # type: ignore[return-value]
            catalog.quantity(item, location, n) for n in ("available", "on_hand", "committed")
        )

    assert levels() == (6, 10, 4)
    fulfillment = orders.create_fulfillment(
        {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo.gid}]}
    )
    assert levels() == (6, 6, 0)
    orders.cancel_fulfillment(fulfillment.gid)
    assert levels() == (6, 10, 4) and fo.status == "OPEN"
    orders.cancel_order(order.gid, reason="OTHER", restock=True)
    assert levels() == (10, 10, 0)


def test_obeying_policy_refuses_an_order_without_stock(shop) -> None:
    catalog = shop.part("catalog", Catalog)
    location = min(shop.locations)
    product = catalog.create_product("Rare", default_variant=False)
    variant = catalog.add_variant(product.id, sku="RARE", tracked=True)
    catalog.activate(variant.inventory_item_id, location, available=1)
    with pytest.raises(OrderUserErrors):
        create_order(
            shop,
            {"lineItems": [{"variantId": variant.gid, "quantity": 2}]},
            {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
        )
    assert orders_of(shop).list_orders() == []
    # Ignoring the policy (or bypassing inventory) takes the order anyway.
    create_order(
        shop,
        {"lineItems": [{"variantId": variant.gid, "quantity": 2}]},
        {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY"},
    )
    assert catalog.quantity(variant.inventory_item_id, location, "available") == -1


def test_fulfill_order_helper_for_seeding(shop) -> None:
    second = shop.next_id()
    shop.locations[second] = Location(id=second, name="B")
    order = _custom_order(shop, quantity=2)
    orders = orders_of(shop)
    (fo,) = orders.fos_of(order)
    orders.move(fo, gid("Location", second), [{"id": fo.line_items[0].gid, "quantity": 1}])
    made = fulfill_order(shop, order, tracking_number="T1", tracking_company="DHL")
    assert sorted(f.location_id for f in made) == sorted([min(shop.locations), second])
    assert orders.display_fulfillment_status(order) == "FULFILLED"
    assert fulfill_order(shop, order) == []


def test_order_created_already_fulfilled(shop, events) -> None:
    order = _custom_order(
        shop,
        quantity=2,
        fulfillment={
            "locationId": gid("Location", min(shop.locations)),
            "trackingNumber": "Z9",
            "trackingCompany": "DHL",
            "shipmentStatus": "DELIVERED",
        },
    )
    orders = orders_of(shop)
    assert orders.display_fulfillment_status(order) == "FULFILLED"
    (fulfillment,) = orders.fulfillments_of(order)
    assert fulfillment.tracking[0].number == "Z9" and fulfillment.display_status == "DELIVERED"
    assert [fo.status for fo in orders.fos_of(order)] == ["CLOSED"]
