"""The Indian aggregators end to end: the sandbox Shopify, the Shiprocket and Clickpost twins
over real HTTP, the bridge's app under uvicorn with one account at each."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from fulfillbridge.carrier_twins.clickpost import create_app as clickpost_twin
from fulfillbridge.carrier_twins.shiprocket import create_app as shiprocket_twin
from fulfillbridge.core import work as core
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from fulfillbridge.web.app import create_app
from tests.api.seeding import add_key, api_settings
from tests.flows.outbox_helpers import STORE, Admin, connect_store
from tests.shipping.conftest import Shop

WAREHOUSE_MUMBAI = {
    "name": "Print Partner India",
    "address1": "Plot 7, MIDC Andheri East",
    "city": "Mumbai",
    "province_code": "MH",
    "zip": "400093",
    "country_code": "IN",
    "phone": "9820012345",
    "email": "dispatch@printpartner.example",
}
CUSTOMER_BENGALURU = core.Address(
    name="Priya Sharma",
    address1="12 MG Road",
    address2="Ashok Nagar",
    city="Bengaluru",
    province_code="KA",
    zip="560001",
    country_code="IN",
    phone="9876543210",
)
SHIPROCKET = "parcels-in"  # Shiprocket refuses webhook URLs containing "shiprocket" or "sr"
CLICKPOST = "cp-parcels"
HOOK_TOKEN = "hook-" + "x" * 24


@dataclass
class Twins:
    shiprocket: BackgroundServer
    clickpost: BackgroundServer
    email: str
    username: str


@pytest.fixture
def twins() -> Iterator[Twins]:
    email = f"api-{secrets.token_hex(4)}@twin.example"
    username = f"user-{secrets.token_hex(4)}"
    with (
        BackgroundServer(shiprocket_twin(email=email, password="pw-twin")) as sr,
        BackgroundServer(clickpost_twin(username=username, key="key-twin")) as cp,
    ):
        yield Twins(sr, cp, email, username)


@dataclass
class India:
    shop: Shop
    twins: Twins

    def http(self) -> httpx.AsyncClient:
        return self.shop.http()

    def twin_url(self, carrier: str) -> str:
        return (self.twins.shiprocket if carrier == "shiprocket" else self.twins.clickpost).url

    def scan(self, carrier: str, number: str, code: int) -> dict[str, Any]:
        field = "status" if carrier == "shiprocket" else "code"
        answer = httpx.post(
            f"{self.twin_url(carrier)}/__twin/packages/{number}/scan", json={field: code}
        )
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    def summary(self, carrier: str) -> dict[str, Any]:
        return httpx.get(f"{self.twin_url(carrier)}/__twin/summary").json()  # type: ignore[no-any-return]

    def lose_next_answer(self, carrier: str) -> None:
        httpx.post(f"{self.twin_url(carrier)}/__twin/lose-next-answer").raise_for_status()

    def send_webhooks(self, carrier: str, *, token: str = HOOK_TOKEN) -> None:
        account = SHIPROCKET if carrier == "shiprocket" else CLICKPOST
        field = "token" if carrier == "shiprocket" else "key"
        httpx.post(
            f"{self.twin_url(carrier)}/__twin/webhook",
            json={"url": f"{self.shop.url}/webhooks/carriers/{account}", field: token},
        ).raise_for_status()

    async def work(self, quantities: tuple[int, ...] = (2, 1), **kwargs: Any) -> int:
        kwargs.setdefault("address", CUSTOMER_BENGALURU)
        kwargs.setdefault("service", None)
        kwargs.setdefault("carrier", "Shiprocket")
        work_id, _ = await self.shop.work(quantities, currency="INR", **kwargs)
        return work_id


@pytest.fixture
async def india(fb_home, sandbox_url, twins: Twins, shop_database_url) -> AsyncIterator[India]:
    settings = api_settings(fb_home, shop_database_url)
    database = Database.from_settings(settings)
    app = create_app(settings)
    admin = Admin(sandbox_url)
    async with BackgroundServer(app) as server:
        store_id = await connect_store(database, sandbox_url)
        key = await add_key(database, "ops", [STORE])
        shop = Shop(settings, database, server.url, key, admin, store_id, twins.shiprocket.url)
        async with shop.http() as http:
            for body in (
                {
                    "name": SHIPROCKET,
                    "carrier": "shiprocket",
                    "credentials": {
                        "email": twins.email,
                        "password": "pw-twin",
                        "webhook_token": HOOK_TOKEN,
                    },
                    "account_number": "Mumbai-DC",
                    "base_url": twins.shiprocket.url,
                },
                {
                    "name": CLICKPOST,
                    "carrier": "clickpost",
                    "credentials": {
                        "username": twins.username,
                        "key": "key-twin",
                        "webhook_token": HOOK_TOKEN,
                    },
                    "base_url": twins.clickpost.url,
                },
            ):
                created = await http.post(
                    "/api/v1/carrier-accounts",
                    json={**body, "store": STORE, "ship_from": WAREHOUSE_MUMBAI},
                )
                assert created.status_code == 201, created.text
        yield India(shop, twins)
    admin.close()
    await database.close()
    if getattr(app.state, "database", None) is not None:
        await app.state.database.close()
