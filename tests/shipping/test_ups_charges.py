"""What UPS charged for a shipment, read from its Shipping API answer."""

from __future__ import annotations

from fulfillbridge.carriers._ups import charge_of


def _answer(results: dict) -> dict:
    return {"ShipmentResponse": {"ShipmentResults": results}}


def test_the_negotiated_total_wins_over_the_published_one() -> None:
    published = {
        "ShipmentCharges": {"TotalCharges": {"CurrencyCode": "USD", "MonetaryValue": "12.3"}}
    }
    assert charge_of(_answer(published)) == ("12.30", "USD")
    negotiated = {
        **published,
        "NegotiatedRateCharges": {"TotalCharge": {"CurrencyCode": "USD", "MonetaryValue": "9.80"}},
    }
    assert charge_of(_answer(negotiated)) == ("9.80", "USD")


def test_an_answer_without_a_readable_charge_has_no_cost() -> None:
    assert charge_of({}) == (None, None)
    assert charge_of(None) == (None, None)
    broken = {"ShipmentCharges": {"TotalCharges": {"CurrencyCode": "USD", "MonetaryValue": "n/a"}}}
    assert charge_of(_answer(broken)) == (None, None)
    assert charge_of(_answer({"ShipmentCharges": {"TotalCharges": "12"}})) == (None, None)
