"""From the shipping method the customer paid for to the operation's carrier and service.

A store's rules are a table read top to bottom; the first rule whose every given condition
matches decides, else the store's default (if any). Conditions compare without regard to
case; ``name_contains`` looks inside what the customer saw ("Express (1-2 days)").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fulfillbridge.core.details import Delivery, DeliveryKind
from fulfillbridge.core.errors import FulfillbridgeError, StoreErrorCode


class ShippingRuleError(FulfillbridgeError, ValueError):
    """A rule table that cannot be used; the message names the rule and the problem."""

    default_code = StoreErrorCode.SETUP_INVALID


@dataclass(frozen=True)
class ShippingRule:
    carrier: str
    service: str = ""
    name: str = ""
    # Conditions (None: any value).
    delivery: DeliveryKind | None = None
    service_code: str | None = None
    name_contains: str | None = None

    def matches(self, delivery: Delivery) -> bool:
        if self.delivery is not None and delivery.kind is not self.delivery:
            return False
        codes = {delivery.service_code.lower(), delivery.shipping_code.lower()} - {""}
        if self.service_code is not None and self.service_code.lower() not in codes:
            return False
        if self.name_contains is not None:
            seen = f"{delivery.presented_name} {delivery.shipping_title}".lower()
            if self.name_contains.lower() not in seen:
                return False
        return True


@dataclass(frozen=True)
class ShippingRules:
    rules: tuple[ShippingRule, ...] = ()
    default: ShippingRule | None = None


def map_delivery(delivery: Delivery, table: ShippingRules) -> Delivery:
    """``delivery`` with the carrier and service the table chooses (or none)."""
    for position, rule in enumerate(table.rules, start=1):
        if rule.matches(delivery):
            return replace(
                delivery,
                carrier=rule.carrier,
                carrier_service=rule.service or None,
                mapping_rule=rule.name or f"rule {position}",
            )
    if table.default is not None:
        return replace(
            delivery,
            carrier=table.default.carrier,
            carrier_service=table.default.service or None,
            mapping_rule="default",
        )
    return replace(delivery, carrier=None, carrier_service=None, mapping_rule=None)


_RULE_KEYS = {"name", "carrier", "service", "delivery", "service_code", "name_contains"}


def _rule(raw: Any, where: str, *, conditions: bool) -> ShippingRule:
    if not isinstance(raw, Mapping):
        raise ShippingRuleError(f"{where} must be an object, not {type(raw).__name__}")
    unknown = set(raw) - (_RULE_KEYS if conditions else {"carrier", "service"})
    if unknown:
        raise ShippingRuleError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    for key, value in raw.items():
        if not isinstance(value, str) or len(value) > 255:
            raise ShippingRuleError(f"{where}: {key} must be text of at most 255 characters")
    carrier = str(raw.get("carrier") or "").strip()
    if not carrier:
        raise ShippingRuleError(f"{where} names no carrier")
    kind = raw.get("delivery")
    if kind is not None:
        try:
            kind = DeliveryKind(kind.lower())
        except ValueError:
            allowed = ", ".join(k.value for k in DeliveryKind)
            raise ShippingRuleError(f"{where}: delivery {kind!r} is not one of {allowed}") from None
    return ShippingRule(
        carrier=carrier,
        service=str(raw.get("service") or "").strip(),
        name=str(raw.get("name") or "").strip(),
        delivery=kind,
        service_code=raw.get("service_code"),
        name_contains=raw.get("name_contains"),
    )


def parse_rules(raw: Any) -> ShippingRules:
    """The table from its JSON form: ``{"rules": [{...}], "default": {"carrier", "service"}}``.
    A rule with no condition matches everything (put it last)."""
    if raw is None:
        return ShippingRules()
    if not isinstance(raw, Mapping):
        raise ShippingRuleError("shipping rules must be an object with 'rules' and 'default'")
    unknown = set(raw) - {"rules", "default"}
    if unknown:
        raise ShippingRuleError(f"shipping rules have unknown keys: {', '.join(sorted(unknown))}")
    rules_raw = raw.get("rules") or []
    if not isinstance(rules_raw, Sequence) or isinstance(rules_raw, str):
        raise ShippingRuleError("'rules' must be a list")
    if len(rules_raw) > 200:
        raise ShippingRuleError(f"{len(rules_raw)} rules; at most 200 are allowed")
    rules = tuple(
        _rule(item, f"rule {n}", conditions=True) for n, item in enumerate(rules_raw, start=1)
    )
    default_raw = raw.get("default")
    default = _rule(default_raw, "default", conditions=False) if default_raw else None
    return ShippingRules(rules=rules, default=default)


def rules_to_json(table: ShippingRules) -> dict[str, Any]:
    def one(rule: ShippingRule) -> dict[str, Any]:
        out = {"carrier": rule.carrier, "service": rule.service, "name": rule.name}
        if rule.delivery is not None:
            out["delivery"] = rule.delivery.value
        if rule.service_code is not None:
            out["service_code"] = rule.service_code
        if rule.name_contains is not None:
            out["name_contains"] = rule.name_contains
        return {k: v for k, v in out.items() if v != ""}

    result: dict[str, Any] = {"rules": [one(rule) for rule in table.rules]}
    if table.default is not None:
        result["default"] = {"carrier": table.default.carrier, "service": table.default.service}
    return result
