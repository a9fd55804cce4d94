"""Fulfillment services as a domain part: handles, locations, callback URL rules and the
update quirk docs/shopify.md#creating-and-updating records (an omitted
requiresShippingMethod resets to true)."""

from __future__ import annotations

import pytest

from fulfillbridge.sandbox.clock import SandboxClock
from fulfillbridge.sandbox.domain.orders import OrderUserErrors
from fulfillbridge.sandbox.domain.services import services_of
from fulfillbridge.sandbox.state import ShopState


@pytest.fixture
def shop() -> ShopState:
    return ShopState(domain="svc.myshopify.com", name="Svc", plan="Basic", clock=SandboxClock())


def test_create_makes_a_location_and_a_unique_handle(shop: ShopState) -> None:
    services = services_of(shop)
    first = services.create(name="Acme Print & Ship", app_id="1")
    assert first.handle == "acme-print-ship"
    assert first.gid == f"gid://shopify/FulfillmentService/{first.id}?id=true"
    location = shop.locations[first.location_id]
    assert location.name == "Acme Print & Ship"
    assert location.fulfillment_service_id == first.id and location.ships_inventory is False
    with pytest.raises(OrderUserErrors) as exc:
        services.create(name="Acme Print & Ship", app_id="1")
    assert exc.value.errors[0].field == ["name"]
    renamed = services.update(first.gid, {"name": "Acme Two"}, app_id="1")
    assert renamed.handle == "acme-print-ship"  # the handle stays (lifecycle capture)
    assert shop.locations[first.location_id].name == "Acme Two"
    second = services.create(name="acme print ship", app_id="1")
    assert second.handle == "acme-print-ship-2"


def test_update_resets_requires_shipping_method_when_omitted(shop: ShopState) -> None:
    services = services_of(shop)
    service = services.create(name="Rush", app_id="1", requires_shipping_method=False)
    services.update(service.gid, {"requiresShippingMethod": False}, app_id="1")
    assert service.requires_shipping_method is False
    services.update(service.gid, {"trackingSupport": True}, app_id="1")
    assert service.requires_shipping_method is True and service.tracking_support is True


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://mock.shop/cb", "Callback url protocol ftp:// is not supported"),
        ("https://example.com/cb", "Callback url is not allowed"),
        ("https://shopify.com/cb", "Callback url is not allowed"),
    ],
)
def test_callback_urls_refused(shop: ShopState, url: str, message: str) -> None:
    with pytest.raises(OrderUserErrors) as exc:
        services_of(shop).create(name="X", app_id="1", callback_url=url)
    assert [(e.field, e.message) for e in exc.value.errors] == [(["callbackUrl"], message)]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/shopify",
        "http://localhost/cb",
        "https://mock.shop/cb",
        "https://svc.myshopify.com/cb",
    ],
)
def test_callback_urls_allowed(shop: ShopState, url: str) -> None:
    assert services_of(shop).create(name="X", app_id="1", callback_url=url).callback_url == url


def test_allow_list_is_per_shop(shop: ShopState) -> None:
    services = services_of(shop)
    services.allowed_callback_hosts.add("fulfil.example")
    assert services.create(name="X", app_id="1", callback_url="https://fulfil.example/cb")


def test_other_apps_cannot_touch_a_service(shop: ShopState) -> None:
    services = services_of(shop)
    service = services.create(name="Mine", app_id="1")
    with pytest.raises(OrderUserErrors) as exc:
        services.update(service.gid, {"name": "Theirs"}, app_id="2")
    assert exc.value.errors[0].message == "Fulfillment service could not be found."
    assert (
        services.delete(service.gid, app_id="1") == f"gid://shopify/FulfillmentService/{service.id}"
    )
    assert service.location_id not in shop.locations
