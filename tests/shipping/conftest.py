"""Shipping end to end: the sandbox Shopify and the UPS twin over real HTTP, the bridge's app
under uvicorn, and a work order for a real fulfillment order in the sandbox."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from fulfillbridge.carrier_twins.ups import create_app as ups_twin
from fulfillbridge.config import Settings
from fulfillbridge.core import work as core
from fulfillbridge.core.details import Delivery, OrderDetails
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from fulfillbridge.store.work import WorkRepository
from fulfillbridge.web.app import create_app
from tests.api.seeding import add_key, api_settings
from tests.flows.outbox_helpers import (
    STORE,
    Admin,
    ServiceSetup,
    apply,
    connect_store,
    create_service,
    drain,
    order_for_service,
)

WAREHOUSE = {
    "name": "Print Partner",
    "address1": "100 Factory Rd",
    "city": "Louisville",
    "province_code": "KY",
    "zip": "40201",
    "country_code": "US",
}
CUSTOMER = core.Address(
    name="Ann Smith",
    address1="5 Elm St",
    city="Austin",
    province_code="TX",
    zip="78701",
    country_code="US",
)
ABROAD = core.Address(
    name="Jo Martin", address1="1 Rue de Rivoli", city="Paris", zip="75001", country_code="FR"
)


# Each twin has its own client id: the carrier layer keeps OAuth tokens per server and
# credentials for the process, and a later twin may get an earlier one's port.
TWIN_SECRET = "twin-secret"


@pytest.fixture
def twin() -> Iterator[BackgroundServer]:
    client_id = f"client-{secrets.token_hex(6)}"
    with BackgroundServer(ups_twin(client_id=client_id, client_secret=TWIN_SECRET)) as running:
        running.client_id = client_id  # type: ignore[attr-defined]
        yield running


@dataclass
class Shop:
    settings: Settings
    database: Database
    url: str
    key: str
    admin: Admin
    store_id: int
    twin_url: str
    service: ServiceSetup | None = None

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )

    async def drain(self) -> None:
        await drain(self.database, self.settings)

    def scan(self, number: str, kind: str, **extra: Any) -> None:
        httpx.post(
            f"{self.twin_url}/__twin/packages/{number}/scan", json={"type": kind, **extra}
        ).raise_for_status()

    def twin_summary(self) -> dict[str, Any]:
        return httpx.get(f"{self.twin_url}/__twin/summary").json()

    async def work(
        self,
        quantities: tuple[int, ...] = (2, 1),
        *,
        address: core.Address = CUSTOMER,
        customs: bool = True,
        service: str | None = "ups_ground",
        carrier: str = "UPS",
        currency: str = "USD",
    ) -> tuple[int, list[str]]:
        """A work order (accepted) for a real fulfillment order in the sandbox, whose lines
        carry weights and customs data as the bridge copies them from Shopify."""
        if self.service is None:
            self.service = create_service(self.admin)
        remote = order_for_service(self.admin, self.service, quantities)
        lines = tuple(
            core.WorkLine(
                line_id=line["id"],
                sku=f"SKU-{i}",
                quantity=line["quantity"],
                title=f"Product {i}",
                weight_grams=400.0 + 100 * i,
                unit_price="12.50",
                hs_code="6109.10" if customs else None,
                country_of_origin="PT" if customs else None,
            )
            for i, line in enumerate(remote.lines)
        )
        order = core.WorkOrder(
            store=STORE,
            remote_id=remote.fo_id,
            order_name=remote.order_name,
            mode=core.Mode.FULFILLMENT_SERVICE,
            lines=lines,
            shipping_address=address,
            details=replace(
                OrderDetails(currency=currency),
                delivery=Delivery(carrier=carrier, carrier_service=service),
            ),
        )
        async with self.database.transaction() as session:
            row = await WorkRepository(session).create(
                self.store_id,
                order,
                order_remote_id=remote.order_id,
                location_remote_id=None,
                actor="test",
            )
            work_id = row.id
        await apply(self.database, work_id, core.accept, warehouse="main")
        await self.drain()
        return work_id, [line["id"] for line in remote.lines]


@pytest.fixture
def shop_database_url() -> str | None:
    """SQLite in the home (where the CLI finds it); a module may run on every engine."""
    return None


@pytest.fixture
async def shop(fb_home, sandbox_url, twin, shop_database_url) -> AsyncIterator[Shop]:
    settings = api_settings(fb_home, shop_database_url)
    database = Database.from_settings(settings)
    app = create_app(settings)
    admin = Admin(sandbox_url)
    async with BackgroundServer(app) as server:
        store_id = await connect_store(database, sandbox_url)
        key = await add_key(database, "ops", [STORE])
        shop = Shop(settings, database, server.url, key, admin, store_id, twin.url)
        async with shop.http() as http:
            created = await http.post(
                "/api/v1/carrier-accounts",
                json={
                    "name": "ups-main",
                    "carrier": "ups",
                    "store": STORE,
                    "credentials": {"client_id": twin.client_id, "client_secret": TWIN_SECRET},
                    "account_number": "A1B2C3",
                    "base_url": twin.url,
                    "ship_from": WAREHOUSE,
                },
            )
            assert created.status_code == 201, created.text
        yield shop
    admin.close()
    await database.close()
    if getattr(app.state, "database", None) is not None:
        await app.state.database.close()


# The Indian aggregators' twins and a bridge with an account at each (tests/shipping/india.py).
from tests.shipping.india import india, twins  # noqa: E402, F401
