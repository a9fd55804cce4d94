"""What Shopify says about one fulfillment order, in the domain's terms: the snapshot a work
order is compared with (``core.follow``). Built by ``shopify.mapping`` from Shopify's shapes;
the status words are Shopify's own (the enums below), since they are what the merchant sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fulfillbridge.core.details import Hold, PaymentState
from fulfillbridge.core.work import WorkOrder


class RemoteStatus(StrEnum):
    """FulfillmentOrderStatus."""

    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"
    INCOMPLETE = "INCOMPLETE"
    ON_HOLD = "ON_HOLD"
    SCHEDULED = "SCHEDULED"


class RequestStatus(StrEnum):
    """FulfillmentOrderRequestStatus."""

    UNSUBMITTED = "UNSUBMITTED"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    CANCELLATION_REQUESTED = "CANCELLATION_REQUESTED"
    CANCELLATION_ACCEPTED = "CANCELLATION_ACCEPTED"
    CANCELLATION_REJECTED = "CANCELLATION_REJECTED"
    CLOSED = "CLOSED"


CLOSED_STATUSES = frozenset({RemoteStatus.CLOSED, RemoteStatus.CANCELLED, RemoteStatus.INCOMPLETE})


@dataclass(frozen=True)
class RemoteFulfillmentOrder:
    """One fulfillment order as Shopify last showed it."""

    work: WorkOrder  # state RECEIVED: what a new work order would start from
    order_id: str  # the Order gid
    location_id: str | None  # the assigned Location gid
    status: str
    request_status: str
    updated_at: datetime | None
    order_cancelled: bool
    # A merchant's cancellation request is waiting for our answer.
    cancellation_pending: bool
    # lineItems had more than the page that was read: the lines are incomplete.
    lines_truncated: bool = False
    # The id of the newest cancellation request among the merchant requests read, if any.
    cancellation_request_id: str | None = None
    # Holds on the fulfillment order (ours and others').
    holds: tuple[Hold, ...] = ()

    @property
    def remote_id(self) -> str:
        return self.work.remote_id

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def foreign_holds(self) -> tuple[Hold, ...]:
        """Holds placed by somebody else than this bridge (the merchant, Shopify, an app)."""
        return tuple(hold for hold in self.holds if not hold.ours)

    @property
    def payment(self) -> PaymentState:
        return self.work.details.payment
