"""The pure shipping rules: carrier names as Shopify spells them, tracking links from a
store's templates, one fulfillment per carrier, and which scans become Shopify events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fulfillbridge.core.carriers import (
    Package,
    ShippingError,
    by_company,
    company_name,
    normalised,
    parse_url_templates,
    shopify_company,
    tracking_url,
)
from fulfillbridge.core.tracking import (
    ParcelEvent,
    ParcelStatus,
    PollSchedule,
    TrackingInputError,
    new_events,
    next_poll,
    status_from_shopify,
)

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "shopify"),
    [
        ("ups", "UPS"),
        ("U.P.S.", "UPS"),
        ("fedex", "FedEx"),
        ("Federal Express", "FedEx"),
        ("royal-mail", "Royal Mail"),
        ("DHL_Express", "DHL Express"),
        ("canada post", "Canada Post"),
        ("Acme Freight", None),
        ("DHL", None),  # ambiguous: Express or eCommerce
    ],
)
def test_carrier_names_as_shopify_spells_them(given: str, shopify: str | None) -> None:
    assert shopify_company(given) == shopify
    assert company_name(given) == (shopify or given.strip())


def test_tracking_links_come_from_the_store_templates_for_unknown_carriers() -> None:
    templates = parse_url_templates({"Acme Freight": "https://track.acme.test/{number}"})
    assert tracking_url("acme freight", "A 1/2", templates) == "https://track.acme.test/A%201%2F2"
    assert tracking_url("Other", "1", templates) is None
    packages = normalised(
        [
            Package("acme freight", "AF1"),
            Package("ups", "1Z"),
            Package("Acme Freight", "AF2", "https://mine.test/2"),
        ],
        templates,
    )
    assert [(p.company, p.url) for p in packages] == [
        ("acme freight", "https://track.acme.test/AF1"),
        ("UPS", None),  # Shopify builds UPS's link itself
        ("Acme Freight", "https://mine.test/2"),  # the operation's own link wins
    ]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ([], "must be an object"),
        ({"X": "ftp://x/{number}"}, "http(s) URL"),
        ({"X": "https://x/"}, "{number}"),
        ({"": "https://x/{number}"}, "carrier name"),
    ],
)
def test_bad_templates_are_named(raw: object, words: str) -> None:
    with pytest.raises(ShippingError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_url_templates(raw)


def test_one_fulfillment_per_carrier() -> None:
    packages = [
        Package("UPS", "1", lines={"a": 2}),
        Package("FedEx", "2", lines={"b": 1}),
        Package("UPS", "3", lines={"c": 1}),
    ]
    groups = by_company(packages, {"a": 2, "b": 1, "c": 1})
    assert [(lines, [p.number for p in group]) for lines, group in groups] == [
        ({"a": 2, "c": 1}, ["1", "3"]),
        ({"b": 1}, ["2"]),
    ]
    # One carrier: one fulfillment, whatever the packages say.
    assert len(by_company([Package("UPS", "1"), Package("UPS", "2")], {"a": 1})) == 1
    with pytest.raises(ShippingError, match="must list its lines; missing for 2"):
        by_company([Package("UPS", "1", lines={"a": 1}), Package("FedEx", "2")], {"a": 1})
    with pytest.raises(
        ShippingError, match="the packages hold 1 of line a but the shipment is 2 of line a"
    ):
        by_company(
            [Package("UPS", "1", lines={"a": 1}), Package("FedEx", "2", lines={"b": 0})],
            {"a": 2},
        )


def scan(status: ParcelStatus, minutes: int, number: str = "1Z") -> ParcelEvent:
    return ParcelEvent(number, status, T0 + timedelta(minutes=minutes))


def test_new_scans_go_once_in_order_and_stop_at_the_end() -> None:
    seen = [
        scan(ParcelStatus.IN_TRANSIT, 30),
        scan(ParcelStatus.LABEL_CREATED, 0),
        scan(ParcelStatus.PICKED_UP, 10),
        scan(ParcelStatus.OUT_FOR_DELIVERY, 60),
        scan(ParcelStatus.DELIVERED, 90),
        scan(ParcelStatus.IN_TRANSIT, 120),  # a stray scan after delivery
    ]
    first = new_events(seen, [], None)
    assert [e.shopify_status for e in first] == ["IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"]
    assert first[0].happened_at == T0 + timedelta(minutes=10)
    # Recorded already: nothing again.
    keys = [e.key for e in first]
    assert new_events(seen, keys, first[-1].happened_at, "DELIVERED") == []
    # A scan older than the newest passed on is left out (no going back in time).
    late = new_events([scan(ParcelStatus.ATTEMPTED_DELIVERY, 50)], [], T0 + timedelta(minutes=60))
    assert late == []
    # A second attempt on another day is news; the same status twice in a row is not.
    again = new_events(
        [scan(ParcelStatus.OUT_FOR_DELIVERY, 1500), scan(ParcelStatus.OUT_FOR_DELIVERY, 1510)],
        [],
        T0,
        "ATTEMPTED_DELIVERY",
    )
    assert [e.happened_at for e in again] == [T0 + timedelta(minutes=1500)]


def test_statuses_the_operation_may_post() -> None:
    assert status_from_shopify(" delivered ") is ParcelStatus.DELIVERED
    with pytest.raises(TrackingInputError, match="LABEL_PRINTED"):
        status_from_shopify("LABEL_PRINTED")


def test_polling_backs_off_and_watches_the_last_mile() -> None:
    assert next_poll(T0, 0) == T0 + timedelta(hours=2)
    assert next_poll(T0, 1) == T0 + timedelta(hours=4)
    assert next_poll(T0, 9) == T0 + timedelta(hours=12)
    assert next_poll(T0, 5, out_for_delivery=True) == T0 + timedelta(minutes=30)


def test_a_shorter_schedule_keeps_the_same_shape() -> None:
    quick = PollSchedule(
        first=timedelta(seconds=1), steady=timedelta(seconds=2), most=timedelta(seconds=5)
    )
    assert next_poll(T0, 0, schedule=quick) == T0 + timedelta(seconds=2)
    assert next_poll(T0, 1, schedule=quick) == T0 + timedelta(seconds=4)
    assert next_poll(T0, 9, schedule=quick) == T0 + timedelta(seconds=5)
    assert next_poll(T0, 9, out_for_delivery=True, schedule=quick) == T0 + timedelta(seconds=1)
