"""Validation of new work: every reason an order cannot be made or shipped, in words an
operator (or, for a rejected request, the merchant) can act on."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from fulfillbridge.core.details import DeliveryKind
from fulfillbridge.core.work import Address, WorkOrder


@dataclass(frozen=True)
class ValidationRules:
    require_billing_address: bool = False
    # SKUs the operation can make or ship; None when no catalogue is configured.
    catalogue: Collection[str] | None = None


def _address_problems(address: Address | None, what: str) -> list[str]:
    if address is None:
        return [f"{what} address is missing"]
    missing = [
        label
        for label, value in (
            ("street", address.address1),
            ("city", address.city),
            ("country", address.country_code),
        )
        if not value
    ]
    if missing:
        return [f"{what} address is incomplete: no {', '.join(missing)}"]
    return []


def validate(order: WorkOrder, rules: ValidationRules = ValidationRules()) -> list[str]:
    """All problems with ``order``; an empty list means it can be accepted."""
    problems: list[str] = []
    if not order.lines:
        problems.append("the order has no lines to fulfil")
    collected = order.details.delivery.kind in (DeliveryKind.PICKUP, DeliveryKind.NONE)
    if not collected and any(line.requires_shipping for line in order.lines):
        problems += _address_problems(order.shipping_address, "shipping")
    if rules.require_billing_address:
        problems += _address_problems(order.billing_address, "billing")
    for line in order.lines:
        label = f"line {line.title!r}" if line.title else f"line {line.line_id}"
        if not line.sku:
            problems.append(f"{label} has no SKU: set one on the product variant")
        elif rules.catalogue is not None and line.sku not in rules.catalogue:
            problems.append(f"SKU {line.sku} ({label}) is not in the catalogue")
        if line.quantity <= 0:
            problems.append(f"{label} has quantity {line.quantity}; it must be positive")
    return problems
