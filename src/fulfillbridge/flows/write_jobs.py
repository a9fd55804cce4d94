"""What a sender of outbox rows is given (``WriteJob``: one claimed row) and what it is
(``Sender``: a write and its check), shared by ``flows.shopify_writes`` and
``flows.fulfillment_writes``; ``flows.outbox`` builds the jobs and records the outcomes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fulfillbridge.core.errors import FulfillbridgeError, OutboxErrorCode
from fulfillbridge.shopify import ShopifyClient
from fulfillbridge.shopify.gids import to_gid


class CannotSend(FulfillbridgeError):
    """The row cannot be sent as it stands (missing data); the message says why."""

    default_code = OutboxErrorCode.CANNOT_SEND


@dataclass
class WriteJob:
    """One claimed outbox row, as a sender sees it."""

    id: int
    kind: str
    target: str
    payload: dict[str, Any]
    status: str  # the status when claimed
    attempts: int
    idempotency_key: str
    store_id: int
    work_order_id: int | None
    fulfillment_order_id: str | None
    store_name: str | None = None
    # Where a notification goes (the store's own URL; else the global one).
    operation_url: str | None = None
    # Shopify fulfillment ids our other done rows of this work order already account for.
    known_fulfillments: set[str] = field(default_factory=set)
    # Fulfillment ids the row acts on (tracking updates, events), resolved from shipments.
    fulfillment_ids: list[str] = field(default_factory=list)
    # Until when an earlier attempt that got no answer may still land at Shopify.
    unsettled_until: datetime | None = None
    # A write that undoes an earlier one of ours (a release after a hold) waits until this.
    undo_after: datetime | None = None
    # Units left per fulfillment-order line, as the last verification read them.
    remaining: dict[str, int] | None = None

    @property
    def maybe_ran(self) -> bool:
        return self.status in ("unknown", "sending")


# A Shopify global id from an id we hold (a number, or a global id already).
gid = to_gid


@dataclass(frozen=True)
class Sender:
    """How one kind is written: ``send`` makes the write and returns what to record;
    ``verify`` reads Shopify and returns the same when the write already took effect."""

    send: Callable[[ShopifyClient, WriteJob], Awaitable[dict[str, Any]]]
    verify: Callable[[ShopifyClient, WriteJob], Awaitable[dict[str, Any] | None]]
