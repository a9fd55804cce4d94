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


def test_an_aggregators_courier_goes_to_shopify_under_shopifys_name() -> None:
    from fulfillbridge.core.carriers import courier_company

    assert courier_company("Delhivery Surface") == "Delhivery"
    assert courier_company("Ecom Express Surface 2kg") == "Ecom Express"
    assert courier_company("Xpressbees Surface 10kg") == "Xpressbees"
    assert courier_company("Blue Dart Air") == "Bluedart"
    assert courier_company("India Post-Business Parcel Surface Prepaid") == "India Post"
    assert courier_company("DTDC") == "DTDC"
    # Not on Shopify's list: as the aggregator named it; short names never match a prefix.
    assert courier_company("Shadowfax Surface") == "Shadowfax Surface"
    assert courier_company("UPSurface Local") == "UPSurface Local"
    assert courier_company("  ") == ""


def test_the_aggregators_status_codes_in_our_words() -> None:
    from fulfillbridge.carriers import _clickpost, _http, _shiprocket
    from fulfillbridge.core.tracking import ParcelStatus as S

    assert [_shiprocket.parcel_status(c) for c in ("42", 18, 17, 21, 7, 9, "NA", None)] == [
        S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.ATTEMPTED_DELIVERY, S.DELIVERED,
        S.FAILURE, S.UNKNOWN, S.UNKNOWN,
    ]  # fmt: skip
    assert [_clickpost.parcel_status(c) for c in (1, 4, 5, 6, 9, 8, 12, 18, 10)] == [
        S.LABEL_CREATED, S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.ATTEMPTED_DELIVERY,
        S.DELIVERED, S.FAILURE, S.DELAYED, S.VOIDED,
    ]  # fmt: skip
    # Zoneless times are Indian Standard Time; ISO times keep their zone.
    assert _http.local_time("2022-07-19 11:37:00").isoformat() == "2022-07-19T06:07:00+00:00"
    assert _http.local_time("2017-08-02T13:23:02Z").isoformat() == "2017-08-02T13:23:02+00:00"
    assert _http.local_time("23 05 2023 11:43:52").isoformat() == "2023-05-23T06:13:52+00:00"
    assert _http.local_time("soon") is None


def test_broken_webhook_bodies_name_the_problem() -> None:
    from fulfillbridge import carriers

    for carrier, body, words in [
        ("shiprocket", [], "JSON object"),
        ("shiprocket", {"scans": []}, "no awb"),
        ("shiprocket", {"awb": "1", "scans": [1]}, "list of objects"),
        ("clickpost", {"waybill": "W", "timestamp": "x"}, "clickpost_status_code"),
        ("clickpost", {"waybill": "W", "clickpost_status_code": 5, "timestamp": "x"}, "not a time"),
        ("ups", {}, "no tracking webhooks"),
    ]:
        try:
            carriers.webhook_events(carrier, body)
        except carriers.CarrierError as exc:
            assert words in exc.message, (carrier, body, exc.message)
        else:
            raise AssertionError(f"{carrier} {body} was accepted")
