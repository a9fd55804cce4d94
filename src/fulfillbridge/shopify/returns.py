"""Shopify's returns in our words, and our return writes in Shopify's: pure functions.

* :func:`remote_return` maps the ``ReturnWork`` fragment (a return, its reverse fulfillment
  orders' lines with their dispositions, the return line items' reasons, the reverse
  deliveries) to :class:`core.returns.RemoteReturn`.
* :func:`ids_in_webhook` reads which return, reverse fulfillment order, reverse delivery or
  order a ``returns/*`` or ``reverse_*`` webhook body names (the body itself is never
  trusted: the return is read again).
* :func:`dispose_inputs`, :func:`line_disposed_totals`, :func:`label_variables` and
  :func:`label_present` build the two mutations and check, from a read, whether one already
  took effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fulfillbridge.core.returns import (
    Disposition,
    RemoteReturn,
    RemoteReturnLine,
    RemoteReturnStatus,
    ReturnTracking,
)
from fulfillbridge.shopify.gids import PREFIX, bare_gid, build_gid, parse_gid

# Webhook topics about returns (Shopify topic paths), each naming a return, a reverse
# delivery or a reverse fulfillment order.
RETURN_TOPICS = (
    "returns/request",
    "returns/approve",
    "returns/decline",
    "returns/cancel",
    "returns/close",
    "returns/reopen",
    "returns/update",
    "returns/process",
    "reverse_deliveries/attach_deliverable",
    "reverse_fulfillment_orders/dispose",
)

_STATUS = {
    "REQUESTED": RemoteReturnStatus.REQUESTED,
    "OPEN": RemoteReturnStatus.OPEN,
    "DECLINED": RemoteReturnStatus.DECLINED,
    "CANCELED": RemoteReturnStatus.CANCELLED,
    "CLOSED": RemoteReturnStatus.CLOSED,
}
_DISPOSITION = {kind.value.upper(): kind.value for kind in Disposition}


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if not isinstance(connection, Mapping):
        return []
    nodes = connection.get("nodes")
    if nodes is None:
        nodes = [edge.get("node") for edge in connection.get("edges") or []]
    return [node for node in nodes or [] if isinstance(node, Mapping)]  # type: ignore[misc]


def _reason(item: Mapping[str, Any]) -> str:
    """Why the customer sends a line back: the reason definition's name, else the older
    ``returnReason`` enum in words (returns made before reason definitions, or through
    ``returnCreate``'s deprecated input, carry only that), with the customer's note."""
    definition = item.get("returnReasonDefinition") or {}
    reason = definition.get("name") or definition.get("handle") or ""
    if not reason:
        code = str(item.get("returnReason") or "")
        if code and code != "UNKNOWN":  # UNKNOWN: no reason was given
            reason = code.replace("_", " ").capitalize()
    note = (item.get("returnReasonNote") or "").strip()
    return f"{reason}: {note}" if reason and note else str(reason or note)


def _dispositions(line: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    totals: dict[str, int] = {}
    for disposition in line.get("dispositions") or []:
        kind = _DISPOSITION.get(str(disposition.get("type")))
        if kind is not None:
            totals[kind] = totals.get(kind, 0) + int(disposition.get("quantity") or 0)
    return tuple(sorted((k, v) for k, v in totals.items() if v))


def _tracking(delivery: Mapping[str, Any]) -> ReturnTracking | None:
    deliverable = delivery.get("deliverable") or {}
    tracking = deliverable.get("tracking") or {}
    label = deliverable.get("label") or {}
    found = ReturnTracking(
        carrier=tracking.get("carrierName"),
        number=tracking.get("number"),
        url=tracking.get("url"),
        label_url=label.get("publicFileUrl"),
    )
    return found if (found.number or found.label_url) else None


def _requested_line(item: Mapping[str, Any]) -> RemoteReturnLine:
    fulfillment_line = item.get("fulfillmentLineItem") or {}
    order_line = fulfillment_line.get("lineItem") or {}
    inventory = ((order_line.get("variant") or {}).get("inventoryItem") or {}).get("id")
    return RemoteReturnLine(
        line_id=item["id"],
        reverse_order_id="",
        sku=order_line.get("sku") or None,
        quantity=int(item.get("quantity") or 0),
        title=order_line.get("title") or "",
        reason=_reason(item),
        customer_note=item.get("customerNote") or "",
        inventory_item_id=inventory,
        order_line_id=order_line.get("id"),
        fulfillment_line_id=fulfillment_line.get("id"),
    )


def remote_return(node: Mapping[str, Any]) -> RemoteReturn:
    """A ``ReturnWork`` fragment as our :class:`RemoteReturn`."""
    why = {}
    for item in _nodes(node.get("returnLineItems")):
        fulfillment_line = (item.get("fulfillmentLineItem") or {}).get("id")
        if fulfillment_line:
            why[fulfillment_line] = item
    lines: list[RemoteReturnLine] = []
    tracking: list[ReturnTracking] = []
    for reverse_order in _nodes(node.get("reverseFulfillmentOrders")):
        for line in _nodes(reverse_order.get("lineItems")):
            fulfillment_line = line.get("fulfillmentLineItem") or {}
            order_line = fulfillment_line.get("lineItem") or {}
            item = why.get(fulfillment_line.get("id"), {})
            inventory = ((order_line.get("variant") or {}).get("inventoryItem") or {}).get("id")
            lines.append(
                RemoteReturnLine(
                    line_id=line["id"],
                    reverse_order_id=reverse_order["id"],
                    sku=order_line.get("sku") or None,
                    quantity=int(line.get("totalQuantity") or 0),
                    title=order_line.get("title") or "",
                    reason=_reason(item) if item else "",
                    customer_note=(item.get("customerNote") or "") if item else "",
                    inventory_item_id=inventory,
                    order_line_id=order_line.get("id"),
                    fulfillment_line_id=fulfillment_line.get("id"),
                    dispositions=_dispositions(line),
                )
            )
        for delivery in _nodes(reverse_order.get("reverseDeliveries")):
            found = _tracking(delivery)
            if found is not None:
                tracking.append(found)
    # A requested return has no reverse fulfillment order yet: its lines are the return
    # line items until the approval brings the reverse fulfillment order's.
    covered = {line.fulfillment_line_id for line in lines}
    for fulfillment_line, item in why.items():
        if fulfillment_line not in covered:
            lines.append(_requested_line(item))
    decline = node.get("decline") or {}
    order = node.get("order") or {}
    return RemoteReturn(
        remote_id=node["id"],
        name=node.get("name") or node["id"],
        order_remote_id=order.get("id") or "",
        order_name=order.get("name") or "",
        status=_STATUS.get(str(node.get("status")), RemoteReturnStatus.OPEN),
        lines=tuple(lines),
        decline_reason=decline.get("reason"),
        decline_note=decline.get("note"),
        tracking=tuple(tracking),
        exchange_items=sum(
            int(item.get("quantity") or 0) for item in _nodes(node.get("exchangeLineItems"))
        ),
    )


def ids_in_webhook(payload: Any) -> dict[str, str]:
    """The first global id of each kind a webhook body names, by kind (``Return``,
    ``ReverseFulfillmentOrder``, ``ReverseDelivery``, ``Order``), looking through nested
    objects (a reverse delivery's body names its return; a disposition's its order). A
    numeric ``order_id`` counts as the order's."""
    found: dict[str, str] = {}

    def visit(value: Any, key: str | None) -> None:
        if isinstance(value, Mapping):
            for child_key, child in value.items():
                visit(child, str(child_key))
        elif isinstance(value, list):
            for child in value:
                visit(child, key)
        elif isinstance(value, str) and value.startswith(PREFIX):
            gid = parse_gid(value)
            if gid is not None:
                found.setdefault(gid.kind, bare_gid(value))
        elif key == "order_id" and isinstance(value, int) and not isinstance(value, bool):
            found.setdefault("Order", build_gid("Order", value))

    visit(payload, None)
    return found


def dispose_inputs(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``reverseFulfillmentOrderDispose`` inputs for the items of a ``return_dispose`` row
    (restocked items carry the Shopify location of their warehouse)."""
    inputs = []
    for item in items:
        entry: dict[str, Any] = {
            "reverseFulfillmentOrderLineItemId": item["line_id"],
            "quantity": int(item["quantity"]),
            "dispositionType": str(item["kind"]).upper(),
        }
        if item.get("location_id"):
            entry["locationId"] = item["location_id"]
        inputs.append(entry)
    return inputs


def line_disposed_totals(reverse_order: Mapping[str, Any] | None) -> dict[str, int]:
    """Units disposed so far per reverse fulfillment order line (any disposition)."""
    totals: dict[str, int] = {}
    for line in _nodes((reverse_order or {}).get("lineItems")):
        totals[line["id"]] = sum(
            int(d.get("quantity") or 0) for d in line.get("dispositions") or []
        )
    return totals


def dispose_took_effect(items: Iterable[Mapping[str, Any]], totals: Mapping[str, int]) -> bool:
    """Whether Shopify's disposed totals show every item of a ``return_dispose`` row: each
    line has at least what it had before the row plus the row's units for it."""
    wanted: dict[str, int] = {}
    for item in items:
        line = str(item["line_id"])
        reach = int(item["disposed_before"]) + int(item["quantity"])
        wanted[line] = max(wanted.get(line, 0), reach)
    return all(totals.get(line, 0) >= reach for line, reach in wanted.items())


def label_variables(data: Mapping[str, Any], *, notify_customer: bool = True) -> dict[str, Any]:
    """``reverseDeliveryCreateWithShipping`` variables for a ``return_label`` row."""
    variables: dict[str, Any] = {
        "reverseFulfillmentOrderId": data["reverse_order_id"],
        "reverseDeliveryLineItems": [
            {"reverseFulfillmentOrderLineItemId": line["line_id"], "quantity": line["quantity"]}
            for line in data["lines"]
        ],
        "notifyCustomer": notify_customer,
    }
    if data.get("number") or data.get("url"):
        variables["trackingInput"] = {"number": data.get("number"), "url": data.get("url")}
    if data.get("label_url"):
        variables["labelInput"] = {"fileUrl": data["label_url"]}
    return variables


def label_present(reverse_order: Mapping[str, Any] | None, data: Mapping[str, Any]) -> str | None:
    """The id of a reverse delivery that carries the row's tracking number (or, without one,
    its label), or None."""
    for delivery in _nodes((reverse_order or {}).get("reverseDeliveries")):
        found = _tracking(delivery)
        if found is None:
            continue
        if data.get("number") and found.number == data.get("number"):
            return str(delivery["id"])
        if not data.get("number") and data.get("label_url") and found.label_url:
            return str(delivery["id"])
    return None
