"""A store on the sandbox (over real HTTP) with a catalogue seeded through the sandbox's
domain API in-process, and the bridge's database on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.state import Location, ShopState, gid
from fulfillbridge.store.database import Database

DOMAIN = "demo-shop.myshopify.com"


@dataclass
class Shop:
    state: ShopState
    catalog: Catalog
    location: int  # the store's default (fulfillment-service) location
    berlin: int  # a second location, mapped from the "berlin" warehouse
    items: dict[str, int]  # SKU -> inventory item id (last one added for a SKU)

    def add(
        self,
        sku: str,
        *,
        tracked: bool = True,
        available: int = 0,
        at: Sequence[int] | None = None,
    ) -> int:
        product = self.catalog.create_product(f"Product {sku}", default_variant=False)
        variant = self.catalog.add_variant(product.id, sku=sku, tracked=tracked)
        item = variant.inventory_item_id
        for location in at if at is not None else (self.location,):
            self.catalog.activate(item, location, available=available, on_hand=available)
        self.items[sku] = item
        return item

    def on_hand(self, sku: str, location: int | None = None) -> int:
        return self.catalog.quantity(self.items[sku], location or self.location, "on_hand")


@pytest.fixture
def shop(sandbox: SandboxServer, sandbox_url: str) -> Shop:
    state = sandbox.sandbox.shops[DOMAIN].state
    location = min(state.locations)
    berlin = state.next_id()
    state.locations[berlin] = Location(id=berlin, name="Berlin", created_at=state.clock.iso_now())
    catalog = state.part("catalog", Catalog)
    return Shop(state, catalog, location, berlin, {})


@pytest.fixture
def settings(fb_home, shop: Shop) -> Settings:
    return Settings(
        home=fb_home,
        warehouses=[
            {"name": "main", "priority": 1},
            {"name": "berlin", "priority": 2, "locations": [gid("Location", shop.berlin)]},
            {"name": "nowhere", "priority": 3, "locations": []},
        ],
    )


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = Database.from_settings(settings)
    yield database
    await database.close()


async def add_store(
    database: Database, sandbox_url: str, shop: Shop, name: str = "acme", **settings
) -> None:
    async with database.stores() as stores:
        await stores.add(
            name=name,
            shop_domain=DOMAIN,
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": "shpat_sandbox", "webhook_secret": "sandbox-client-secret"},
            api_base_url=f"{sandbox_url}/shops/{DOMAIN}",
            # Feeds in these tests are served from 127.0.0.1: the allow-list admits it.
            settings={
                "location_id": gid("Location", shop.location),
                **(
                    {"inventory_feed_allow": ["127.0.0.1/32"]}
                    if "inventory_feed_url" in settings
                    else {}
                ),
                **settings,
            },
        )
