"""Unit tests of the webhook-subscription domain (validation, topics, filters)."""

from __future__ import annotations

from fulfillbridge.sandbox.clock import SandboxClock
from fulfillbridge.sandbox.domain.webhooks import (
    WebhookRegistry,
    filter_matches,
    topic_enum,
    topic_path,
    validate_address,
    validate_filter,
)
from fulfillbridge.sandbox.state import ShopState


def test_topic_names_round_trip() -> None:
    for path in (
        "orders/create",
        "orders/paid",
        "fulfillment_orders/fulfillment_request_submitted",
        "fulfillment_orders/moved",
        "inventory_levels/update",
        "app/uninstalled",
        "app/scopes_update",
        "fulfillments/create",
    ):
        assert topic_path(topic_enum(path)) == path


def test_address_rules() -> None:
    assert validate_address("https://hooks.example.com/x") == []
    assert validate_address("http://[::1]:8000/x") == []
    assert [e.message for e in validate_address("")] == ["Address can't be blank"]
    assert [e.message for e in validate_address("ftp://x")] == [
        "Address protocol ftp:// is not supported"
    ]
    assert len(validate_address("pubsub://project:")) == 2


def test_filter_rules_and_matching() -> None:
    assert validate_filter(None) == [] and validate_filter("") == []
    assert validate_filter("customer_id:1 OR status:open") == []
    assert validate_filter("totally bogus syntax")
    payload = {"customer_id": 7, "status": "Open", "shipping": {"country": "CA"}}
    assert filter_matches("customer_id:7", payload)
    assert filter_matches("status:open AND shipping.country:ca", payload)
    assert not filter_matches("customer_id:8", payload)
    assert filter_matches("customer_id:8 OR status:open", payload)
    assert not filter_matches("-status:open", payload)


def test_registry_owner_and_topic_lookup() -> None:
    shop = ShopState("w.myshopify.com", "W", "Basic", SandboxClock())
    registry = shop.part("webhooks", WebhookRegistry)
    mine, _ = registry.create("1", "ORDERS_CREATE", uri="http://127.0.0.1:1/a")
    theirs, _ = registry.create("2", "ORDERS_CREATE", uri="http://127.0.0.1:1/a")
    assert mine is not None and theirs is not None
    assert [s.app_id for s in registry.for_topic("orders/create")] == ["1", "2"]
    assert registry.get(mine.id, "2") is None
    updated, errors = registry.update(mine.id, "1", {"include_fields": ["id"], "filter": "id:1"})
    assert errors == [] and updated is not None and updated.include_fields == ["id"]
    _, errors = registry.update(mine.id, "1", {"uri": "http://example.com"})
    assert [e.message for e in errors] == ["Address protocol http:// is not supported"]
    assert registry.delete(mine.id, "2") is False and registry.delete(mine.id, "1") is True
