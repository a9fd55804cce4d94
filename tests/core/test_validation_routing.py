"""Validation reasons and warehouse routing: pure, no I/O."""

from __future__ import annotations

import pytest

from fulfillbridge.core.routing import RoutingError, Warehouse, choose_warehouse, find_warehouse
from fulfillbridge.core.validation import ValidationRules, validate
from fulfillbridge.core.work import Address, Mode, WorkLine, WorkOrder

HOME = Address(name="A", address1="1 Main St", city="Ottawa", country_code="CA")


def _order(lines, shipping=HOME, billing=None) -> WorkOrder:
    return WorkOrder(
        "s",
        "fo",
        "#1",
        Mode.ORDER_MANAGEMENT,
        tuple(lines),
        shipping_address=shipping,
        billing_address=billing,
    )


def test_valid_order_has_no_problems() -> None:
    assert validate(_order([WorkLine("l1", "TEE", 1, title="Tee")])) == []


def test_every_problem_is_listed_in_plain_words() -> None:
    order = _order(
        [WorkLine("l1", None, 1, title="Custom"), WorkLine("l2", "GHOST", 0, title="Ghost")],
        shipping=Address(address1="1 Main St"),
    )
    problems = validate(order, ValidationRules(require_billing_address=True, catalogue={"TEE"}))
    assert problems == [
        "shipping address is incomplete: no city, country",
        "billing address is missing",
        "line 'Custom' has no SKU: set one on the product variant",
        "SKU GHOST (line 'Ghost') is not in the catalogue",
        "line 'Ghost' has quantity 0; it must be positive",
    ]


def test_digital_lines_need_no_shipping_address() -> None:
    order = _order([WorkLine("l1", "EBOOK", 1, requires_shipping=False)], shipping=None)
    assert validate(order) == []
    shippable = _order([WorkLine("l1", "TEE", 1)], shipping=None)
    assert validate(shippable) == ["shipping address is missing"]


def test_routing_prefers_priority_then_stock() -> None:
    order = _order([WorkLine("l1", "TEE", 3)])
    warehouses = [
        Warehouse("east", priority=1, locations=("loc-1",)),
        Warehouse("west", priority=2, locations=("loc-1", "loc-2")),
        Warehouse("any", priority=3),
    ]
    stock = {("east", "TEE"): 1, ("west", "TEE"): 5}
    chosen = choose_warehouse(order, warehouses, "loc-1", lambda w, s: stock.get((w, s)))
    assert chosen.name == "west"  # east is first but short of stock
    assert choose_warehouse(order, warehouses, "loc-1").name == "east"  # stock unknown: enough
    assert choose_warehouse(order, warehouses, "loc-9").name == "any"
    empty = {("east", "TEE"): 0, ("west", "TEE"): 0, ("any", "TEE"): 0}
    chosen = choose_warehouse(order, warehouses, "loc-1", lambda w, s: empty.get((w, s)))
    assert chosen.name == "east"  # nobody has it: the first waits for stock


def test_routing_errors_name_the_fix() -> None:
    with pytest.raises(RoutingError, match="map one"):
        choose_warehouse(_order([]), [Warehouse("east", locations=("loc-1",))], "loc-2")
    with pytest.raises(RoutingError, match="configured: east"):
        find_warehouse([Warehouse("east")], "west")
