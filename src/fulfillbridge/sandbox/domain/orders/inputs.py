"""Reading GraphQL-shaped input values (money bags, date/times, global ids) into the
part's own types; a malformed value becomes a userError."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fulfillbridge.sandbox.domain.orders.errors import fail
from fulfillbridge.sandbox.state import parse_gid


def money(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception as exc:
        raise fail(None, f"Invalid amount: {value!r}") from exc


def amount_of(bag: dict[str, Any] | None) -> Decimal | None:
    """The amount of a ``MoneyBagInput`` (shop money first), or None when absent."""
    if not bag:
        return None
    shop_money = bag.get("shopMoney") or bag.get("presentmentMoney")
    if not shop_money:
        return None
    return money(shop_money.get("amount", "0"))


def iso(value: str | None) -> str | None:
    """A DateTime input as Shopify echoes it: UTC, whole seconds, ``Z``."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise fail(None, f"Invalid date/time: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hour_floor(iso_value: str) -> str:
    # fulfillAt of a new fulfillment order is its creation time floored to the hour
    # (every capture: created 12:21:55 -> fulfillAt 12:00:00).
    return iso_value[:13] + ":00:00Z"


def id_of(value: Any, kind: str) -> int | None:
    """The numeric id of a ``gid://shopify/<kind>/<id>`` string, None for anything else."""
    return parse_gid(value, kind) if isinstance(value, str) else None
