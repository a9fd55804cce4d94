"""What each outbox row kind writes to Shopify, and how a write whose outcome is unknown is
checked against Shopify's state before it is sent again (``flows.outbox`` claims, orders,
retries and records; this module only talks to Shopify). The writes about fulfillments
(creation, tracking, events) are in ``flows.fulfillment_writes``.

A sender is a pair: ``send`` makes the mutation and returns what to record; ``verify`` reads
Shopify and returns the same when the write already took effect, else None.

=====================  ===================================================================
kind                   taken effect when (read from Shopify)
=====================  ===================================================================
accept_request         requestStatus is ACCEPTED or later (cancellation states, CLOSED)
reject_request         requestStatus is REJECTED
report_progress        not observable: sent again (a repeated progress note is harmless)
hold                   a hold with this row's handle is on the fulfillment order
release_hold           none of our holds (handle prefix, held by us) remain
create_fulfillment     a fulfillment of the order not recorded by another of our rows with
                       the same line quantities and (when given) the same tracking numbers
update_tracking        the fulfillment's tracking numbers equal the wanted ones
fulfillment_event      the fulfillment has an event with that status
accept_cancellation    requestStatus CANCELLATION_ACCEPTED (or the order CANCELLED)
reject_cancellation    requestStatus CANCELLATION_REJECTED
close                  status INCOMPLETE or requestStatus CLOSED
move                   the fulfillment order (or a sibling holding its lines) is at the
                       new location
=====================  ===================================================================

The return writes (``return_dispose``, ``return_label``) are in ``flows.return_writes``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any

from fulfillbridge.core import work as core
from fulfillbridge.flows import fulfillment_writes as fulfillments
from fulfillbridge.flows import return_writes
from fulfillbridge.flows.write_jobs import CannotSend, Sender, WriteJob, gid
from fulfillbridge.shopify import HOLD_REASONS, ShopifyClient, operation

# Holds we place carry this handle prefix, so we release only our own (Shopify docs:
# fulfillmentOrderReleaseHold without holdIds releases every hold, the merchant's too).
HOLD_HANDLE_PREFIX = "fulfillbridge-"


def _hold_handle(job: WriteJob) -> str:
    digest = hashlib.sha256(job.idempotency_key.encode()).hexdigest()[:24]
    return HOLD_HANDLE_PREFIX + digest


async def _fo_state(client: ShopifyClient, job: WriteJob) -> dict[str, Any]:
    data = await client.execute(
        operation("OutboxFulfillmentOrderState"), {"id": job.fulfillment_order_id}
    )
    fo = data.get("fulfillmentOrder")
    if fo is None:
        raise CannotSend(f"Shopify has no fulfillment order {job.fulfillment_order_id}")
    return fo


def _status_check(
    *, request_statuses: Iterable[str] = (), statuses: Iterable[str] = ()
) -> Callable[[ShopifyClient, WriteJob], Awaitable[dict[str, Any] | None]]:
    wanted_requests, wanted_statuses = set(request_statuses), set(statuses)

    async def check(client: ShopifyClient, job: WriteJob) -> dict[str, Any] | None:
        fo = await _fo_state(client, job)
        if fo["requestStatus"] in wanted_requests or fo["status"] in wanted_statuses:
            return {"status": fo["status"], "request_status": fo["requestStatus"]}
        return None

    return check


def _fo_answer(data: dict[str, Any], root: str) -> dict[str, Any]:
    fo = (data.get(root) or {}).get("fulfillmentOrder") or {}
    return {"status": fo.get("status"), "request_status": fo.get("requestStatus")}


def _simple_mutation(
    op_name: str, root: str, variables: Callable[[WriteJob], dict[str, Any]]
) -> Callable[[ShopifyClient, WriteJob], Awaitable[dict[str, Any]]]:
    async def send(client: ShopifyClient, job: WriteJob) -> dict[str, Any]:
        data = await client.execute(operation(op_name), variables(job))
        return _fo_answer(data, root)

    return send


# -- reasons: our words to Shopify's enums (Shopify docs for both enums)
_REJECTION_WORDS = (
    ("sku", "INVALID_SKU"),
    ("stock", "INVENTORY_OUT_OF_STOCK"),
    ("customs", "MISSING_CUSTOMS_INFO"),
    ("address", "INCORRECT_ADDRESS"),
    ("deliver", "UNDELIVERABLE_DESTINATION"),
    ("international", "INTERNATIONAL_SHIPPING_UNAVAILABLE"),
    ("payment", "PAYMENT_DECLINED"),
    ("quantit", "INCORRECT_PRODUCT_INFO"),
)
_REJECTION_REASONS = {
    "INCORRECT_ADDRESS",
    "INVENTORY_OUT_OF_STOCK",
    "INELIGIBLE_PRODUCT",
    "UNDELIVERABLE_DESTINATION",
    "INTERNATIONAL_SHIPPING_UNAVAILABLE",
    "INCORRECT_PRODUCT_INFO",
    "MISSING_CUSTOMS_INFO",
    "INVALID_SKU",
    "PAYMENT_DECLINED",
    "PACKAGE_PREFERENCE_NOT_SET",
    "INVALID_CONTACT_INFORMATION",
    "ORDER_TOO_LARGE",
    "MERCHANT_BLOCKED_OR_SUSPENDED",
    "OTHER",
}
_HOLD_WORDS = (
    ("payment", "AWAITING_PAYMENT"),
    ("fraud", "HIGH_RISK_OF_FRAUD"),
    ("risk", "HIGH_RISK_OF_FRAUD"),
    ("address", "INCORRECT_ADDRESS"),
    ("stock", "INVENTORY_OUT_OF_STOCK"),
    ("inventory", "INVENTORY_OUT_OF_STOCK"),
    ("delivery date", "UNKNOWN_DELIVERY_DATE"),
    ("return", "AWAITING_RETURN_ITEMS"),
)


def _enum_for(text: str, known: Collection[str], words: tuple[tuple[str, str], ...]) -> str:
    code = text.strip().upper().replace(" ", "_")
    if code in known:
        return code
    lowered = text.lower()
    # One reason naming several problems gets OTHER: the message carries the details.
    matches = {value for word, value in words if word in lowered}
    return matches.pop() if len(matches) == 1 else "OTHER"


def rejection_reason(message: str) -> str:
    """The FulfillmentOrderRejectionReason for our rejection message."""
    return _enum_for(message, _REJECTION_REASONS, _REJECTION_WORDS)


def hold_reason(reason: str) -> str:
    """The FulfillmentHoldReason for our hold reason (an enum name passes through)."""
    return _enum_for(reason, HOLD_REASONS, _HOLD_WORDS)


# -- holds
async def _hold_send(client: ShopifyClient, job: WriteJob) -> dict[str, Any]:
    reason = str(job.payload.get("reason") or "OTHER")
    notes = str(job.payload.get("notes") or "")
    code = hold_reason(reason)
    # The enum loses our words unless the reason was an enum name already: keep them.
    reason_notes = notes or ("" if reason.strip().upper() == code else reason)
    hold_input: dict[str, Any] = {
        "reason": code,
        "handle": _hold_handle(job),
        "notifyMerchant": bool(job.payload.get("notify_merchant", False)),
    }
    if reason_notes:
        hold_input["reasonNotes"] = reason_notes[:255]
    data = await client.execute(
        operation("FulfillmentOrderHold"),
        {"id": job.fulfillment_order_id, "fulfillmentHold": hold_input},
    )
    hold = data["fulfillmentOrderHold"]["fulfillmentHold"] or {}
    return {"hold_id": hold.get("id"), "handle": hold.get("handle")}


async def _hold_verify(client: ShopifyClient, job: WriteJob) -> dict[str, Any] | None:
    fo = await _fo_state(client, job)
    handle = _hold_handle(job)
    for hold in fo.get("fulfillmentHolds") or []:
        if hold.get("handle") == handle:
            return {"hold_id": hold["id"], "handle": handle}
    return None


def _our_holds(fo: dict[str, Any]) -> list[str]:
    return [
        hold["id"]
        for hold in fo.get("fulfillmentHolds") or []
        if hold.get("heldByRequestingApp")
        and str(hold.get("handle") or "").startswith(HOLD_HANDLE_PREFIX)
    ]


async def _release_send(client: ShopifyClient, job: WriteJob) -> dict[str, Any]:
    ours = _our_holds(await _fo_state(client, job))
    if not ours:
        return {"released": []}
    await client.execute(
        operation("FulfillmentOrderReleaseHold"),
        {"id": job.fulfillment_order_id, "holdIds": ours},
    )
    return {"released": ours}


async def _release_verify(client: ShopifyClient, job: WriteJob) -> dict[str, Any] | None:
    return None if _our_holds(await _fo_state(client, job)) else {"released": "verified"}


# -- moves
def _new_location(job: WriteJob) -> str:
    location = job.payload.get("location_id") or job.payload.get("new_location_id")
    if not location:
        raise CannotSend("a move needs the new location id")
    return gid("Location", location)


async def _move_send(client: ShopifyClient, job: WriteJob) -> dict[str, Any]:
    data = await client.execute(
        operation("FulfillmentOrderMove"),
        {"id": job.fulfillment_order_id, "newLocationId": _new_location(job)},
    )
    moved = data["fulfillmentOrderMove"]["movedFulfillmentOrder"] or {}
    return {"moved_fulfillment_order_id": moved.get("id")}


async def _move_verify(client: ShopifyClient, job: WriteJob) -> dict[str, Any] | None:
    target = _new_location(job)
    data = await client.execute(
        operation("OutboxOrderFulfillmentOrders"), {"id": job.fulfillment_order_id}
    )
    fo = data.get("fulfillmentOrder")
    if fo is None:
        raise CannotSend(f"Shopify has no fulfillment order {job.fulfillment_order_id}")

    def location_of(node: dict[str, Any]) -> str | None:
        return ((node.get("assignedLocation") or {}).get("location") or {}).get("id")

    if location_of(fo) == target:
        return {"moved_fulfillment_order_id": fo["id"]}
    siblings = fo["order"]["fulfillmentOrders"]["nodes"]
    ours = next((n for n in siblings if n["id"] == fo["id"]), None)
    own_lines = {n["lineItem"]["id"] for n in (ours or {}).get("lineItems", {}).get("nodes", [])}
    for node in siblings:
        lines = {n["lineItem"]["id"] for n in node["lineItems"]["nodes"]}
        if node["id"] != fo["id"] and location_of(node) == target and lines & own_lines:
            return {"moved_fulfillment_order_id": node["id"]}
    return None


async def _never_observable(_client: ShopifyClient, _job: WriteJob) -> dict[str, Any] | None:
    return None


def _message(job: WriteJob) -> str | None:
    value = job.payload.get("message")
    return str(value) if value else None


def _rejection_variables(job: WriteJob) -> dict[str, Any]:
    message = _message(job) or "Rejected"
    reason = job.payload.get("reason")
    return {
        "id": job.fulfillment_order_id,
        "reason": reason if reason in _REJECTION_REASONS else rejection_reason(message),
        "message": message,
    }


def _progress_variables(job: WriteJob) -> dict[str, Any]:
    stage = job.payload.get("stage")
    notes = job.payload.get("notes") or (f"Stage: {stage}" if stage else None)
    report = {"reasonNotes": notes} if notes else None
    return {"id": job.fulfillment_order_id, "progressReport": report}


def _pickup_variables(job: WriteJob) -> dict[str, Any]:
    return {
        "input": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": job.fulfillment_order_id}]}
    }


def _id_and_message(job: WriteJob) -> dict[str, Any]:
    return {"id": job.fulfillment_order_id, "message": _message(job)}


_ACCEPTED_OR_LATER = (
    "ACCEPTED",
    "CANCELLATION_REQUESTED",
    "CANCELLATION_ACCEPTED",
    "CANCELLATION_REJECTED",
    "CLOSED",
)

SENDERS: dict[str, Sender] = {
    core.ACCEPT_REQUEST: Sender(
        _simple_mutation(
            "FulfillmentOrderAcceptRequest",
            "fulfillmentOrderAcceptFulfillmentRequest",
            _id_and_message,
        ),
        _status_check(request_statuses=_ACCEPTED_OR_LATER),
    ),
    core.REJECT_REQUEST: Sender(
        _simple_mutation(
            "FulfillmentOrderRejectRequest",
            "fulfillmentOrderRejectFulfillmentRequest",
            _rejection_variables,
        ),
        _status_check(request_statuses=("REJECTED",)),
    ),
    core.REPORT_PROGRESS: Sender(
        _simple_mutation(
            "FulfillmentOrderReportProgress", "fulfillmentOrderReportProgress", _progress_variables
        ),
        _never_observable,
    ),
    core.HOLD: Sender(_hold_send, _hold_verify),
    core.RELEASE_HOLD: Sender(_release_send, _release_verify),
    core.CREATE_FULFILLMENT: Sender(fulfillments.fulfillment_send, fulfillments.fulfillment_verify),
    core.UPDATE_TRACKING: Sender(fulfillments.tracking_send, fulfillments.tracking_verify),
    core.FULFILLMENT_EVENT: Sender(fulfillments.event_send, fulfillments.event_verify),
    core.ACCEPT_CANCELLATION: Sender(
        _simple_mutation(
            "FulfillmentOrderAcceptCancellation",
            "fulfillmentOrderAcceptCancellationRequest",
            _id_and_message,
        ),
        _status_check(request_statuses=("CANCELLATION_ACCEPTED",), statuses=("CANCELLED",)),
    ),
    core.REJECT_CANCELLATION: Sender(
        _simple_mutation(
            "FulfillmentOrderRejectCancellation",
            "fulfillmentOrderRejectCancellationRequest",
            _id_and_message,
        ),
        _status_check(request_statuses=("CANCELLATION_REJECTED",)),
    ),
    core.CLOSE: Sender(
        _simple_mutation("FulfillmentOrderClose", "fulfillmentOrderClose", _id_and_message),
        _status_check(request_statuses=("CLOSED",), statuses=("INCOMPLETE",)),
    ),
    core.MOVE: Sender(_move_send, _move_verify),
    # Marking ready twice only repeats the customer's notice; nothing shows it was done.
    core.PREPARED_FOR_PICKUP: Sender(
        _simple_mutation(
            "FulfillmentOrderPreparedForPickup",
            "fulfillmentOrderLineItemsPreparedForPickup",
            _pickup_variables,
        ),
        _never_observable,
    ),
    # Returns (flows.return_writes): dispositions and return labels.
    **return_writes.SENDERS,
}

SHOPIFY_KINDS = tuple(SENDERS)
