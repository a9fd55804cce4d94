"""Returns of the sandbox (pure Python, no GraphQL): returns requested by a customer or
created by the merchant, their reverse fulfillment orders and reverse deliveries, the
disposition of returned units (restocking them), exchanges and processing.

Obtain the part as ``returns_of(shop)``. Failures the caller shows as ``userErrors`` raise
``OrderUserErrors`` (the orders part's exception: nothing was changed).

Rules follow Shopify's returns guides and mutation reference for 2026-07 (Build return
management workflows, Manage reverse fulfillment orders, Migrate to return processing):

* ``returnRequest`` makes a REQUESTED return; ``returnApproveRequest`` opens it and creates
  its reverse fulfillment order; ``returnDeclineRequest`` declines it (its units may be
  returned again); ``returnCreate`` makes an OPEN return with its reverse fulfillment order
  at once. Only fulfilled units can be returned, and no unit twice: the units of returns
  that are not cancelled or declined count against the fulfillment line.
* ``returnCancel`` is allowed until work was done (a disposition or processing);
  ``returnClose`` from OPEN, ``returnReopen`` from CLOSED; the same status again is a no-op.
  ``removeFromReturn`` takes units off a REQUESTED or OPEN return (never processed or
  disposed ones) and announces it with returns/update.
* ``reverseFulfillmentOrderDispose`` (all or nothing, one reverse fulfillment order per call)
  records what happened to returned units; RESTOCKED units go back to ``available`` at the
  location named. A reverse fulfillment order whose units are all disposed closes.
* Since 2025-07 exchange items are confirmed only when ``returnProcess`` processes them:
  the order then gains a line item for each and a fulfillment order where routing sends
  it. Only an exchange the buyer still owes money for is held (Migrate to return
  processing); the reason is AWAITING_RETURN_ITEMS ("return items not yet received during
  an exchange"). The sandbox counts as owed the processed exchange items less the
  processed returned items, so an exchange processed before the returned items is held
  until they are processed (or the return is closed: a closed return counts as returned).
  A dearer exchange stays held after that: Shopify releases it once the buyer pays the
  difference, which the sandbox cannot collect, so the merchant releases it (the
  ``release_hold`` merchant action). A return whose every item is processed closes.

Error messages that Shopify documents or that were recorded on Shopify are used as they
are; the module's ``SANDBOX_WORDING`` marks the messages the sandbox words itself because
no source shows Shopify's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.orders import (
    Fulfillment,
    FulfillmentLineItem,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    LineItem,
    Order,
    Orders,
    OrderUserErrors,
    UserError,
    orders_of,
)
from fulfillbridge.sandbox.domain.orders import inventory as order_inventory
from fulfillbridge.sandbox.domain.orders.edits import _location_for
from fulfillbridge.sandbox.state import ShopState, gid, parse_gid

# ReturnStatus (schema enum).
REQUESTED, OPEN, DECLINED, CANCELED, CLOSED = "REQUESTED", "OPEN", "DECLINED", "CANCELED", "CLOSED"
# ReverseFulfillmentOrderDispositionType (schema enum).
RESTOCKED = "RESTOCKED"
DISPOSITION_TYPES = ("RESTOCKED", "PROCESSING_REQUIRED", "NOT_RESTOCKED", "MISSING")
# ReturnReason (schema enum, deprecated in favour of return reason definitions).
RETURN_REASONS = (
    "SIZE_TOO_SMALL",
    "SIZE_TOO_LARGE",
    "UNWANTED",
    "NOT_AS_DESCRIBED",
    "WRONG_ITEM",
    "DEFECTIVE",
    "STYLE",
    "COLOR",
    "OTHER",
    "UNKNOWN",
)
EXCHANGE_HOLD_REASON = "AWAITING_RETURN_ITEMS"

# Shopify's own words (its reference examples, or recorded answers).
NOT_FOUND = "Return not found."
NOT_APPROVABLE = "Return is not approvable. Only returns with status REQUESTED can be approved."
NOT_DECLINABLE = (
    "Return is not declinable. Only non-refunded returns with status REQUESTED can be declined."
)
ALREADY_DECLINED = "The return is already declined."
STATUS_INVALID = "Return status is invalid."
NOT_CANCELABLE = "Return is not cancelable."
NO_LINES = "Return must include at least one line item."
NO_FULFILLMENT_LINE = "Fulfillment line item does not exist."
INVALID_RETURN_QUANTITY = "Return line item has an invalid quantity."
NO_REVERSE_LINE = "Reverse fulfillment order line item was not found."
INVALID_DISPOSE_QUANTITY = "Quantity is invalid."
EMPTY_DISPOSITIONS = "The array cannot be empty."
SEVERAL_REVERSE_ORDERS = "Cannot dispose items from more than one reverse fulfillment order."
CUSTOM_LINE_RESTOCK = "RESTOCKED is an invalid disposition type for a custom line item."
NO_REVERSE_DELIVERY = "Reverse delivery does not exist"
NO_RETURN_LINE = "Return line item does not exist."
REASON_REQUIRED = "Either return reason or return reason definition must be provided"
OTHER_NEEDS_NOTE = 'The note is required when the return reason is "Other"'

# The sandbox's own wording: no Shopify source shows these messages.
SANDBOX_WORDING = {
    "no_order": "Order does not exist.",
    "no_reverse_order": "Reverse fulfillment order does not exist.",
    "reverse_order_not_open": "Reverse fulfillment order is not open.",
    "location_required": "A location is required to restock returned items.",
    "no_location": "Location does not exist.",
    "no_exchange_line": "Exchange line item does not exist.",
    "invalid_exchange_quantity": "Exchange line item has an invalid quantity.",
    "no_variant": "Variant does not exist.",
    "nothing_to_process": "Return line items or exchange line items must be provided.",
    "disposition_elsewhere": "The disposition's reverse fulfillment order line item does not "
    "belong to the return line item.",
    "disposition_exceeds": "Dispositions cannot exceed the quantity processed.",
    "no_parent_transaction": "Parent transaction does not exist.",
    "over_refund": "Refund amount exceeds the amount that can be refunded.",
    "no_reason_definition": "Return reason definition does not exist.",
    "no_exchange_location": "The shop has no location to fulfil the exchange items.",
}

# Built-in return reason definitions, one per ReturnReason value (id = position + 1); a
# shop's own definitions are not modelled.
REASON_DEFINITIONS: dict[int, tuple[str, str]] = {
    i + 1: (reason.lower().replace("_", "-"), reason.replace("_", " ").capitalize())
    for i, reason in enumerate(RETURN_REASONS)
}
# Carriers recognised from a tracking URL's host (reverse delivery tracking carries only a
# number and a URL; Shopify names the carrier itself).
_CARRIERS = (
    ("ups.com", "UPS"),
    ("fedex.com", "FedEx"),
    ("usps.com", "USPS"),
    ("dhl.", "DHL Express"),
    ("canadapost", "Canada Post"),
    ("royalmail", "Royal Mail"),
)


def _err(path: list[str] | None, message: str, code: str | None) -> UserError:
    return UserError(path, message, code)


def _fail(path: list[str] | None, message: str, code: str | None) -> OrderUserErrors:
    return OrderUserErrors(_err(path, message, code))


# ----------------------------------------------------------------------------- records
@dataclass
class ReturnLineItem:
    id: int
    fulfillment_id: int
    fulfillment_line_item_id: int
    line_item_id: int
    quantity: int
    return_reason: str
    return_reason_definition_id: int | None
    return_reason_note: str
    customer_note: str | None
    restocking_fee_percentage: float | None = None
    processed_quantity: int = 0

    @property
    def gid(self) -> str:
        return gid("ReturnLineItem", self.id)

    @property
    def processable(self) -> int:
        return self.quantity - self.processed_quantity


@dataclass
class ExchangeLineItem:
    id: int
    variant_id: int
    quantity: int
    processed_quantity: int = 0
    # Order line items made when it was processed.
    line_item_ids: list[int] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("ExchangeLineItem", self.id)

    @property
    def processable(self) -> int:
        return self.quantity - self.processed_quantity


@dataclass
class Disposition:
    id: int
    type: str
    quantity: int
    location_id: int | None
    created_at: str

    @property
    def gid(self) -> str:
        return gid("ReverseFulfillmentOrderDisposition", self.id)


@dataclass
class ReverseFulfillmentOrderLineItem:
    id: int
    return_line_item_id: int
    fulfillment_line_item_id: int
    total_quantity: int
    dispositions: list[Disposition] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("ReverseFulfillmentOrderLineItem", self.id)

    @property
    def disposed(self) -> int:
        return sum(d.quantity for d in self.dispositions)

    @property
    def remaining(self) -> int:
        return self.total_quantity - self.disposed


@dataclass
class ReverseDeliveryLineItem:
    id: int
    reverse_line_item_id: int
    quantity: int

    @property
    def gid(self) -> str:
        return gid("ReverseDeliveryLineItem", self.id)


@dataclass
class ReverseDelivery:
    id: int
    reverse_order_id: int
    created_at: str
    line_items: list[ReverseDeliveryLineItem] = field(default_factory=list)
    tracking_number: str | None = None
    tracking_url: str | None = None
    label_url: str | None = None
    label_created_at: str | None = None
    label_updated_at: str | None = None

    @property
    def gid(self) -> str:
        return gid("ReverseDelivery", self.id)

    @property
    def carrier_name(self) -> str | None:
        host = (urlsplit(self.tracking_url).hostname or "").lower() if self.tracking_url else ""
        return next((name for part, name in _CARRIERS if part in host), None)


@dataclass
class ReverseFulfillmentOrder:
    id: int
    return_id: int
    order_id: int
    status: str = OPEN
    line_items: list[ReverseFulfillmentOrderLineItem] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("ReverseFulfillmentOrder", self.id)

    def line(self, line_id: int) -> ReverseFulfillmentOrderLineItem | None:
        return next((x for x in self.line_items if x.id == line_id), None)


@dataclass
class Refund:
    id: int
    amount: Decimal
    note: str | None
    created_at: str

    @property
    def gid(self) -> str:
        return gid("Refund", self.id)


@dataclass
class Return:
    id: int
    order_id: int
    name: str
    status: str
    created_at: str
    updated_at: str
    line_items: list[ReturnLineItem] = field(default_factory=list)
    exchange_line_items: list[ExchangeLineItem] = field(default_factory=list)
    reverse_order_ids: list[int] = field(default_factory=list)
    request_approved_at: str | None = None
    closed_at: str | None = None
    decline_reason: str | None = None
    decline_note: str | None = None
    shipping_fee: Decimal | None = None
    shipping_fee_id: int | None = None
    refunds: list[Refund] = field(default_factory=list)
    # Fulfillment orders of processed exchange items with the hold this return placed.
    exchange_holds: list[tuple[int, int]] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("Return", self.id)

    @property
    def total_quantity(self) -> int:
        return sum(x.quantity for x in self.line_items)

    def line(self, line_id: int) -> ReturnLineItem | None:
        return next((x for x in self.line_items if x.id == line_id), None)

    def exchange_line(self, line_id: int) -> ExchangeLineItem | None:
        return next((x for x in self.exchange_line_items if x.id == line_id), None)

    @property
    def awaiting_items(self) -> bool:
        """Some returned units were not processed yet (not received)."""
        return any(x.processable > 0 for x in self.line_items)

    @property
    def fully_processed(self) -> bool:
        return not self.awaiting_items and all(x.processable == 0 for x in self.exchange_line_items)


# ----------------------------------------------------------------------------- input
def _id(value: Any, kind: str) -> int | None:
    return parse_gid(value, kind) if isinstance(value, str) else None


def _money(value: Any) -> Decimal | None:
    if not isinstance(value, dict):
        return None
    try:
        return Decimal(str(value.get("amount")))
    except (InvalidOperation, ValueError):
        return None


# ----------------------------------------------------------------------------- the part
class Returns:
    """The returns of one shop and everything hanging off them."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.returns: dict[int, Return] = {}
        self.reverse_orders: dict[int, ReverseFulfillmentOrder] = {}
        self.deliveries: dict[int, ReverseDelivery] = {}

    # ------------------------------------------------------------------ lookups
    @property
    def orders(self) -> Orders:
        return orders_of(self.shop)

    def _catalog(self) -> Catalog:
        catalog: Catalog = self.shop.part("catalog", Catalog)
        return catalog

    def get(self, global_id: Any) -> Return | None:
        number = _id(global_id, "Return")
        return self.returns.get(number) if number is not None else None

    def of_order(self, order_id: int) -> list[Return]:
        return sorted((r for r in self.returns.values() if r.order_id == order_id), key=_by_id)

    def reverse_orders_of(self, ret: Return) -> list[ReverseFulfillmentOrder]:
        return [self.reverse_orders[i] for i in ret.reverse_order_ids]

    def reverse_line(
        self, line_id: int
    ) -> tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem] | None:
        for rfo in self.reverse_orders.values():
            found = rfo.line(line_id)
            if found is not None:
                return rfo, found
        return None

    def fulfillment_line(
        self, order: Order, fli_id: int
    ) -> tuple[Fulfillment, FulfillmentLineItem] | None:
        for fulfillment in self.orders.fulfillments_of(order):
            for fli in fulfillment.line_items:
                if fli.id == fli_id:
                    return fulfillment, fli
        return None

    def returned_quantity(self, order_id: int, fli_id: int) -> int:
        """Units of a fulfillment line that returns already claim (cancelled and declined
        returns release theirs)."""
        return sum(
            line.quantity
            for ret in self.of_order(order_id)
            if ret.status not in {CANCELED, DECLINED}
            for line in ret.line_items
            if line.fulfillment_line_item_id == fli_id
        )

    def returnable_quantity(self, order: Order, fulfillment: Fulfillment, fli_id: int) -> int:
        if fulfillment.status == "CANCELLED":
            return 0
        fli = next((x for x in fulfillment.line_items if x.id == fli_id), None)
        if fli is None:
            return 0
        return max(fli.quantity - self.returned_quantity(order.id, fli_id), 0)

    def order_return_status(self, order: Order) -> str:
        """OrderReturnStatus of an order."""
        live = [r for r in self.of_order(order.id) if r.status not in {CANCELED, DECLINED}]
        if not live:
            return "NO_RETURN"
        if any(r.status == REQUESTED for r in live):
            return "RETURN_REQUESTED"
        if any(r.status == OPEN for r in live):
            return "IN_PROGRESS"
        return "RETURNED"

    # ------------------------------------------------------------------ creating
    def request(self, raw: dict[str, Any]) -> Return:
        """returnRequest: a customer's request, REQUESTED until the merchant answers."""
        ret = self._build(raw, "input", REQUESTED)
        self._emit_return("returns/request", ret)
        return ret

    def create(self, raw: dict[str, Any]) -> Return:
        """returnCreate: OPEN at once, with its reverse fulfillment order. Shopify announces
        it as approved (the returns/approve topic covers returns whose status became OPEN)."""
        ret = self._build(raw, "returnInput", OPEN)
        ret.request_approved_at = ret.created_at
        self._open_reverse_order(ret)
        self._emit_return("returns/approve", ret)
        return ret

    def _build(self, raw: dict[str, Any], input_name: str, status: str) -> Return:
        lines_in = list(raw.get("returnLineItems") or [])
        if not lines_in:
            raise _fail(["returnLineItems"], NO_LINES, "INVALID")
        order_number = _id(raw.get("orderId"), "Order")
        order = self.orders.order(order_number) if order_number is not None else None
        if order is None:
            raise _fail([input_name, "orderId"], SANDBOX_WORDING["no_order"], "NOT_FOUND")
        errors: list[UserError] = []
        for index, entry in enumerate(lines_in):
            reason_error = self._reason_error(input_name, index, entry)
            if reason_error is not None:
                errors.append(reason_error)
        if errors:
            raise OrderUserErrors(*errors)
        wanted: dict[int, int] = {}
        built: list[ReturnLineItem] = []
        for index, entry in enumerate(lines_in):
            fli_id = _id(entry.get("fulfillmentLineItemId"), "FulfillmentLineItem")
            found = self.fulfillment_line(order, fli_id) if fli_id is not None else None
            if found is None:
                errors.append(
                    _err(
                        ["returnLineItems", str(index), "fulfillmentLineItemId"],
                        NO_FULFILLMENT_LINE,
                        "INVALID",
                    )
                )
                continue
            fulfillment, fli = found
            quantity = int(entry.get("quantity", 0))
            left = self.returnable_quantity(order, fulfillment, fli.id) - wanted.get(fli.id, 0)
            if quantity <= 0 or quantity > left:
                errors.append(
                    _err(
                        [input_name, "returnLineItems", str(index), "quantity"],
                        INVALID_RETURN_QUANTITY,
                        "INVALID",
                    )
                )
                continue
            wanted[fli.id] = wanted.get(fli.id, 0) + quantity
            definition = _id(entry.get("returnReasonDefinitionId"), "ReturnReasonDefinition")
            reason = entry.get("returnReason") or (
                RETURN_REASONS[definition - 1] if definition is not None else "UNKNOWN"
            )
            fee = entry.get("restockingFee")
            built.append(
                ReturnLineItem(
                    id=self.shop.next_id(),
                    fulfillment_id=fulfillment.id,
                    fulfillment_line_item_id=fli.id,
                    line_item_id=fli.line_item_id,
                    quantity=quantity,
                    return_reason=reason,
                    return_reason_definition_id=definition,
                    return_reason_note=entry.get("returnReasonNote") or "",
                    customer_note=entry.get("customerNote"),
                    restocking_fee_percentage=float(fee["percentage"]) if fee else None,
                )
            )
        exchanges = self._exchange_lines(raw.get("exchangeLineItems") or [], input_name, errors)
        if errors:
            raise OrderUserErrors(*errors)
        now = self.shop.clock.iso_now()
        ret = Return(
            id=self.shop.next_id(),
            order_id=order.id,
            name=f"{order.name}-R{len(self.of_order(order.id)) + 1}",
            status=status,
            created_at=now,
            updated_at=now,
            line_items=built,
            exchange_line_items=exchanges,
        )
        fee_amount = _money((raw.get("returnShippingFee") or {}).get("amount"))
        if fee_amount is not None:
            ret.shipping_fee = fee_amount
            ret.shipping_fee_id = self.shop.next_id()
        self.returns[ret.id] = ret
        order.updated_at = now
        return ret

    def _reason_error(self, input_name: str, index: int, entry: dict[str, Any]) -> UserError | None:
        reason = entry.get("returnReason")
        definition_raw = entry.get("returnReasonDefinitionId")
        if not reason and not definition_raw:
            if input_name == "returnInput":
                return _err(
                    [input_name, "returnLineItems", str(index)],
                    f"Return line items {REASON_REQUIRED}",
                    "NOT_FOUND",
                )
            return _err(
                [input_name, "returnLineItems", str(index), "returnReason"],
                "Return reason can't be blank",
                "BLANK",
            )
        if definition_raw:
            definition = _id(definition_raw, "ReturnReasonDefinition")
            if definition not in REASON_DEFINITIONS:
                return _err(
                    [input_name, "returnLineItems", str(index), "returnReasonDefinitionId"],
                    SANDBOX_WORDING["no_reason_definition"],
                    "NOT_FOUND",
                )
        if (
            input_name == "returnInput"
            and reason == "OTHER"
            and not (entry.get("returnReasonNote") or "").strip()
        ):
            return _err(
                [input_name, "returnLineItems", str(index), "returnReasonNote"],
                f"Return line items return reason note {OTHER_NEEDS_NOTE}",
                "BLANK",
            )
        return None

    def _exchange_lines(
        self, entries: list[dict[str, Any]], input_name: str, errors: list[UserError]
    ) -> list[ExchangeLineItem]:
        catalog = self._catalog()
        built: list[ExchangeLineItem] = []
        for index, entry in enumerate(entries):
            where = [input_name, "exchangeLineItems", str(index)]
            variant_id = _id(entry.get("variantId"), "ProductVariant")
            variant = catalog.variant(variant_id) if variant_id is not None else None
            if variant is None:
                errors.append(
                    _err([*where, "variantId"], SANDBOX_WORDING["no_variant"], "NOT_FOUND")
                )
                continue
            quantity = int(entry.get("quantity", 0))
            if quantity <= 0:
                errors.append(
                    _err(
                        [*where, "quantity"],
                        SANDBOX_WORDING["invalid_exchange_quantity"],
                        "INVALID",
                    )
                )
                continue
            built.append(ExchangeLineItem(self.shop.next_id(), variant.id, quantity))
        return built

    def _open_reverse_order(self, ret: Return) -> ReverseFulfillmentOrder:
        rfo = ReverseFulfillmentOrder(
            id=self.shop.next_id(), return_id=ret.id, order_id=ret.order_id
        )
        for line in ret.line_items:
            rfo.line_items.append(
                ReverseFulfillmentOrderLineItem(
                    id=self.shop.next_id(),
                    return_line_item_id=line.id,
                    fulfillment_line_item_id=line.fulfillment_line_item_id,
                    total_quantity=line.quantity,
                )
            )
        self.reverse_orders[rfo.id] = rfo
        ret.reverse_order_ids.append(rfo.id)
        return rfo

    # ------------------------------------------------------------------ decisions
    def _require(self, global_id: Any, path: list[str]) -> Return:
        ret = self.get(global_id)
        if ret is None:
            raise _fail(path, NOT_FOUND, "NOT_FOUND")
        return ret

    def approve(self, global_id: Any) -> Return:
        ret = self._require(global_id, ["input", "id"])
        if ret.status != REQUESTED:
            raise _fail(["input", "id"], NOT_APPROVABLE, "INVALID_STATE")
        ret.status = OPEN
        ret.request_approved_at = self._touch(ret)
        self._open_reverse_order(ret)
        self._emit_return("returns/approve", ret)
        return ret

    def decline(self, global_id: Any, reason: str, note: str | None) -> Return:
        ret = self._require(global_id, ["input", "id"])
        if ret.status == DECLINED:
            raise _fail(["input", "id"], ALREADY_DECLINED, "INVALID_STATE")
        if ret.status != REQUESTED:
            raise _fail(["input", "id"], NOT_DECLINABLE, "INVALID_STATE")
        ret.status = DECLINED
        ret.decline_reason = reason
        ret.decline_note = note
        self._touch(ret)
        self._emit_return("returns/decline", ret)
        return ret

    def cancel(self, global_id: Any) -> Return:
        ret = self._require(global_id, ["id"])
        if ret.status == CANCELED:
            return ret
        worked = any(x.processed_quantity for x in ret.line_items) or any(
            x.processed_quantity for x in ret.exchange_line_items
        )
        worked = worked or any(
            line.dispositions for rfo in self.reverse_orders_of(ret) for line in rfo.line_items
        )
        if worked or ret.status not in {OPEN, REQUESTED, DECLINED}:
            raise _fail(["id"], NOT_CANCELABLE, "INVALID_STATE")
        ret.status = CANCELED
        for rfo in self.reverse_orders_of(ret):
            rfo.status = CANCELED
        self._touch(ret)
        self._emit_return("returns/cancel", ret)
        return ret

    def close(self, global_id: Any) -> Return:
        ret = self._require(global_id, ["id"])
        if ret.status == CLOSED:
            return ret
        if ret.status != OPEN:
            raise _fail(["id"], STATUS_INVALID, "INVALID_STATE")
        self._close(ret)
        return ret

    def _close(self, ret: Return) -> None:
        ret.status = CLOSED
        ret.closed_at = self._touch(ret)
        for rfo in self.reverse_orders_of(ret):
            if rfo.status == OPEN:
                rfo.status = CLOSED
        if self.balance_owed(ret, all_received=True) <= 0:
            self._release_exchange_holds(ret)
        self._emit_return("returns/close", ret)

    def reopen(self, global_id: Any) -> Return:
        ret = self._require(global_id, ["id"])
        if ret.status == OPEN:
            return ret
        if ret.status != CLOSED:
            raise _fail(["id"], STATUS_INVALID, "INVALID_STATE")
        ret.status = OPEN
        ret.closed_at = None
        for rfo in self.reverse_orders_of(ret):
            if rfo.status == CLOSED and any(x.remaining for x in rfo.line_items):
                rfo.status = OPEN
        self._touch(ret)
        self._emit_return("returns/reopen", ret)
        return ret

    def remove_items(
        self,
        global_id: Any,
        line_inputs: list[dict[str, Any]],
        exchange_inputs: list[dict[str, Any]],
    ) -> Return:
        """removeFromReturn: fewer units on a return that is still REQUESTED or OPEN; a unit
        already processed or disposed stays. Its reverse fulfillment order follows."""
        ret = self._require(global_id, ["returnId"])
        if ret.status not in {OPEN, REQUESTED}:
            raise _fail(["returnId"], STATUS_INVALID, "INVALID_STATE")
        errors: list[UserError] = []
        lines: dict[int, int] = {}
        for index, entry in enumerate(line_inputs):
            where = ["returnLineItems", str(index)]
            line_id = _id(entry.get("returnLineItemId"), "ReturnLineItem")
            line = ret.line(line_id) if line_id is not None else None
            if line is None:
                errors.append(_err([*where, "returnLineItemId"], NO_RETURN_LINE, "INVALID"))
                continue
            quantity = int(entry.get("quantity", 0))
            if quantity <= 0:
                errors.append(_err(None, "Quantity must be greater than 0", "GREATER_THAN"))
                continue
            if quantity > self._removable(ret, line) - lines.get(line.id, 0):
                errors.append(_err([*where, "quantity"], INVALID_RETURN_QUANTITY, "INVALID"))
                continue
            lines[line.id] = lines.get(line.id, 0) + quantity
        exchanges: dict[int, int] = {}
        for index, entry in enumerate(exchange_inputs):
            where = ["exchangeLineItems", str(index)]
            line_id = _id(entry.get("exchangeLineItemId"), "ExchangeLineItem")
            exchange = ret.exchange_line(line_id) if line_id is not None else None
            if exchange is None:
                errors.append(
                    _err(
                        [*where, "exchangeLineItemId"],
                        SANDBOX_WORDING["no_exchange_line"],
                        "INVALID",
                    )
                )
                continue
            quantity = int(entry.get("quantity", 0))
            if quantity <= 0:
                errors.append(_err(None, "Quantity must be greater than 0", "GREATER_THAN"))
                continue
            if quantity > exchange.processable - exchanges.get(exchange.id, 0):
                errors.append(
                    _err(
                        [*where, "quantity"],
                        SANDBOX_WORDING["invalid_exchange_quantity"],
                        "INVALID",
                    )
                )
                continue
            exchanges[exchange.id] = exchanges.get(exchange.id, 0) + quantity
        if not errors and not lines and not exchanges:
            errors.append(_err(["returnLineItems"], NO_LINES, "INVALID"))
        left = sum(x.quantity - lines.get(x.id, 0) for x in ret.line_items)
        if not errors and left == 0:
            errors.append(_err(["returnLineItems"], NO_LINES, "INVALID"))
        if errors:
            raise OrderUserErrors(*errors)
        for line in ret.line_items:
            removed = lines.get(line.id, 0)
            if not removed:
                continue
            line.quantity -= removed
            for rfo in self.reverse_orders_of(ret):
                for rfo_line in rfo.line_items:
                    if rfo_line.return_line_item_id == line.id:
                        rfo_line.total_quantity -= removed
                rfo.line_items = [x for x in rfo.line_items if x.total_quantity > 0]
        ret.line_items = [x for x in ret.line_items if x.quantity > 0]
        for exchange in ret.exchange_line_items:
            exchange.quantity -= exchanges.get(exchange.id, 0)
        ret.exchange_line_items = [x for x in ret.exchange_line_items if x.quantity > 0]
        self._touch(ret)
        self._emit_return("returns/update", ret)
        return ret

    def _removable(self, ret: Return, line: ReturnLineItem) -> int:
        """Units of a return line that are neither processed nor disposed."""
        disposed = sum(
            rfo_line.disposed
            for rfo in self.reverse_orders_of(ret)
            for rfo_line in rfo.line_items
            if rfo_line.return_line_item_id == line.id
        )
        return line.quantity - max(line.processed_quantity, disposed)

    # ------------------------------------------------------------------ reverse deliveries
    def create_delivery(
        self,
        reverse_order_gid: Any,
        lines: list[dict[str, Any]],
        tracking: dict[str, Any] | None,
        label: dict[str, Any] | None,
    ) -> ReverseDelivery:
        """reverseDeliveryCreateWithShipping: which units travel back, with tracking and a
        label; an empty line list means every unit not yet on a delivery."""
        number = _id(reverse_order_gid, "ReverseFulfillmentOrder")
        rfo = self.reverse_orders.get(number) if number is not None else None
        if rfo is None:
            raise _fail(
                ["reverseFulfillmentOrderId"], SANDBOX_WORDING["no_reverse_order"], "NOT_FOUND"
            )
        if rfo.status != OPEN:
            raise _fail(
                ["reverseFulfillmentOrderId"],
                SANDBOX_WORDING["reverse_order_not_open"],
                "INVALID_STATE",
            )
        on_deliveries: dict[int, int] = {}
        for delivery_id in rfo.delivery_ids:
            for dli in self.deliveries[delivery_id].line_items:
                key = dli.reverse_line_item_id
                on_deliveries[key] = on_deliveries.get(key, 0) + dli.quantity
        plan: list[tuple[int, int]] = []
        errors: list[UserError] = []
        if not lines:
            plan = [
                (x.id, x.total_quantity - on_deliveries.get(x.id, 0))
                for x in rfo.line_items
                if x.total_quantity > on_deliveries.get(x.id, 0)
            ]
        for index, entry in enumerate(lines):
            where = ["reverseDeliveryLineItems", str(index)]
            line_id = _id(
                entry.get("reverseFulfillmentOrderLineItemId"), "ReverseFulfillmentOrderLineItem"
            )
            line = rfo.line(line_id) if line_id is not None else None
            if line is None:
                errors.append(
                    _err(
                        [*where, "reverseFulfillmentOrderLineItemId"], NO_REVERSE_LINE, "NOT_FOUND"
                    )
                )
                continue
            quantity = int(entry.get("quantity", 0))
            taken = on_deliveries.get(line.id, 0) + sum(q for i, q in plan if i == line.id)
            if quantity <= 0 or quantity > line.total_quantity - taken:
                errors.append(_err([*where, "quantity"], INVALID_DISPOSE_QUANTITY, "INVALID"))
                continue
            plan.append((line.id, quantity))
        if errors:
            raise OrderUserErrors(*errors)
        if not plan:
            raise _fail(["reverseDeliveryLineItems"], INVALID_DISPOSE_QUANTITY, "INVALID")
        now = self.shop.clock.iso_now()
        delivery = ReverseDelivery(id=self.shop.next_id(), reverse_order_id=rfo.id, created_at=now)
        delivery.line_items = [
            ReverseDeliveryLineItem(self.shop.next_id(), line_id, quantity)
            for line_id, quantity in plan
        ]
        self._apply_shipping(delivery, tracking, label)
        self.deliveries[delivery.id] = delivery
        rfo.delivery_ids.append(delivery.id)
        self._touch(self.returns[rfo.return_id])
        if delivery.tracking_number or delivery.tracking_url or delivery.label_url:
            self._emit_delivery(delivery)
        return delivery

    def update_delivery(
        self, delivery_gid: Any, tracking: dict[str, Any] | None, label: dict[str, Any] | None
    ) -> ReverseDelivery:
        """reverseDeliveryShippingUpdate: new tracking or label for a delivery."""
        number = _id(delivery_gid, "ReverseDelivery")
        delivery = self.deliveries.get(number) if number is not None else None
        if delivery is None:
            raise _fail(["reverseDeliveryId"], NO_REVERSE_DELIVERY, "NOT_FOUND")
        self._apply_shipping(delivery, tracking, label)
        self._emit_delivery(delivery)
        return delivery

    def _apply_shipping(
        self,
        delivery: ReverseDelivery,
        tracking: dict[str, Any] | None,
        label: dict[str, Any] | None,
    ) -> None:
        now = self.shop.clock.iso_now()
        if tracking:
            if "number" in tracking:
                delivery.tracking_number = tracking.get("number")
            if "url" in tracking:
                delivery.tracking_url = tracking.get("url")
        if label and label.get("fileUrl"):
            delivery.label_url = label["fileUrl"]
            delivery.label_created_at = delivery.label_created_at or now
            delivery.label_updated_at = now

    # ------------------------------------------------------------------ dispositions
    def dispose(
        self, inputs: list[dict[str, Any]], *, field_prefix: list[str] | None = None
    ) -> list[ReverseFulfillmentOrderLineItem]:
        """reverseFulfillmentOrderDispose: all or nothing, one reverse fulfillment order."""
        prefix = field_prefix or ["dispositionInputs"]
        plan = self._plan_dispositions(inputs, prefix)
        return self._apply_dispositions(plan)

    def _plan_dispositions(
        self, inputs: list[dict[str, Any]], prefix: list[str]
    ) -> list[tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem, dict[str, Any]]]:
        if not inputs:
            raise _fail(prefix, EMPTY_DISPOSITIONS, "BLANK")
        errors: list[UserError] = []
        plan: list[
            tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem, dict[str, Any]]
        ] = []
        wanted: dict[int, int] = {}
        for index, entry in enumerate(inputs):
            where = [*prefix, str(index)]
            line_id = _id(
                entry.get("reverseFulfillmentOrderLineItemId"), "ReverseFulfillmentOrderLineItem"
            )
            found = self.reverse_line(line_id) if line_id is not None else None
            if found is None:
                errors.append(
                    _err(
                        [*where, "reverseFulfillmentOrderLineItemId"], NO_REVERSE_LINE, "NOT_FOUND"
                    )
                )
                continue
            rfo, line = found
            if rfo.status != OPEN:
                errors.append(
                    _err(
                        [*where, "reverseFulfillmentOrderLineItemId"],
                        SANDBOX_WORDING["reverse_order_not_open"],
                        "INVALID_STATE",
                    )
                )
                continue
            quantity = int(entry.get("quantity", 0))
            if quantity <= 0 or quantity > line.remaining - wanted.get(line.id, 0):
                errors.append(_err([*where, "quantity"], INVALID_DISPOSE_QUANTITY, "INVALID"))
                continue
            kind = entry.get("dispositionType")
            location_raw = entry.get("locationId")
            location_id = _id(location_raw, "Location") if location_raw is not None else None
            if location_raw is not None and (
                location_id is None or location_id not in self.shop.locations
            ):
                errors.append(
                    _err([*where, "locationId"], SANDBOX_WORDING["no_location"], "NOT_FOUND")
                )
                continue
            if kind == RESTOCKED:
                order_line = self._order_line(rfo, line)
                if order_line.inventory_item_id is None:
                    errors.append(_err([*where, "dispositionType"], CUSTOM_LINE_RESTOCK, "INVALID"))
                    continue
                if location_id is None:
                    errors.append(
                        _err([*where, "locationId"], SANDBOX_WORDING["location_required"], "BLANK")
                    )
                    continue
            wanted[line.id] = wanted.get(line.id, 0) + quantity
            plan.append((rfo, line, {"type": kind, "quantity": quantity, "location": location_id}))
        if not errors and len({rfo.id for rfo, _, _ in plan}) > 1:
            errors.append(_err(prefix, SEVERAL_REVERSE_ORDERS, "INVALID"))
        if errors:
            raise OrderUserErrors(*errors)
        return plan

    def _order_line(
        self, rfo: ReverseFulfillmentOrder, line: ReverseFulfillmentOrderLineItem
    ) -> LineItem:
        order = self.orders.orders[rfo.order_id]
        ret = self.returns[rfo.return_id]
        return_line = ret.line(line.return_line_item_id)
        assert return_line is not None
        return self.orders.line_item(order, return_line.line_item_id)

    def _apply_dispositions(
        self,
        plan: list[tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem, dict[str, Any]]],
    ) -> list[ReverseFulfillmentOrderLineItem]:
        now = self.shop.clock.iso_now()
        catalog = self._catalog()
        touched: list[ReverseFulfillmentOrderLineItem] = []
        made: list[
            tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem, Disposition]
        ] = []
        for rfo, line, what in plan:
            disposition = Disposition(
                id=self.shop.next_id(),
                type=what["type"],
                quantity=what["quantity"],
                location_id=what["location"],
                created_at=now,
            )
            line.dispositions.append(disposition)
            made.append((rfo, line, disposition))
            if line not in touched:
                touched.append(line)
            if disposition.type == RESTOCKED and disposition.location_id is not None:
                item_id = self._order_line(rfo, line).inventory_item_id
                assert item_id is not None
                self._restock(catalog, item_id, disposition.location_id, disposition.quantity)
        for rfo in {id(r): r for r, _, _ in plan}.values():
            if all(x.remaining == 0 for x in rfo.line_items):
                rfo.status = CLOSED
            self._touch(self.returns[rfo.return_id])
            self._emit_dispositions(rfo, [(line, d) for r, line, d in made if r is rfo])
        return touched

    @staticmethod
    def _restock(catalog: Catalog, item_id: int, location_id: int, quantity: int) -> None:
        """Returned units are back on the shelf: available (and on_hand) go up; Catalog
        announces the level (inventory_levels/update). Untracked items have no count; an
        item not stocked at the location is stocked there first."""
        item = catalog.inventory_item(item_id)
        if item is None or not item.tracked:
            return
        if catalog.level(item_id, location_id) is None:
            catalog.activate(item_id, location_id)
        catalog.adjust_quantity(item_id, location_id, "available", quantity)

    # ------------------------------------------------------------------ processing
    def process(self, raw: dict[str, Any]) -> Return:
        """returnProcess: confirm returned and exchanged units, dispose of returned ones,
        optionally refund; exchange items join the order."""
        ret = self._require(raw.get("returnId"), ["input", "returnId"])
        if ret.status != OPEN:
            raise _fail(["input", "returnId"], STATUS_INVALID, "INVALID_STATE")
        line_inputs = list(raw.get("returnLineItems") or [])
        exchange_inputs = list(raw.get("exchangeLineItems") or [])
        if not line_inputs and not exchange_inputs:
            raise _fail(["input"], SANDBOX_WORDING["nothing_to_process"], "BLANK")
        errors: list[UserError] = []
        line_plan: list[tuple[ReturnLineItem, int]] = []
        dispositions: list[dict[str, Any]] = []
        disposition_owner: list[ReturnLineItem] = []
        for index, entry in enumerate(line_inputs):
            where = ["input", "returnLineItems", str(index)]
            line_id = _id(entry.get("id"), "ReturnLineItem")
            line = ret.line(line_id) if line_id is not None else None
            if line is None:
                errors.append(_err([*where, "id"], NO_RETURN_LINE, "NOT_FOUND"))
                continue
            quantity = int(entry.get("quantity", 0))
            already = sum(q for x, q in line_plan if x is line)
            if quantity <= 0 or quantity > line.processable - already:
                errors.append(_err([*where, "quantity"], INVALID_RETURN_QUANTITY, "INVALID"))
                continue
            line_plan.append((line, quantity))
            for disposition in entry.get("dispositions") or []:
                dispositions.append(disposition)
                disposition_owner.append(line)
            disposed = sum(int(d.get("quantity", 0)) for d in entry.get("dispositions") or [])
            if disposed > quantity:
                errors.append(
                    _err(
                        [*where, "dispositions"], SANDBOX_WORDING["disposition_exceeds"], "INVALID"
                    )
                )
        exchange_plan: list[tuple[ExchangeLineItem, int]] = []
        for index, entry in enumerate(exchange_inputs):
            where = ["input", "exchangeLineItems", str(index)]
            line_id = _id(entry.get("id"), "ExchangeLineItem")
            exchange = ret.exchange_line(line_id) if line_id is not None else None
            if exchange is None:
                errors.append(
                    _err([*where, "id"], SANDBOX_WORDING["no_exchange_line"], "NOT_FOUND")
                )
                continue
            quantity = int(entry.get("quantity", 0))
            already = sum(q for x, q in exchange_plan if x is exchange)
            if quantity <= 0 or quantity > exchange.processable - already:
                errors.append(
                    _err(
                        [*where, "quantity"],
                        SANDBOX_WORDING["invalid_exchange_quantity"],
                        "INVALID",
                    )
                )
                continue
            exchange_plan.append((exchange, quantity))
        refund_total = self._check_refund(ret, raw.get("financialTransfer"), errors)
        disposition_plan: list[
            tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem, dict[str, Any]]
        ] = []
        if not errors and dispositions:
            disposition_plan = self._plan_dispositions(
                dispositions, ["input", "returnLineItems", "dispositions"]
            )
            for (_rfo, rfo_line, _what), owner in zip(
                disposition_plan, disposition_owner, strict=True
            ):
                if rfo_line.return_line_item_id != owner.id:
                    errors.append(
                        _err(
                            ["input", "returnLineItems", "dispositions"],
                            SANDBOX_WORDING["disposition_elsewhere"],
                            "INVALID",
                        )
                    )
                    break
        if not errors and exchange_plan:
            location = self._exchange_location(exchange_plan)
            if location is None:
                errors.append(
                    _err(
                        ["input", "exchangeLineItems"],
                        SANDBOX_WORDING["no_exchange_location"],
                        "INVALID",
                    )
                )
        if errors:
            raise OrderUserErrors(*errors)
        # Everything checked: apply.
        for line, quantity in line_plan:
            line.processed_quantity += quantity
        if disposition_plan:
            self._apply_dispositions(disposition_plan)
        if exchange_plan:
            self._confirm_exchanges(ret, exchange_plan)
        if refund_total is not None:
            order = self.orders.orders[ret.order_id]
            order.refunded += refund_total
            ret.refunds.append(
                Refund(
                    self.shop.next_id(), refund_total, raw.get("note"), self.shop.clock.iso_now()
                )
            )
        self._touch(ret)
        if self.balance_owed(ret) <= 0:
            self._release_exchange_holds(ret)
        self._emit_return("returns/process", ret)
        if ret.fully_processed:
            self._close(ret)
        return ret

    def _check_refund(
        self, ret: Return, transfer: dict[str, Any] | None, errors: list[UserError]
    ) -> Decimal | None:
        refund = (transfer or {}).get("issueRefund")
        if not refund:
            return None
        order = self.orders.orders[ret.order_id]
        known = {t.id for t in order.transactions}
        total = Decimal("0")
        for index, entry in enumerate(refund.get("orderTransactions") or []):
            where = ["input", "financialTransfer", "issueRefund", "orderTransactions", str(index)]
            if _id(entry.get("parentId"), "OrderTransaction") not in known:
                errors.append(
                    _err(
                        [*where, "parentId"], SANDBOX_WORDING["no_parent_transaction"], "NOT_FOUND"
                    )
                )
                continue
            amount = _money(entry.get("transactionAmount"))
            if amount is None or amount <= 0:
                errors.append(
                    _err([*where, "transactionAmount"], INVALID_DISPOSE_QUANTITY, "INVALID")
                )
                continue
            total += amount
        if not refund.get("allowOverRefunding") and total > order.paid - order.refunded:
            errors.append(
                _err(
                    ["input", "financialTransfer", "issueRefund"],
                    SANDBOX_WORDING["over_refund"],
                    "INVALID",
                )
            )
        return total

    def _exchange_location(self, plan: list[tuple[ExchangeLineItem, int]]) -> int | None:
        catalog = self._catalog()
        first, quantity = plan[0]
        variant = catalog.variant(first.variant_id)
        item_id = variant.inventory_item_id if variant is not None else None
        return _location_for(self.orders, item_id, quantity)

    def _confirm_exchanges(self, ret: Return, plan: list[tuple[ExchangeLineItem, int]]) -> None:
        """The processed exchange units become order lines with one fulfillment order."""
        orders = self.orders
        order = orders.orders[ret.order_id]
        catalog = self._catalog()
        location_id = self._exchange_location(plan)
        assert location_id is not None
        fo = orders._new_fo(order, location_id)
        for exchange, quantity in plan:
            line = orders._build_line(
                catalog,
                {"variantId": gid("ProductVariant", exchange.variant_id), "quantity": quantity},
                len(order.line_items),
            )
            order.line_items.append(line)
            exchange.line_item_ids.append(line.id)
            exchange.processed_quantity += quantity
            fo.line_items.append(
                FulfillmentOrderLineItem(self.shop.next_id(), line.id, quantity, quantity)
            )
            if order.inventory_behaviour != "BYPASS":
                order_inventory.commit(catalog, line, location_id, quantity)
        orders._touch_fo(fo)
        orders._emit_order_updated(order)
        orders._emit_fo_event("fulfillment_orders/order_routing_complete", fo)
        if self.balance_owed(ret) > 0:
            self._hold_for_return(ret, fo)

    def balance_owed(self, ret: Return, *, all_received: bool = False) -> Decimal:
        """What the buyer owes on the return so far: the processed exchange items less the
        processed returned items (at the prices of their order lines). Returned items not
        yet processed are not credited (that is what the exchange waits for) unless
        ``all_received``: a closed return counts as returned."""
        order = self.orders.orders[ret.order_id]
        exchanged = sum(
            (
                self.orders.line_item(order, line_id).price
                * self.orders.line_item(order, line_id).quantity
                for x in ret.exchange_line_items
                for line_id in x.line_item_ids
            ),
            Decimal("0"),
        )
        returned = sum(
            (
                self.orders.line_item(order, x.line_item_id).price
                * (x.quantity if all_received else x.processed_quantity)
                for x in ret.line_items
            ),
            Decimal("0"),
        )
        return exchanged - returned

    def _hold_for_return(self, ret: Return, fo: FulfillmentOrder) -> None:
        hold, _fo, _rest = self.orders.hold(
            fo,
            {"reason": EXCHANGE_HOLD_REASON, "reasonNotes": f"Awaiting the items of {ret.name}"},
            None,
        )
        ret.exchange_holds.append((fo.id, hold.id))

    def _release_exchange_holds(self, ret: Return) -> None:
        orders = self.orders
        for fo_id, hold_id in ret.exchange_holds:
            fo = orders.fulfillment_order(fo_id)
            if fo is not None and any(h.id == hold_id for h in fo.holds):
                orders.release_hold(fo, [gid("FulfillmentHold", hold_id)], None)
        ret.exchange_holds = []

    # ------------------------------------------------------------------ bookkeeping
    def _touch(self, ret: Return) -> str:
        now = self.shop.clock.iso_now()
        ret.updated_at = now
        order = self.orders.order(ret.order_id)
        if order is not None:
            order.updated_at = now
        return now

    # ------------------------------------------------------------------ webhooks
    def return_payload(self, ret: Return) -> dict[str, Any]:
        """The body of the returns/* topics, REST-shaped (snake case, numeric ids)."""
        order = self.orders.orders[ret.order_id]
        body: dict[str, Any] = {
            "id": ret.id,
            "admin_graphql_api_id": ret.gid,
            "name": ret.name,
            "status": ret.status.lower(),
            "order_id": order.id,
            "order": {"id": order.id, "admin_graphql_api_id": order.gid},
            "total_return_line_items": len(ret.line_items),
            "return_line_items": [self._line_payload(order, line) for line in ret.line_items],
            "exchange_line_items": [
                {
                    "id": x.id,
                    "admin_graphql_api_id": x.gid,
                    "quantity": x.quantity,
                    "processed_quantity": x.processed_quantity,
                    "variant_id": x.variant_id,
                    "line_item_ids": list(x.line_item_ids),
                }
                for x in ret.exchange_line_items
            ],
            "created_at": ret.created_at,
            "updated_at": ret.updated_at,
            "closed_at": ret.closed_at,
        }
        if ret.status == DECLINED:
            body["decline"] = {
                "reason": (ret.decline_reason or "").lower(),
                "note": ret.decline_note,
            }
        return body

    @staticmethod
    def _line_payload(order: Order, line: ReturnLineItem) -> dict[str, Any]:
        return {
            "id": line.id,
            "admin_graphql_api_id": line.gid,
            "fulfillment_line_item": {
                "id": line.fulfillment_line_item_id,
                "admin_graphql_api_id": gid("FulfillmentLineItem", line.fulfillment_line_item_id),
                "line_item": {
                    "id": line.line_item_id,
                    "admin_graphql_api_id": gid("LineItem", line.line_item_id),
                },
            },
            "quantity": line.quantity,
            "processed_quantity": line.processed_quantity,
            "return_reason": line.return_reason.lower(),
            "return_reason_note": line.return_reason_note,
            "customer_note": line.customer_note,
        }

    def _emit_return(self, topic: str, ret: Return) -> None:
        self.shop.emit(topic, self.return_payload(ret))

    def _emit_delivery(self, delivery: ReverseDelivery) -> None:
        rfo = self.reverse_orders[delivery.reverse_order_id]
        ret = self.returns[rfo.return_id]
        self.shop.emit(
            "reverse_deliveries/attach_deliverable",
            {
                "id": delivery.id,
                "admin_graphql_api_id": delivery.gid,
                "return": {"id": ret.id, "admin_graphql_api_id": ret.gid},
                "reverse_fulfillment_order": {"id": rfo.id, "admin_graphql_api_id": rfo.gid},
                "shipping_deliverable": {
                    "tracking": {
                        "carrier_name": delivery.carrier_name,
                        "tracking_number": delivery.tracking_number,
                        "tracking_url": delivery.tracking_url,
                    },
                    "label": {
                        "public_file_url": delivery.label_url,
                        "created_at": delivery.label_created_at,
                    }
                    if delivery.label_url
                    else None,
                },
            },
        )

    def _emit_dispositions(
        self,
        rfo: ReverseFulfillmentOrder,
        made: list[tuple[ReverseFulfillmentOrderLineItem, Disposition]],
    ) -> None:
        self.shop.emit(
            "reverse_fulfillment_orders/dispose",
            {
                "id": rfo.id,
                "admin_graphql_api_id": rfo.gid,
                "order_id": rfo.order_id,
                "return_id": rfo.return_id,
                "status": rfo.status.lower(),
                "total_dispositions": len(made),
                "dispositions": [
                    {
                        "id": d.id,
                        "reverse_fulfillment_order_line_item": {
                            "id": line.id,
                            "admin_graphql_api_id": line.gid,
                            "fulfillment_line_item": {
                                "id": line.fulfillment_line_item_id,
                                "admin_graphql_api_id": gid(
                                    "FulfillmentLineItem", line.fulfillment_line_item_id
                                ),
                            },
                        },
                        "reverse_delivery_line_item": None,
                        "type": d.type.lower(),
                        "location": {
                            "id": d.location_id,
                            "admin_graphql_api_id": gid("Location", d.location_id),
                        }
                        if d.location_id is not None
                        else None,
                        "quantity": d.quantity,
                    }
                    for line, d in made
                ],
            },
        )

    # ------------------------------------------------------------------ state dump
    def dump(self) -> list[dict[str, Any]]:
        return [
            {
                **self.return_payload(ret),
                "reverse_fulfillment_orders": [
                    {
                        "id": rfo.gid,
                        "status": rfo.status,
                        "line_items": [
                            {"id": x.gid, "total": x.total_quantity, "remaining": x.remaining}
                            for x in rfo.line_items
                        ],
                        "deliveries": [self.deliveries[i].gid for i in rfo.delivery_ids],
                    }
                    for rfo in self.reverse_orders_of(ret)
                ],
            }
            for ret in sorted(self.returns.values(), key=_by_id)
        ]


def _by_id(ret: Return) -> int:
    return ret.id


def returns_of(shop: ShopState) -> Returns:
    part: Returns = shop.part("returns", Returns)
    return part
