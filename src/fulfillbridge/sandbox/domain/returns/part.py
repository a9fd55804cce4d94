"""The returns part: creating returns (requested or open), the merchant's answers, and
cancelling, closing, reopening and shortening them."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.orders import (
    OrderUserErrors,
    UserError,
)
from fulfillbridge.sandbox.domain.orders.inputs import iso
from fulfillbridge.sandbox.domain.returns.model import (
    ALREADY_DECLINED,
    CANCELED,
    CLOSED,
    DECLINED,
    INVALID_RETURN_QUANTITY,
    NO_FULFILLMENT_LINE,
    NO_LINES,
    NO_RETURN_LINE,
    NOT_APPROVABLE,
    NOT_CANCELABLE,
    NOT_DECLINABLE,
    OPEN,
    OTHER_NEEDS_NOTE,
    REASON_DEFINITIONS,
    REASON_REQUIRED,
    REQUESTED,
    RETURN_REASONS,
    SANDBOX_WORDING,
    STATUS_INVALID,
    ExchangeLineItem,
    Return,
    ReturnLineItem,
    money_of,
    number_of,
    refusal,
    user_error,
)
from fulfillbridge.sandbox.domain.returns.processing import Processing
from fulfillbridge.sandbox.state import ShopState


class Returns(Processing):
    """Every operation on the returns of one shop."""

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
            raise refusal(["returnLineItems"], NO_LINES, "INVALID")
        order_number = number_of(raw.get("orderId"), "Order")
        order = self.orders.order(order_number) if order_number is not None else None
        if order is None:
            raise refusal([input_name, "orderId"], SANDBOX_WORDING["no_order"], "NOT_FOUND")
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
            fli_id = number_of(entry.get("fulfillmentLineItemId"), "FulfillmentLineItem")
            found = self.fulfillment_line(order, fli_id) if fli_id is not None else None
            if found is None:
                errors.append(
                    user_error(
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
                    user_error(
                        [input_name, "returnLineItems", str(index), "quantity"],
                        INVALID_RETURN_QUANTITY,
                        "INVALID",
                    )
                )
                continue
            wanted[fli.id] = wanted.get(fli.id, 0) + quantity
            definition = number_of(entry.get("returnReasonDefinitionId"), "ReturnReasonDefinition")
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
        # returnCreate may say when the customer asked (ReturnInput.requestedAt).
        try:
            requested_at = iso(raw.get("requestedAt")) or now
        except OrderUserErrors as exc:
            raise refusal([input_name, "requestedAt"], exc.errors[0].message, "INVALID") from exc
        ret = Return(
            id=self.shop.next_id(),
            order_id=order.id,
            name=f"{order.name}-R{len(self.of_order(order.id)) + 1}",
            status=status,
            created_at=requested_at,
            updated_at=now,
            line_items=built,
            exchange_line_items=exchanges,
        )
        fee_amount = money_of((raw.get("returnShippingFee") or {}).get("amount"))
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
                return user_error(
                    [input_name, "returnLineItems", str(index)],
                    f"Return line items {REASON_REQUIRED}",
                    "NOT_FOUND",
                )
            return user_error(
                [input_name, "returnLineItems", str(index), "returnReason"],
                "Return reason can't be blank",
                "BLANK",
            )
        if definition_raw:
            definition = number_of(definition_raw, "ReturnReasonDefinition")
            if definition not in REASON_DEFINITIONS:
                return user_error(
                    [input_name, "returnLineItems", str(index), "returnReasonDefinitionId"],
                    SANDBOX_WORDING["no_reason_definition"],
                    "NOT_FOUND",
                )
        if (
            input_name == "returnInput"
            and reason == "OTHER"
            and not (entry.get("returnReasonNote") or "").strip()
        ):
            return user_error(
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
            variant_id = number_of(entry.get("variantId"), "ProductVariant")
            variant = catalog.variant(variant_id) if variant_id is not None else None
            if variant is None:
                errors.append(
                    user_error([*where, "variantId"], SANDBOX_WORDING["no_variant"], "NOT_FOUND")
                )
                continue
            quantity = int(entry.get("quantity", 0))
            if quantity <= 0:
                errors.append(
                    user_error(
                        [*where, "quantity"],
                        SANDBOX_WORDING["invalid_exchange_quantity"],
                        "INVALID",
                    )
                )
                continue
            built.append(ExchangeLineItem(self.shop.next_id(), variant.id, quantity))
        return built

    # ------------------------------------------------------------------ decisions
    def approve(self, global_id: Any) -> Return:
        ret = self._require(global_id, ["input", "id"])
        if ret.status != REQUESTED:
            raise refusal(["input", "id"], NOT_APPROVABLE, "INVALID_STATE")
        ret.status = OPEN
        ret.request_approved_at = self._touch(ret)
        self._open_reverse_order(ret)
        self._emit_return("returns/approve", ret)
        return ret

    def decline(self, global_id: Any, reason: str, note: str | None) -> Return:
        ret = self._require(global_id, ["input", "id"])
        if ret.status == DECLINED:
            raise refusal(["input", "id"], ALREADY_DECLINED, "INVALID_STATE")
        if ret.status != REQUESTED:
            raise refusal(["input", "id"], NOT_DECLINABLE, "INVALID_STATE")
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
            raise refusal(["id"], NOT_CANCELABLE, "INVALID_STATE")
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
            raise refusal(["id"], STATUS_INVALID, "INVALID_STATE")
        self._close(ret)
        return ret

    def reopen(self, global_id: Any) -> Return:
        ret = self._require(global_id, ["id"])
        if ret.status == OPEN:
            return ret
        if ret.status != CLOSED:
            raise refusal(["id"], STATUS_INVALID, "INVALID_STATE")
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
            raise refusal(["returnId"], STATUS_INVALID, "INVALID_STATE")
        errors: list[UserError] = []
        lines: dict[int, int] = {}
        for index, entry in enumerate(line_inputs):
            where = ["returnLineItems", str(index)]
            line_id = number_of(entry.get("returnLineItemId"), "ReturnLineItem")
            line = ret.line(line_id) if line_id is not None else None
            if line is None:
                errors.append(user_error([*where, "returnLineItemId"], NO_RETURN_LINE, "INVALID"))
                continue
            quantity = int(entry.get("quantity", 0))
            if quantity <= 0:
                errors.append(user_error(None, "Quantity must be greater than 0", "GREATER_THAN"))
                continue
            if quantity > self._removable(ret, line) - lines.get(line.id, 0):
                errors.append(user_error([*where, "quantity"], INVALID_RETURN_QUANTITY, "INVALID"))
                continue
            lines[line.id] = lines.get(line.id, 0) + quantity
        exchanges: dict[int, int] = {}
        for index, entry in enumerate(exchange_inputs):
            where = ["exchangeLineItems", str(index)]
            line_id = number_of(entry.get("exchangeLineItemId"), "ExchangeLineItem")
            exchange = ret.exchange_line(line_id) if line_id is not None else None
            if exchange is None:
                errors.append(
                    user_error(
                        [*where, "exchangeLineItemId"],
                        SANDBOX_WORDING["no_exchange_line"],
                        "INVALID",
                    )
                )
                continue
            quantity = int(entry.get("quantity", 0))
            if quantity <= 0:
                errors.append(user_error(None, "Quantity must be greater than 0", "GREATER_THAN"))
                continue
            if quantity > exchange.processable - exchanges.get(exchange.id, 0):
                errors.append(
                    user_error(
                        [*where, "quantity"],
                        SANDBOX_WORDING["invalid_exchange_quantity"],
                        "INVALID",
                    )
                )
                continue
            exchanges[exchange.id] = exchanges.get(exchange.id, 0) + quantity
        if not errors and not lines and not exchanges:
            errors.append(user_error(["returnLineItems"], NO_LINES, "INVALID"))
        left = sum(x.quantity - lines.get(x.id, 0) for x in ret.line_items)
        if not errors and left == 0:
            errors.append(user_error(["returnLineItems"], NO_LINES, "INVALID"))
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


def returns_of(shop: ShopState) -> Returns:
    part: Returns = shop.part("returns", Returns)
    return part
