"""How a command's input becomes a core command: checks of what the operation sent (stage
names, packages, quantities by SKU or line, address fixes, warehouses and locations), with
an :class:`ActionError` naming the field at fault. No I/O."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, fields, replace
from typing import Any

from fulfillbridge.config import Settings
from fulfillbridge.core import work as core
from fulfillbridge.core.routing import RoutingError, choose_warehouse, find_warehouse
from fulfillbridge.core.validation import validate
from fulfillbridge.core.work import (
    Effect,
    Mode,
    Outcome,
    Tracking,
    TransitionError,
    WorkOrder,
    WorkState,
)
from fulfillbridge.flows.work_commands import (
    CONFLICT,
    INVALID,
    MOVABLE,
    ActionError,
    FixException,
    ShipLine,
)
from fulfillbridge.flows.work_context import validation_rules, warehouses_of
from fulfillbridge.store.models import StoreRow


def core_call(fn: Callable[..., Outcome], *args: Any, **kwargs: Any) -> Outcome:
    try:
        return fn(*args, **kwargs)
    except TransitionError as exc:
        raise ActionError(str(exc), status=CONFLICT) from None


def require(order: WorkOrder, allowed: Collection[WorkState], action: str) -> None:
    if order.state not in allowed:
        try:
            core.require_state(order, frozenset(allowed), action)
        except TransitionError as exc:  # the core's words name a hold placed in Shopify
            raise ActionError(str(exc)) from None


def text(value: str, name: str) -> str:
    value = value.strip()
    if not value:
        raise ActionError(f"{name} must not be empty", status=INVALID, field=name)
    return value


def checked_packages(packages: Sequence[Tracking]) -> list[dict[str, Any]]:
    shown = []
    for index, package in enumerate(packages):
        where = f"packages[{index}]"
        if not package.company.strip():
            raise ActionError(f"{where}.company is empty", status=INVALID, field=where)
        if not package.number.strip():
            raise ActionError(f"{where}.number is empty", status=INVALID, field=where)
        if package.url and not package.url.startswith(("http://", "https://")):
            raise ActionError(f"{where}.url is not an http(s) URL", status=INVALID, field=where)
        entry: dict[str, Any] = {
            "company": package.company.strip(),
            "number": package.number.strip(),
            "url": package.url,
        }
        if package.lines:
            entry["lines"] = dict(package.lines)
        shown.append(entry)
    return shown


def resolve_quantities(order: WorkOrder, lines: Sequence[ShipLine] | None) -> dict[str, int]:
    """Line id -> units to ship. Lines named by SKU take units from the lines with that SKU,
    in order. Every problem names the line or SKU and what remains."""
    if lines is None or not lines:
        wanted = {line.line_id: line.remaining for line in order.lines if line.remaining > 0}
        if not wanted:
            raise ActionError(f"nothing left to ship on {order.order_name}")
        return wanted
    left = {line.line_id: line.remaining for line in order.lines}
    wanted: dict[str, int] = {}
    for index, item in enumerate(lines):
        where = f"lines[{index}]"
        if item.quantity <= 0:
            raise ActionError(
                f"{where}.quantity must be positive, got {item.quantity}",
                status=INVALID,
                field=where,
            )
        if item.line_id:
            if item.line_id not in left:
                raise ActionError(
                    f"{order.order_name} has no line {item.line_id!r}", status=INVALID, field=where
                )
            candidates = [item.line_id]
            label = f"line {item.line_id}"
        elif item.sku:
            candidates = [line.line_id for line in order.lines if line.sku == item.sku]
            if not candidates:
                raise ActionError(
                    f"{order.order_name} has no line with SKU {item.sku!r}",
                    status=INVALID,
                    field=where,
                )
            label = f"SKU {item.sku}"
        else:
            raise ActionError(f"{where} needs a sku or a line_id", status=INVALID, field=where)
        available = sum(left[c] for c in candidates)
        if item.quantity > available:
            raise ActionError(
                f"{label} has {available} left to ship on {order.order_name}, not {item.quantity}",
                status=INVALID,
                field=where,
            )
        needed = item.quantity
        for candidate in candidates:
            take = min(needed, left[candidate])
            if take:
                left[candidate] -= take
                wanted[candidate] = wanted.get(candidate, 0) + take
                needed -= take
    return wanted


def route(order: WorkOrder, settings: Settings, location: str | None) -> str:
    return choose_warehouse(order, warehouses_of(settings), location).name


def revalidate(
    order: WorkOrder, settings: Settings, store_row: StoreRow, location: str | None
) -> Outcome:
    """Validate again from the start: accept when clean, else stay an exception with the
    current problems (a retry never rejects a request at Shopify by itself)."""
    received = core_call(core.retry_exception, order).order
    problems = validate(received, validation_rules(store_row.settings or {}))
    if not problems:
        try:
            warehouse = route(received, settings, location)
        except RoutingError as exc:
            problems = [str(exc)]
        else:
            return core_call(core.accept, received, warehouse=warehouse)
    return Outcome(replace(received, state=WorkState.EXCEPTION, problems=tuple(problems)))


def fixed_order(order: WorkOrder, command: FixException) -> WorkOrder:
    require(order, {WorkState.EXCEPTION}, "fix")
    known = {f.name for f in fields(core.Address)}
    changes: dict[str, Any] = {}
    for name in ("shipping_address", "billing_address"):
        given = getattr(command, name)
        if given is None:
            continue
        unknown = sorted(set(given) - known)
        if unknown:
            raise ActionError(
                f"{name} has unknown fields {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})",
                status=INVALID,
                field=name,
            )
        current = getattr(order, name)
        base = asdict(current) if current else {}
        changes[name] = core.Address(**{**base, **{k: str(v) for k, v in given.items()}})
    lines = list(order.lines)
    for line_id, sku in command.skus.items():
        if not sku.strip():
            raise ActionError(f"SKU for line {line_id} is empty", status=INVALID, field="skus")
        for index, line in enumerate(lines):
            if line.line_id == line_id:
                lines[index] = replace(line, sku=sku.strip())
                break
        else:
            raise ActionError(
                f"{order.order_name} has no line {line_id!r}", status=INVALID, field="skus"
            )
    if not changes and not command.skus:
        raise ActionError("nothing to fix: give an address or SKUs", status=INVALID)
    return replace(order, lines=tuple(lines), **changes)


def move_warehouse(
    order: WorkOrder, settings: Settings, location: str | None, name: str
) -> Outcome:
    if order.is_final:
        raise ActionError(f"cannot move {order.order_name}: it is {order.state.value}")
    try:
        warehouse = find_warehouse(warehouses_of(settings), text(name, "warehouse"))
    except RoutingError as exc:
        raise ActionError(str(exc), status=INVALID, field="warehouse") from None
    if not warehouse.serves(location):
        raise ActionError(
            f"warehouse {warehouse.name} does not work for Shopify location {location}",
            status=INVALID,
            field="warehouse",
        )
    if warehouse.name == order.warehouse:
        raise ActionError(f"{order.order_name} is already at {warehouse.name}", field="warehouse")
    return Outcome(replace(order, warehouse=warehouse.name))


def move_location(
    order: WorkOrder,
    settings: Settings,
    store_row: StoreRow,
    current: str | None,
    location: str,
) -> Outcome:
    if order.mode is not Mode.ORDER_MANAGEMENT:
        raise ActionError(
            f"{order.order_name} was requested from this fulfillment service's own location; "
            "only order-management work can move between merchant locations"
        )
    managed = list((store_row.settings or {}).get("managed_locations") or [])
    if location not in managed:
        raise ActionError(
            f"location {location!r} is not one this store manages ({', '.join(managed) or 'none'})",
            status=INVALID,
            field="location_id",
        )
    if location == current:
        raise ActionError(f"{order.order_name} is already at {location}", field="location_id")
    if (
        order.state not in MOVABLE
        or order.stage is not None
        or any(line.shipped for line in order.lines)
    ):
        raise ActionError(
            f"cannot move {order.order_name}: it is {order.state.value}"
            + (f" at stage {order.stage}" if order.stage else "")
            + "; Shopify moves only fulfillment orders that are open or on hold"
        )
    warehouse = order.warehouse
    candidates = warehouses_of(settings)
    if warehouse is None or not find_warehouse(candidates, warehouse).serves(location):
        try:
            warehouse = choose_warehouse(order, candidates, location).name
        except RoutingError as exc:
            raise ActionError(str(exc), status=INVALID, field="location_id") from None
    moved = replace(order, warehouse=warehouse)
    return Outcome(moved, (Effect(core.MOVE, {"location_id": location}),))
