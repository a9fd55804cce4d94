"""REST-shaped bodies of the webhooks the orders part emits (orders/*, fulfillments/*,
fulfillment_events/*, fulfillment_orders/*): snake_case keys, lower-case enums, numeric ids
for REST resources and GraphQL ids in the fulfillment_orders/* bodies (Shopify docs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fulfillbridge.sandbox.domain.orders.model import (
    Fulfillment,
    FulfillmentEvent,
    FulfillmentOrder,
    LineItem,
    Order,
)
from fulfillbridge.sandbox.domain.orders.store import OrdersStore
from fulfillbridge.sandbox.state import gid


def _money_str(value: Decimal) -> str:
    return f"{value:.2f}"


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


class OrderPayloads(OrdersStore):
    """Webhook bodies of the part's records, and emitting them."""

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
            "note_attributes": [{"name": k, "value": v} for k, v in order.custom_attributes],
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
            "subtotal_price": _money_str(order.subtotal),
            "total_price": _money_str(order.total),
            "current_total_price": _money_str(order.current_total),
            "total_outstanding": _money_str(order.outstanding),
            "shipping_address": rest_address(order.shipping_address),
            "billing_address": rest_address(order.billing_address),
            "line_items": [self._line_payload(li, order) for li in order.line_items],
            "shipping_lines": [
                {
                    "id": s.id,
                    "title": s.title,
                    "price": _money_str(s.price),
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
            "properties": [{"name": k, "value": v} for k, v in line.properties],
            "price": _money_str(line.price),
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

    # ------------------------------------------------------------------ emitting
    def _emit_fo_event(self, topic: str, fo: FulfillmentOrder, **extra: Any) -> None:
        """A fulfillment_orders/* webhook whose body starts with ``fulfillment_order``."""
        self.shop.emit(topic, {"fulfillment_order": self.fo_payload_short(fo), **extra})

    def _emit_order_updated(self, order: Order) -> None:
        self.shop.emit("orders/updated", self.order_payload(order))

    def _emit_fulfillment_updated(self, fulfillment: Fulfillment) -> None:
        self.shop.emit("fulfillments/update", self.fulfillment_payload(fulfillment))
