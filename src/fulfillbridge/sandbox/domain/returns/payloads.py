"""Webhook bodies of returns (REST-shaped: snake case, numeric ids) and the dump of the
state endpoint."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.orders import (
    Order,
)
from fulfillbridge.sandbox.domain.returns.model import (
    DECLINED,
    Disposition,
    Return,
    ReturnLineItem,
    ReverseDelivery,
    ReverseFulfillmentOrder,
    ReverseFulfillmentOrderLineItem,
    by_id,
)
from fulfillbridge.sandbox.domain.returns.store import ReturnsStore
from fulfillbridge.sandbox.state import gid


class ReturnPayloads(ReturnsStore):
    """The bodies of the returns webhooks, and the state dump."""

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
            for ret in sorted(self.returns.values(), key=by_id)
        ]
