"""The ``Orders`` part of a shop: every operation of the package on one object, plus the
order's own life (creating an order, cancelling it) and the helpers seeding and demos use."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fulfillbridge.sandbox.domain.orders import details, inventory
from fulfillbridge.sandbox.domain.orders.errors import fail
from fulfillbridge.sandbox.domain.orders.fulfillment_orders import FulfillmentOrderOps
from fulfillbridge.sandbox.domain.orders.fulfillments import Fulfillments, by_location
from fulfillbridge.sandbox.domain.orders.inputs import amount_of, id_of, iso, money
from fulfillbridge.sandbox.domain.orders.merchant_requests import MerchantRequests
from fulfillbridge.sandbox.domain.orders.model import (
    CANCELLED,
    CLOSED,
    IN_PROGRESS,
    INCOMPLETE,
    MAX_STAFF_NOTE,
    OPEN,
    Fulfillment,
    LineItem,
    Order,
    ShippingLine,
    Transaction,
)
from fulfillbridge.sandbox.domain.orders.routing import Routing
from fulfillbridge.sandbox.domain.orders.settings import merchant_settings_of

if TYPE_CHECKING:
    from fulfillbridge.sandbox.domain.catalog import Catalog
    from fulfillbridge.sandbox.state import ShopState


class Orders(Routing, FulfillmentOrderOps, MerchantRequests, Fulfillments):
    """All orders, fulfillment orders and fulfillments of one shop.

    The operations live in the base classes, one concept each: ``OrdersStore`` (state,
    lookups, bookkeeping), ``OrderPayloads`` (webhook bodies), ``Routing``,
    ``FulfillmentOrderOps`` (the state machine, holds, moves, splits, merges),
    ``MerchantRequests`` (fulfillment-service requests) and ``Fulfillments``."""

    # =================================================================== create
    def create_order(
        self,
        order_input: dict[str, Any],
        options: dict[str, Any] | None = None,
        *,
        app_id: str | None = None,
        extras: details.OrderExtras | None = None,
    ) -> Order:
        """orderCreate: validate, store, route to locations, emit webhooks. ``extras``
        carries the dates no orderCreate input has (seed controls only)."""
        options = options or {}
        behaviour = options.get("inventoryBehaviour") or "BYPASS"
        now = self.shop.clock.iso_now()
        raw_lines = order_input.get("lineItems") or []
        if not raw_lines:
            raise fail(["order", "lineItems"], "Line items must have at least one line item")
        catalog = self._catalog()
        lines: list[LineItem] = []
        for index, raw in enumerate(raw_lines):
            lines.append(self._build_line(catalog, raw, index))
        fulfilled_at = (order_input.get("fulfillment") or {}).get("locationId")
        if fulfilled_at is not None and id_of(fulfilled_at, "Location") not in self.shop.locations:
            raise fail(["order", "fulfillment", "locationId"], "Location does not exist")
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
            processed_at=iso(order_input.get("processedAt")) or now,
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
            custom_attributes=details.note_attributes(order_input),
        )
        for raw in order_input.get("shippingLines") or []:
            order.shipping_lines.append(
                ShippingLine(
                    id=self.shop.next_id(),
                    title=raw.get("title") or "Shipping",
                    price=amount_of(raw.get("priceSet")) or Decimal("0"),
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
                    amount=amount_of(raw.get("amountSet")) or Decimal("0"),
                    test=bool(raw.get("test")),
                    created_at=now,
                )
            )
        order.financial_status = self._financial_status(order, order_input.get("financialStatus"))
        self._next_number += 1
        self.orders[order.id] = order
        self._route(order)
        details.settle_new_order(self, order, extras)
        if behaviour != "BYPASS":
            self._commit_inventory(order, obey_policy=behaviour == "DECREMENT_OBEYING_POLICY")
        payload = self.order_payload(order)
        self.shop.emit("orders/create", payload)
        if order.financial_status == "PAID":
            self.shop.emit("orders/paid", payload)
        for fo in self.fos_of(order):
            self._emit_fo_event("fulfillment_orders/order_routing_complete", fo)
        fulfilled_input = order_input.get("fulfillment")
        if fulfilled_input or order_input.get("fulfillmentStatus") == "FULFILLED":
            # An order recorded as already shipped (imports, seeding): Shopify docs for
            # OrderCreateOrderInput.fulfillment / fulfillmentStatus.
            self._fulfil_at_creation(order, fulfilled_input or {})
        if order_input.get("closedAt"):
            order.closed_at = iso(order_input["closedAt"])
        if merchant_settings_of(self.shop).auto_submit_fulfillment_requests:
            self.submit_requests_of_new_order(order)
        return order

    def _fulfil_at_creation(self, order: Order, spec: dict[str, Any]) -> None:
        location_id = id_of(spec.get("locationId"), "Location")  # checked by create_order
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
        for fos in by_location(self.fos_of(order)):
            fulfillment = self.fulfil_everything(
                fos,
                {
                    "trackingInfo": tracking,
                    "originAddress": spec.get("originAddress"),
                    "notifyCustomer": spec.get("notifyCustomer"),
                },
            )
            if spec.get("shipmentStatus"):
                self.create_event(
                    {"fulfillmentId": fulfillment.gid, "status": spec["shipmentStatus"]}
                )

    def _build_line(self, catalog: Catalog, raw: dict[str, Any], index: int) -> LineItem:
        field_path = ["order", "lineItems", str(index)]
        qty = raw.get("quantity")
        if not isinstance(qty, int) or qty <= 0:
            raise fail([*field_path, "quantity"], "Quantity must be greater than 0")
        variant = None
        variant_gid = raw.get("variantId")
        if variant_gid is not None:
            vid = id_of(variant_gid, "ProductVariant")
            variant = catalog.variant(vid) if vid is not None else None
            if variant is None:
                raise fail([*field_path, "variantId"], "Variant does not exist")
        price = amount_of(raw.get("priceSet"))
        title = raw.get("title")
        sku = raw.get("sku")
        item_id = None
        product_id = None
        item = None
        vendor = raw.get("vendor")
        variant_title = raw.get("variantTitle")
        requires_shipping = bool(raw.get("requiresShipping", False))
        if variant is not None:
            product = catalog.product(variant.product_id)
            item = catalog.inventory_item(variant.inventory_item_id)
            item_id = variant.inventory_item_id
            product_id = variant.product_id
            title = title or (product.title if product else "Untitled")
            # LineItem.vendor is the product's vendor (Shopify docs), unless the input names one.
            vendor = vendor if vendor is not None else (product.vendor if product else None)
            sku = sku if sku is not None else (item.sku if item else None)
            price = price if price is not None else money(variant.price)
            if variant_title is None and variant.title != "Default Title":
                variant_title = variant.title
            if "requiresShipping" not in raw and item is not None:
                requires_shipping = item.requires_shipping
        if not title:
            raise fail([*field_path, "title"], "Title can't be blank for custom line items")
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
            vendor=vendor or None,
            requires_shipping=requires_shipping,
            taxable=bool(raw.get("taxable", True)),
            properties=details.line_properties(raw),
            weight=details.line_weight(raw, item),
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
                        raise fail(
                            ["order", "lineItems"],
                            f"Unable to reserve inventory for {line.title}: not enough stock",
                        )
        for fo in self.fos_of(order):
            for foli in fo.line_items:
                line = self.line_item(order, foli.line_item_id)
                inventory.commit(catalog, line, fo.location_id, foli.total_quantity)

    def _forget(self, order: Order) -> None:
        for fo_id in order.fulfillment_order_ids:
            self.fulfillment_orders.pop(fo_id, None)
        self.orders.pop(order.id, None)
        self._next_number -= 1

    # =================================================================== cancel
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
            raise fail(
                ["staffNote"],
                "Staff note is too long. Maximum length is 255 characters.",
                "INVALID",
            )
        if refund is not None and refund_method is not None:
            raise fail(
                ["refund"],
                "Only one of the arguments `refund` or `refund_method` is allowed.",
                "INVALID",
            )
        oid = id_of(order_id_gid, "Order")
        order = self.orders.get(oid) if oid is not None else None
        if order is None:
            raise fail(["orderId"], "Order does not exist", "NOT_FOUND")
        if order.cancelled_at is not None:
            raise fail(
                ["orderId"], "Cannot cancel an order that has already been canceled", "INVALID"
            )
        if any(f.status != "CANCELLED" for f in self.fulfillments_of(order)):
            # Capture fulfillment-create-preconditions, cleanup: every order with a
            # fulfillment was refused; the ones without any were cancelled.
            raise fail(
                ["orderId"], "Cannot cancel an order that has outstanding fulfillments", "INVALID"
            )
        now = self.shop.clock.iso_now()
        catalog = self._catalog()
        order.cancelled_at = now
        order.cancel_reason = reason
        order.updated_at = now
        # Work a fulfillment service accepted is not closed under it: the service gets a
        # cancellation request to answer, with its webhook and callback (Shopify documents
        # cancellation_request_submitted as the merchant asking to cancel accepted work;
        # no capture records an orderCancel of such an order).
        asked = {fo.id for fo in self.request_cancellation_of_order(order)}
        for fo in self.fos_of(order):
            if fo.id not in asked and fo.status not in {CLOSED, CANCELLED, INCOMPLETE}:
                # Capture fulfillment-create-preconditions "cancelled": the open fulfillment
                # order reads CLOSED afterwards, its remaining quantity untouched.
                fo.status = CLOSED
                fo.updated_at = now
        for line in order.line_items:
            # Quantities stay as they were (capture fulfillment-create-preconditions
            # "cancelled": fulfillableQuantity 1 and remainingQuantity 1 after the cancel).
            inventory.release_all(catalog, line)
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
    extras: details.OrderExtras | None = None,
) -> Order:
    """Create an order as ``orderCreate(order:, options:)`` would (camelCase input dict);
    ``extras`` sets what no orderCreate input carries (``details.OrderExtras``).

    ``options={"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"}`` commits stock at the
    assigned locations (the GraphQL default, BYPASS, leaves inventory alone). Raises
    ``OrderUserErrors`` for input Shopify would refuse.
    """
    return orders_of(shop).create_order(order_input, options, app_id=app_id, extras=extras)


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
    open_fos = [
        fo for fo in orders.fos_of(order) if fo.status in {OPEN, IN_PROGRESS} and fo.remaining() > 0
    ]
    tracking = (
        {"number": tracking_number, "company": tracking_company, "url": tracking_url}
        if tracking_number or tracking_company or tracking_url
        else None
    )
    return [
        orders.fulfil_everything(fos, {"trackingInfo": tracking}) for fos in by_location(open_fos)
    ]
