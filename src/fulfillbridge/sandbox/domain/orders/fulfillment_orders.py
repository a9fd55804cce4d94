"""The fulfillment order state machine (docs/shopify.md#fulfillment-order-state-machine): which
actions a fulfillment order supports, and the merchant-side operations on it: holds,
progress, opening, cancelling, moving, splitting, merging and scheduling."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.orders.errors import INVALID_QUANTITY, OrderUserErrors, fail
from fulfillbridge.sandbox.domain.orders.inputs import id_of, iso
from fulfillbridge.sandbox.domain.orders.model import (
    ACCEPTED,
    CANCELLATION_REJECTED,
    CANCELLATION_REQUESTED,
    CANCELLED,
    CLOSED,
    IN_PROGRESS,
    INCOMPLETE,
    MAX_HOLDS_PER_APP,
    MAX_PROGRESS_NOTES,
    ON_HOLD,
    OPEN,
    REJECTED,
    SCHEDULED,
    SUBMITTED,
    UNSUBMITTED,
    FulfillmentHold,
    FulfillmentOrder,
)
from fulfillbridge.sandbox.domain.orders.payloads import OrderPayloads
from fulfillbridge.sandbox.state import gid


def _invalid_status(fo: FulfillmentOrder, field_path: list[str] | None) -> OrderUserErrors:
    return fail(
        field_path,
        f"Expected fulfillment order status to be valid but it was {fo.status.lower()}.",
    )


def _no_access(field_path: list[str]) -> OrderUserErrors:
    return fail(
        field_path,
        "The app doesn't have access to release the fulfillment hold.",
        "INVALID_ACCESS",
    )


class FulfillmentOrderOps(OrderPayloads):
    """What may happen to a fulfillment order, and the merchant's operations on it."""

    # ----------------------------------------------------------------- state machine
    def supported_actions(self, fo: FulfillmentOrder, app_id: str | None = None) -> list[str]:
        """FulfillmentOrder.supportedActions, in the order the captures list them. HOLD
        goes once ``app_id`` has its ten holds (capture fulfillment-order-hold-validation)."""
        service = self.is_service_location(fo.location_id)
        if fo.status == INCOMPLETE and service and fo.request_status == CLOSED:
            # Measured on Shopify: after the service closes an accepted request the
            # merchant may ask again, fulfil it, hold it or move it.
            return ["REQUEST_FULFILLMENT", "CREATE_FULFILLMENT", "HOLD", "MOVE"]
        if fo.status in {CLOSED, CANCELLED, INCOMPLETE}:
            return []
        if fo.status == ON_HOLD:
            mine = sum(1 for h in fo.holds if h.app_id == app_id)
            if mine >= MAX_HOLDS_PER_APP:
                return ["RELEASE_HOLD", "MOVE"]
            return ["RELEASE_HOLD", "HOLD", "MOVE"]
        actions: list[str] = []
        if fo.status == SCHEDULED:
            return ["MARK_AS_OPEN", "HOLD"]
        if service:
            if fo.request_status in {UNSUBMITTED, REJECTED}:
                actions += ["CREATE_FULFILLMENT", "REQUEST_FULFILLMENT", "MOVE", "HOLD"]
            elif fo.request_status == SUBMITTED:
                actions += ["CANCEL_FULFILLMENT_ORDER"]
            elif fo.cancellation_pending or fo.request_status == CANCELLATION_REQUESTED:
                actions += ["CREATE_FULFILLMENT"]
            elif fo.request_status in {ACCEPTED, CANCELLATION_REJECTED}:
                actions += ["CREATE_FULFILLMENT", "REQUEST_CANCELLATION"]
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

    # =================================================================== holds
    def hold(
        self, fo: FulfillmentOrder, hold_input: dict[str, Any], app_id: str | None
    ) -> tuple[FulfillmentHold, FulfillmentOrder, FulfillmentOrder | None]:
        """fulfillmentOrderHold -> (hold, held fulfillment order, split-off remainder).
        ``app_id`` None is the merchant holding it in the admin (``heldByApp`` null)."""
        # Rules, codes and their precedence: capture fulfillment-order-hold-validation.json.
        prefix = ["fulfillmentHold", "fulfillmentOrderLineItems"]
        entries = hold_input.get("fulfillmentOrderLineItems") or []
        for index, entry in enumerate(entries):
            if int(entry.get("quantity", 0)) <= 0:
                raise fail(
                    [*prefix, str(index), "quantity"],
                    "You must select at least one item to place on partial hold.",
                    "GREATER_THAN_ZERO",
                )
        ids = [entry.get("id") for entry in entries]
        if len(set(ids)) != len(ids):
            raise fail(
                prefix,
                "must contain unique line item ids",
                "DUPLICATED_FULFILLMENT_ORDER_LINE_ITEMS",
            )
        handle = hold_input.get("handle") or ""
        mine = [h for h in fo.holds if h.app_id == app_id]
        if handle and any(h.handle == handle for h in mine):
            raise fail(
                ["fulfillmentHold", "handle"],
                "The handle provided for the fulfillment hold is already in use by this app "
                "for another hold on this fulfillment order.",
                "DUPLICATE_FULFILLMENT_HOLD_HANDLE",
            )
        reopened = fo.status == INCOMPLETE and fo.request_status == CLOSED
        if fo.status not in {OPEN, IN_PROGRESS, ON_HOLD, SCHEDULED} and not reopened:
            raise fail(
                ["id"],
                f"Fulfillment order is not in a holdable state (status: {fo.status.lower()}).",
            )
        quantities: dict[int, int] = {}
        if entries:
            if fo.status == ON_HOLD:
                raise fail(
                    prefix,
                    "The fulfillment order is not in a splittable state.",
                    "FULFILLMENT_ORDER_NOT_SPLITTABLE",
                )
            for index, entry in enumerate(entries):
                foli_id = id_of(entry.get("id"), "FulfillmentOrderLineItem")
                foli = fo.line(foli_id) if foli_id is not None else None
                if foli is None or int(entry["quantity"]) > foli.remaining_quantity:
                    raise fail(
                        [*prefix, str(index), "quantity"],
                        "The line item quantity is invalid.",
                        "INVALID_LINE_ITEM_QUANTITY",
                    )
                quantities[foli.id] = int(entry["quantity"])
        if len(mine) >= MAX_HOLDS_PER_APP:
            raise fail(
                ["id"],
                "The maximum number of fulfillment holds for this fulfillment order has been "
                "reached for this app. An app can only have up to 10 holds on a single "
                "fulfillment order at any one time.",
                "FULFILLMENT_ORDER_HOLD_LIMIT_REACHED",
            )
        # Capture: holding 1 of 2 keeps the held unit on the original id and splits the
        # other into a new OPEN fulfillment order.
        remainder = self._split_off_unlisted(fo, quantities)
        if remainder is not None:
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
        self._emit_fo_event(
            "fulfillment_orders/placed_on_hold",
            fo,
            remaining_fulfillment_order=self.fo_payload_short(remainder),
            fulfillment_hold={
                "id": gid("FulfillmentHold", hold.id),
                "reason": hold.reason.lower(),
                "reason_notes": hold.reason_notes,
            },
            created_fulfillment_hold={
                "id": hold.gid,
                "reason": hold.reason.lower(),
                "reason_notes": hold.reason_notes,
                "handle": hold.handle,
            },
        )
        return hold, fo, remainder

    def release_hold(
        self, fo: FulfillmentOrder, hold_ids: list[str] | None, app_id: str | None
    ) -> FulfillmentOrder:
        """fulfillmentOrderReleaseHold: without ids, every hold goes (Shopify docs).

        ``app_id`` None is the merchant in the admin, who may release any hold. An app may
        not release a hold the merchant placed: naming one is INVALID_ACCESS ("The app
        doesn't have access to release the fulfillment hold", the code's documented
        meaning), and releasing without ids leaves the merchant's holds in place."""
        if fo.status != ON_HOLD:
            raise fail(["id"], "The fulfillment order is not on hold.")

        def releasable(hold: FulfillmentHold) -> bool:
            return app_id is None or hold.app_id is not None

        if hold_ids:
            wanted: set[int] = set()
            for index, value in enumerate(hold_ids):
                hid = id_of(value, "FulfillmentHold")
                found = next((h for h in fo.holds if h.id == hid), None)
                if hid is None or found is None:
                    raise fail(
                        ["holdIds", str(index)],
                        "The fulfillment hold does not belong to this fulfillment order.",
                    )
                if not releasable(found):
                    raise _no_access(["holdIds", str(index)])
                wanted.add(hid)
            released = [h for h in fo.holds if h.id in wanted]
        else:
            released = [h for h in fo.holds if releasable(h)]
            if not released:
                raise _no_access(["id"])
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
                and remainder.untouched()
            ):
                # Capture holdRelease: the split-off remainder merges back and closes.
                self._take(remainder, fo, remainder.remaining_by_line())
                remainder.status = CLOSED
                remainder_closed = remainder
        self._touch_fo(fo, remainder_closed)
        self._emit_fo_event("fulfillment_orders/hold_released", fo)
        return fo

    # =================================================================== merchant actions
    def report_progress(self, fo: FulfillmentOrder, reason_notes: str | None) -> FulfillmentOrder:
        if fo.status == ON_HOLD:
            # Checked first: a held order is refused whoever fulfils it.
            raise fail(
                None,
                "Cannot report progress on a fulfillment order in this state.",
                "FULFILLMENT_ORDER_STATUS_INVALID",
            )
        if reason_notes is not None and len(reason_notes) > MAX_PROGRESS_NOTES:
            # The changelog gives the limit; the wording is the sandbox's.
            raise fail(
                ["progressReport", "reasonNotes"],
                f"Reason notes is too long (maximum is {MAX_PROGRESS_NOTES} characters).",
            )
        service = self.is_service_location(fo.location_id)
        # A pending cancellation request is refused too, as the sandbox did while it showed
        # that request as CANCELLATION_REQUESTED (no capture shows Shopify's answer).
        if service and (
            fo.request_status not in {ACCEPTED, CANCELLATION_REJECTED} or fo.cancellation_pending
        ):
            raise fail(
                ["id"], "The fulfillment order's request must be accepted to report progress."
            )
        if fo.status not in {OPEN, IN_PROGRESS}:
            raise _invalid_status(fo, ["id"])
        initial_status = fo.status
        fo.status = IN_PROGRESS
        fo.progress_reported = True
        fo.progress_notes = reason_notes
        self._touch_fo(fo)
        # Shopify changelog (2026-04, fulfillmentOrderReportProgress): the webhook carries
        # the status before the report and the report's notes; the GraphQL FulfillmentOrder
        # has no field for them.
        self.shop.emit(
            "fulfillment_orders/progress_reported",
            {
                "fulfillment_order": {"id": fo.gid, "status": fo.status.lower()},
                "initial_status": initial_status.lower(),
                "progress_report": {"reason_notes": reason_notes},
            },
        )
        return fo

    def mark_open(self, fo: FulfillmentOrder) -> FulfillmentOrder:
        """fulfillmentOrderOpen: IN_PROGRESS (progress reported) or SCHEDULED -> OPEN."""
        if fo.status not in {IN_PROGRESS, SCHEDULED} or (
            fo.status == IN_PROGRESS and self.is_service_location(fo.location_id)
        ):
            # Capture fulfillment-order-lifecycle "openAgain".
            raise _invalid_status(fo, None)
        was_scheduled = fo.status == SCHEDULED
        fo.status = OPEN
        fo.progress_reported = False
        self._touch_fo(fo)
        if was_scheduled:
            # Opened early: the same news as reaching its date (Shopify webhook reference).
            self._emit_fo_event("fulfillment_orders/scheduled_fulfillment_order_ready", fo)
        return fo

    def cancel_fo(self, fo: FulfillmentOrder) -> tuple[FulfillmentOrder, FulfillmentOrder | None]:
        """fulfillmentOrderCancel -> (cancelled original, replacement)."""
        # Shopify docs (fulfillmentOrderCancel): it also works on a fulfillment order whose
        # cancellation request the service has not answered yet.
        pending = fo.cancellation_pending
        if fo.progress_reported and fo.status == IN_PROGRESS and not pending:
            raise fail(
                ["id"],
                "Cannot cancel fulfillment order that has had progress reported. "
                "Mark as unfulfilled first.",
            )
        if not pending and (
            fo.status not in {OPEN, SCHEDULED, ON_HOLD}
            or fo.request_status not in {UNSUBMITTED, SUBMITTED, REJECTED}
        ):
            raise fail(
                None, "Fulfillment order is not in cancelable request state and can't be canceled."
            )
        replacement: FulfillmentOrder | None = None
        if fo.remaining() > 0:
            # Capture "cancelAfterReroute": the original closes with no line items and a
            # replacement at the same location takes them over (same line item ids).
            replacement = self._new_sibling(fo)
            replacement.line_items = [x for x in fo.line_items if x.remaining_quantity > 0]
        fo.line_items = [x for x in fo.line_items if x.remaining_quantity == 0]
        fo.status = CLOSED
        fo.holds = []
        fo.pending_cancellation_id = None
        self._touch_fo(fo, replacement)
        self._emit_fo_event(
            "fulfillment_orders/cancelled",
            fo,
            replacement_fulfillment_order=self.fo_payload_short(replacement),
        )
        return fo, replacement

    def move(
        self, fo: FulfillmentOrder, new_location_gid: str, lines: list[dict[str, Any]] | None
    ) -> tuple[FulfillmentOrder, FulfillmentOrder, FulfillmentOrder | None]:
        """fulfillmentOrderMove -> (moved, original, remaining)."""
        location_id = id_of(new_location_gid, "Location")
        location = self.location(location_id) if location_id is not None else None
        if location is None or not location.is_active:
            raise fail(["newLocationId"], "Location not found.")
        if fo.status == IN_PROGRESS and fo.progress_reported:
            # Shopify docs (fulfillmentOrderMove and its error code): reported progress must
            # be undone (fulfillmentOrderOpen) before the work can move.
            raise fail(
                None,
                "Cannot move a fulfillment order that has progress reported.",
                "CANNOT_MOVE_FULFILLMENT_ORDER_WITH_REPORTED_PROGRESS",
            )
        reopened = fo.status == INCOMPLETE and fo.request_status == CLOSED
        if not reopened and (
            fo.status not in {OPEN, ON_HOLD} or fo.request_status not in {UNSUBMITTED, REJECTED}
        ):
            raise fail(None, "Fulfillment order is not in a movable state.")
        if location.id == fo.location_id:
            raise fail(
                ["newLocationId"],
                "Cannot move fulfillment order to the location it is already assigned to.",
            )
        quantities = self._parse_line_quantities(fo, lines, ["fulfillmentOrderLineItems"])
        moving_all = not quantities or all(
            quantities.get(x.id, 0) == x.remaining_quantity for x in fo.line_items
        )
        old_location = fo.location_id
        if moving_all and fo.untouched():
            # Shopify docs: an untouched fulfillment order moves as a whole.
            fo.location_id = location.id
            moved, remaining = fo, None
            if reopened:
                # Given up by its service: at the new location it starts afresh.
                fo.status, fo.request_status = OPEN, UNSUBMITTED
        else:
            moved = self._new_sibling(fo, location.id)
            self._take(fo, moved, quantities or fo.remaining_by_line(), drop_emptied=True)
            remaining = fo
            if fo.remaining() == 0:
                fo.status = CLOSED
        self._move_commitments(fo.order_id, moved, old_location)
        self._touch_fo(moved)
        # Shopify docs (webhook reference, fulfillment_orders/moved): GraphQL ids like the
        # other fulfillment_orders/* bodies; source_location names where it was (2023-04+).
        self.shop.emit(
            "fulfillment_orders/moved",
            {
                "original_fulfillment_order": self.fo_payload_short(fo),
                "moved_fulfillment_order": self.fo_payload_short(moved),
                "destination_location_id": gid("Location", location.id),
                "fulfillment_order_line_items_requested": [
                    {"id": gid("FulfillmentOrderLineItem", k), "quantity": v}
                    for k, v in quantities.items()
                ],
                "source_location": {"id": gid("Location", old_location)},
            },
        )
        return moved, fo, remaining

    def split(
        self, fo: FulfillmentOrder, lines: list[dict[str, Any]], index: int = 0
    ) -> tuple[FulfillmentOrder, FulfillmentOrder]:
        """One split (the merchant's action): -> (original, new one holding the listed
        units)."""
        quantities = self._check_split(fo, lines, index, {})
        return self._apply_split(fo, quantities)

    def split_many(
        self, splits: list[dict[str, Any]]
    ) -> list[tuple[FulfillmentOrder, FulfillmentOrder]]:
        """fulfillmentOrderSplit. Every entry is checked before any is applied: one bad
        entry refuses the whole call (measured on Shopify)."""
        plans: list[tuple[FulfillmentOrder, dict[int, int]]] = []
        planned: dict[int, dict[int, int]] = {}  # fulfillment order -> units split off so far
        for index, entry in enumerate(splits):
            fo_id = id_of(entry.get("fulfillmentOrderId"), "FulfillmentOrder")
            fo = self.fulfillment_orders.get(fo_id) if fo_id is not None else None
            if fo is None:
                # Measured: a userError without a field, not a top-level error.
                raise fail(None, "Fulfillment order does not exist.", "FULFILLMENT_ORDER_NOT_FOUND")
            lines = entry.get("fulfillmentOrderLineItems") or []
            quantities = self._check_split(fo, lines, index, planned.setdefault(fo.id, {}))
            plans.append((fo, quantities))
        return [self._apply_split(fo, quantities) for fo, quantities in plans]

    def _check_split(
        self,
        fo: FulfillmentOrder,
        lines: list[dict[str, Any]],
        index: int,
        planned: dict[int, int],
    ) -> dict[int, int]:
        """The units one split entry takes (FOLI id -> units); ``planned`` holds what
        earlier entries of the call take from the same fulfillment order and is updated."""
        lines_field = ["fulfillmentOrderSplits", str(index), "fulfillmentOrderLineItems"]
        # Codes, messages and fields measured on Shopify.
        if not lines:
            raise fail(
                lines_field,
                "There must be at least one item selected in this fulfillment to split it.",
                "NO_LINE_ITEMS_PROVIDED_TO_SPLIT",
            )
        for position, entry in enumerate(lines):
            if int(entry.get("quantity", 0)) <= 0:
                raise fail(
                    [*lines_field, str(position), "quantity"],
                    "You must select at least one item to split into a new fulfillment order.",
                    "GREATER_THAN",
                )
        if fo.status != OPEN or fo.request_status not in {UNSUBMITTED, REJECTED}:
            # No code of FulfillmentOrderSplitUserErrorCode names this case.
            raise fail(
                ["fulfillmentOrderSplits", str(index), "fulfillmentOrderId"],
                "The fulfillment order is not in a splittable state.",
            )
        quantities: dict[int, int] = {}
        for entry in lines:
            foli_id = id_of(entry.get("id"), "FulfillmentOrderLineItem")
            foli = fo.line(foli_id) if foli_id is not None else None
            wanted = int(entry["quantity"])
            if foli is not None:
                wanted += quantities.get(foli.id, 0)
            if foli is None or wanted + planned.get(foli.id, 0) > foli.remaining_quantity:
                raise fail(None, INVALID_QUANTITY)
            quantities[foli.id] = wanted
        if sum(planned.values()) + sum(quantities.values()) >= fo.remaining():
            raise fail(lines_field, "The fulfillment order is not in a splittable state.")
        for foli_id, units in quantities.items():
            planned[foli_id] = planned.get(foli_id, 0) + units
        return quantities

    def _apply_split(
        self, fo: FulfillmentOrder, quantities: dict[int, int]
    ) -> tuple[FulfillmentOrder, FulfillmentOrder]:
        created = self._new_sibling(fo)
        self._take(fo, created, quantities, drop_emptied=True)
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

    def merge_many(self, inputs: list[dict[str, Any]]) -> list[FulfillmentOrder]:
        """fulfillmentOrderMerge. Every input is checked before any is merged: one bad set
        refuses the whole call (measured on Shopify)."""
        plans = [
            self._check_merge(entry.get("mergeIntents") or [], index)
            for index, entry in enumerate(inputs)
        ]
        return [self._apply_merge(target, sources) for target, sources in plans]

    def merge(self, intents: list[dict[str, Any]], index: int = 0) -> FulfillmentOrder:
        """One set of fulfillment orders merged (see ``merge_many``)."""
        target, sources = self._check_merge(intents, index)
        return self._apply_merge(target, sources)

    def _check_merge(
        self, intents: list[dict[str, Any]], index: int
    ) -> tuple[FulfillmentOrder, list[tuple[FulfillmentOrder, dict[int, int]]]]:
        """-> (the first fulfillment order, which receives the units; the others with the
        units each gives: the listed ones, or everything left when none are listed)."""
        fos: list[FulfillmentOrder] = []
        for intent in intents:
            fo_id = id_of(intent.get("fulfillmentOrderId"), "FulfillmentOrder")
            fo = self.fulfillment_orders.get(fo_id) if fo_id is not None else None
            if fo is None:
                # As fulfillmentOrderSplit answers an unknown id (the code is in the enum).
                raise fail(None, "Fulfillment order does not exist.", "FULFILLMENT_ORDER_NOT_FOUND")
            fos.append(fo)
        if len({fo.id for fo in fos}) < 2:
            raise fail(
                ["fulfillmentOrderMergeInputs", str(index)],
                "The fulfillment orders are not in a mergeable state.",
            )
        target = fos[0]
        for other in fos[1:]:
            if (
                other.order_id != target.order_id
                or other.location_id != target.location_id
                or not self._mergeable(other)
                or not self._mergeable(target)
            ):
                raise fail(
                    ["fulfillmentOrderMergeInputs", str(index)],
                    "The fulfillment orders are not in a mergeable state.",
                )
        sources: list[tuple[FulfillmentOrder, dict[int, int]]] = []
        for fo, intent in zip(fos, intents, strict=True):
            listed = intent.get("fulfillmentOrderLineItems")
            quantities = fo.remaining_by_line()
            if listed:
                quantities = {}
                for entry in listed:
                    foli_id = id_of(entry.get("id"), "FulfillmentOrderLineItem")
                    foli = fo.line(foli_id) if foli_id is not None else None
                    units = int(entry.get("quantity", 0))
                    if foli is not None:
                        units += quantities.get(foli.id, 0)
                    # Measured: a quantity the fulfillment order cannot give refuses the
                    # call with this message and neither field nor code.
                    if foli is None or units <= 0 or units > foli.remaining_quantity:
                        raise fail(None, INVALID_QUANTITY)
                    quantities[foli.id] = units
            if fo is not target:
                sources.append((fo, quantities))
        return target, sources

    def _apply_merge(
        self, target: FulfillmentOrder, sources: list[tuple[FulfillmentOrder, dict[int, int]]]
    ) -> FulfillmentOrder:
        """Units go into ``target``; a source left with nothing closes with zero
        quantities (capture residualSplitDeadlineMerge)."""
        for source, quantities in sources:
            self._take(source, target, quantities)
            if source.remaining() == 0:
                source.status = CLOSED
        self._touch_fo(target, *(source for source, _ in sources))
        self.shop.emit(
            "fulfillment_orders/merged",
            {"fulfillment_order_merges": [{"fulfillment_order": self.fo_payload_short(target)}]},
        )
        return target

    # =================================================================== scheduling
    def set_deadline(self, fos: list[FulfillmentOrder], deadline: str) -> None:
        value = iso(deadline)
        for fo in fos:
            fo.fulfill_by = value
        self._touch_fo(*fos)

    def reschedule(self, fo: FulfillmentOrder, fulfill_at: str) -> FulfillmentOrder:
        if fo.status != SCHEDULED:
            # Capture fulfillment-order-lifecycle "reschedule".
            raise fail(None, "Fulfillment order must be scheduled.")
        fo.fulfill_at = iso(fulfill_at)
        self._touch_fo(fo)
        body = self.fo_payload_short(fo) or {}
        self.shop.emit(
            "fulfillment_orders/rescheduled",
            {"fulfillment_order": {**body, "fulfill_at": fo.fulfill_at}},
        )
        return fo
