"""The stores page's set-up check: what the remembered set-up lacks for the store's mode,
not counting topics set-up skips on purpose (their scope was not granted)."""

from __future__ import annotations

from fulfillbridge.flows.console import setup_drift
from fulfillbridge.flows.setup import topics_for

TOPICS = topics_for("order_management")
ALL = {topic: f"gid://shopify/WebhookSubscription/{n}" for n, topic in enumerate(TOPICS)}


def test_a_complete_set_up_has_no_drift() -> None:
    settings = {"mode": "order_management", "webhook_subscriptions": ALL}
    assert setup_drift(settings, ["read_products", "read_inventory"]) == []


def test_what_is_missing_is_named() -> None:
    assert setup_drift({"mode": "fulfillment_service"}) == [
        "set-up never ran: run fulfillbridge store setup"
    ]
    partial = {k: v for k, v in ALL.items() if k != "orders/create"}
    settings = {"mode": "order_management", "webhook_subscriptions": partial}
    assert setup_drift(settings, ["read_products", "read_inventory"]) == [
        "webhooks not subscribed: orders/create"
    ]
    service = {"mode": "fulfillment_service", "webhook_subscriptions": {"x": "1"}}
    assert "no fulfillment service registered" in setup_drift(service)
    assert setup_drift({"mode": "carrier_pigeon", "webhook_subscriptions": ALL}) == [
        "unknown mode 'carrier_pigeon'"
    ]


def test_a_topic_without_its_scope_is_not_missing() -> None:
    without = {k: v for k, v in ALL.items() if not k.startswith("products/")}
    settings = {"mode": "order_management", "webhook_subscriptions": without}
    assert setup_drift(settings, ["read_orders"]) == []
    assert "products/create" in setup_drift(settings, ["read_products"])[0]
