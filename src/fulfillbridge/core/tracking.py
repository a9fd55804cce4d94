"""A parcel's journey in the operation's words, and which of its news Shopify still needs.

Carriers report scans in their own codes; the carrier layer turns each into a
:class:`ParcelStatus`. This module decides what becomes a Shopify fulfillment event (its
``FulfillmentEventStatus``), which events are new (each once, never going back in time),
when the journey is over, and when to ask the carrier again. Pure: no I/O, no clock reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from fulfillbridge.core.errors import FulfillbridgeError, WorkErrorCode


class ParcelStatus(StrEnum):
    LABEL_CREATED = "label_created"  # the carrier knows the label, has not seen the parcel
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ATTEMPTED_DELIVERY = "attempted_delivery"
    DELAYED = "delayed"  # an exception that does not end the journey
    DELIVERED = "delivered"
    FAILURE = "failure"  # returned, refused, lost: the journey ended without delivery
    VOIDED = "voided"
    UNKNOWN = "unknown"


# Shopify's FulfillmentEventStatus for each status worth telling the customer about.
SHOPIFY_EVENT = {
    ParcelStatus.PICKED_UP: "IN_TRANSIT",
    ParcelStatus.IN_TRANSIT: "IN_TRANSIT",
    ParcelStatus.OUT_FOR_DELIVERY: "OUT_FOR_DELIVERY",
    ParcelStatus.ATTEMPTED_DELIVERY: "ATTEMPTED_DELIVERY",
    ParcelStatus.DELAYED: "DELAYED",
    ParcelStatus.DELIVERED: "DELIVERED",
    ParcelStatus.FAILURE: "FAILURE",
}
FINAL = frozenset({ParcelStatus.DELIVERED, ParcelStatus.FAILURE, ParcelStatus.VOIDED})
_FINAL_EVENTS = frozenset({"DELIVERED", "FAILURE"})
# What the operation may post itself (POST .../shipments/{id}/events), in Shopify's words.
POSTABLE = frozenset(
    {"IN_TRANSIT", "OUT_FOR_DELIVERY", "ATTEMPTED_DELIVERY", "DELAYED", "DELIVERED", "FAILURE"}
)
_FROM_SHOPIFY = {
    "IN_TRANSIT": ParcelStatus.IN_TRANSIT,
    "OUT_FOR_DELIVERY": ParcelStatus.OUT_FOR_DELIVERY,
    "ATTEMPTED_DELIVERY": ParcelStatus.ATTEMPTED_DELIVERY,
    "DELAYED": ParcelStatus.DELAYED,
    "DELIVERED": ParcelStatus.DELIVERED,
    "FAILURE": ParcelStatus.FAILURE,
}


class TrackingInputError(FulfillbridgeError, ValueError):
    default_code = WorkErrorCode.INVALID


@dataclass(frozen=True)
class ParcelEvent:
    """One scan: what happened to which parcel, and when."""

    tracking_number: str
    status: ParcelStatus
    happened_at: datetime
    message: str = ""
    city: str = ""
    country: str = ""
    estimated_delivery_at: datetime | None = None

    @property
    def shopify_status(self) -> str | None:
        return SHOPIFY_EVENT.get(self.status)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.tracking_number, self.status.value, self.happened_at.isoformat())


def status_from_shopify(word: str) -> ParcelStatus:
    """The status the operation named in Shopify's words (``DELIVERED``)."""
    upper = word.strip().upper()
    if upper not in POSTABLE:
        raise TrackingInputError(f"status {word!r} is not one of {', '.join(sorted(POSTABLE))}")
    return _FROM_SHOPIFY[upper]


def new_events(
    seen: Iterable[ParcelEvent],
    known: Iterable[tuple[str, str, str]],
    latest: datetime | None,
    last_status: str | None = None,
) -> list[ParcelEvent]:
    """The scans to pass on, oldest first. Left out: scans Shopify has no event for, scans
    already recorded (``known`` keys), scans older than the newest one passed on
    (``latest``: a late scan never makes the timeline go back), a scan that would repeat the
    Shopify status just sent (``last_status``: two departure scans are one IN_TRANSIT), and
    anything after a final status."""
    if last_status in _FINAL_EVENTS:
        return []
    recorded = set(known)
    out: list[ParcelEvent] = []
    for event in sorted(seen, key=lambda e: (e.happened_at, _RANK.get(e.status, 0))):
        if event.key in recorded or event.shopify_status is None:
            continue
        if latest is not None and event.happened_at < latest:
            continue
        if event.shopify_status == last_status:
            continue
        out.append(event)
        recorded.add(event.key)
        last_status = event.shopify_status
        if event.status in FINAL:
            break
    return out


_RANK = {
    ParcelStatus.LABEL_CREATED: 0,
    ParcelStatus.PICKED_UP: 1,
    ParcelStatus.IN_TRANSIT: 2,
    ParcelStatus.DELAYED: 3,
    ParcelStatus.OUT_FOR_DELIVERY: 4,
    ParcelStatus.ATTEMPTED_DELIVERY: 5,
    ParcelStatus.DELIVERED: 6,
    ParcelStatus.FAILURE: 6,
}


def journey_over(statuses: Sequence[ParcelStatus]) -> bool:
    return any(status in FINAL for status in statuses)


# Polling: soon after a label (the first scan comes within hours), then every few hours;
# a carrier that fails or shows nothing new is asked less and less often.
POLL_FIRST = timedelta(minutes=30)
POLL_STEADY = timedelta(hours=2)
POLL_MAX = timedelta(hours=12)
POLL_GIVE_UP = timedelta(days=60)


@dataclass(frozen=True)
class PollSchedule:
    """How often a carrier is asked about a parcel: ``first`` after shipping and while the
    parcel is out for delivery, ``steady`` while news comes, doubling up to ``most`` while
    it does not. The defaults suit real carriers; settings may shorten them (the demo)."""

    first: timedelta = POLL_FIRST
    steady: timedelta = POLL_STEADY
    most: timedelta = POLL_MAX


DEFAULT_POLLS = PollSchedule()


def next_poll(
    now: datetime,
    quiet_polls: int,
    *,
    out_for_delivery: bool = False,
    schedule: PollSchedule = DEFAULT_POLLS,
) -> datetime:
    """When to ask the carrier again after ``quiet_polls`` answers in a row that brought
    nothing new (or failed). A parcel out for delivery is asked at the ``first`` pace."""
    if out_for_delivery:
        return now + schedule.first
    delay = schedule.steady * (2 ** min(quiet_polls, 4)) if quiet_polls else schedule.steady
    return now + min(delay, schedule.most)
