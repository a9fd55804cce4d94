"""Processing a return: confirming returned and exchanged units, refunds, exchange items
joining the order (held while the buyer owes for them), and closing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fulfillbridge.sandbox.domain.orders import (
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    OrderUserErrors,
    UserError,
)
from fulfillbridge.sandbox.domain.orders import inventory as order_inventory
from fulfillbridge.sandbox.domain.orders.edits import _location_for
from fulfillbridge.sandbox.domain.returns.model import (
    CLOSED,
    EXCHANGE_HOLD_REASON,
    INVALID_DISPOSE_QUANTITY,
    INVALID_RETURN_QUANTITY,
    NO_RETURN_LINE,
    OPEN,
    SANDBOX_WORDING,
    STATUS_INVALID,
    ExchangeLineItem,
    Refund,
    Return,
    ReturnLineItem,
    ReverseFulfillmentOrder,
    ReverseFulfillmentOrderLineItem,
    money_of,
    number_of,
    refusal,
    user_error,
)
from fulfillbridge.sandbox.domain.returns.reverse import ReverseLogistics
from fulfillbridge.sandbox.state import gid


class Processing(ReverseLogistics):
    """returnProcess, exchanges and their holds, and closing."""

    def _close(self, ret: Return) -> None:
        ret.status = CLOSED
        ret.closed_at = self._touch(ret)
        for rfo in self.reverse_orders_of(ret):
            if rfo.status == OPEN:
                rfo.status = CLOSED
        if self.balance_owed(ret, all_received=True) <= 0:
            self._release_exchange_holds(ret)
        self._emit_return("returns/close", ret)

    # ------------------------------------------------------------------ processing
    def process(self, raw: dict[str, Any]) -> Return:
        """returnProcess: confirm returned and exchanged units, dispose of returned ones,
        optionally refund; exchange items join the order."""
        ret = self._require(raw.get("returnId"), ["input", "returnId"])
        if ret.status != OPEN:
            raise refusal(["input", "returnId"], STATUS_INVALID, "INVALID_STATE")
        line_inputs = list(raw.get("returnLineItems") or [])
        exchange_inputs = list(raw.get("exchangeLineItems") or [])
        if not line_inputs and not exchange_inputs:
            raise refusal(["input"], SANDBOX_WORDING["nothing_to_process"], "BLANK")
        errors: list[UserError] = []
        line_plan: list[tuple[ReturnLineItem, int]] = []
        dispositions: list[dict[str, Any]] = []
        disposition_owner: list[ReturnLineItem] = []
        for index, entry in enumerate(line_inputs):
            where = ["input", "returnLineItems", str(index)]
            line_id = number_of(entry.get("id"), "ReturnLineItem")
            line = ret.line(line_id) if line_id is not None else None
            if line is None:
                errors.append(user_error([*where, "id"], NO_RETURN_LINE, "NOT_FOUND"))
                continue
            quantity = int(entry.get("quantity", 0))
            already = sum(q for x, q in line_plan if x is line)
            if quantity <= 0 or quantity > line.processable - already:
                errors.append(user_error([*where, "quantity"], INVALID_RETURN_QUANTITY, "INVALID"))
                continue
            line_plan.append((line, quantity))
            for disposition in entry.get("dispositions") or []:
                dispositions.append(disposition)
                disposition_owner.append(line)
            disposed = sum(int(d.get("quantity", 0)) for d in entry.get("dispositions") or [])
            if disposed > quantity:
                errors.append(
                    user_error(
                        [*where, "dispositions"], SANDBOX_WORDING["disposition_exceeds"], "INVALID"
                    )
                )
        exchange_plan: list[tuple[ExchangeLineItem, int]] = []
        for index, entry in enumerate(exchange_inputs):
            where = ["input", "exchangeLineItems", str(index)]
            line_id = number_of(entry.get("id"), "ExchangeLineItem")
            exchange = ret.exchange_line(line_id) if line_id is not None else None
            if exchange is None:
                errors.append(
                    user_error([*where, "id"], SANDBOX_WORDING["no_exchange_line"], "NOT_FOUND")
                )
                continue
            quantity = int(entry.get("quantity", 0))
            already = sum(q for x, q in exchange_plan if x is exchange)
            if quantity <= 0 or quantity > exchange.processable - already:
                errors.append(
                    user_error(
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
                        user_error(
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
                    user_error(
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
            if number_of(entry.get("parentId"), "OrderTransaction") not in known:
                errors.append(
                    user_error(
                        [*where, "parentId"], SANDBOX_WORDING["no_parent_transaction"], "NOT_FOUND"
                    )
                )
                continue
            amount = money_of(entry.get("transactionAmount"))
            if amount is None or amount <= 0:
                errors.append(
                    user_error([*where, "transactionAmount"], INVALID_DISPOSE_QUANTITY, "INVALID")
                )
                continue
            total += amount
        if not refund.get("allowOverRefunding") and total > order.paid - order.refunded:
            errors.append(
                user_error(
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
