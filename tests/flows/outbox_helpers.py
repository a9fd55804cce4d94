"""Helpers for the outbox tests: a bridge database with one store connected to the sandbox,
and fulfillment orders really created in the sandbox through the Admin GraphQL API (as the
merchant would: a fulfillment service, a stocked product, an order, a fulfillment request).
Work orders are written straight into the database with the core commands."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from fulfillbridge.config import Settings
from fulfillbridge.core import work as core
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.flows.outbox import OutboxPolicy, send_due
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import OutboxRow, WorkOrderRow
from fulfillbridge.store.work import WorkRepository, to_domain

GRAPHQL = "/admin/api/2026-07/graphql.json"
STORE = "demo"
# Short timings so retries and unknown outcomes resolve within a test.
FAST = OutboxPolicy(
    base_delay=0.02,
    max_delay=0.2,
    unknown_settle_seconds=0.0,
    verify_first_seconds=0.02,
    verify_max_seconds=0.2,
    max_attempts=30,
)
_counter = itertools.count(1)


class Admin:
    """The merchant's side of the sandbox over real HTTP (what a test sets up or checks)."""

    def __init__(self, sandbox_url: str) -> None:
        self.url = sandbox_url
        self.http = httpx.Client(base_url=sandbox_url, timeout=20)

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

    def fulfillment_order(self, fo_id: str) -> dict[str, Any]:
        return self(
            """query($id: ID!) { fulfillmentOrder(id: $id) {
                 id status requestStatus
                 assignedLocation { location { id } }
                 fulfillmentHolds { id handle reason reasonNotes }
                 lineItems(first: 20) { nodes { id totalQuantity remainingQuantity } }
                 merchantRequests(first: 10) { nodes { kind message } }
                 fulfillments(first: 20) { nodes { id status
                   trackingInfo(first: 10) { company number url }
                   events(first: 10) { nodes { status } }
                   fulfillmentLineItems(first: 20) { nodes { quantity } } } } } }""",
            {"id": fo_id},
        )["fulfillmentOrder"]

    def faults(self, settings: dict[str, Any]) -> None:
        self.http.post("/__sandbox/faults", json=settings).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        response = self.http.get(f"/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}/requests")
        response.raise_for_status()
        return response.json()["requests"]

    def close(self) -> None:
        self.http.close()


@dataclass
class ServiceSetup:
    location_id: str
    variants: list[str] = field(default_factory=list)


def create_service(admin: Admin, skus: tuple[str, ...] = ("TEE-1", "MUG-1")) -> ServiceSetup:
    """A fulfillment service (no callback) whose location alone stocks one product per SKU."""
    created = admin(
        """mutation { fulfillmentServiceCreate(name: "Print Partner", trackingSupport: true,
             inventoryManagement: true) {
             fulfillmentService { location { id } } userErrors { field message } } }"""
    )["fulfillmentServiceCreate"]
    assert created["userErrors"] == []
    setup = ServiceSetup(created["fulfillmentService"]["location"]["id"])
    for sku in skus:
        product = admin(
            """mutation($t: String!) { productCreate(product: {title: $t}) {
                 product { variants(first: 1) { nodes { id inventoryItem { id } } } } } }""",
            {"t": f"Product {sku}"},
        )["productCreate"]["product"]["variants"]["nodes"][0]
        item = product["inventoryItem"]["id"]
        admin(
            """mutation($id: ID!, $sku: String!) { inventoryItemUpdate(id: $id,
                 input: {tracked: true, sku: $sku}) { userErrors { message } } }""",
            {"id": item, "sku": sku},
        )
        activated = admin(
            """mutation($item: ID!, $loc: ID!, $key: String!) { inventoryActivate(
                 inventoryItemId: $item, locationId: $loc, available: 500)
                 @idempotent(key: $key) { userErrors { field message } } }""",
            {"item": item, "loc": setup.location_id, "key": f"activate-{sku}-{next(_counter)}"},
        )
        assert activated["inventoryActivate"]["userErrors"] == []
        setup.variants.append(product["id"])
    return setup


@dataclass
class RemoteOrder:
    order_id: str
    order_name: str
    fo_id: str
    lines: list[dict[str, Any]]  # {"id": FOLI gid, "quantity": n}


def order_for_service(
    admin: Admin, setup: ServiceSetup, quantities: tuple[int, ...] = (2,), *, submit: bool = True
) -> RemoteOrder:
    """An order of ``quantities`` of the service's products, routed to the service, with
    its fulfillment request submitted (as the merchant)."""
    order = admin(
        """mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) {
             order { id name fulfillmentOrders(first: 5) { nodes { id
               assignedLocation { location { id } }
               lineItems(first: 10) { nodes { id totalQuantity } } } } }
             userErrors { field message } } }""",
        {
            "order": {
                "lineItems": [
                    {"variantId": v, "quantity": q}
                    for v, q in zip(setup.variants, quantities, strict=False)
                ],
                "shippingAddress": {
                    "address1": "1 Main St",
                    "city": "Ottawa",
                    "countryCode": "CA",
                    "zip": "K1A 0A1",
                },
            }
        },
    )["orderCreate"]
    assert order["userErrors"] == [], order["userErrors"]
    (fo,) = order["order"]["fulfillmentOrders"]["nodes"]
    assert fo["assignedLocation"]["location"]["id"] == setup.location_id
    if submit:
        submitted = admin(
            """mutation($id: ID!) { fulfillmentOrderSubmitFulfillmentRequest(id: $id,
                 message: "please", notifyCustomer: false) {
                 submittedFulfillmentOrder { requestStatus } userErrors { message } } }""",
            {"id": fo["id"]},
        )["fulfillmentOrderSubmitFulfillmentRequest"]
        assert submitted["userErrors"] == []
    lines = [{"id": n["id"], "quantity": n["totalQuantity"]} for n in fo["lineItems"]["nodes"]]
    return RemoteOrder(order["order"]["id"], order["order"]["name"], fo["id"], lines)


def submit_cancellation(admin: Admin, fo_id: str) -> None:
    result = admin(
        """mutation($id: ID!) { fulfillmentOrderSubmitCancellationRequest(id: $id,
             message: "customer changed their mind") { userErrors { message } } }""",
        {"id": fo_id},
    )["fulfillmentOrderSubmitCancellationRequest"]
    assert result["userErrors"] == []


# ------------------------------------------------------------------ the bridge's side
def bridge_settings(home: Path, **overrides: Any) -> Settings:
    return Settings(home=home, **overrides)


async def connect_store(database: Database, sandbox_url: str) -> int:
    async with database.stores() as stores:
        store = await stores.add(
            name=STORE,
            shop_domain=DEFAULT_SHOP_DOMAIN,
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": DEFAULT_ACCESS_TOKEN},
            api_base_url=sandbox_url,
        )
    return store.id


async def new_work(database: Database, store_id: int, remote: RemoteOrder) -> int:
    """A received work order for ``remote`` (fulfillment-service mode)."""
    order = core.WorkOrder(
        store=STORE,
        remote_id=remote.fo_id,
        order_name=remote.order_name,
        mode=core.Mode.FULFILLMENT_SERVICE,
        lines=tuple(
            core.WorkLine(line_id=line["id"], sku=f"SKU-{i}", quantity=line["quantity"])
            for i, line in enumerate(remote.lines)
        ),
    )
    async with database.transaction() as session:
        row = await WorkRepository(session).create(
            store_id, order, order_remote_id=remote.order_id, location_remote_id=None, actor="test"
        )
        return row.id


async def apply(database: Database, work_id: int, command: Any, *args: Any, **kw: Any) -> list[int]:
    """Apply a core command to the work order and store its outcome; returns outbox ids."""
    async with database.transaction() as session:
        repo = WorkRepository(session)
        row = await repo.get(work_id)
        outcome = command(to_domain(row, STORE), *args, **kw)
        queued = await repo.store_outcome(row, outcome, actor="test")
        return [q.id for q in queued]


async def outbox_rows(database: Database, work_id: int | None = None) -> list[OutboxRow]:
    async with database.transaction() as session:
        query = select(OutboxRow).order_by(OutboxRow.id)
        if work_id is not None:
            query = query.where(OutboxRow.work_order_id == work_id)
        return list(await session.scalars(query))


async def work_row(database: Database, work_id: int) -> WorkOrderRow:
    async with database.transaction() as session:
        return await WorkRepository(session).get(work_id)


async def drain(
    database: Database,
    settings: Settings,
    *,
    worker_id: str = "test-worker",
    policy: OutboxPolicy = FAST,
    rounds: int = 200,
) -> None:
    """Call send_due until nothing is left to send (bounded)."""
    import asyncio

    for _ in range(rounds):
        await send_due(database, settings, worker_id=worker_id, policy=policy)
        rows = await outbox_rows(database)
        if all(r.status in ("done", "failed", "skipped") for r in rows):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"outbox not drained: {[(r.id, r.kind, r.status) for r in rows]}")
