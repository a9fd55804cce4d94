"""Helpers for the processing, reconciliation and worker tests.

The merchant's side is the sandbox over real HTTP (GraphQL as Shopify's admin would send
it: a fulfillment service, stocked products, orders, fulfillment and cancellation requests).
The bridge's side is a real database with one store connected to the sandbox; events reach
the inbox through ``store.inbox`` as the intake would store them."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.flows.outbox import OutboxPolicy, send_due
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN
from fulfillbridge.store.database import Database
from fulfillbridge.store.inbox import InboxEvent, InboxRepository
from fulfillbridge.store.models import InboxEventRow, OutboxRow, WorkOrderRow, WorkTransitionRow

GRAPHQL = "/admin/api/2026-07/graphql.json"
STORE = "demo"
ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "address1": "1 Main St",
    "city": "Ottawa",
    "provinceCode": "ON",
    "countryCode": "CA",
    "zip": "K1A 0A1",
}
_keys = itertools.count(1)


class Merchant:
    """The shop's admin over real HTTP: what a test sets up in Shopify or checks there."""

    def __init__(self, sandbox_url: str) -> None:
        self.url = sandbox_url
        self.http = httpx.Client(base_url=sandbox_url, timeout=30)

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(
            GRAPHQL,
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def close(self) -> None:
        self.http.close()

    # -- set-up ---------------------------------------------------------------------------
    def create_service(self) -> str:
        """Our fulfillment service (as `store setup` would register it); its location id."""
        created = self(
            """mutation { fulfillmentServiceCreate(name: "fulfillbridge", trackingSupport: true,
                 inventoryManagement: true) {
                 fulfillmentService { location { id } } userErrors { field message } } }"""
        )["fulfillmentServiceCreate"]
        assert created["userErrors"] == []
        return created["fulfillmentService"]["location"]["id"]

    def merchant_location(self) -> str:
        data = self("{ locations(first: 10) { nodes { id isFulfillmentService } } }")
        return next(n["id"] for n in data["locations"]["nodes"] if not n["isFulfillmentService"])

    def product(self, sku: str, location: str | None) -> str:
        """A tracked product with ``sku``, stocked (500) at ``location``; its variant id."""
        variant = self(
            """mutation($t: String!) { productCreate(product: {title: $t}) {
                 product { variants(first: 1) { nodes { id inventoryItem { id } } } } } }""",
            {"t": f"Product {sku or 'without SKU'}"},
        )["productCreate"]["product"]["variants"]["nodes"][0]
        item = variant["inventoryItem"]["id"]
        self(
            """mutation($id: ID!, $sku: String) { inventoryItemUpdate(id: $id,
                 input: {tracked: true, sku: $sku}) { userErrors { message } } }""",
            {"id": item, "sku": sku or None},
        )
        if location is not None:
            activated = self(
                """mutation($item: ID!, $loc: ID!, $key: String!) { inventoryActivate(
                     inventoryItemId: $item, locationId: $loc, available: 500)
                     @idempotent(key: $key) { userErrors { field message } } }""",
                {"item": item, "loc": location, "key": f"activate-{next(_keys)}"},
            )
            assert activated["inventoryActivate"]["userErrors"] == []
        return variant["id"]

    def order(
        self,
        lines: list[dict[str, Any]],
        *,
        address: dict[str, Any] | None = ADDRESS,
        billing: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """orderCreate; ``lines`` are OrderCreateLineItemInput dicts. Returns {id, name,
        fulfillment_orders: [{id, location}]}."""
        # Paid: in order management only paid orders become work.
        order_input: dict[str, Any] = {"lineItems": lines, "financialStatus": "PAID"}
        if address is not None:
            order_input["shippingAddress"] = address
        if billing is not None:
            order_input["billingAddress"] = billing
        created = self(
            """mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) {
                 order { id name fulfillmentOrders(first: 10) { nodes { id
                   assignedLocation { location { id } } } } }
                 userErrors { field message } } }""",
            {"order": order_input},
        )["orderCreate"]
        assert created["userErrors"] == [], created["userErrors"]
        order = created["order"]
        return {
            "id": order["id"],
            "name": order["name"],
            "fulfillment_orders": [
                {"id": n["id"], "location": n["assignedLocation"]["location"]["id"]}
                for n in order["fulfillmentOrders"]["nodes"]
            ],
        }

    def request_fulfillment(self, fo_id: str) -> None:
        result = self(
            """mutation($id: ID!) { fulfillmentOrderSubmitFulfillmentRequest(id: $id,
                 message: "please make this", notifyCustomer: false) {
                 userErrors { message } } }""",
            {"id": fo_id},
        )["fulfillmentOrderSubmitFulfillmentRequest"]
        assert result["userErrors"] == [], result["userErrors"]

    def request_cancellation(self, fo_id: str) -> None:
        result = self(
            """mutation($id: ID!) { fulfillmentOrderSubmitCancellationRequest(id: $id,
                 message: "customer changed their mind") { userErrors { message } } }""",
            {"id": fo_id},
        )["fulfillmentOrderSubmitCancellationRequest"]
        assert result["userErrors"] == [], result["userErrors"]

    def cancel_order(self, order_id: str) -> None:
        result = self(
            """mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, restock: true,
                 refund: false) { orderCancelUserErrors { message } } }""",
            {"id": order_id},
        )["orderCancel"]
        assert result["orderCancelUserErrors"] == []

    def fulfillment_order(self, fo_id: str) -> dict[str, Any]:
        return self(
            """query($id: ID!) { fulfillmentOrder(id: $id) { id status requestStatus updatedAt
                 merchantRequests(first: 10) { nodes { kind message } } } }""",
            {"id": fo_id},
        )["fulfillmentOrder"]


@dataclass
class Bridge:
    """The bridge's database with one store connected to the sandbox."""

    settings: Settings
    database: Database
    store_id: int = 0
    deliveries: list[str] = field(default_factory=list)

    async def connect(self, sandbox_url: str, **store_settings: Any) -> int:
        async with self.database.stores() as stores:
            store = await stores.add(
                name=STORE,
                shop_domain=DEFAULT_SHOP_DOMAIN,
                auth_kind=AuthKind.TOKEN,
                secrets={"access_token": DEFAULT_ACCESS_TOKEN},
                api_base_url=sandbox_url,
                settings=store_settings,
            )
        self.store_id = store.id
        return store.id

    async def configure(self, **changes: Any) -> None:
        async with self.database.stores() as stores:
            await stores.update_settings(STORE, changes)

    async def event(
        self,
        topic: str,
        payload: dict[str, Any],
        *,
        source: str = "webhook",
        delivery_id: str | None = None,
    ) -> bool:
        """Store an event as the intake would; True when it was new."""
        delivery = delivery_id or uuid.uuid4().hex
        self.deliveries.append(delivery)
        async with self.database.transaction() as session:
            return await InboxRepository(session).add(
                InboxEvent(
                    store_id=self.store_id,
                    source=source,
                    topic=topic,
                    delivery_id=delivery,
                    payload=payload,
                )
            )

    async def callback(self, kind: str = "FULFILLMENT_REQUEST") -> bool:
        return await self.event("fulfillment_order_notification", {"kind": kind}, source="callback")

    async def work_orders(self) -> list[WorkOrderRow]:
        async with self.database.transaction() as session:
            return list(
                await session.scalars(
                    select(WorkOrderRow)
                    .where(WorkOrderRow.store_id == self.store_id)
                    .order_by(WorkOrderRow.id)
                )
            )

    async def work_order(self, fo_id: str) -> WorkOrderRow:
        rows = [row for row in await self.work_orders() if row.remote_id == fo_id]
        assert len(rows) == 1, f"{len(rows)} work orders for {fo_id}"
        return rows[0]

    async def outbox(self, *, target: str | None = None) -> list[OutboxRow]:
        async with self.database.transaction() as session:
            query = select(OutboxRow).where(OutboxRow.store_id == self.store_id)
            if target is not None:
                query = query.where(OutboxRow.target == target)
            return list(await session.scalars(query.order_by(OutboxRow.id)))

    async def transitions(self, work_id: int) -> list[WorkTransitionRow]:
        async with self.database.transaction() as session:
            return list(
                await session.scalars(
                    select(WorkTransitionRow)
                    .where(WorkTransitionRow.work_order_id == work_id)
                    .order_by(WorkTransitionRow.id)
                )
            )

    async def inbox(self) -> list[InboxEventRow]:
        async with self.database.transaction() as session:
            return list(await session.scalars(select(InboxEventRow).order_by(InboxEventRow.id)))


def bridge_settings(home: Path, **overrides: Any) -> Settings:
    return Settings(home=home, **overrides)


def order_payload(order_id: str, **extra: Any) -> dict[str, Any]:
    """The parts of an orders/* webhook body processing reads (REST shape, Shopify docs)."""
    number = int(order_id.rsplit("/", 1)[1])
    return {"id": number, "admin_graphql_api_id": order_id, **extra}


async def send_outbox(bridge: Bridge) -> int:
    """Send the outbox now, with short retry delays."""
    policy = OutboxPolicy(
        base_delay=0.02,
        max_delay=0.2,
        unknown_settle_seconds=0.0,
        verify_first_seconds=0.02,
        verify_max_seconds=0.2,
    )
    return await send_due(
        bridge.database, bridge.settings, worker_id="test", limit=100, policy=policy
    )
