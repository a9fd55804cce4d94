"""When a write whose outcome is unknown may be sent to Shopify again before Shopify is
surely done with the earlier attempt (a request that got no answer may still be running
there and land after our resend).

Early resend is safe when the late arrival of the earlier attempt is refused, or repeats
something harmless, once the resend has taken effect (or the other way round):

* answering a request, closing, a progress report, a pickup notice (``REPEATABLE``): the
  second arrival is refused or changes nothing;
* a hold: every hold command carries its own handle, and Shopify refuses a second hold with
  a handle the app already uses on that fulfillment order (``DUPLICATE_FULFILLMENT_HOLD_HANDLE``);
  the refusal reads as "already held". A release of that hold must still wait until the
  earlier attempt is surely over, or the late hold would be placed again after it;
* a fulfillment, when ``fulfillment_cannot_double`` says so (below).

Everything else (a tracking change, a delivery event, a move, a release, a fulfillment that
could fit twice) waits the settle time before it is verified and sent again.
"""

from __future__ import annotations

from collections.abc import Mapping

from fulfillbridge.core import work as core

REPEATABLE = frozenset(
    {
        core.ACCEPT_REQUEST,
        core.REJECT_REQUEST,
        core.ACCEPT_CANCELLATION,
        core.REJECT_CANCELLATION,
        core.CLOSE,
        core.REPORT_PROGRESS,
        core.PREPARED_FOR_PICKUP,
    }
)
"""Writes whose late arrival after a resend is refused or harmless, whatever Shopify holds."""

CHECKED_BEFORE_RESEND = frozenset({core.HOLD, core.CREATE_FULFILLMENT})
"""Writes that may be sent again early once Shopify's state, read just before the resend,
shows a second arrival would be refused (always for a hold with its handle; for a
fulfillment, see ``fulfillment_cannot_double``)."""

UNDONE_BY = {core.RELEASE_HOLD: core.HOLD}
"""A write of ours that undoes an earlier kind: it waits until every earlier attempt of that
kind is surely over, so a late arrival is not applied after the undoing."""


def verify_early(kind: str) -> bool:
    """Whether an unknown outcome of ``kind`` is verified within seconds (else only after
    the settle time): the ones that may then be sent again at once, or after a check."""
    return kind in REPEATABLE or kind in CHECKED_BEFORE_RESEND


def fulfillment_cannot_double(requested: Mapping[str, int], remaining: Mapping[str, int]) -> bool:
    """Whether sending a fulfillment of ``requested`` units per fulfillment-order line again
    can never leave two fulfillments, given the units ``remaining`` on those lines as read
    just before the resend (and no fulfillment of ours found there yet).

    Shopify applies ``fulfillmentCreate`` whole or refuses it ("Invalid fulfillment order
    line item quantity requested.") when any line asks for more units than remain. Once one
    copy is applied, a line that asked for ``q`` of ``r`` units has ``r - q`` left; when
    ``2 * q > r`` that is fewer than ``q``, so every other copy is refused. No lines named
    means "everything left": the first copy closes the fulfillment order and the others are
    refused for its status. A partial shipment that could fit twice is not safe, and a line
    whose remaining units were not read proves nothing."""
    wanted = {line: units for line, units in requested.items() if units > 0}
    if not wanted:
        return True
    return any(line in remaining and 2 * units > remaining[line] for line, units in wanted.items())


def may_resend_now(
    kind: str,
    *,
    requested: Mapping[str, int] | None = None,
    remaining: Mapping[str, int] | None = None,
) -> bool:
    """Whether a write of ``kind`` that Shopify does not show yet may be sent again before
    the earlier attempt is surely over. A fulfillment needs the units it asks for and the
    units remaining as just read; without the latter it waits."""
    if kind in REPEATABLE or kind == core.HOLD:
        return True
    if kind == core.CREATE_FULFILLMENT and remaining is not None:
        return fulfillment_cannot_double(requested or {}, remaining)
    return False
