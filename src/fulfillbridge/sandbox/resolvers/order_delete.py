"""``orderDelete`` (rules in ``sandbox/domain/order_deletion.py``)."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.order_deletion import OrderDeleteRefused, delete_order
from fulfillbridge.sandbox.registry import Context, mutation


@mutation("orderDelete", scopes=("write_orders",))
def resolve_order_delete(_parent: Any, ctx: Context, orderId: str) -> dict[str, Any]:
    try:
        deleted = delete_order(ctx.shop, orderId)
    except OrderDeleteRefused as refused:
        return {
            "deletedId": None,
            "userErrors": [
                {"field": refused.field, "message": refused.message, "code": refused.code}
            ],
        }
    return {"deletedId": deleted, "userErrors": []}
