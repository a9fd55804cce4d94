"""Fulfillment and cancellation requests between the merchant and a fulfillment service
(docs/shopify.md#fulfillment-order-state-machine): submitting, accepting and rejecting them, the
service closing an accepted request, and the callbacks that tell the service."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.orders.errors import fail
from fulfillbridge.sandbox.domain.orders.model import (
    ACCEPTED,
    CANCELLATION_ACCEPTED,
    CANCELLATION_REJECTED,
    CANCELLATION_REQUESTED,
    CANCELLED,
    CLOSED,
    IN_PROGRESS,
    INCOMPLETE,
    OPEN,
    REJECTED,
    SUBMITTED,
    UNSUBMITTED,
    FulfillmentOrder,
    MerchantRequest,
    Order,
)
from fulfillbridge.sandbox.domain.orders.payloads import OrderPayloads


class MerchantRequests(OrderPayloads):
    """The request exchange with the fulfillment service a fulfillment order is assigned to."""

    def assignment_status(self, fo: FulfillmentOrder) -> str | None:
        """FulfillmentOrderAssignmentStatus of a service fulfillment order (Shopify docs)."""
        if fo.status in {CLOSED, CANCELLED, INCOMPLETE}:
            return None
        if fo.cancellation_pending:
            return "CANCELLATION_REQUESTED"
        return {
            SUBMITTED: "FULFILLMENT_REQUESTED",
            ACCEPTED: "FULFILLMENT_ACCEPTED",
            CANCELLATION_REJECTED: "FULFILLMENT_ACCEPTED",
            CANCELLATION_REQUESTED: "CANCELLATION_REQUESTED",
            UNSUBMITTED: "FULFILLMENT_UNSUBMITTED",
            REJECTED: "FULFILLMENT_UNSUBMITTED",
        }.get(fo.request_status)

    # ------------------------------------------------------------------ helpers
    def _require_service_fo(self, fo: FulfillmentOrder) -> None:
        if not self.is_service_location(fo.location_id):
            # docs/shopify.md#errors-seen; capture fulfillment-order-lifecycle "close".
            raise fail(
                None, "The fulfillment order's assigned fulfillment service must be of api type"
            )

    def _require_request_status(self, fo: FulfillmentOrder, allowed: set[str], action: str) -> None:
        self._require_service_fo(fo)
        if fo.request_status not in allowed:
            raise fail(
                None,
                f"Cannot {action} for a fulfillment order with request status "
                f"{fo.request_status.lower()}.",
            )

    def _add_request(
        self, fo: FulfillmentOrder, kind: str, message: str | None, options: dict[str, Any]
    ) -> MerchantRequest:
        request = MerchantRequest(
            self.shop.next_id(), kind, message, options, self.shop.clock.iso_now()
        )
        fo.merchant_requests.append(request)
        return request

    def _answer_request(
        self,
        fo: FulfillmentOrder,
        topic: str,
        *,
        request_status: str,
        status: str,
        message: str | None,
        **extra: Any,
    ) -> FulfillmentOrder:
        """The service's answer to a pending request: both statuses change, then the
        ``topic`` webhook reports it with the service's message."""
        fo.request_status = request_status
        fo.status = status
        self._touch_fo(fo)
        self._emit_fo_event(topic, fo, message=message, **extra)
        return fo

    def _service_of(self, fo: FulfillmentOrder) -> Any:
        # Imported here: the services module imports this package for its error types.
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

    # ------------------------------------------------------------ fulfillment requests
    def submit_requests_of_new_order(self, order: Order) -> list[FulfillmentOrder]:
        """What Shopify does for a merchant who lets it request fulfillment automatically
        (``settings.MerchantSettings.auto_submit_fulfillment_requests``): submit every
        open, unsubmitted fulfillment order of ``order`` assigned to a fulfillment service,
        whole, without message. Returns the submitted fulfillment orders."""
        submitted: list[FulfillmentOrder] = []
        for fo in self.fos_of(order):
            if (
                fo.status == OPEN
                and fo.request_status == UNSUBMITTED
                and self.is_service_location(fo.location_id)
            ):
                self.submit_fulfillment_request(fo, message=None, notify_customer=False, lines=None)
                submitted.append(fo)
        return submitted

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
        # Measured: after the service closed an accepted request (INCOMPLETE / CLOSED) the
        # merchant may send it again.
        reopened = fo.status == INCOMPLETE and fo.request_status == CLOSED
        if not reopened and (fo.status != OPEN or fo.request_status not in {UNSUBMITTED, REJECTED}):
            raise fail(
                None,
                "Cannot request fulfillment for a fulfillment order with status "
                f"{fo.status.lower()} and request status {fo.request_status.lower()}.",
            )
        quantities = self._parse_line_quantities(fo, lines, ["fulfillmentOrderLineItems"])
        # docs/shopify.md#fulfillment-order-state-machine: a partial submit splits the rest
        # into a new OPEN/UNSUBMITTED order.
        unsubmitted = self._split_off_unlisted(fo, quantities)
        options: dict[str, Any] = {"notify_customer": bool(notify_customer)}
        if shipping_method:
            options["shipping_method"] = shipping_method
        request = self._add_request(fo, "FULFILLMENT_REQUEST", message, options)
        fo.request_status = SUBMITTED
        fo.status = OPEN
        self._touch_fo(fo, unsubmitted)
        self.shop.emit(
            "fulfillment_orders/fulfillment_request_submitted",
            {
                "original_fulfillment_order": self.fo_payload_short(fo),
                "submitted_fulfillment_order": self.fo_payload_short(fo),
                "unsubmitted_fulfillment_order": self.fo_payload_short(unsubmitted),
                "fulfillment_order_merchant_request": {
                    "id": request.gid,
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
        self._require_request_status(fo, {SUBMITTED}, "accept fulfillment request")
        return self._answer_request(
            fo,
            "fulfillment_orders/fulfillment_request_accepted",
            request_status=ACCEPTED,
            status=IN_PROGRESS,
            message=message,
        )

    def reject_fulfillment_request(
        self, fo: FulfillmentOrder, message: str | None, reason: str | None
    ) -> FulfillmentOrder:
        self._require_request_status(fo, {SUBMITTED}, "reject fulfillment request")
        return self._answer_request(
            fo,
            "fulfillment_orders/fulfillment_request_rejected",
            request_status=REJECTED,
            status=OPEN,
            message=message,
            reason=reason,
        )

    def close(self, fo: FulfillmentOrder, message: str | None) -> FulfillmentOrder:
        """fulfillmentOrderClose: a fulfillment service gives up on an accepted request.
        Measured: INCOMPLETE / CLOSED, and the merchant may request fulfillment again."""
        self._require_service_fo(fo)
        if fo.request_status not in {ACCEPTED, CANCELLATION_REJECTED} or fo.status != IN_PROGRESS:
            raise fail(
                None,
                "Fulfillment order must have an accepted fulfillment request to be closed.",
            )
        fo.status = INCOMPLETE
        fo.request_status = CLOSED
        fo.pending_cancellation_id = None
        self._touch_fo(fo)
        # Shopify's webhook reference: the service closing an accepted fulfillment order.
        self._emit_fo_event(
            "fulfillment_orders/fulfillment_service_failed_to_complete", fo, message=message
        )
        return fo

    # ----------------------------------------------------------- cancellation requests
    def submit_cancellation_request(
        self, fo: FulfillmentOrder, message: str | None
    ) -> FulfillmentOrder:
        """Measured: the fulfillment order stays IN_PROGRESS with its requestStatus
        (ACCEPTED); the request shows only as a CANCELLATION_REQUEST merchant request."""
        self._require_request_status(fo, {ACCEPTED, CANCELLATION_REJECTED}, "request cancellation")
        if fo.status != IN_PROGRESS or fo.cancellation_pending:
            # The sandbox's wording: no capture shows a second request or a held order.
            raise fail(
                None,
                "Cannot request cancellation for a fulfillment order with status "
                f"{fo.status.lower()}"
                + (" and a pending cancellation request." if fo.cancellation_pending else "."),
            )
        self._send_cancellation_request(fo, message)
        return fo

    def _send_cancellation_request(self, fo: FulfillmentOrder, message: str | None) -> None:
        request = self._add_request(fo, "CANCELLATION_REQUEST", message, {})
        fo.pending_cancellation_id = request.id
        self._touch_fo(fo)
        self._emit_fo_event(
            "fulfillment_orders/cancellation_request_submitted",
            fo,
            fulfillment_order_merchant_request={"id": request.gid, "message": message},
        )
        self._ping_service(fo, "CANCELLATION_REQUEST")

    def _require_pending_cancellation(self, fo: FulfillmentOrder, action: str) -> None:
        """The service answers the pending cancellation merchant request, whatever the
        requestStatus reads."""
        self._require_service_fo(fo)
        if not fo.cancellation_pending and fo.request_status != CANCELLATION_REQUESTED:
            raise fail(
                None,
                f"Cannot {action} for a fulfillment order with request status "
                f"{fo.request_status.lower()}.",
            )

    def accept_cancellation_request(
        self, fo: FulfillmentOrder, message: str | None
    ) -> FulfillmentOrder:
        """CLOSED / CANCELLATION_ACCEPTED (docs/shopify.md state machine). Measured: its line
        items then read 0 of 0, so the units left it. Where they go no capture shows: the
        sandbox hands the work left to a replacement at the same location, as Shopify
        documents for fulfillmentOrderCancel, unless the order itself was cancelled."""
        self._require_pending_cancellation(fo, "accept cancellation")
        fo.pending_cancellation_id = None
        left = fo.remaining_by_line()
        order = self.order_of(fo)
        if order.cancelled_at is None and any(left.values()):
            replacement = self._new_sibling(fo)
            self._take(fo, replacement, left)
            self._touch_fo(replacement)
        else:
            for line in fo.line_items:
                line.total_quantity -= line.remaining_quantity
                line.remaining_quantity = 0
        return self._answer_request(
            fo,
            "fulfillment_orders/cancellation_request_accepted",
            request_status=CANCELLATION_ACCEPTED,
            status=CLOSED,
            message=message,
        )

    def reject_cancellation_request(
        self, fo: FulfillmentOrder, message: str | None
    ) -> FulfillmentOrder:
        self._require_pending_cancellation(fo, "reject cancellation")
        fo.pending_cancellation_id = None
        return self._answer_request(
            fo,
            "fulfillment_orders/cancellation_request_rejected",
            request_status=CANCELLATION_REJECTED,
            status=IN_PROGRESS,
            message=message,
        )

    def request_cancellation_of_order(self, order: Order) -> list[FulfillmentOrder]:
        """orderCancel on an order with work a fulfillment service accepted: Shopify asks
        the service to cancel it (a cancellation request, its webhook and callback) and the
        fulfillment order waits for the answer. Returns the fulfillment orders asked."""
        asked: list[FulfillmentOrder] = []
        for fo in self.fos_of(order):
            if (
                fo.status == IN_PROGRESS
                and fo.request_status in {ACCEPTED, CANCELLATION_REJECTED}
                and self.is_service_location(fo.location_id)
            ):
                if not fo.cancellation_pending:
                    self._send_cancellation_request(fo, None)
                asked.append(fo)
        return asked
