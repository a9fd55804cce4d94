"""Orders, fulfillment orders and fulfillments of the sandbox (pure Python, no GraphQL).

Obtain the part as ``orders_of(shop)`` (``shop.part("orders", Orders)``). Public entry points
for the rest of the project (seeding, demos): ``create_order(shop, order_input, options)``
and the ``Orders`` methods. Inputs are dicts shaped like the GraphQL inputs (camelCase keys).

Rules come from the recorded captures (file names cited next to each rule) and from
NOTES.md ("Fulfillment order state machine"); where neither says, the sandbox follows
Shopify's documentation and the report of the module lists what is invented.

Failures the caller should show as ``userErrors`` raise ``OrderUserErrors``; an unknown id
that Shopify reports as a top-level ``RESOURCE_NOT_FOUND`` raises ``NotFound``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fulfillbridge.sandbox.state import gid, parse_gid

if TYPE_CHECKING:
    from fulfillbridge.sandbox.domain.catalog import Catalog
    from fulfillbridge.sandbox.state import Location, ShopState

# Statuses (schema enums FulfillmentOrderStatus / FulfillmentOrderRequestStatus).
OPEN, IN_PROGRESS, CLOSED, CANCELLED = "OPEN", "IN_PROGRESS", "CLOSED", "CANCELLED"
ON_HOLD, INCOMPLETE, SCHEDULED = "ON_HOLD", "INCOMPLETE", "SCHEDULED"
UNSUBMITTED, SUBMITTED, ACCEPTED, REJECTED = "UNSUBMITTED", "SUBMITTED", "ACCEPTED", "REJECTED"
CANCELLATION_REQUESTED = "CANCELLATION_REQUESTED"
CANCELLATION_ACCEPTED = "CANCELLATION_ACCEPTED"
CANCELLATION_REJECTED = "CANCELLATION_REJECTED"

# Capture 2026-04_shipping-fulfillments_fulfillment-order-hold-validation.json.
MAX_HOLDS_PER_APP = 10
# Capture 2026-04_orders_orderCancel-error-messages.json.
MAX_STAFF_NOTE = 255

_DISPLAY_REASONS = {
    "AWAITING_PAYMENT": "Awaiting payment",
    "HIGH_RISK_OF_FRAUD": "High risk of fraud",
    "INCORRECT_ADDRESS": "Incorrect address",
    "INVENTORY_OUT_OF_STOCK": "Inventory out of stock",
    "UNKNOWN_DELIVERY_DATE": "Unknown delivery date",
    "ONLINE_STORE_POST_PURCHASE_CROSS_SELL": "Post-purchase cross-sell",
    "AWAITING_RETURN_ITEMS": "Awaiting return items",
    "OTHER": "Other",
}

# Fulfillment event statuses that also name a FulfillmentDisplayStatus (schema enums).
_EVENT_DISPLAY = {
    "LABEL_PURCHASED",
    "LABEL_PRINTED",
    "READY_FOR_PICKUP",
    "CONFIRMED",
    "IN_TRANSIT",
    "OUT_FOR_DELIVERY",
    "ATTEMPTED_DELIVERY",
    "DELAYED",
    "DELIVERED",
    "FAILURE",
    "CARRIER_PICKED_UP",
}


# ----------------------------------------------------------------------------- errors
@dataclass(frozen=True)
class UserError:
    field: list[str] | None
    message: str
    code: str | None = None


class OrderUserErrors(Exception):
    """One or more userErrors; nothing was changed."""

    def __init__(self, *errors: UserError) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


class NotFound(Exception):
    """An id Shopify answers with a top-level "Invalid id: <gid>" error."""

    def __init__(self, global_id: str) -> None:
        super().__init__(f"Invalid id: {global_id}")
        self.global_id = global_id


def _fail(field_path: list[str] | None, message: str, code: str | None = None) -> OrderUserErrors:
    return OrderUserErrors(UserError(field_path, message, code))


# ----------------------------------------------------------------------------- model
@dataclass
class LineItem:
    id: int
    title: str
    quantity: int
    price: Decimal
    sku: str | None = None
    variant_id: int | None = None
    product_id: int | None = None
    inventory_item_id: int | None = None
    variant_title: str | None = None
    vendor: str | None = None
    requires_shipping: bool = False
    taxable: bool = True
    fulfilled_quantity: int = 0
    # Units removed by cancellation (currentQuantity = quantity - removed).
    removed_quantity: int = 0
    # Location -> units committed there by this line (inventory behaviour not BYPASS).
    committed: dict[int, int] = field(default_factory=dict)

    @property
    def gid(self) -> str:
        return gid("LineItem", self.id)


@dataclass
class ShippingLine:
    id: int
    title: str
    price: Decimal
    code: str | None = None
    source: str | None = None


@dataclass
class Transaction:
    id: int
    kind: str
    status: str
    gateway: str
    amount: Decimal
    test: bool
    created_at: str


@dataclass
class Order:
    id: int
    number: int
    name: str
    created_at: str
    updated_at: str
    processed_at: str
    currency: str
    email: str | None = None
    phone: str | None = None
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    test: bool = False
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    line_items: list[LineItem] = field(default_factory=list)
    shipping_lines: list[ShippingLine] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    financial_status: str | None = "PENDING"
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    closed_at: str | None = None
    refunded: Decimal = Decimal("0")
    source_name: str | None = None
    inventory_behaviour: str = "BYPASS"
    fulfillment_order_ids: list[int] = field(default_factory=list)
    fulfillment_ids: list[int] = field(default_factory=list)
    app_id: str | None = None

    @property
    def gid(self) -> str:
        return gid("Order", self.id)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def subtotal(self) -> Decimal:
        return sum((li.price * li.quantity for li in self.line_items), Decimal("0"))

    @property
    def shipping_total(self) -> Decimal:
        return sum((s.price for s in self.shipping_lines), Decimal("0"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping_total

    @property
    def paid(self) -> Decimal:
        return sum(
            (
                t.amount
                for t in self.transactions
                if t.status == "SUCCESS" and t.kind in {"SALE", "CAPTURE"}
            ),
            Decimal("0"),
        )

    @property
    def current_total(self) -> Decimal:
        # A cancelled, unpaid order owes nothing (capture 2026-04_orders_orderCancel-parity).
        if self.cancelled_at is not None and self.paid == 0:
            return Decimal("0")
        return self.total - self.refunded

    @property
    def outstanding(self) -> Decimal:
        if self.cancelled_at is not None:
            return Decimal("0")
        return max(self.total - self.paid, Decimal("0"))


@dataclass
class FulfillmentOrderLineItem:
    id: int
    line_item_id: int
    total_quantity: int
    remaining_quantity: int

    @property
    def gid(self) -> str:
        return gid("FulfillmentOrderLineItem", self.id)


@dataclass
class FulfillmentHold:
    id: int
    reason: str
    reason_notes: str | None
    handle: str
    app_id: str
    external_id: str | None = None
    notify_merchant: bool = False

    @property
    def gid(self) -> str:
        return gid("FulfillmentHold", self.id)

    @property
    def display_reason(self) -> str:
        return _DISPLAY_REASONS.get(self.reason, self.reason.replace("_", " ").capitalize())


@dataclass
class MerchantRequest:
    id: int
    kind: str  # FULFILLMENT_REQUEST | CANCELLATION_REQUEST
    message: str | None
    request_options: dict[str, Any]
    sent_at: str
    response_data: dict[str, Any] | None = None

    @property
    def gid(self) -> str:
        return gid("FulfillmentOrderMerchantRequest", self.id)


@dataclass
class FulfillmentOrder:
    id: int
    order_id: int
    location_id: int
    created_at: str
    updated_at: str
    fulfill_at: str | None
    status: str = OPEN
    request_status: str = UNSUBMITTED
    line_items: list[FulfillmentOrderLineItem] = field(default_factory=list)
    holds: list[FulfillmentHold] = field(default_factory=list)
    merchant_requests: list[MerchantRequest] = field(default_factory=list)
    fulfill_by: str | None = None
    progress_reported: bool = False
    delivery_method: str = "SHIPPING"
    # The fulfillment order split off by a partial hold (merged back on release).
    hold_remainder_id: int | None = None
    # Status to restore when the last hold is released.
    status_before_hold: str | None = None

    @property
    def gid(self) -> str:
        return gid("FulfillmentOrder", self.id)

    def remaining(self) -> int:
        return sum(li.remaining_quantity for li in self.line_items)

    def line(self, foli_id: int) -> FulfillmentOrderLineItem | None:
        return next((li for li in self.line_items if li.id == foli_id), None)


@dataclass
class FulfillmentEvent:
    id: int
    fulfillment_id: int
    status: str
    created_at: str
    happened_at: str
    message: str | None = None
    estimated_delivery_at: str | None = None
    city: str | None = None
    province: str | None = None
    country: str | None = None
    zip: str | None = None
    address1: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def gid(self) -> str:
        return gid("FulfillmentEvent", self.id)


@dataclass
class TrackingInfo:
    number: str | None
    url: str | None
    company: str | None


@dataclass
class FulfillmentLineItem:
    id: int
    line_item_id: int
    quantity: int
    fulfillment_order_line_item_id: int

    @property
    def gid(self) -> str:
        return gid("FulfillmentLineItem", self.id)


@dataclass
class Fulfillment:
    id: int
    order_id: int
    location_id: int
    name: str
    created_at: str
    updated_at: str
    status: str = "SUCCESS"
    tracking: list[TrackingInfo] = field(default_factory=list)
    events: list[FulfillmentEvent] = field(default_factory=list)
    line_items: list[FulfillmentLineItem] = field(default_factory=list)
    fulfillment_order_ids: list[int] = field(default_factory=list)
    origin_address: dict[str, Any] | None = None
    notify_customer: bool = False
    message: str | None = None

    @property
    def gid(self) -> str:
        return gid("Fulfillment", self.id)

    @property
    def display_status(self) -> str:
        if self.status == "CANCELLED":
            return "CANCELED"
        latest = self.latest_event()
        if latest is not None and latest.status in _EVENT_DISPLAY:
            return latest.status
        return "FULFILLED"

    def latest_event(self) -> FulfillmentEvent | None:
        if not self.events:
            return None
        return max(self.events, key=lambda e: (e.happened_at, e.id))

    def event_time(self, status: str) -> str | None:
        times = [e.happened_at for e in self.events if e.status == status]
        return max(times) if times else None

    @property
    def estimated_delivery_at(self) -> str | None:
        for event in sorted(self.events, key=lambda e: (e.happened_at, e.id), reverse=True):
            if event.estimated_delivery_at:
                return event.estimated_delivery_at
        return None


# ----------------------------------------------------------------------------- helpers
def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception as exc:
        raise _fail(None, f"Invalid amount: {value!r}") from exc


def _amount_of(bag: dict[str, Any] | None) -> Decimal | None:
    if not bag:
        return None
    shop_money = bag.get("shopMoney") or bag.get("presentmentMoney")
    if not shop_money:
        return None
    return _money(shop_money.get("amount", "0"))


def _iso(value: str | None) -> str | None:
    """A DateTime input as Shopify echoes it: UTC, whole seconds, ``Z``."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _fail(None, f"Invalid date/time: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hour_floor(iso_value: str) -> str:
    # fulfillAt of a new fulfillment order is its creation time floored to the hour
    # (every capture: created 12:21:55 -> fulfillAt 12:00:00).
    return iso_value[:13] + ":00:00Z"


def _id_of(value: Any, kind: str) -> int | None:
    return parse_gid(value, kind) if isinstance(value, str) else None


def rest_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    first, last = address.get("firstName"), address.get("lastName")
    name = " ".join(p for p in (first, last) if p) or None
    return {
        "first_name": first,
        "last_name": last,
        "name": name,
        "company": address.get("company"),
        "address1": address.get("address1"),
        "address2": address.get("address2"),
        "city": address.get("city"),
        "province": address.get("province"),
        "province_code": address.get("provinceCode"),
        "country": address.get("country"),
        "country_code": address.get("countryCode"),
        "zip": address.get("zip"),
        "phone": address.get("phone"),
    }


# ----------------------------------------------------------------------------- the part
class Orders:
    """All orders, fulfillment orders and fulfillments of one shop."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.orders: dict[int, Order] = {}
        self.fulfillment_orders: dict[int, FulfillmentOrder] = {}
        self.fulfillments: dict[int, Fulfillment] = {}
        self._next_number = 1001
        # Location ids in routing priority order; None means "ascending id" (the order in
        # which locations were created, Shopify's default priority).
        self.location_priority: list[int] | None = None

    # ------------------------------------------------------------------ lookups
    def _catalog(self) -> Catalog:
        from fulfillbridge.sandbox.domain.catalog import Catalog

        return self.shop.part("catalog", Catalog)

    def order(self, order_id: int) -> Order | None:
        return self.orders.get(order_id)

    def fulfillment_order(self, fo_id: int) -> FulfillmentOrder | None:
        return self.fulfillment_orders.get(fo_id)

    def fulfillment(self, fulfillment_id: int) -> Fulfillment | None:
        return self.fulfillments.get(fulfillment_id)

    def require_fo(self, global_id: str) -> FulfillmentOrder:
        """The fulfillment order a mutation names, or ``NotFound`` (captured top-level
        error "Invalid id: gid://shopify/FulfillmentOrder/0")."""
        fo_id = _id_of(global_id, "FulfillmentOrder")
        fo = self.fulfillment_orders.get(fo_id) if fo_id is not None else None
        if fo is None:
            raise NotFound(global_id)
        return fo

    def fos_of(self, order: Order) -> list[FulfillmentOrder]:
        return [self.fulfillment_orders[i] for i in order.fulfillment_order_ids]

    def fulfillments_of(self, order: Order) -> list[Fulfillment]:
        return [self.fulfillments[i] for i in order.fulfillment_ids]

    def line_item(self, order: Order, line_item_id: int) -> LineItem:
        return next(li for li in order.line_items if li.id == line_item_id)

    def order_of(self, fo: FulfillmentOrder) -> Order:
        return self.orders[fo.order_id]

    def location(self, location_id: int) -> Location | None:
        return self.shop.locations.get(location_id)

    def is_service_location(self, location_id: int) -> bool:
        location = self.location(location_id)
        return location is not None and location.fulfillment_service_id is not None

    # ----------------------------------------------------------------- derived values
    def held_quantity(self, line: LineItem, order: Order) -> int:
        return sum(
            foli.remaining_quantity
            for fo in self.fos_of(order)
            if fo.status == ON_HOLD
            for foli in fo.line_items
            if foli.line_item_id == line.id
        )

    def fulfillable_quantity(self, line: LineItem, order: Order) -> int:
        # quantity minus fulfilled, removed and held units: matches every capture (a hold of
        # 2 of 5 leaves 3; a cancelled unfulfilled order still reads 1 of 1).
        left = line.quantity - line.fulfilled_quantity - line.removed_quantity
        return max(left - self.held_quantity(line, order), 0)

    def display_fulfillment_status(self, order: Order) -> str:
        wanted = sum(li.quantity - li.removed_quantity for li in order.line_items)
        done = sum(li.fulfilled_quantity for li in order.line_items)
        if wanted > 0 and done >= wanted:
            return "FULFILLED"
        if done > 0:
            return "PARTIALLY_FULFILLED"
        active = [fo for fo in self.fos_of(order) if fo.status not in {CLOSED, CANCELLED}]
        if any(fo.status == IN_PROGRESS for fo in active):
            return "IN_PROGRESS"
        if active and all(fo.status == ON_HOLD for fo in active):
            return "ON_HOLD"
        if active and all(fo.status == SCHEDULED for fo in active):
            return "SCHEDULED"
        return "UNFULFILLED"

    def display_financial_status(self, order: Order) -> str | None:
        return order.financial_status

    def supported_actions(self, fo: FulfillmentOrder, app_id: str | None = None) -> list[str]:
        """FulfillmentOrder.supportedActions, in the order the captures list them. HOLD
        goes once ``app_id`` has its ten holds (capture fulfillment-order-hold-validation)."""
        if fo.status in {CLOSED, CANCELLED, INCOMPLETE}:
            return []
        if fo.status == ON_HOLD:
            mine = sum(1 for h in fo.holds if h.app_id == app_id)
            return (
                ["RELEASE_HOLD", "MOVE"]
                if mine >= MAX_HOLDS_PER_APP
                else [
                    "RELEASE_HOLD",
                    "HOLD",
                    "MOVE",
                ]
            )
        service = self.is_service_location(fo.location_id)
        actions: list[str] = []
        if fo.status == SCHEDULED:
            return ["MARK_AS_OPEN", "HOLD"]
        if service:
            if fo.request_status in {UNSUBMITTED, REJECTED}:
                actions += ["CREATE_FULFILLMENT", "REQUEST_FULFILLMENT", "MOVE", "HOLD"]
            elif fo.request_status == SUBMITTED:
                actions += ["CANCEL_FULFILLMENT_ORDER"]
            elif fo.request_status in {ACCEPTED, CANCELLATION_REJECTED}:
                actions += ["CREATE_FULFILLMENT", "REQUEST_CANCELLATION"]
            elif fo.request_status == CANCELLATION_REQUESTED:
                actions += ["CREATE_FULFILLMENT"]
        elif fo.status == IN_PROGRESS:
            # Capture fulfillment-order-lifecycle: after reportProgress.
            actions += ["CREATE_FULFILLMENT", "REPORT_PROGRESS", "HOLD", "MARK_AS_OPEN"]
            return actions
        else:
            actions += ["CREATE_FULFILLMENT", "REPORT_PROGRESS", "MOVE", "HOLD"]
        if fo.status == OPEN and fo.request_status in {UNSUBMITTED, REJECTED}:
            if fo.remaining() > 1:
                actions.append("SPLIT")
            if self._merge_partners(fo):
                actions.append("MERGE")
        return actions

    def _mergeable(self, fo: FulfillmentOrder) -> bool:
        return (
            fo.status == OPEN
            and fo.request_status == UNSUBMITTED
            and not fo.holds
            and fo.remaining() > 0
        )

    def _merge_partners(self, fo: FulfillmentOrder) -> list[FulfillmentOrder]:
        if not self._mergeable(fo):
            return []
        order = self.order_of(fo)
        return [
            other
            for other in self.fos_of(order)
            if other.id != fo.id and other.location_id == fo.location_id and self._mergeable(other)
        ]

    # ----------------------------------------------------------------- bookkeeping
    def _touch_fo(self, *fos: FulfillmentOrder | None) -> None:
        now = self.shop.clock.iso_now()
        for fo in fos:
            if fo is not None:
                fo.updated_at = now
                self.orders[fo.order_id].updated_at = now

    def _new_fo(self, order: Order, location_id: int, *, like: FulfillmentOrder | None = None):
        now = self.shop.clock.iso_now()
        fo = FulfillmentOrder(
            id=self.shop.next_id(),
            order_id=order.id,
            location_id=location_id,
            created_at=now,
            updated_at=now,
            fulfill_at=like.fulfill_at if like else _hour_floor(now),
            fulfill_by=like.fulfill_by if like else None,
            delivery_method=like.delivery_method if like else "SHIPPING",
        )
        self.fulfillment_orders[fo.id] = fo
        order.fulfillment_order_ids.append(fo.id)
        return fo

    def _take(
        self, source: FulfillmentOrder, target: FulfillmentOrder, quantities: dict[int, int]
    ) -> None:
        """Move ``quantities`` (source FOLI id -> units) of remaining work to ``target``."""
        for foli_id, qty in quantities.items():
            src = source.line(foli_id)
            if src is None or qty <= 0:
                continue
            src.total_quantity -= qty
            src.remaining_quantity -= qty
            dst = next((x for x in target.line_items if x.line_item_id == src.line_item_id), None)
            if dst is None:
                dst = FulfillmentOrderLineItem(self.shop.next_id(), src.line_item_id, 0, 0)
                target.line_items.append(dst)
            dst.total_quantity += qty
            dst.remaining_quantity += qty

    def _parse_line_quantities(
        self,
        fo: FulfillmentOrder,
        lines: list[dict[str, Any]] | None,
        field_prefix: list[str],
        *,
        zero_message: str = "Quantity must be greater than 0",
        zero_code: str | None = None,
        too_many_message: str = "Invalid fulfillment order line item quantity requested.",
        too_many_code: str | None = None,
    ) -> dict[int, int]:
        """FOLI id -> quantity from a ``[FulfillmentOrderLineItemInput]`` list."""
        if not lines:
            return {}
        seen: set[int] = set()
        out: dict[int, int] = {}
        for index, entry in enumerate(lines):
            qty = int(entry.get("quantity", 0))
            if qty <= 0:
                raise _fail([*field_prefix, str(index), "quantity"], zero_message, zero_code)
            foli_id = _id_of(entry.get("id"), "FulfillmentOrderLineItem")
            if foli_id in seen:
                raise _fail(
                    field_prefix,
                    "must contain unique line item ids",
                    "DUPLICATED_FULFILLMENT_ORDER_LINE_ITEMS",
                )
            seen.add(foli_id or -1)
            foli = fo.line(foli_id) if foli_id is not None else None
            if foli is None or qty > foli.remaining_quantity:
                raise _fail(field_prefix[:1] or None, too_many_message, too_many_code)
            out[foli.id] = qty
        return out

    # =================================================================== orders
    def create_order(
        self,
        order_input: dict[str, Any],
        options: dict[str, Any] | None = None,
        *,
        app_id: str | None = None,
    ) -> Order:
        """orderCreate: validate, store, route to locations, emit webhooks."""
        options = options or {}
        behaviour = options.get("inventoryBehaviour") or "BYPASS"
        now = self.shop.clock.iso_now()
        raw_lines = order_input.get("lineItems") or []
        if not raw_lines:
            raise _fail(["order", "lineItems"], "Line items must have at least one line item")
        catalog = self._catalog()
        lines: list[LineItem] = []
        for index, raw in enumerate(raw_lines):
            lines.append(self._build_line(catalog, raw, index))
        fulfilled_at = (order_input.get("fulfillment") or {}).get("locationId")
        if fulfilled_at is not None and _id_of(fulfilled_at, "Location") not in self.shop.locations:
            raise _fail(["order", "fulfillment", "locationId"], "Location does not exist")
        number = self._next_number
        # shopMoney amounts are in the shop's currency, so a priceSet names it when the
        # input does not (captures without "currency" and CAD prices answer in CAD).
        priced = next(
            (
                (raw.get("priceSet") or {}).get("shopMoney", {}).get("currencyCode")
                for raw in raw_lines
                if (raw.get("priceSet") or {}).get("shopMoney", {}).get("currencyCode")
            ),
            None,
        )
        currency = order_input.get("currency") or priced or self.shop.currency_code
        order = Order(
            id=self.shop.next_id(),
            number=number,
            name=order_input.get("name") or f"#{number}",
            created_at=now,
            updated_at=now,
            processed_at=_iso(order_input.get("processedAt")) or now,
            currency=currency,
            email=order_input.get("email"),
            phone=order_input.get("phone"),
            note=order_input.get("note"),
            # Shopify stores tags sorted (every capture echoes them alphabetically).
            tags=sorted({t.strip() for t in order_input.get("tags") or [] if t.strip()}),
            test=bool(order_input.get("test")),
            shipping_address=order_input.get("shippingAddress"),
            billing_address=order_input.get("billingAddress"),
            line_items=lines,
            source_name=order_input.get("sourceName"),
            inventory_behaviour=behaviour,
            app_id=app_id,
        )
        for raw in order_input.get("shippingLines") or []:
            order.shipping_lines.append(
                ShippingLine(
                    id=self.shop.next_id(),
                    title=raw.get("title") or "Shipping",
                    price=_amount_of(raw.get("priceSet")) or Decimal("0"),
                    code=raw.get("code"),
                    source=raw.get("source"),
                )
            )
        for raw in order_input.get("transactions") or []:
            order.transactions.append(
                Transaction(
                    id=self.shop.next_id(),
                    kind=raw.get("kind") or "SALE",
                    status=raw.get("status") or "SUCCESS",
                    gateway=raw.get("gateway") or "manual",
                    amount=_amount_of(raw.get("amountSet")) or Decimal("0"),
                    test=bool(raw.get("test")),
                    created_at=now,
                )
            )
        order.financial_status = self._financial_status(order, order_input.get("financialStatus"))
        self._next_number += 1
        self.orders[order.id] = order
        self._route(order)
        if behaviour != "BYPASS":
            self._commit_inventory(order, obey_policy=behaviour == "DECREMENT_OBEYING_POLICY")
        payload = self.order_payload(order)
        self.shop.emit("orders/create", payload)
        if order.financial_status == "PAID":
            self.shop.emit("orders/paid", payload)
        for fo in self.fos_of(order):
            self.shop.emit(
                "fulfillment_orders/order_routing_complete",
                {"fulfillment_order": self.fo_payload_short(fo)},
            )
        fulfilled_input = order_input.get("fulfillment")
        if fulfilled_input or order_input.get("fulfillmentStatus") == "FULFILLED":
            # An order recorded as already shipped (imports, seeding): Shopify docs for
            # OrderCreateOrderInput.fulfillment / fulfillmentStatus.
            self._fulfil_at_creation(order, fulfilled_input or {})
        if order_input.get("closedAt"):
            order.closed_at = _iso(order_input["closedAt"])
        return order

    def _fulfil_at_creation(self, order: Order, spec: dict[str, Any]) -> None:
        location_id = _id_of(spec.get("locationId"), "Location")  # checked by create_order
        if location_id is not None:
            for fo in self.fos_of(order):
                if fo.location_id != location_id:
                    old = fo.location_id
                    fo.location_id = location_id
                    self._move_commitments(order.id, fo, old)
        tracking = None
        if spec.get("trackingNumber") or spec.get("trackingCompany"):
            tracking = {
                "number": spec.get("trackingNumber"),
                "company": spec.get("trackingCompany"),
            }
        by_location: dict[int, list[FulfillmentOrder]] = {}
        for fo in self.fos_of(order):
            by_location.setdefault(fo.location_id, []).append(fo)
        for fos in by_location.values():
            fulfillment = self.create_fulfillment(
                {
                    "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo.gid} for fo in fos],
                    "trackingInfo": tracking,
                    "originAddress": spec.get("originAddress"),
                    "notifyCustomer": spec.get("notifyCustomer"),
                }
            )
            if spec.get("shipmentStatus"):
                self.create_event(
                    {"fulfillmentId": fulfillment.gid, "status": spec["shipmentStatus"]}
                )

    def _build_line(self, catalog: Catalog, raw: dict[str, Any], index: int) -> LineItem:
        qty = raw.get("quantity")
        if not isinstance(qty, int) or qty <= 0:
            raise _fail(
                ["order", "lineItems", str(index), "quantity"], "Quantity must be greater than 0"
            )
        variant = None
        variant_gid = raw.get("variantId")
        if variant_gid is not None:
            vid = _id_of(variant_gid, "ProductVariant")
            variant = catalog.variant(vid) if vid is not None else None
            if variant is None:
                raise _fail(
                    ["order", "lineItems", str(index), "variantId"], "Variant does not exist"
                )
        price = _amount_of(raw.get("priceSet"))
        title = raw.get("title")
        sku = raw.get("sku")
        item_id = None
        product_id = None
        variant_title = raw.get("variantTitle")
        requires_shipping = bool(raw.get("requiresShipping", False))
        if variant is not None:
            product = catalog.product(variant.product_id)
            item = catalog.inventory_item(variant.inventory_item_id)
            item_id = variant.inventory_item_id
            product_id = variant.product_id
            title = title or (product.title if product else "Untitled")
            sku = sku if sku is not None else (item.sku if item else None)
            price = price if price is not None else _money(variant.price)
            if variant_title is None and variant.title != "Default Title":
                variant_title = variant.title
            if "requiresShipping" not in raw and item is not None:
                requires_shipping = item.requires_shipping
        if not title:
            raise _fail(
                ["order", "lineItems", str(index), "title"],
                "Title can't be blank for custom line items",
            )
        return LineItem(
            id=self.shop.next_id(),
            title=title,
            quantity=qty,
            price=price if price is not None else Decimal("0"),
            sku=sku,
            variant_id=variant.id if variant else None,
            product_id=product_id,
            inventory_item_id=item_id,
            variant_title=variant_title,
            vendor=raw.get("vendor"),
            requires_shipping=requires_shipping,
            taxable=bool(raw.get("taxable", True)),
        )

    @staticmethod
    def _financial_status(order: Order, requested: str | None) -> str:
        if requested:
            return requested
        paid = order.paid
        authorized = any(
            t.kind == "AUTHORIZATION" and t.status == "SUCCESS" for t in order.transactions
        )
        if paid > 0:
            return "PAID" if paid >= order.total else "PARTIALLY_PAID"
        if authorized:
            return "AUTHORIZED"
        return "PENDING"

    # ------------------------------------------------------------------ routing
    def ordered_locations(self) -> list[Location]:
        """Active locations in routing priority (configured order, then ascending id)."""
        active = [loc for loc in self.shop.locations.values() if loc.is_active]
        if self.location_priority:
            rank = {lid: i for i, lid in enumerate(self.location_priority)}
            return sorted(active, key=lambda loc: (rank.get(loc.id, len(rank)), loc.id))
        return sorted(active, key=lambda loc: loc.id)

    def _route(self, order: Order) -> None:
        """Create the order's fulfillment orders, one per assigned location.

        Like Shopify's default routing: a line stocked at a fulfillment-service location goes
        to that service; among merchant locations, the first in priority order that can ship
        every stocked line gets them all; otherwise each line goes to the first location
        with enough available stock (or the first that stocks it). Custom lines (no variant)
        follow the single merchant location when there is one, else the first active
        merchant location.
        """
        catalog = self._catalog()
        locations = self.ordered_locations()
        merchant = [
            loc
            for loc in locations
            if loc.fulfillment_service_id is None and loc.fulfills_online_orders
        ] or [loc for loc in locations if loc.fulfillment_service_id is None]
        assignment: dict[int, int] = {}
        stocked_lines: list[LineItem] = []
        custom_lines: list[LineItem] = []
        for line in order.line_items:
            if line.inventory_item_id is None:
                custom_lines.append(line)
                continue
            stocked_at = set(catalog.stocked_locations(line.inventory_item_id))
            service_loc = next(
                (
                    loc
                    for loc in locations
                    if loc.fulfillment_service_id is not None and loc.id in stocked_at
                ),
                None,
            )
            if service_loc is not None:
                assignment[line.id] = service_loc.id
            elif not stocked_at:
                custom_lines.append(line)
            else:
                stocked_lines.append(line)

        def can_ship(loc: Location, line: LineItem) -> bool:
            assert line.inventory_item_id is not None
            item = catalog.inventory_item(line.inventory_item_id)
            if catalog.level(line.inventory_item_id, loc.id) is None:
                return False
            if item is not None and not item.tracked:
                return True
            return catalog.available(line.inventory_item_id, loc.id) >= line.quantity

        whole = next(
            (loc for loc in merchant if all(can_ship(loc, li) for li in stocked_lines)), None
        )
        if stocked_lines:
            for line in stocked_lines:
                if whole is not None:
                    assignment[line.id] = whole.id
                    continue
                assert line.inventory_item_id is not None
                best = next((loc for loc in merchant if can_ship(loc, line)), None)
                if best is None:
                    stocked_at = set(catalog.stocked_locations(line.inventory_item_id))
                    best = next((loc for loc in merchant if loc.id in stocked_at), None)
                if best is None and merchant:
                    best = merchant[0]
                if best is not None:
                    assignment[line.id] = best.id
        merchant_targets = {assignment[li.id] for li in stocked_lines if li.id in assignment}
        if len(merchant_targets) == 1:
            default_target: int | None = next(iter(merchant_targets))
        else:
            default_target = merchant[0].id if merchant else None
        for line in custom_lines:
            if default_target is not None:
                assignment[line.id] = default_target
        by_location: dict[int, list[LineItem]] = {}
        for line in order.line_items:
            target = assignment.get(line.id)
            if target is None:
                continue  # a shop without locations cannot route (no fulfillment order)
            by_location.setdefault(target, []).append(line)
        rank = {loc.id: i for i, loc in enumerate(locations)}
        for location_id in sorted(by_location, key=lambda lid: (rank.get(lid, len(rank)), lid)):
            fo = self._new_fo(order, location_id)
            for line in by_location[location_id]:
                fo.line_items.append(
                    FulfillmentOrderLineItem(
                        self.shop.next_id(), line.id, line.quantity, line.quantity
                    )
                )

    def _commit_inventory(self, order: Order, *, obey_policy: bool) -> None:
        catalog = self._catalog()
        if obey_policy:
            for fo in self.fos_of(order):
                for foli in fo.line_items:
                    line = self.line_item(order, foli.line_item_id)
                    if line.inventory_item_id is None or line.variant_id is None:
                        continue
                    item = catalog.inventory_item(line.inventory_item_id)
                    variant = catalog.variant(line.variant_id)
                    if item is None or not item.tracked or variant is None:
                        continue
                    if variant.inventory_policy == "CONTINUE":
                        continue
                    if catalog.available(item.id, fo.location_id) < foli.total_quantity:
                        # Roll back: the order must not exist (nothing was committed yet).
                        self._forget(order)
                        raise _fail(
                            ["order", "lineItems"],
                            f"Unable to reserve inventory for {line.title}: not enough stock",
                        )
        for fo in self.fos_of(order):
            for foli in fo.line_items:
                line = self.line_item(order, foli.line_item_id)
                if line.inventory_item_id is None:
                    continue
                catalog.commit(line.inventory_item_id, fo.location_id, foli.total_quantity)
                line.committed[fo.location_id] = (
                    line.committed.get(fo.location_id, 0) + foli.total_quantity
                )

    def _forget(self, order: Order) -> None:
        for fo_id in order.fulfillment_order_ids:
            self.fulfillment_orders.pop(fo_id, None)
        self.orders.pop(order.id, None)
        self._next_number -= 1

    # ------------------------------------------------------------------ queries
    def list_orders(self) -> list[Order]:
        return sorted(self.orders.values(), key=lambda o: o.id)

    # ------------------------------------------------------------------ cancel
    def cancel_order(
        self,
        order_id_gid: str,
        *,
        reason: str,
        restock: bool,
        refund: bool | None = None,
        refund_method: dict[str, Any] | None = None,
        notify_customer: bool = False,
        staff_note: str | None = None,
    ) -> dict[str, Any]:
        """orderCancel; returns the Job dict (Shopify answers with a job, done: false)."""
        # Messages and fields: capture 2026-04_orders_orderCancel-error-messages.json.
        if staff_note is not None and len(staff_note) > MAX_STAFF_NOTE:
            raise _fail(
                ["staffNote"],
                "Staff note is too long. Maximum length is 255 characters.",
                "INVALID",
            )
        if refund is not None and refund_method is not None:
            raise _fail(
                ["refund"],
                "Only one of the arguments `refund` or `refund_method` is allowed.",
                "INVALID",
            )
        oid = _id_of(order_id_gid, "Order")
        order = self.orders.get(oid) if oid is not None else None
        if order is None:
            raise _fail(["orderId"], "Order does not exist", "NOT_FOUND")
        if order.cancelled_at is not None:
            raise _fail(
                ["orderId"], "Cannot cancel an order that has already been canceled", "INVALID"
            )
        now = self.shop.clock.iso_now()
        catalog = self._catalog()
        order.cancelled_at = now
        order.cancel_reason = reason
        order.updated_at = now
        for fo in self.fos_of(order):
            if fo.status not in {CLOSED, CANCELLED, INCOMPLETE}:
                # Capture fulfillment-create-preconditions "cancelled": the open fulfillment
                # order reads CLOSED afterwards, its remaining quantity untouched.
                fo.status = CLOSED
                fo.updated_at = now
        for line in order.line_items:
            # Quantities stay as they were (capture fulfillment-create-preconditions
            # "cancelled": fulfillableQuantity 1 and remainingQuantity 1 after the cancel).
            for location_id, qty in list(line.committed.items()):
                if line.inventory_item_id is not None and qty > 0:
                    catalog.release_commit(line.inventory_item_id, location_id, qty)
                line.committed[location_id] = 0
        wants_refund = bool(refund) or bool(
            refund_method and refund_method.get("originalPaymentMethodsRefund")
        )
        if order.paid > 0 and wants_refund:
            order.refunded = order.paid
            order.financial_status = "REFUNDED"
        # A paid order that was not refunded stays open (capture fulfillment-create-
        # preconditions: closed false after cancel); otherwise it closes (orderCancel-parity).
        if order.paid == 0 or wants_refund:
            order.closed_at = now
        payload = self.order_payload(order)
        self.shop.emit("orders/cancelled", payload)
        self.shop.emit("orders/updated", payload)
        return {"id": f"gid://shopify/Job/{uuid.uuid4()}", "done": False}

    # =================================================================== fulfillments
    def create_fulfillment(
        self, fulfillment_input: dict[str, Any], message: str | None = None
    ) -> Fulfillment:
        """fulfillmentCreate (and the deprecated fulfillmentCreateV2)."""
        groups = fulfillment_input.get("lineItemsByFulfillmentOrder") or []
        if not groups:
            raise _fail(
                ["fulfillment", "lineItemsByFulfillmentOrder"],
                "Line items by fulfillment order can't be blank",
            )
        # Input shape first (capture fulfillment-create-preconditions "nonPositiveQuantity").
        for gi, group in enumerate(groups):
            for li, entry in enumerate(group.get("fulfillmentOrderLineItems") or []):
                if int(entry.get("quantity", 0)) <= 0:
                    raise _fail(
                        [
                            "fulfillment",
                            "lineItemsByFulfillmentOrder",
                            str(gi),
                            "fulfillmentOrderLineItems",
                            str(li),
                            "quantity",
                        ],
                        "Quantity must be greater than 0",
                    )
        plan: list[tuple[FulfillmentOrder, dict[int, int]]] = []
        for group in groups:
            fo_id = _id_of(group.get("fulfillmentOrderId"), "FulfillmentOrder")
            fo = self.fulfillment_orders.get(fo_id) if fo_id is not None else None
            if fo is None:
                raise _fail(["fulfillment"], "Fulfillment order does not exist.")
            if fo.status not in {OPEN, IN_PROGRESS}:
                raise _fail(
                    ["fulfillment"],
                    f"Fulfillment order {fo.id} has an unfulfillable status= {fo.status.lower()}.",
                )
            entries = group.get("fulfillmentOrderLineItems")
            if entries:
                quantities: dict[int, int] = {}
                for entry in entries:
                    foli_id = _id_of(entry.get("id"), "FulfillmentOrderLineItem")
                    foli = fo.line(foli_id) if foli_id is not None else None
                    qty = int(entry["quantity"])
                    if foli is None or qty + quantities.get(foli.id, 0) > foli.remaining_quantity:
                        raise _fail(
                            ["fulfillment"],
                            "Invalid fulfillment order line item quantity requested.",
                        )
                    quantities[foli.id] = quantities.get(foli.id, 0) + qty
            else:
                quantities = {x.id: x.remaining_quantity for x in fo.line_items}
            plan.append((fo, {k: v for k, v in quantities.items() if v > 0}))
        first = plan[0][0]
        for fo, _ in plan[1:]:
            # NOTES.md: all fulfillment orders of one call share the order and location.
            if fo.order_id != first.order_id:
                raise _fail(
                    ["fulfillment"], "All fulfillment orders must belong to the same order."
                )
            if fo.location_id != first.location_id:
                raise _fail(
                    ["fulfillment"],
                    "All fulfillment orders must be assigned to the same location.",
                )
        if not any(q for _, q in plan):
            raise _fail(["fulfillment"], "Invalid fulfillment order line item quantity requested.")
        order = self.orders[first.order_id]
        now = self.shop.clock.iso_now()
        catalog = self._catalog()
        tracking = self._tracking_list(fulfillment_input.get("trackingInfo"))
        fulfillment = Fulfillment(
            id=self.shop.next_id(),
            order_id=order.id,
            location_id=first.location_id,
            name=f"{order.name}.{len(order.fulfillment_ids) + 1}",
            created_at=now,
            updated_at=now,
            tracking=tracking,
            fulfillment_order_ids=[fo.id for fo, _ in plan],
            origin_address=fulfillment_input.get("originAddress"),
            notify_customer=bool(fulfillment_input.get("notifyCustomer")),
            message=message,
        )
        for fo, quantities in plan:
            for foli_id, qty in quantities.items():
                foli = fo.line(foli_id)
                assert foli is not None
                foli.remaining_quantity -= qty
                line = self.line_item(order, foli.line_item_id)
                line.fulfilled_quantity += qty
                fulfillment.line_items.append(
                    FulfillmentLineItem(self.shop.next_id(), line.id, qty, foli.id)
                )
                committed_here = line.committed.get(fo.location_id, 0)
                if line.inventory_item_id is not None and committed_here > 0:
                    moved = min(committed_here, qty)
                    catalog.fulfil(line.inventory_item_id, fo.location_id, moved)
                    line.committed[fo.location_id] = committed_here - moved
            if fo.remaining() == 0:
                fo.status = CLOSED
            elif fo.status == OPEN:
                fo.status = IN_PROGRESS
            fo.updated_at = now
        self.fulfillments[fulfillment.id] = fulfillment
        order.fulfillment_ids.append(fulfillment.id)
        order.updated_at = now
        payload = self.fulfillment_payload(fulfillment)
        self.shop.emit("fulfillments/create", payload)
        order_payload = self.order_payload(order)
        if self.display_fulfillment_status(order) == "FULFILLED":
            self.shop.emit("orders/fulfilled", order_payload)
        else:
            self.shop.emit("orders/partially_fulfilled", order_payload)
        self.shop.emit("orders/updated", order_payload)
        return fulfillment

    @staticmethod
    def _tracking_list(raw: dict[str, Any] | None) -> list[TrackingInfo]:
        if not raw:
            return []
        numbers = list(raw.get("numbers") or [])
        urls = list(raw.get("urls") or [])
        if raw.get("number"):
            numbers = [raw["number"], *[n for n in numbers if n != raw["number"]]]
        if raw.get("url"):
            urls = [raw["url"], *[u for u in urls if u != raw["url"]]]
        company = raw.get("company")
        if not numbers:
            return (
                [TrackingInfo(None, urls[0] if urls else None, company)]
                if (urls or company)
                else []
            )
        return [
            TrackingInfo(number, urls[i] if i < len(urls) else None, company)
            for i, number in enumerate(numbers)
        ]

    def _require_fulfillment(self, global_id: str, field_path: list[str]) -> Fulfillment:
        fid = _id_of(global_id, "Fulfillment")
        fulfillment = self.fulfillments.get(fid) if fid is not None else None
        if fulfillment is None:
            raise _fail(field_path, "Fulfillment does not exist.")
        return fulfillment

    def update_tracking(
        self, fulfillment_gid: str, tracking_input: dict[str, Any], notify_customer: bool = False
    ) -> Fulfillment:
        """fulfillmentTrackingInfoUpdate; allowed on cancelled fulfillments too (capture
        2026-04_orders_fulfillment-state-preconditions.json)."""
        fulfillment = self._require_fulfillment(fulfillment_gid, ["fulfillmentId"])
        fulfillment.tracking = self._tracking_list(tracking_input)
        fulfillment.notify_customer = notify_customer
        fulfillment.updated_at = self.shop.clock.iso_now()
        self.shop.emit("fulfillments/update", self.fulfillment_payload(fulfillment))
        return fulfillment

    def create_event(self, event_input: dict[str, Any]) -> FulfillmentEvent:
        """fulfillmentEventCreate; accepted on cancelled fulfillments (captures
        fulfillment-state-preconditions and fulfillment-event-create-validation)."""
        fulfillment = self._require_fulfillment(
            event_input.get("fulfillmentId", ""), ["fulfillmentEvent", "fulfillmentId"]
        )
        now = self.shop.clock.iso_now()
        event = FulfillmentEvent(
            id=self.shop.next_id(),
            fulfillment_id=fulfillment.id,
            status=event_input["status"],
            created_at=now,
            happened_at=_iso(event_input.get("happenedAt")) or now,
            message=event_input.get("message"),
            estimated_delivery_at=_iso(event_input.get("estimatedDeliveryAt")),
            city=event_input.get("city"),
            province=event_input.get("province"),
            country=event_input.get("country"),
            zip=event_input.get("zip"),
            address1=event_input.get("address1"),
            latitude=event_input.get("latitude"),
            longitude=event_input.get("longitude"),
        )
        fulfillment.events.append(event)
        fulfillment.updated_at = now
        self.shop.emit("fulfillment_events/create", self.event_payload(event, fulfillment))
        self.shop.emit("fulfillments/update", self.fulfillment_payload(fulfillment))
        return event

    def cancel_fulfillment(self, fulfillment_gid: str) -> Fulfillment:
        """fulfillmentCancel: idempotent on a cancelled fulfillment, allowed after DELIVERED
        (capture 2026-04_orders_fulfillment-state-preconditions.json). The units go back to
        their fulfillment orders, which reopen."""
        fulfillment = self._require_fulfillment(fulfillment_gid, ["id"])
        if fulfillment.status == "CANCELLED":
            return fulfillment
        now = self.shop.clock.iso_now()
        order = self.orders[fulfillment.order_id]
        catalog = self._catalog()
        for fli in fulfillment.line_items:
            line = self.line_item(order, fli.line_item_id)
            line.fulfilled_quantity -= fli.quantity
            fo = next(
                (
                    self.fulfillment_orders[i]
                    for i in fulfillment.fulfillment_order_ids
                    if self.fulfillment_orders[i].line(fli.fulfillment_order_line_item_id)
                ),
                None,
            )
            if fo is None:
                continue
            foli = fo.line(fli.fulfillment_order_line_item_id)
            assert foli is not None
            foli.remaining_quantity += fli.quantity
            if order.cancelled_at is None and fo.status == CLOSED:
                fo.status = OPEN if fo.request_status == UNSUBMITTED else IN_PROGRESS
            fo.updated_at = now
            if line.inventory_item_id is not None and order.inventory_behaviour != "BYPASS":
                item = catalog.inventory_item(line.inventory_item_id)
                if item is not None and item.tracked:
                    # The units are back on the shelf and promised to the order again.
                    catalog.adjust_quantity(
                        line.inventory_item_id, fo.location_id, "on_hand", fli.quantity
                    )
                    catalog.adjust_quantity(
                        line.inventory_item_id, fo.location_id, "committed", fli.quantity
                    )
                    line.committed[fo.location_id] = (
                        line.committed.get(fo.location_id, 0) + fli.quantity
                    )
        fulfillment.status = "CANCELLED"
        fulfillment.updated_at = now
        order.updated_at = now
        self.shop.emit("fulfillments/update", self.fulfillment_payload(fulfillment))
        self.shop.emit("orders/updated", self.order_payload(order))
        return fulfillment

    # =================================================================== holds
    def hold(
        self, fo: FulfillmentOrder, hold_input: dict[str, Any], app_id: str
    ) -> tuple[FulfillmentHold, FulfillmentOrder, FulfillmentOrder | None]:
        """fulfillmentOrderHold -> (hold, held fulfillment order, split-off remainder)."""
        # Rules, codes and their precedence: capture fulfillment-order-hold-validation.json.
        prefix = ["fulfillmentHold", "fulfillmentOrderLineItems"]
        entries = hold_input.get("fulfillmentOrderLineItems") or []
        for index, entry in enumerate(entries):
            if int(entry.get("quantity", 0)) <= 0:
                raise _fail(
                    [*prefix, str(index), "quantity"],
                    "You must select at least one item to place on partial hold.",
                    "GREATER_THAN_ZERO",
                )
        ids = [entry.get("id") for entry in entries]
        if len(set(ids)) != len(ids):
            raise _fail(
                prefix,
                "must contain unique line item ids",
                "DUPLICATED_FULFILLMENT_ORDER_LINE_ITEMS",
            )
        handle = hold_input.get("handle") or ""
        mine = [h for h in fo.holds if h.app_id == app_id]
        if handle and any(h.handle == handle for h in mine):
            raise _fail(
                ["fulfillmentHold", "handle"],
                "The handle provided for the fulfillment hold is already in use by this app "
                "for another hold on this fulfillment order.",
                "DUPLICATE_FULFILLMENT_HOLD_HANDLE",
            )
        if fo.status not in {OPEN, IN_PROGRESS, ON_HOLD, SCHEDULED}:
            raise _fail(
                ["id"],
                f"Fulfillment order is not in a holdable state (status: {fo.status.lower()}).",
            )
        quantities: dict[int, int] = {}
        if entries:
            if fo.status == ON_HOLD:
                raise _fail(
                    prefix,
                    "The fulfillment order is not in a splittable state.",
                    "FULFILLMENT_ORDER_NOT_SPLITTABLE",
                )
            for index, entry in enumerate(entries):
                foli_id = _id_of(entry.get("id"), "FulfillmentOrderLineItem")
                foli = fo.line(foli_id) if foli_id is not None else None
                if foli is None or int(entry["quantity"]) > foli.remaining_quantity:
                    raise _fail(
                        [*prefix, str(index), "quantity"],
                        "The line item quantity is invalid.",
                        "INVALID_LINE_ITEM_QUANTITY",
                    )
                quantities[foli.id] = int(entry["quantity"])
        if len(mine) >= MAX_HOLDS_PER_APP:
            raise _fail(
                ["id"],
                "The maximum number of fulfillment holds for this fulfillment order has been "
                "reached for this app. An app can only have up to 10 holds on a single "
                "fulfillment order at any one time.",
                "FULFILLMENT_ORDER_HOLD_LIMIT_REACHED",
            )
        remainder: FulfillmentOrder | None = None
        rest = (
            {x.id: x.remaining_quantity - quantities.get(x.id, 0) for x in fo.line_items}
            if quantities
            else {}
        )
        if quantities and any(v > 0 for v in rest.values()):
            # Capture: holding 1 of 2 keeps the held unit on the original id and splits the
            # other into a new OPEN fulfillment order.
            remainder = self._new_fo(self.order_of(fo), fo.location_id, like=fo)
            self._take(fo, remainder, {k: v for k, v in rest.items() if v > 0})
            fo.hold_remainder_id = remainder.id
        hold = FulfillmentHold(
            id=self.shop.next_id(),
            reason=hold_input["reason"],
            reason_notes=hold_input.get("reasonNotes"),
            handle=handle,
            app_id=app_id,
            external_id=hold_input.get("externalId"),
            notify_merchant=bool(hold_input.get("notifyMerchant")),
        )
        if fo.status != ON_HOLD:
            fo.status_before_hold = fo.status
        fo.holds.append(hold)
        fo.status = ON_HOLD
        self._touch_fo(fo, remainder)
        self.shop.emit(
            "fulfillment_orders/placed_on_hold",
            {
                "fulfillment_order": self.fo_payload_short(fo),
                "remaining_fulfillment_order": self.fo_payload_short(remainder)
                if remainder
                else None,
                "fulfillment_hold": {
                    "id": gid("FulfillmentHold", hold.id),
                    "reason": hold.reason.lower(),
                    "reason_notes": hold.reason_notes,
                },
                "created_fulfillment_hold": {
                    "id": hold.gid,
                    "reason": hold.reason.lower(),
                    "reason_notes": hold.reason_notes,
                    "handle": hold.handle,
                },
            },
        )
        return hold, fo, remainder

    def release_hold(
        self, fo: FulfillmentOrder, hold_ids: list[str] | None, app_id: str
    ) -> FulfillmentOrder:
        """fulfillmentOrderReleaseHold: without ids, every hold goes (Shopify docs)."""
        if fo.status != ON_HOLD:
            raise _fail(["id"], "The fulfillment order is not on hold.")
        if hold_ids:
            wanted: set[int] = set()
            for index, value in enumerate(hold_ids):
                hid = _id_of(value, "FulfillmentHold")
                if hid is None or not any(h.id == hid for h in fo.holds):
                    raise _fail(
                        ["holdIds", str(index)],
                        "The fulfillment hold does not belong to this fulfillment order.",
                    )
                wanted.add(hid)
            released = [h for h in fo.holds if h.id in wanted]
        else:
            released = list(fo.holds)
        fo.holds = [h for h in fo.holds if h not in released]
        remainder_closed: FulfillmentOrder | None = None
        if not fo.holds:
            fo.status = fo.status_before_hold or OPEN
            fo.status_before_hold = None
            remainder = (
                self.fulfillment_orders.get(fo.hold_remainder_id) if fo.hold_remainder_id else None
            )
            fo.hold_remainder_id = None
            if (
                remainder is not None
                and remainder.status == OPEN
                and remainder.request_status == UNSUBMITTED
                and not remainder.holds
                and all(x.remaining_quantity == x.total_quantity for x in remainder.line_items)
            ):
                # Capture holdRelease: the split-off remainder merges back and closes.
                self._take(
                    remainder, fo, {x.id: x.remaining_quantity for x in remainder.line_items}
                )
                remainder.status = CLOSED
                remainder_closed = remainder
        self._touch_fo(fo, remainder_closed)
        self.shop.emit(
            "fulfillment_orders/hold_released",
            {"fulfillment_order": self.fo_payload_short(fo)},
        )
        return fo

    # =================================================================== merchant actions
    def report_progress(self, fo: FulfillmentOrder, reason_notes: str | None) -> FulfillmentOrder:
        service = self.is_service_location(fo.location_id)
        if service and fo.request_status not in {ACCEPTED, CANCELLATION_REJECTED}:
            raise _fail(
                ["id"], "The fulfillment order's request must be accepted to report progress."
            )
        if fo.status not in {OPEN, IN_PROGRESS}:
            raise _fail(
                ["id"],
                f"Expected fulfillment order status to be valid but it was {fo.status.lower()}.",
            )
        fo.status = IN_PROGRESS
        fo.progress_reported = True
        self._touch_fo(fo)
        return fo

    def mark_open(self, fo: FulfillmentOrder) -> FulfillmentOrder:
        """fulfillmentOrderOpen: IN_PROGRESS (progress reported) or SCHEDULED -> OPEN."""
        if fo.status not in {IN_PROGRESS, SCHEDULED} or (
            fo.status == IN_PROGRESS and self.is_service_location(fo.location_id)
        ):
            # Capture fulfillment-order-lifecycle "openAgain".
            raise _fail(
                None,
                f"Expected fulfillment order status to be valid but it was {fo.status.lower()}.",
            )
        fo.status = OPEN
        fo.progress_reported = False
        self._touch_fo(fo)
        return fo

    def close(self, fo: FulfillmentOrder, message: str | None) -> FulfillmentOrder:
        """fulfillmentOrderClose: a fulfillment service gives up on an accepted request."""
        if not self.is_service_location(fo.location_id):
            # Capture fulfillment-order-lifecycle "close" (merchant-managed location).
            raise _fail(
                None, "The fulfillment order's assigned fulfillment service must be of api type"
            )
        if fo.request_status not in {ACCEPTED, CANCELLATION_REJECTED} or fo.status != IN_PROGRESS:
            raise _fail(
                None,
                "Fulfillment order must have an accepted fulfillment request to be closed.",
            )
        fo.status = INCOMPLETE
        fo.request_status = CLOSED
        self._touch_fo(fo)
        return fo

    def cancel_fo(self, fo: FulfillmentOrder) -> tuple[FulfillmentOrder, FulfillmentOrder | None]:
        """fulfillmentOrderCancel -> (cancelled original, replacement)."""
        if fo.progress_reported and fo.status == IN_PROGRESS:
            raise _fail(
                ["id"],
                "Cannot cancel fulfillment order that has had progress reported. "
                "Mark as unfulfilled first.",
            )
        if fo.status not in {OPEN, SCHEDULED, ON_HOLD} or fo.request_status not in {
            UNSUBMITTED,
            SUBMITTED,
            REJECTED,
        }:
            raise _fail(
                None, "Fulfillment order is not in cancelable request state and can't be canceled."
            )
        order = self.order_of(fo)
        replacement: FulfillmentOrder | None = None
        if fo.remaining() > 0:
            # Capture "cancelAfterReroute": the original closes with no line items and a
            # replacement at the same location takes them over (same line item ids).
            replacement = self._new_fo(order, fo.location_id, like=fo)
            replacement.line_items = [x for x in fo.line_items if x.remaining_quantity > 0]
        fo.line_items = [x for x in fo.line_items if x.remaining_quantity == 0]
        fo.status = CLOSED
        fo.holds = []
        self._touch_fo(fo, replacement)
        self.shop.emit(
            "fulfillment_orders/cancelled",
            {
                "fulfillment_order": self.fo_payload_short(fo),
                "replacement_fulfillment_order": self.fo_payload_short(replacement)
                if replacement
                else None,
            },
        )
        return fo, replacement

    def move(
        self, fo: FulfillmentOrder, new_location_gid: str, lines: list[dict[str, Any]] | None
    ) -> tuple[FulfillmentOrder, FulfillmentOrder, FulfillmentOrder | None]:
        """fulfillmentOrderMove -> (moved, original, remaining)."""
        location_id = _id_of(new_location_gid, "Location")
        location = self.location(location_id) if location_id is not None else None
        if location is None or not location.is_active:
            raise _fail(["newLocationId"], "Location not found.")
        if fo.status not in {OPEN, ON_HOLD} or fo.request_status not in {UNSUBMITTED, REJECTED}:
            raise _fail(None, "Fulfillment order is not in a movable state.")
        if location.id == fo.location_id:
            raise _fail(
                ["newLocationId"],
                "Cannot move fulfillment order to the location it is already assigned to.",
            )
        quantities = self._parse_line_quantities(fo, lines, ["fulfillmentOrderLineItems"])
        moving_all = not quantities or all(
            quantities.get(x.id, 0) == x.remaining_quantity for x in fo.line_items
        )
        untouched = all(x.remaining_quantity == x.total_quantity for x in fo.line_items)
        old_location = fo.location_id
        if moving_all and untouched:
            # Shopify docs: an untouched fulfillment order moves as a whole.
            fo.location_id = location.id
            moved, remaining = fo, None
        else:
            moved = self._new_fo(self.order_of(fo), location.id, like=fo)
            self._take(fo, moved, quantities or {x.id: x.remaining_quantity for x in fo.line_items})
            remaining = fo
            if fo.remaining() == 0:
                fo.status = CLOSED
        self._move_commitments(fo.order_id, moved, old_location)
        self._touch_fo(moved)
        self.shop.emit(
            "fulfillment_orders/moved",
            {
                "original_fulfillment_order": self.fo_payload_short(fo),
                "moved_fulfillment_order": self.fo_payload_short(moved),
                "source_location": {"id": old_location},
                "destination_location_id": location.id,
            },
        )
        return moved, fo, remaining

    def _move_commitments(self, order_id: int, moved: FulfillmentOrder, old_location: int) -> None:
        order = self.orders[order_id]
        if order.inventory_behaviour == "BYPASS":
            return
        catalog = self._catalog()
        for foli in moved.line_items:
            line = self.line_item(order, foli.line_item_id)
            here = line.committed.get(old_location, 0)
            qty = min(here, foli.remaining_quantity)
            if line.inventory_item_id is None or qty <= 0:
                continue
            catalog.release_commit(line.inventory_item_id, old_location, qty)
            catalog.commit(line.inventory_item_id, moved.location_id, qty)
            line.committed[old_location] = here - qty
            line.committed[moved.location_id] = line.committed.get(moved.location_id, 0) + qty

    def split(
        self, fo: FulfillmentOrder, lines: list[dict[str, Any]], index: int
    ) -> tuple[FulfillmentOrder, FulfillmentOrder]:
        """One fulfillmentOrderSplit entry -> (original, new one holding the listed units)."""
        if fo.status != OPEN or fo.request_status not in {UNSUBMITTED, REJECTED}:
            raise _fail(
                ["fulfillmentOrderSplits", str(index), "fulfillmentOrderId"],
                "The fulfillment order is not in a splittable state.",
                "FULFILLMENT_ORDER_NOT_SPLITTABLE",
            )
        quantities = self._parse_line_quantities(
            fo,
            lines,
            ["fulfillmentOrderSplits", str(index), "fulfillmentOrderLineItems"],
            too_many_code="INVALID_LINE_ITEM_QUANTITY",
        )
        if sum(quantities.values()) >= fo.remaining():
            raise _fail(
                ["fulfillmentOrderSplits", str(index), "fulfillmentOrderLineItems"],
                "The fulfillment order is not in a splittable state.",
                "FULFILLMENT_ORDER_NOT_SPLITTABLE",
            )
        created = self._new_fo(self.order_of(fo), fo.location_id, like=fo)
        self._take(fo, created, quantities)
        self._touch_fo(fo, created)
        self.shop.emit(
            "fulfillment_orders/split",
            {
                "split_line_items": [
                    {"id": gid("FulfillmentOrderLineItem", k), "quantity": v}
                    for k, v in quantities.items()
                ],
                "fulfillment_order": self.fo_payload_short(fo),
                "remaining_fulfillment_order": self.fo_payload_short(created),
                "replacement_fulfillment_order": None,
            },
        )
        return fo, created

    def merge(self, intents: list[dict[str, Any]], index: int) -> FulfillmentOrder:
        """One fulfillmentOrderMerge input: everything goes into the first fulfillment order,
        the others close with zero quantities (capture residualSplitDeadlineMerge)."""
        fos = [self.require_fo(i["fulfillmentOrderId"]) for i in intents]
        target = fos[0]
        for other in fos[1:]:
            if (
                other.order_id != target.order_id
                or other.location_id != target.location_id
                or not self._mergeable(other)
                or not self._mergeable(target)
            ):
                raise _fail(
                    ["fulfillmentOrderMergeInputs", str(index)],
                    "The fulfillment orders are not in a mergeable state.",
                )
        for other in fos[1:]:
            self._take(other, target, {x.id: x.remaining_quantity for x in other.line_items})
            other.status = CLOSED
        self._touch_fo(*fos)
        self.shop.emit(
            "fulfillment_orders/merged",
            {"fulfillment_order_merges": [{"fulfillment_order": self.fo_payload_short(target)}]},
        )
        return target

    def reroute(
        self,
        fos: list[FulfillmentOrder],
        included: list[int] | None,
        excluded: list[int] | None,
    ) -> list[FulfillmentOrder]:
        """fulfillmentOrdersReroute: route untouched open fulfillment orders again among the
        allowed locations (Shopify docs). The recorded call failed on Shopify's side, so the
        rules here are the documented ones: the first allowed location, in priority order,
        that can ship every line wins; no such location is a userError."""
        catalog = self._catalog()
        allowed = [
            loc
            for loc in self.ordered_locations()
            if (not included or loc.id in included) and loc.id not in (excluded or [])
        ]
        moved: list[FulfillmentOrder] = []
        for index, fo in enumerate(fos):
            if (
                fo.status != OPEN
                or fo.request_status != UNSUBMITTED
                or any(x.remaining_quantity != x.total_quantity for x in fo.line_items)
            ):
                raise _fail(
                    ["fulfillmentOrderIds", str(index)],
                    "Fulfillment order is not in a reroutable state.",
                )
            order = self.order_of(fo)

            def ships(loc: Location, fo: FulfillmentOrder = fo, order: Order = order) -> bool:
                for foli in fo.line_items:
                    line = self.line_item(order, foli.line_item_id)
                    if line.inventory_item_id is None:
                        continue
                    item = catalog.inventory_item(line.inventory_item_id)
                    if catalog.level(line.inventory_item_id, loc.id) is None:
                        return False
                    tracked = item is not None and item.tracked
                    if tracked and catalog.available(item.id, loc.id) < foli.remaining_quantity:
                        return False
                return True

            target = next((loc for loc in allowed if ships(loc)), None)
            if target is None:
                raise _fail(
                    ["fulfillmentOrderIds", str(index)],
                    "No allowed location can fulfill the fulfillment order.",
                )
            if target.id != fo.location_id:
                old = fo.location_id
                fo.location_id = target.id
                self._move_commitments(fo.order_id, fo, old)
                self._touch_fo(fo)
                moved.append(fo)
        return moved

    def set_deadline(self, fos: list[FulfillmentOrder], deadline: str) -> None:
        value = _iso(deadline)
        for fo in fos:
            fo.fulfill_by = value
        self._touch_fo(*fos)

    def reschedule(self, fo: FulfillmentOrder, fulfill_at: str) -> FulfillmentOrder:
        if fo.status != SCHEDULED:
            # Capture fulfillment-order-lifecycle "reschedule".
            raise _fail(None, "Fulfillment order must be scheduled.")
        fo.fulfill_at = _iso(fulfill_at)
        self._touch_fo(fo)
        return fo

    # =================================================================== service requests
    def _require_service_fo(self, fo: FulfillmentOrder) -> None:
        if not self.is_service_location(fo.location_id):
            # NOTES.md "Errors seen".
            raise _fail(
                None, "The fulfillment order's assigned fulfillment service must be of api type"
            )

    def _service_of(self, fo: FulfillmentOrder) -> Any:
        from fulfillbridge.sandbox.domain.services import services_of

        location = self.location(fo.location_id)
        if location is None or location.fulfillment_service_id is None:
            return None
        return services_of(self.shop).get(location.fulfillment_service_id)

    def _ping_service(self, fo: FulfillmentOrder, kind: str) -> None:
        service = self._service_of(fo)
        if service is not None and service.callback_url:
            self.shop.emit(
                "__callback__",
                {"kind": kind, "callback_url": service.callback_url, "app_id": service.app_id},
            )

    def submit_fulfillment_request(
        self,
        fo: FulfillmentOrder,
        *,
        message: str | None,
        notify_customer: bool | None,
        lines: list[dict[str, Any]] | None,
        shipping_method: str | None = None,
    ) -> tuple[FulfillmentOrder, FulfillmentOrder, FulfillmentOrder | None]:
        """-> (original, submitted, unsubmitted remainder)."""
        self._require_service_fo(fo)
        if fo.status != OPEN or fo.request_status not in {UNSUBMITTED, REJECTED}:
            raise _fail(
                None,
                "Cannot request fulfillment for a fulfillment order with status "
                f"{fo.status.lower()} and request status {fo.request_status.lower()}.",
            )
        quantities = self._parse_line_quantities(fo, lines, ["fulfillmentOrderLineItems"])
        unsubmitted: FulfillmentOrder | None = None
        if quantities:
            rest = {x.id: x.remaining_quantity - quantities.get(x.id, 0) for x in fo.line_items}
            if any(v > 0 for v in rest.values()):
                # NOTES.md: a partial submit splits the rest into a new OPEN/UNSUBMITTED order.
                unsubmitted = self._new_fo(self.order_of(fo), fo.location_id, like=fo)
                self._take(fo, unsubmitted, {k: v for k, v in rest.items() if v > 0})
        options: dict[str, Any] = {"notify_customer": bool(notify_customer)}
        if shipping_method:
            options["shipping_method"] = shipping_method
        fo.merchant_requests.append(
            MerchantRequest(
                self.shop.next_id(),
                "FULFILLMENT_REQUEST",
                message,
                options,
                self.shop.clock.iso_now(),
            )
        )
        fo.request_status = SUBMITTED
        self._touch_fo(fo, unsubmitted)
        self.shop.emit(
            "fulfillment_orders/fulfillment_request_submitted",
            {
                "original_fulfillment_order": self.fo_payload_short(fo),
                "submitted_fulfillment_order": self.fo_payload_short(fo),
                "unsubmitted_fulfillment_order": self.fo_payload_short(unsubmitted)
                if unsubmitted
                else None,
                "fulfillment_order_merchant_request": {
                    "id": fo.merchant_requests[-1].gid,
                    "message": message,
                    "request_options": options,
                },
            },
        )
        self._ping_service(fo, "FULFILLMENT_REQUEST")
        return fo, fo, unsubmitted

    def accept_fulfillment_request(
        self, fo: FulfillmentOrder, message: str | None
    ) -> FulfillmentOrder:
        self._require_service_fo(fo)
        if fo.request_status != SUBMITTED:
            raise _fail(
                None,
                "Cannot accept fulfillment request for a fulfillment order with request status "
                f"{fo.request_status.lower()}.",
            )
        fo.request_status = ACCEPTED
        fo.status = IN_PROGRESS
        self._touch_fo(fo)
        self.shop.emit(
            "fulfillment_orders/fulfillment_request_accepted",
            {"fulfillment_order": self.fo_payload_short(fo), "message": message},
        )
        return fo

    def reject_fulfillment_request(
        self, fo: FulfillmentOrder, message: str | None, reason: str | None
    ) -> FulfillmentOrder:
        self._require_service_fo(fo)
        if fo.request_status != SUBMITTED:
            raise _fail(
                None,
                "Cannot reject fulfillment request for a fulfillment order with request status "
                f"{fo.request_status.lower()}.",
            )
        fo.request_status = REJECTED
        fo.status = OPEN
        self._touch_fo(fo)
        self.shop.emit(
            "fulfillment_orders/fulfillment_request_rejected",
            {"fulfillment_order": self.fo_payload_short(fo), "message": message, "reason": reason},
        )
        return fo

    def submit_cancellation_request(
        self, fo: FulfillmentOrder, message: str | None
    ) -> FulfillmentOrder:
        self._require_service_fo(fo)
        if fo.request_status not in {ACCEPTED, CANCELLATION_REJECTED}:
            raise _fail(
                None,
                "Cannot request cancellation for a fulfillment order with request status "
                f"{fo.request_status.lower()}.",
            )
        fo.merchant_requests.append(
            MerchantRequest(
                self.shop.next_id(), "CANCELLATION_REQUEST", message, {}, self.shop.clock.iso_now()
            )
        )
        fo.request_status = CANCELLATION_REQUESTED
        self._touch_fo(fo)
        self.shop.emit(
            "fulfillment_orders/cancellation_request_submitted",
            {
                "fulfillment_order": self.fo_payload_short(fo),
                "fulfillment_order_merchant_request": {
                    "id": fo.merchant_requests[-1].gid,
                    "message": message,
                },
            },
        )
        self._ping_service(fo, "CANCELLATION_REQUEST")
        return fo

    def accept_cancellation_request(
        self, fo: FulfillmentOrder, message: str | None
    ) -> FulfillmentOrder:
        self._require_service_fo(fo)
        if fo.request_status != CANCELLATION_REQUESTED:
            raise _fail(
                None,
                "Cannot accept cancellation for a fulfillment order with request status "
                f"{fo.request_status.lower()}.",
            )
        fo.request_status = CANCELLATION_ACCEPTED
        fo.status = CLOSED
        self._touch_fo(fo)
        self.shop.emit(
            "fulfillment_orders/cancellation_request_accepted",
            {"fulfillment_order": self.fo_payload_short(fo), "message": message},
        )
        return fo

    def reject_cancellation_request(
        self, fo: FulfillmentOrder, message: str | None
    ) -> FulfillmentOrder:
        self._require_service_fo(fo)
        if fo.request_status != CANCELLATION_REQUESTED:
            raise _fail(
                None,
                "Cannot reject cancellation for a fulfillment order with request status "
                f"{fo.request_status.lower()}.",
            )
        fo.request_status = CANCELLATION_REJECTED
        fo.status = IN_PROGRESS
        self._touch_fo(fo)
        self.shop.emit(
            "fulfillment_orders/cancellation_request_rejected",
            {"fulfillment_order": self.fo_payload_short(fo), "message": message},
        )
        return fo

    def assignment_status(self, fo: FulfillmentOrder) -> str | None:
        """FulfillmentOrderAssignmentStatus of a service fulfillment order (Shopify docs)."""
        if fo.status in {CLOSED, CANCELLED, INCOMPLETE}:
            return None
        return {
            SUBMITTED: "FULFILLMENT_REQUESTED",
            ACCEPTED: "FULFILLMENT_ACCEPTED",
            CANCELLATION_REJECTED: "FULFILLMENT_ACCEPTED",
            CANCELLATION_REQUESTED: "CANCELLATION_REQUESTED",
            UNSUBMITTED: "FULFILLMENT_UNSUBMITTED",
            REJECTED: "FULFILLMENT_UNSUBMITTED",
        }.get(fo.request_status)

    # =================================================================== payloads
    def _money_str(self, value: Decimal) -> str:
        return f"{value:.2f}"

    def order_payload(self, order: Order) -> dict[str, Any]:
        """REST Admin representation of an order (webhook bodies of orders/*)."""
        return {
            "id": order.id,
            "admin_graphql_api_id": order.gid,
            "name": order.name,
            "order_number": order.number,
            "number": order.number - 1000,
            "email": order.email,
            "contact_email": order.email,
            "phone": order.phone,
            "note": order.note,
            "tags": ", ".join(order.tags),
            "test": order.test,
            "currency": order.currency,
            "created_at": order.created_at,
            "updated_at": order.updated_at,
            "processed_at": order.processed_at,
            "cancelled_at": order.cancelled_at,
            "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
            "closed_at": order.closed_at,
            "financial_status": (order.financial_status or "pending").lower(),
            "fulfillment_status": self._rest_fulfillment_status(order),
            "subtotal_price": self._money_str(order.subtotal),
            "total_price": self._money_str(order.total),
            "current_total_price": self._money_str(order.current_total),
            "total_outstanding": self._money_str(order.outstanding),
            "shipping_address": rest_address(order.shipping_address),
            "billing_address": rest_address(order.billing_address),
            "line_items": [self._line_payload(li, order) for li in order.line_items],
            "shipping_lines": [
                {
                    "id": s.id,
                    "title": s.title,
                    "price": self._money_str(s.price),
                    "code": s.code,
                    "source": s.source,
                }
                for s in order.shipping_lines
            ],
            "fulfillments": [self.fulfillment_payload(f) for f in self.fulfillments_of(order)],
            "source_name": order.source_name or "sandbox",
        }

    def _rest_fulfillment_status(self, order: Order) -> str | None:
        status = self.display_fulfillment_status(order)
        return {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}.get(status)

    def _line_payload(self, line: LineItem, order: Order) -> dict[str, Any]:
        return {
            "id": line.id,
            "admin_graphql_api_id": line.gid,
            "title": line.title,
            "name": self.line_name(line),
            "quantity": line.quantity,
            "current_quantity": line.quantity - line.removed_quantity,
            "fulfillable_quantity": self.fulfillable_quantity(line, order),
            "sku": line.sku,
            "variant_id": line.variant_id,
            "product_id": line.product_id,
            "variant_title": line.variant_title,
            "vendor": line.vendor,
            "price": self._money_str(line.price),
            "requires_shipping": line.requires_shipping,
            "taxable": line.taxable,
            "fulfillment_status": (
                "fulfilled"
                if line.fulfilled_quantity >= line.quantity
                else ("partial" if line.fulfilled_quantity else None)
            ),
        }

    @staticmethod
    def line_name(line: LineItem) -> str:
        return f"{line.title} - {line.variant_title}" if line.variant_title else line.title

    def fo_payload_short(self, fo: FulfillmentOrder | None) -> dict[str, Any] | None:
        """The short fulfillment order shape of fulfillment_orders/* webhooks (Shopify
        docs): GraphQL ids, lower-case status."""
        if fo is None:
            return None
        return {
            "id": fo.gid,
            "status": fo.status.lower(),
            "request_status": fo.request_status.lower(),
            "assigned_location_id": gid("Location", fo.location_id),
            "order_id": gid("Order", fo.order_id),
            "line_items": [
                {
                    "id": x.gid,
                    "line_item_id": gid("LineItem", x.line_item_id),
                    "quantity": x.total_quantity,
                    "remaining_quantity": x.remaining_quantity,
                }
                for x in fo.line_items
            ],
        }

    def fulfillment_payload(self, fulfillment: Fulfillment) -> dict[str, Any]:
        """REST Admin representation of a fulfillment (fulfillments/* webhooks)."""
        order = self.orders[fulfillment.order_id]
        first = fulfillment.tracking[0] if fulfillment.tracking else None
        latest = fulfillment.latest_event()
        return {
            "id": fulfillment.id,
            "admin_graphql_api_id": fulfillment.gid,
            "order_id": order.id,
            "name": fulfillment.name,
            "status": "cancelled" if fulfillment.status == "CANCELLED" else "success",
            "shipment_status": latest.status.lower() if latest else None,
            "location_id": fulfillment.location_id,
            "created_at": fulfillment.created_at,
            "updated_at": fulfillment.updated_at,
            "tracking_company": first.company if first else None,
            "tracking_number": first.number if first else None,
            "tracking_numbers": [t.number for t in fulfillment.tracking if t.number],
            "tracking_url": first.url if first else None,
            "tracking_urls": [t.url for t in fulfillment.tracking if t.url],
            "notify_customer": fulfillment.notify_customer,
            "line_items": [
                {
                    **self._line_payload(self.line_item(order, fli.line_item_id), order),
                    "quantity": fli.quantity,
                }
                for fli in fulfillment.line_items
            ],
        }

    def event_payload(self, event: FulfillmentEvent, fulfillment: Fulfillment) -> dict[str, Any]:
        return {
            "id": event.id,
            "admin_graphql_api_id": event.gid,
            "fulfillment_id": fulfillment.id,
            "order_id": fulfillment.order_id,
            "status": event.status.lower(),
            "message": event.message,
            "happened_at": event.happened_at,
            "created_at": event.created_at,
            "estimated_delivery_at": event.estimated_delivery_at,
            "city": event.city,
            "province": event.province,
            "country": event.country,
            "zip": event.zip,
            "address1": event.address1,
            "latitude": event.latitude,
            "longitude": event.longitude,
        }


# ----------------------------------------------------------------------------- public API
def orders_of(shop: ShopState) -> Orders:
    """The shop's orders part."""
    return shop.part("orders", Orders)


def create_order(
    shop: ShopState,
    order_input: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    app_id: str | None = None,
) -> Order:
    """Create an order as ``orderCreate(order:, options:)`` would (camelCase input dict).

    ``options={"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"}`` commits stock at the
    assigned locations (the GraphQL default, BYPASS, leaves inventory alone). Raises
    ``OrderUserErrors`` for input Shopify would refuse.
    """
    return orders_of(shop).create_order(order_input, options, app_id=app_id)


def fulfill_order(
    shop: ShopState,
    order: Order,
    *,
    tracking_number: str | None = None,
    tracking_company: str | None = None,
    tracking_url: str | None = None,
) -> list[Fulfillment]:
    """Fulfil everything still open on ``order``, one fulfillment per location (as
    ``fulfillmentCreate`` requires); for seeding fulfilled orders."""
    orders = orders_of(shop)
    by_location: dict[int, list[FulfillmentOrder]] = {}
    for fo in orders.fos_of(order):
        if fo.status in {OPEN, IN_PROGRESS} and fo.remaining() > 0:
            by_location.setdefault(fo.location_id, []).append(fo)
    tracking = (
        {"number": tracking_number, "company": tracking_company, "url": tracking_url}
        if tracking_number or tracking_company or tracking_url
        else None
    )
    return [
        orders.create_fulfillment(
            {
                "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo.gid} for fo in fos],
                "trackingInfo": tracking,
            }
        )
        for fos in by_location.values()
    ]
