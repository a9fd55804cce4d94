"""The merchant changing an order after it was placed: order edits (``orderEditBegin``,
``orderEditAddVariant``, ``orderEditSetQuantity``, ``orderEditCommit``) and a new shipping
address (``orderUpdate``), with what follows for the order's fulfillment orders.

An edit is staged on a calculated order and changes nothing until it is committed
(Shopify docs, "Edit existing orders"). On commit:

- a line whose quantity goes down keeps ``quantity`` and counts the units as removed
  (``currentQuantity`` drops, as Shopify reports edited-away units); the units leave the
  line's fulfillment orders that still have them to do, unsubmitted ones first, and a
  fulfillment order left with nothing to do closes;
- a line whose quantity goes up gets the units in its open, unsubmitted fulfillment order
  if it has one, otherwise in a new fulfillment order at the line's location;
- an added variant goes to a new fulfillment order at the location given to
  ``orderEditAddVariant`` or, without one, where routing would send it (a fulfillment
  service that stocks it, else the first merchant location that can ship it): work a
  fulfillment service already accepted is never changed behind its back by additions;
- ``orders/edited`` (body ``{"order_edit": ...}`` with ``line_items.additions`` and
  ``removals`` as ``{id, delta}``) and ``orders/updated`` are sent.

Only unfulfilled units can be edited (the orderEditCommit reference). The userErrors'
wording here is the sandbox's own: no capture records them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fulfillbridge.sandbox.domain.orders import inventory
from fulfillbridge.sandbox.domain.orders.errors import fail
from fulfillbridge.sandbox.domain.orders.inputs import id_of
from fulfillbridge.sandbox.domain.orders.model import (
    CANCELLED,
    CLOSED,
    INCOMPLETE,
    OPEN,
    UNSUBMITTED,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    LineItem,
    Order,
)
from fulfillbridge.sandbox.domain.orders.routing import _stock_allows
from fulfillbridge.sandbox.domain.orders.settings import merchant_settings_of
from fulfillbridge.sandbox.state import gid

if TYPE_CHECKING:
    from fulfillbridge.sandbox.domain.orders.part import Orders
    from fulfillbridge.sandbox.state import ShopState

_DONE = {CLOSED, CANCELLED, INCOMPLETE}


@dataclass
class EditLine:
    """One CalculatedLineItem: an existing line (``line_item_id``) or an added variant."""

    id: int
    line_item_id: int | None
    quantity: int  # staged current quantity
    before: int  # current quantity when the edit began (0 for an added line)
    fulfilled: int
    title: str
    price: Decimal
    sku: str | None = None
    variant_id: int | None = None
    variant_title: str | None = None
    location_id: int | None = None  # added lines: where they will be fulfilled

    @property
    def gid(self) -> str:
        return gid("CalculatedLineItem", self.id)

    @property
    def editable(self) -> int:
        return self.quantity - self.fulfilled


@dataclass
class OrderEdit:
    """A calculated order and its edit session (they share the number)."""

    id: int
    order_id: int
    app_id: str | None
    lines: list[EditLine] = field(default_factory=list)
    committed: bool = False

    @property
    def gid(self) -> str:
        return gid("CalculatedOrder", self.id)

    @property
    def session_gid(self) -> str:
        return gid("OrderEditSession", self.id)

    def line(self, line_id: int) -> EditLine | None:
        return next((x for x in self.lines if x.id == line_id), None)

    @property
    def added(self) -> list[EditLine]:
        return [x for x in self.lines if x.line_item_id is None and x.quantity > 0]

    @property
    def quantity(self) -> int:
        return sum(x.quantity for x in self.lines)

    @property
    def subtotal(self) -> Decimal:
        return sum((x.price * x.quantity for x in self.lines), Decimal("0"))


class OrderEdits:
    """The shop's order edit sessions (``shop.part("order_edits", OrderEdits)``)."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.sessions: dict[int, OrderEdit] = {}

    def dump(self) -> list[dict[str, Any]]:
        """The sessions as the state control shows them."""
        return [
            {
                "id": edit.gid,
                "order_id": gid("Order", edit.order_id),
                "committed": edit.committed,
                "lines": [
                    {"id": x.gid, "quantity": x.quantity, "before": x.before} for x in edit.lines
                ],
            }
            for edit in self.sessions.values()
        ]


def edits_of(shop: ShopState) -> OrderEdits:
    return shop.part("order_edits", OrderEdits)


def _orders(shop: ShopState) -> Orders:
    from fulfillbridge.sandbox.domain.orders.part import orders_of

    return orders_of(shop)


# ----------------------------------------------------------------------------- begin
def begin(shop: ShopState, order_gid: str, app_id: str | None) -> OrderEdit:
    orders = _orders(shop)
    oid = id_of(order_gid, "Order")
    order = orders.order(oid) if oid is not None else None
    if order is None:
        raise fail(["id"], "Order does not exist")
    if order.cancelled_at is not None:
        raise fail(["id"], "Cannot edit an order that has been canceled")
    edit = OrderEdit(id=shop.next_id(), order_id=order.id, app_id=app_id)
    for line in order.line_items:
        current = line.quantity - line.removed_quantity
        edit.lines.append(
            EditLine(
                id=line.id,
                line_item_id=line.id,
                quantity=current,
                before=current,
                fulfilled=line.fulfilled_quantity,
                title=line.title,
                price=line.price,
                sku=line.sku,
                variant_id=line.variant_id,
                variant_title=line.variant_title,
            )
        )
    edits_of(shop).sessions[edit.id] = edit
    return edit


def require_edit(shop: ShopState, edit_gid: str) -> OrderEdit:
    """The open edit a mutation names (a CalculatedOrder or OrderEditSession id)."""
    number = id_of(edit_gid, "CalculatedOrder")
    if number is None:
        number = id_of(edit_gid, "OrderEditSession")
    edit = edits_of(shop).sessions.get(number) if number is not None else None
    if edit is None:
        raise fail(["id"], "The calculated order does not exist")
    if edit.committed:
        raise fail(["id"], "The calculated order has already been committed")
    order = _orders(shop).order(edit.order_id)
    if order is None or order.cancelled_at is not None:
        raise fail(["id"], "Cannot edit an order that has been canceled")
    return edit


# ----------------------------------------------------------------------------- staging
def add_variant(
    shop: ShopState,
    edit_gid: str,
    variant_gid: str,
    quantity: int,
    *,
    location_gid: str | None = None,
    allow_duplicates: bool = False,
) -> tuple[OrderEdit, EditLine]:
    edit = require_edit(shop, edit_gid)
    orders = _orders(shop)
    catalog = orders._catalog()
    if quantity <= 0:
        raise fail(["quantity"], "Quantity must be greater than 0")
    vid = id_of(variant_gid, "ProductVariant")
    variant = catalog.variant(vid) if vid is not None else None
    if variant is None:
        raise fail(["variantId"], "Variant does not exist")
    if not allow_duplicates and any(
        x.variant_id == variant.id and x.quantity > 0 for x in edit.lines
    ):
        raise fail(
            ["variantId"],
            "The variant is already on the order; set allowDuplicates to add another line",
        )
    location_id: int | None = None
    if location_gid is not None:
        location_id = id_of(location_gid, "Location")
        location = orders.location(location_id) if location_id is not None else None
        if location is None or not location.is_active:
            raise fail(["locationId"], "Location does not exist")
    else:
        location_id = _location_for(orders, variant.inventory_item_id, quantity)
    product = catalog.product(variant.product_id)
    item = catalog.inventory_item(variant.inventory_item_id)
    line = EditLine(
        id=shop.next_id(),
        line_item_id=None,
        quantity=quantity,
        before=0,
        fulfilled=0,
        title=product.title if product else "Untitled",
        price=Decimal(str(variant.price)),
        sku=item.sku if item else None,
        variant_id=variant.id,
        variant_title=None if variant.title == "Default Title" else variant.title,
        location_id=location_id,
    )
    edit.lines.append(line)
    return edit, line


def _location_for(orders: Orders, item_id: int | None, quantity: int) -> int | None:
    """Where routing would send ``quantity`` units of the item (``Routing._route``'s rule
    for one line): a fulfillment service that stocks it, else the first merchant location
    that can ship them, else the first that stocks it, else the first merchant location."""
    catalog = orders._catalog()
    locations = orders.ordered_locations()
    stocked = set(catalog.stocked_locations(item_id)) if item_id is not None else set()
    service = next(
        (x for x in locations if x.fulfillment_service_id is not None and x.id in stocked), None
    )
    if service is not None:
        return service.id
    merchant = [x for x in locations if x.fulfillment_service_id is None]
    for candidates in (
        [x for x in merchant if stocked and _stock_allows(catalog, item_id, x.id, quantity)],
        [x for x in merchant if x.id in stocked],
        merchant,
    ):
        if candidates:
            return candidates[0].id
    return None


def set_quantity(
    shop: ShopState, edit_gid: str, line_gid: str, quantity: int
) -> tuple[OrderEdit, EditLine]:
    edit = require_edit(shop, edit_gid)
    if quantity < 0:
        raise fail(["quantity"], "Quantity must be greater than or equal to 0")
    number = id_of(line_gid, "CalculatedLineItem")
    line = edit.line(number) if number is not None else None
    if line is None:
        raise fail(["lineItemId"], "Line item does not exist on the calculated order")
    if quantity < line.fulfilled:
        raise fail(
            ["quantity"],
            f"Quantity can't be lower than the {line.fulfilled} unit(s) already fulfilled",
        )
    line.quantity = quantity
    return edit, line


# ----------------------------------------------------------------------------- commit
def commit(
    shop: ShopState,
    edit_gid: str,
    *,
    notify_customer: bool = False,
    staff_note: str | None = None,
) -> tuple[Order, OrderEdit]:
    edit = require_edit(shop, edit_gid)
    orders = _orders(shop)
    order = orders.orders[edit.order_id]
    catalog = orders._catalog()
    now = shop.clock.iso_now()
    additions: list[dict[str, int]] = []
    removals: list[dict[str, int]] = []
    touched: list[FulfillmentOrder] = []
    for staged in edit.lines:
        if staged.line_item_id is None:
            continue
        delta = staged.quantity - staged.before
        if delta == 0:
            continue
        line = orders.line_item(order, staged.line_item_id)
        if delta < 0:
            line.removed_quantity += -delta
            touched += _take_units(orders, order, line, -delta)
            removals.append({"id": line.id, "delta": -delta})
        else:
            line.quantity += delta
            touched.append(_give_units(orders, order, line, delta))
            additions.append({"id": line.id, "delta": delta})
    new_fos: dict[int | None, FulfillmentOrder] = {}
    for staged in edit.added:
        line = orders._build_line(
            catalog,
            {
                "variantId": gid("ProductVariant", staged.variant_id or 0),
                "quantity": staged.quantity,
            },
            len(order.line_items),
        )
        order.line_items.append(line)
        if staged.location_id is not None:
            fo = new_fos.get(staged.location_id)
            if fo is None:
                fo = new_fos[staged.location_id] = orders._new_fo(order, staged.location_id)
            fo.line_items.append(
                FulfillmentOrderLineItem(shop.next_id(), line.id, line.quantity, line.quantity)
            )
            if order.inventory_behaviour != "BYPASS":
                inventory.commit(catalog, line, staged.location_id, line.quantity)
        additions.append({"id": line.id, "delta": line.quantity})
    edit.committed = True
    orders._touch_fo(*touched, *new_fos.values())
    order.updated_at = now
    shop.emit(
        "orders/edited",
        {
            "order_edit": {
                "id": edit.id,
                "app_id": edit.app_id,
                "created_at": now,
                "notify_customer": notify_customer,
                "order_id": order.id,
                "staff_note": staff_note or "",
                "user_id": None,
                "line_items": {"additions": additions, "removals": removals},
                "discounts": {"line_item": {"additions": [], "removals": []}},
                "shipping_lines": {"additions": [], "removals": []},
            }
        },
    )
    orders._emit_order_updated(order)
    for fo in new_fos.values():
        orders._emit_fo_event("fulfillment_orders/order_routing_complete", fo)
    if merchant_settings_of(shop).auto_submit_fulfillment_requests:
        orders.submit_requests_of_new_order(order)
    return order, edit


def _take_units(orders: Orders, order: Order, line: LineItem, units: int) -> list[FulfillmentOrder]:
    """Remove ``units`` of the line's remaining work, unsubmitted fulfillment orders first;
    returns the fulfillment orders changed (one left with nothing to do is closed)."""
    catalog = orders._catalog()
    candidates = [fo for fo in orders.fos_of(order) if fo.status not in _DONE]
    candidates.sort(key=lambda fo: (fo.request_status != UNSUBMITTED, fo.id))
    changed: list[FulfillmentOrder] = []
    left = units
    for fo in candidates:
        foli = next((x for x in fo.line_items if x.line_item_id == line.id), None)
        if foli is None or foli.remaining_quantity == 0:
            continue
        taken = min(foli.remaining_quantity, left)
        foli.total_quantity -= taken
        foli.remaining_quantity -= taken
        left -= taken
        if line.inventory_item_id is not None and line.committed.get(fo.location_id, 0) > 0:
            released = min(line.committed[fo.location_id], taken)
            catalog.release_commit(line.inventory_item_id, fo.location_id, released)
            line.committed[fo.location_id] -= released
        if fo.remaining() == 0:
            fo.status = CLOSED
            fo.holds = []
        changed.append(fo)
        if left == 0:
            break
    return changed


def _give_units(orders: Orders, order: Order, line: LineItem, units: int) -> FulfillmentOrder:
    """Add ``units`` to the line's open, unsubmitted fulfillment order, or to a new one at
    the location of the line's latest fulfillment order."""
    mine = [
        fo for fo in orders.fos_of(order) if any(x.line_item_id == line.id for x in fo.line_items)
    ]
    target = next(
        (fo for fo in mine if fo.status == OPEN and fo.request_status == UNSUBMITTED), None
    )
    if target is None:
        location_id = mine[-1].location_id if mine else _location_for(orders, None, units)
        if location_id is None:
            raise fail(["id"], "The shop has no location to fulfil the added units")
        target = orders._new_fo(order, location_id, like=mine[-1] if mine else None)
    foli = next((x for x in target.line_items if x.line_item_id == line.id), None)
    if foli is None:
        foli = FulfillmentOrderLineItem(orders.shop.next_id(), line.id, 0, 0)
        target.line_items.append(foli)
    foli.total_quantity += units
    foli.remaining_quantity += units
    if order.inventory_behaviour != "BYPASS":
        inventory.commit(orders._catalog(), line, target.location_id, units)
    return target


# ----------------------------------------------------------------------------- address
ADDRESS_FIELDS = (
    "firstName",
    "lastName",
    "company",
    "address1",
    "address2",
    "city",
    "province",
    "provinceCode",
    "country",
    "countryCode",
    "zip",
    "phone",
)


def update_shipping_address(shop: ShopState, order_gid: str, address: dict[str, Any]) -> Order:
    """``orderUpdate(input: {id, shippingAddress})``."""
    return update_order(shop, {"id": order_gid, "shippingAddress": address})


def update_order(shop: ShopState, order_input: dict[str, Any]) -> Order:
    """``orderUpdate(input:)`` for ``shippingAddress``, ``note``, ``email``, ``phone`` and
    ``tags``; one ``orders/updated`` follows.

    A new shipping address changes the destination of every fulfillment order not yet done
    (a fulfillment order's destination is its order's shipping address; closed ones keep
    where they shipped to). Fields the address input leaves out keep their values (Shopify
    updates the address in place)."""
    orders = _orders(shop)
    oid = id_of(order_input.get("id"), "Order")
    order = orders.order(oid) if oid is not None else None
    if order is None:
        raise fail(["id"], "Order does not exist")
    now = shop.clock.iso_now()
    address = order_input.get("shippingAddress")
    if address is not None:
        merged = {**(order.shipping_address or {})}
        for key in ADDRESS_FIELDS:
            if key in address:
                merged[key] = address[key]
        # A new code makes the old name wrong: Shopify derives the name from the code.
        if "countryCode" in address and "country" not in address:
            merged.pop("country", None)
        if "provinceCode" in address and "province" not in address:
            merged.pop("province", None)
        for fo in orders.fos_of(order):
            if fo.status in _DONE:
                if fo.destination is None and order.shipping_address is not None:
                    fo.destination = dict(order.shipping_address)
            else:
                fo.updated_at = now
        order.shipping_address = merged
    for key, attribute in (("note", "note"), ("email", "email"), ("phone", "phone")):
        if key in order_input:
            setattr(order, attribute, order_input[key])
    if "tags" in order_input:
        tags = order_input["tags"] or []
        order.tags = sorted({t.strip() for t in tags if t.strip()})
    order.updated_at = now
    orders._emit_order_updated(order)
    return order
