"""Returns of the sandbox (pure Python, no GraphQL): returns requested by a customer or
created by the merchant, their reverse fulfillment orders and reverse deliveries, the
disposition of returned units (restocking them), exchanges and processing.

Obtain the part as ``returns_of(shop)``. Failures the caller shows as ``userErrors`` raise
``OrderUserErrors`` (the orders part's exception: nothing was changed).

Rules follow Shopify's returns guides and mutation reference for 2026-07 (Build return
management workflows, Manage reverse fulfillment orders, Migrate to return processing):

* ``returnRequest`` makes a REQUESTED return; ``returnApproveRequest`` opens it and creates
  its reverse fulfillment order; ``returnDeclineRequest`` declines it (its units may be
  returned again); ``returnCreate`` makes an OPEN return with its reverse fulfillment order
  at once. Only fulfilled units can be returned, and no unit twice: the units of returns
  that are not cancelled or declined count against the fulfillment line.
* ``returnCancel`` is allowed until work was done (a disposition or processing);
  ``returnClose`` from OPEN, ``returnReopen`` from CLOSED; the same status again is a no-op.
  ``removeFromReturn`` takes units off a REQUESTED or OPEN return (never processed or
  disposed ones) and announces it with returns/update.
* ``reverseFulfillmentOrderDispose`` (all or nothing, one reverse fulfillment order per call)
  records what happened to returned units; RESTOCKED units go back to ``available`` at the
  location named. A reverse fulfillment order whose units are all disposed closes.
* Since 2025-07 exchange items are confirmed only when ``returnProcess`` processes them:
  the order then gains a line item for each and a fulfillment order where routing sends
  it. Only an exchange the buyer still owes money for is held (Migrate to return
  processing); the reason is AWAITING_RETURN_ITEMS ("return items not yet received during
  an exchange"). The sandbox counts as owed the processed exchange items less the
  processed returned items, so an exchange processed before the returned items is held
  until they are processed (or the return is closed: a closed return counts as returned).
  A dearer exchange stays held after that: Shopify releases it once the buyer pays the
  difference, which the sandbox cannot collect, so the merchant releases it (the
  ``release_hold`` merchant action). A return whose every item is processed closes.

Error messages that Shopify documents or that were recorded on Shopify are used as they
are; ``model.SANDBOX_WORDING`` holds the messages the sandbox words itself because no
source shows Shopify's.

Modules, each a layer of the ``Returns`` class: ``model`` (records, enum values, messages),
``store`` (state and lookups), ``payloads`` (webhook bodies), ``reverse`` (reverse
fulfillment orders, deliveries, dispositions), ``processing`` (returnProcess, exchanges and
their holds, closing) and ``part`` (creating returns and the status changes).
"""

from fulfillbridge.sandbox.domain.returns.model import (
    CANCELED,
    CLOSED,
    DECLINED,
    DISPOSITION_TYPES,
    OPEN,
    REASON_DEFINITIONS,
    REQUESTED,
    RESTOCKED,
    RETURN_REASONS,
    SANDBOX_WORDING,
    Disposition,
    ExchangeLineItem,
    Refund,
    Return,
    ReturnLineItem,
    ReverseDelivery,
    ReverseDeliveryLineItem,
    ReverseFulfillmentOrder,
    ReverseFulfillmentOrderLineItem,
)
from fulfillbridge.sandbox.domain.returns.part import Returns, returns_of

__all__ = [
    "CANCELED",
    "CLOSED",
    "DECLINED",
    "DISPOSITION_TYPES",
    "OPEN",
    "REASON_DEFINITIONS",
    "REQUESTED",
    "RESTOCKED",
    "RETURN_REASONS",
    "SANDBOX_WORDING",
    "Disposition",
    "ExchangeLineItem",
    "Refund",
    "Return",
    "ReturnLineItem",
    "Returns",
    "ReverseDelivery",
    "ReverseDeliveryLineItem",
    "ReverseFulfillmentOrder",
    "ReverseFulfillmentOrderLineItem",
    "returns_of",
]
