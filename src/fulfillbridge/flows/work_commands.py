"""The operation's commands on its work (what the API, the CLI and CSV uploads ask for),
and the error a command that cannot be applied raises. Plain values; ``flows.actions``
applies them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from fulfillbridge.core.errors import FulfillbridgeError, WorkErrorCode
from fulfillbridge.core.work import Tracking, WorkState
from fulfillbridge.shopify import HOLD_REASONS as HOLD_REASONS  # re-exported
from fulfillbridge.store.models import OutboxRow, ShipmentRow, WorkOrderRow

T = TypeVar("T")

NOT_FOUND = WorkErrorCode.NOT_FOUND
CONFLICT = WorkErrorCode.NOT_ALLOWED
INVALID = WorkErrorCode.INVALID

SHIPPABLE = frozenset({WorkState.ACCEPTED, WorkState.IN_PROGRESS, WorkState.PARTIALLY_SHIPPED})
# fulfillmentOrderMove only takes OPEN or ON_HOLD fulfillment orders whose request is
# unsubmitted or rejected (sandbox fulfillment_orders.move, after Shopify docs); locally that
# is work with no stage reported and nothing shipped.
MOVABLE = frozenset(
    {WorkState.RECEIVED, WorkState.ACCEPTED, WorkState.EXCEPTION, WorkState.ON_HOLD}
)


class ActionError(FulfillbridgeError):
    """A command that cannot be applied; ``code`` says which kind of failure (the web layer
    turns it into an HTTP status) and ``field`` names the request field at fault, when there
    is one. ``status=`` is the earlier spelling of ``code=``, still used by the raise sites."""

    default_code = WorkErrorCode.NOT_ALLOWED

    def __init__(
        self,
        message: str,
        *,
        code: WorkErrorCode | None = None,
        status: WorkErrorCode | None = None,
        field: str | None = None,
    ):
        super().__init__(message, code=code or status)
        self.field = field


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartStage:
    stage: str


@dataclass(frozen=True)
class Hold:
    reason: str
    notes: str = ""


@dataclass(frozen=True)
class Release:
    pass


@dataclass(frozen=True)
class ShipLine:
    """Units of one line, named by its line id or its SKU."""

    quantity: int
    line_id: str | None = None
    sku: str | None = None


@dataclass(frozen=True)
class Ship:
    lines: tuple[ShipLine, ...] | None  # None: everything that remains
    packages: tuple[Tracking, ...] = ()
    notify_customer: bool = True
    # A key derived from the request (e.g. a CSV row): the same key never ships twice.
    dedupe_key: str | None = None


@dataclass(frozen=True)
class UpdateTracking:
    shipment_id: int
    packages: tuple[Tracking, ...]
    notify_customer: bool = True


@dataclass(frozen=True)
class Deliver:
    pass


@dataclass(frozen=True)
class GiveUp:
    reason: str


@dataclass(frozen=True)
class MoveWarehouse:
    warehouse: str


@dataclass(frozen=True)
class MoveLocation:
    location_id: str


@dataclass(frozen=True)
class FixException:
    """Correct the data behind an exception, then validate again."""

    shipping_address: dict[str, str] | None = None
    billing_address: dict[str, str] | None = None
    skus: dict[str, str] = field(default_factory=dict)  # line id -> SKU


@dataclass(frozen=True)
class RetryException:
    pass


@dataclass(frozen=True)
class OverrideException:
    reason: str


@dataclass(frozen=True)
class ReadyForPickup:
    """A pickup order is ready at the counter (Shopify tells the customer)."""


Command = (
    StartStage
    | ReadyForPickup
    | Hold
    | Release
    | Ship
    | UpdateTracking
    | Deliver
    | GiveUp
    | MoveWarehouse
    | MoveLocation
    | FixException
    | RetryException
    | OverrideException
)


@dataclass
class ActionResult:
    row: WorkOrderRow
    store: str
    queued: list[OutboxRow] = field(default_factory=list)
    shipment: ShipmentRow | None = None
    # False when a dedupe key showed the same command was applied before.
    applied: bool = True
    # Every shipment a Ship made (one per carrier); ``shipment`` is the first.
    shipments: list[ShipmentRow] = field(default_factory=list)
