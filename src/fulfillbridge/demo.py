"""``fulfillbridge demo``: the whole job on the embedded default, against the built-in sandbox.

1. Start the sandbox (a local Shopify) and the bridge's HTTP app; connect the sandbox shop as
   store ``demo`` (SQLite under the configured home) and set it up as a fulfillment service.
2. The sandbox plays the merchant: a catalogue stocked at our location, paid orders of
   realistic variety, fulfillment requests sent automatically.
3. A worker takes the requests in, validates, routes, accepts or rejects them; a simulated
   production line takes accepted work through the stages and ships it with tracking
   (some in two packages, one after a hold); the merchant asks to cancel two orders, one
   early enough and one too late, and cancels another outright.
   One order ships with a label bought from a local UPS (``carrier_twins.ups``, started
   beside the sandbox) through the carrier layer; the local UPS then scans the parcel
   along, and the worker's tracking poll (its pace shortened to seconds in the demo's
   settings) passes each step on to Shopify until the parcel is delivered.
4. A customer sends back one shipped order: the merchant approves the return, the bridge
   makes return work of it, the operation receives the units and restocks them (Shopify's
   stock goes up by as many).
5. A table of what Shopify ended up with; with ``--keep``, the URLs to look at, kept up
   until Ctrl-C.

Everything lives in a temporary home (SQLite file and key) removed at the end: a run leaves
no store behind and reads nothing of the user's own configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from fulfillbridge.carrier_twins import ups as ups_twin
from fulfillbridge.config import Settings
from fulfillbridge.core.errors import FulfillbridgeError
from fulfillbridge.core.returns import Disposition, DispositionDecision, Receipt, ReturnState
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.core.tracking import SHOPIFY_EVENT, ParcelStatus
from fulfillbridge.core.work import Tracking, WorkState
from fulfillbridge.flows import actions, connect, setup, shipping
from fulfillbridge.flows import returns as return_flows
from fulfillbridge.flows.work_settings import work_setting_changes
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import (
    LabelRow,
    OutboxRow,
    ReturnWorkRow,
    ShipmentRow,
    StoreRow,
    TrackingEventRow,
    WorkOrderRow,
    WorkTransitionRow,
)
from fulfillbridge.web.app import create_app
from fulfillbridge.worker import run_worker

DEMO_STORE = "demo"
DEMO_SHOP = "demo-shop.myshopify.com"
# The sandbox's documented local-only credentials (see README, "The sandbox").
DEMO_TOKEN = "shpat_sandbox"
DEMO_WEBHOOK_SECRET = "sandbox-client-secret"
DEMO_TIMEOUT = 120.0  # seconds; the run normally takes a few
# The local UPS's default credentials (carrier_twins/ups.py); they open nothing real.
TWIN_CREDENTIALS = {"client_id": "twin-client", "client_secret": "twin-secret"}
DEMO_WAREHOUSE = {
    "name": "Shipping desk",
    "company": "Demo Print Works",
    "address1": "100 Factory Rd",
    "city": "Louisville",
    "province_code": "KY",
    "zip": "40201",
    "country_code": "US",
}
LABEL_PACKAGE = "box-1"
# The labelled parcel's journey at the local UPS, one step per tracking poll: picked up and
# on its way (one IN_TRANSIT event for both scans), out for delivery, delivered.
PARCEL_STEPS: tuple[tuple[str, ...], ...] = (("P", "I"), ("O",), ("D",))

_FULFILLMENT = """query DemoFulfillment($id: ID!) { fulfillment(id: $id) {
  trackingInfo(first: 5) { company number } events(first: 20) { nodes { status } } } }"""
_SUMMARY = """query DemoSummary { orders(first: 100, sortKey: CREATED_AT) { nodes {
  name cancelledAt displayFulfillmentStatus
  fulfillmentOrders(first: 10) { nodes { status requestStatus
    assignedLocation { name } merchantRequests(first: 5) { nodes { kind message } }
    fulfillments(first: 10) { nodes { trackingInfo(first: 5) { company number } } } } } } } }"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class _Line:
    """What the simulated production line does, and has done, per work order."""

    plan: dict[int, str] = field(default_factory=dict)
    done: set[int] = field(default_factory=set)
    cancel_asked: set[int] = field(default_factory=set)
    held_by_merchant: set[int] = field(default_factory=set)
    released_by_merchant: set[int] = field(default_factory=set)
    labelled: int | None = None  # the work order shipped with a bought label
    label: LabelRow | None = None
    label_problem: str | None = None
    parcel_steps: int = 0  # steps of PARCEL_STEPS the local UPS has scanned


async def _production_line(
    database: Database, settings: Settings, sandbox_url: str, line: _Line, stop: asyncio.Event
) -> None:
    stages = settings.stages
    plans = (
        "ship",
        "two_packages",
        "hold_then_ship",
        "cancel_early",
        "cancel_late",
        "merchant_hold",
    )
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as http:
        while not stop.is_set():
            async with database.transaction() as session:
                rows, _ = await actions.list_work(session, limit=250)
            for row, _store in rows:
                if row.id in line.done or row.state in {s.value for s in _FINAL}:
                    line.done.add(row.id)
                    continue
                # The personalised print order is made and shipped as ordered.
                made_to_order = any(entry.get("properties") for entry in row.lines)
                plan = line.plan.setdefault(
                    row.id, "ship" if made_to_order else plans[len(line.plan) % len(plans)]
                )
                if plan == "ship" and not made_to_order and line.labelled is None:
                    # The first plain order ships with a label bought from the carrier.
                    line.labelled = row.id
                    line.plan[row.id] = plan = "label"
                await _step(database, settings, http, row, plan, stages, line)
            await asyncio.sleep(0.1)


_FINAL = {
    WorkState.SHIPPED,
    WorkState.DELIVERED,
    WorkState.REJECTED,
    WorkState.CANCELLED,
    WorkState.INCOMPLETE,
    WorkState.EXCEPTION,
}


async def _writes_sent(database: Database, row: WorkOrderRow) -> bool:
    """Whether every write for this work order has reached Shopify."""
    async with database.transaction() as session:
        pending = await session.scalar(
            select(OutboxRow.id)
            .where(OutboxRow.work_order_id == row.id, OutboxRow.status != "done")
            .limit(1)
        )
    return pending is None


async def _cancellation_refused(database: Database, row: WorkOrderRow) -> bool:
    async with database.transaction() as session:
        refused = await session.scalar(
            select(OutboxRow.id).where(
                OutboxRow.work_order_id == row.id,
                OutboxRow.kind == "reject_cancellation",
                OutboxRow.status == "done",
            )
        )
    return refused is not None


async def _step(
    database: Database,
    settings: Settings,
    http: httpx.AsyncClient,
    row: WorkOrderRow,
    plan: str,
    stages: list[str],
    line: _Line,
) -> None:
    ref = str(row.id)

    async def act(command: Any) -> None:
        with contextlib.suppress(actions.ActionError):
            await actions.run_action(database, settings, ref, command, actor="production-line")

    tracking = Tracking("UPS", f"1Z{row.id:08d}", f"https://www.ups.com/track?num=1Z{row.id:08d}")
    if plan in ("cancel_early", "cancel_late"):
        if row.id not in line.cancel_asked:
            if plan == "cancel_late" and row.stage != stages[-1]:
                for stage in stages:
                    await act(actions.StartStage(stage))
                return
            if not await _writes_sent(database, row):
                return  # Shopify must have our accept (and stages) before the merchant asks
            line.cancel_asked.add(row.id)
            await http.post(
                f"/__sandbox/shops/{DEMO_SHOP}/merchant",
                json={
                    "action": "submit_cancellation_request",
                    "fulfillment_order_id": row.remote_id,
                    "message": "Customer changed their mind",
                },
            )
            return
        # Wait for the bridge's answer; a refused cancellation (too far along) ships.
        if not await _cancellation_refused(database, row):
            return
    if plan == "merchant_hold" and row.id not in line.held_by_merchant:
        # The merchant holds accepted work in Shopify (a fraud check) and releases it later:
        # meanwhile the operation cannot ship it.
        if row.state != WorkState.ACCEPTED.value or not await _writes_sent(database, row):
            return
        line.held_by_merchant.add(row.id)
        await _merchant(
            http,
            "hold_fulfillment_order",
            fulfillment_order_id=row.remote_id,
            reason="HIGH_RISK_OF_FRAUD",
            reason_notes="Verifying the card with the bank",
        )
        return
    if (
        plan == "merchant_hold"
        and row.state == WorkState.ACCEPTED.value
        and row.id not in line.released_by_merchant
    ):
        return  # the bridge has not read the merchant's hold yet
    if row.state == WorkState.ON_HOLD.value and row.held_by == "merchant":
        if row.id in line.released_by_merchant:
            return  # released in Shopify; the bridge will hear of it
        refused = False
        try:
            await actions.run_action(
                database, settings, ref, actions.Ship(None, (tracking,)), actor="production-line"
            )
        except actions.ActionError:
            refused = True  # as it must be: the merchant's hold stops shipping
        if refused:
            line.released_by_merchant.add(row.id)
            await _merchant(http, "release_hold", fulfillment_order_id=row.remote_id)
        return
    if row.state == WorkState.ON_HOLD.value:
        await act(actions.Release())
        return
    if row.state == WorkState.ACCEPTED.value and plan == "hold_then_ship" and row.stage is None:
        await act(actions.StartStage(stages[0]))
        await act(actions.Hold("INVENTORY_OUT_OF_STOCK", "Waiting for blank stock"))
        return
    for stage in stages[stages.index(row.stage) + 1 if row.stage in stages else 0 :]:
        await act(actions.StartStage(stage))
    lines = [entry for entry in row.lines if entry["quantity"] - entry.get("shipped", 0) > 0]
    if (
        plan == "two_packages"
        and row.state != WorkState.PARTIALLY_SHIPPED.value
        and (len(lines) > 1 or (lines and lines[0]["quantity"] > 1))
    ):
        first = lines[0]
        await act(actions.Ship((actions.ShipLine(1, line_id=first["line_id"]),), (tracking,)))
        return
    if plan == "label" and await _ship_with_label(database, settings, row, line):
        return
    if plan != "two_packages":
        await act(actions.Ship(None, (tracking,)))
    elif row.state == WorkState.PARTIALLY_SHIPPED.value:
        await act(actions.Ship(None, (Tracking("UPS", f"1Z{row.id:08d}B", None),)))
    else:  # one unit: one shipment in two boxes
        await act(actions.Ship(None, (tracking, Tracking("UPS", f"1Z{row.id:08d}B", None))))


async def _ship_with_label(
    database: Database, settings: Settings, row: WorkOrderRow, line: _Line
) -> bool:
    """Buy the package's label from the local UPS and report the shipment with its tracking
    number. False (and the problem kept for the report) when the carrier refused."""
    if line.label_problem is not None:
        return False
    abroad = (row.shipping_address or {}).get("country_code") != DEMO_WAREHOUSE["country_code"]
    try:
        bought = await shipping.buy_label(
            database,
            row.id,
            shipping.LabelRequest(
                package=LABEL_PACKAGE, service="ups_standard" if abroad else "ups_ground"
            ),
            actor="production-line",
        )
        await shipping.ship_labels(
            database, settings, row.id, [bought.label.id], actor="production-line"
        )
    except FulfillbridgeError as exc:
        line.label_problem = exc.message
        line.labelled = None  # ships with a tracking number of its own instead
        return False
    line.label = bought.label
    return True


async def _carrier(database: Database, twin_url: str, line: _Line, stop: asyncio.Event) -> None:
    """The local UPS moves the labelled parcel along, one step each time the worker has
    passed the step before on to Shopify."""
    async with httpx.AsyncClient(base_url=twin_url, timeout=10) as http:
        while not stop.is_set():
            await asyncio.sleep(0.2)
            label = line.label
            if label is None or line.parcel_steps >= len(PARCEL_STEPS):
                continue
            if len(await _parcel_events(database, label.id)) < line.parcel_steps:
                continue
            for kind in PARCEL_STEPS[line.parcel_steps]:
                scanned = await http.post(
                    f"/__twin/packages/{label.tracking_number}/scan", json={"type": kind}
                )
                scanned.raise_for_status()
            line.parcel_steps += 1


async def _parcel_events(database: Database, label_id: int) -> list[str]:
    """The events (Shopify's statuses) the worker passed on for the labelled parcel."""
    async with database.transaction() as session:
        statuses = await session.scalars(
            select(TrackingEventRow.status)
            .join(LabelRow, LabelRow.shipment_id == TrackingEventRow.shipment_id)
            .where(LabelRow.id == label_id)
            .order_by(TrackingEventRow.id)
        )
        return [SHOPIFY_EVENT.get(ParcelStatus(status), status) for status in statuses]


async def _parcel_delivered(database: Database, line: _Line) -> bool:
    """No labelled parcel to wait for, or its work order is delivered."""
    if line.labelled is None:
        return True
    async with database.transaction() as session:
        state = await session.scalar(
            select(WorkOrderRow.state).where(WorkOrderRow.id == line.labelled)
        )
    return state == WorkState.DELIVERED.value


async def _labelled_fulfillment(database: Database, line: _Line) -> str | None:
    """The Shopify fulfillment that carries the bought label's tracking number."""
    if line.label is None:
        return None
    async with database.transaction() as session:
        return await session.scalar(
            select(ShipmentRow.remote_fulfillment_id)
            .join(LabelRow, LabelRow.shipment_id == ShipmentRow.id)
            .where(LabelRow.id == line.label.id)
        )


def _made_to_order(row: WorkOrderRow) -> str:
    """What the operation was given to make it: personalisation, and the carrier service."""
    parts = []
    for line in row.lines:
        for key, value in line.get("properties") or []:
            shown = value if len(value) <= 28 else value[:25] + "..."
            parts.append(f"{key}: {shown}")
    delivery = (row.details or {}).get("delivery") or {}
    if delivery.get("presented_name") and delivery.get("presented_name") != "Standard":
        parts.append(f"ship {delivery['presented_name']}")
    return "; ".join(parts)


def _held(reasons: list[str]) -> str:
    """Holds placed in Shopify and their release, as the work's timeline recorded them."""
    held = [r.removeprefix("held: ") for r in reasons if r.startswith("held: ")]
    if not held:
        return ""
    released = any(r == "hold released in Shopify" for r in reasons)
    return f"held in Shopify: {held[-1]}" + ("; released, then shipped" if released else "")


async def _merchant(http: httpx.AsyncClient, action: str, **body: Any) -> None:
    answer = await http.post(
        f"/__sandbox/shops/{DEMO_SHOP}/merchant", json={"action": action, **body}
    )
    answer.raise_for_status()


async def _settled(database: Database) -> bool:
    """Nothing left to do: every work order final and every write sent (or given up)."""
    async with database.transaction() as session:
        open_work = await session.scalar(
            select(WorkOrderRow.id)
            .where(WorkOrderRow.state.not_in([s.value for s in _FINAL]))
            .limit(1)
        )
        unsent = await session.scalar(
            select(OutboxRow.id)
            .where(OutboxRow.status.in_(["pending", "sending", "unknown"]))
            .limit(1)
        )
        stores = await session.scalar(select(StoreRow.id).limit(1))
    return stores is not None and open_work is None and unsent is None


def demo_settings(home: Path, public_url: str) -> Settings:
    """Settings of a demo run: its own home, its own SQLite file and key; nothing of the
    user's configuration (database, key, webhook URL) is used."""
    return Settings(
        home=home,
        database_url=None,
        secret_key=None,
        public_url=public_url,
        operation_webhook_url=None,
        # The local UPS scans the parcel within seconds: ask it at that pace, not a real
        # carrier's half hour.
        tracking_poll_first_seconds=0.5,
        tracking_poll_seconds=0.5,
        tracking_poll_max_seconds=1.0,
    )


async def run_demo(console: Console, *, orders: int = 12, keep: bool = False) -> None:
    """The whole job in a temporary home, removed at the end. With ``keep`` the sandbox, the
    bridge and a worker stay up (and their links are printed) until interrupted."""
    from fulfillbridge.sandbox.server import SandboxServer

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="fulfillbridge-demo-") as home:
        settings = demo_settings(Path(home), f"http://127.0.0.1:{port}")
        console.print("[bold]fulfillbridge demo[/] (in a temporary home, removed at the end)")
        with SandboxServer() as sandbox, BackgroundServer(ups_twin.create_app()) as twin:
            bridge = BackgroundServer(create_app(settings), port=port)
            with bridge:
                console.print(
                    f"sandbox Shopify at {sandbox.url}; local UPS at {twin.url}; "
                    f"bridge at {bridge.url}"
                )
                await _connect(settings, sandbox.url, console)
                database = Database.from_settings(settings)
                try:
                    await _carrier_account(database, twin.url, console)
                    line = await _run(settings, database, sandbox.url, twin.url, console, orders)
                    await _a_return(settings, database, sandbox.url, console)
                    await _report(settings, database, sandbox.url, console, line)
                    if keep:
                        await _keep_up(settings, database, sandbox.url, bridge.url, console)
                    else:
                        console.print(
                            "the sandbox and the bridge stop now; `fulfillbridge demo --keep` "
                            "keeps them up to look at the dashboard, the API and the sandbox"
                        )
                finally:
                    await database.close()


async def _keep_up(
    settings: Settings, database: Database, sandbox_url: str, bridge_url: str, console: Console
) -> None:
    """Keep everything up, a worker included, until interrupted; print where to look."""
    from fulfillbridge.store.api_keys import ApiKeyRepository

    async with database.transaction() as session:
        created = await ApiKeyRepository(session).create("demo", [])
    console.print(
        f"look at: the dashboard {bridge_url}/ (user anything, password {created.plain}), "
        f"the API docs {bridge_url}/docs (Bearer {created.plain}), the sandbox's controls "
        f"{sandbox_url}/__sandbox/ and state {sandbox_url}/__sandbox/state?shop={DEMO_SHOP}",
        soft_wrap=True,
        highlight=False,
    )
    console.print("up until Ctrl-C; everything is removed then")
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(settings, stop=stop, database=database, worker_id="demo")
    )
    try:
        await asyncio.Event().wait()
    finally:
        stop.set()
        await asyncio.gather(worker, return_exceptions=True)


async def _connect(settings: Settings, sandbox_url: str, console: Console) -> None:
    await connect.add_store(
        settings,
        name=DEMO_STORE,
        shop=DEMO_SHOP,
        kind=AuthKind.TOKEN,
        token=DEMO_TOKEN,
        webhook_secret=DEMO_WEBHOOK_SECRET,
        api_url=sandbox_url,
    )
    report = await connect.check_store(settings, DEMO_STORE)
    console.print(
        f"connected store [bold]{DEMO_STORE}[/]: {report.shop_name}, plan {report.plan_name}, "
        f"API {report.api_version}, scopes "
        + ("complete" if report.ok else f"missing {', '.join(report.missing)}")
    )
    await setup.configure_store(
        settings,
        DEMO_STORE,
        mode="fulfillment_service",
        work_changes=work_setting_changes(returns=True),
    )
    done = await setup.setup_store(settings, DEMO_STORE)
    console.print(f"set up as a fulfillment service: {len(done.steps)} steps")


async def _carrier_account(database: Database, twin_url: str, console: Console) -> None:
    """One UPS account for every store, pointed at the local UPS."""
    await shipping.add_account(
        database,
        name="ups-demo",
        carrier="ups",
        credentials=TWIN_CREDENTIALS,
        ship_from=DEMO_WAREHOUSE,
        account_number="DEMO01",
        base_url=twin_url,
    )
    console.print("carrier account [bold]ups-demo[/] (every store) buys labels at the local UPS")


async def _run(
    settings: Settings,
    database: Database,
    sandbox_url: str,
    twin_url: str,
    console: Console,
    orders: int,
) -> _Line:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as http:
        (
            await http.post(
                f"/__sandbox/shops/{DEMO_SHOP}/settings",
                json={"auto_submit_fulfillment_requests": True},
            )
        ).raise_for_status()
        seeded = await http.post(
            f"/__sandbox/seed?shop={DEMO_SHOP}",
            json={"products": 8, "orders": orders, "seed": 7, "stock_at": "service"},
        )
        seeded.raise_for_status()
        # A print shop's custom order: engraving text and artwork on the line, a gift note,
        # express shipping.
        personalised = await http.post(
            f"/__sandbox/shops/{DEMO_SHOP}/merchant",
            json={
                "action": "create_orders",
                "count": 1,
                "variety": "simple",
                "seed": 3,
                "personalised": True,
                "delivery": "express",
            },
        )
        personalised.raise_for_status()
    console.print(
        f"the merchant received {seeded.json()['result']['orders']} paid orders and one "
        "personalised print order"
    )
    stop = asyncio.Event()
    line = _Line()
    workers = [
        asyncio.create_task(run_worker(settings, stop=stop, database=database, worker_id="demo")),
        asyncio.create_task(_production_line(database, settings, sandbox_url, line, stop)),
        asyncio.create_task(_carrier(database, twin_url, line, stop)),
    ]
    started = time.monotonic()
    try:
        with console.status("working: intake, production, shipping, reporting back..."):
            while time.monotonic() - started < DEMO_TIMEOUT:
                await asyncio.sleep(0.5)
                for task in workers:
                    if task.done() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
                if (
                    line.plan
                    and await _settled(database)
                    and await _parcel_delivered(database, line)
                ):
                    break
            else:
                console.print("[yellow]the demo's time ran out before all work settled[/]")
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
    console.print(f"done in {time.monotonic() - started:.1f} s")
    await _tell_label(database, line, console)
    return line


async def _tell_label(database: Database, line: _Line, console: Console) -> None:
    if line.label_problem is not None:
        console.print(
            f"[yellow]no label bought: {line.label_problem}[/] (shipped with a tracking "
            "number of its own instead)",
            highlight=False,
        )
    label = line.label
    if label is None:
        return
    async with database.transaction() as session:
        order = await session.scalar(
            select(WorkOrderRow.order_name).where(WorkOrderRow.id == label.work_order_id)
        )
    events = await _parcel_events(database, label.id)
    console.print(
        f"{order} shipped with a {label.company} label bought at the local UPS: "
        f"{label.tracking_number}, {label.service}, "
        f"{len(label.label_data or b'') / 1024:.1f} KB {label.label_format}; the worker "
        f"followed the parcel and sent {len(events)} events to Shopify "
        f"({', '.join(events) or 'none'})",
        highlight=False,
        soft_wrap=True,
    )


async def _wait_for(check: Any, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.2)
    return None


async def _a_return(
    settings: Settings, database: Database, sandbox_url: str, console: Console
) -> None:
    """A customer sends back a shipped order: requested in the shop, approved by the merchant,
    received and restocked by the operation, the disposition reported to Shopify."""
    async with database.transaction() as session:
        shipped = await session.scalar(
            select(WorkOrderRow)
            .where(WorkOrderRow.state.in_([WorkState.SHIPPED.value, WorkState.DELIVERED.value]))
            .order_by(WorkOrderRow.id)
            .limit(1)
        )
    if shipped is None:
        console.print("[yellow]no shipped order to return[/]")
        return
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(settings, stop=stop, database=database, worker_id="demo-returns")
    )
    try:
        async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as http:
            asked = await http.post(
                f"/__sandbox/shops/{DEMO_SHOP}/merchant",
                json={"action": "request_return", "order_id": shipped.order_remote_id},
            )
            asked.raise_for_status()
            await _merchant(http, "approve_return", return_id=asked.json()["return"]["id"])

        async def expected() -> ReturnWorkRow | None:
            async with database.transaction() as session:
                return await session.scalar(
                    select(ReturnWorkRow).where(ReturnWorkRow.state == ReturnState.EXPECTED.value)
                )

        row = await _wait_for(expected)
        if row is None:
            console.print("[yellow]the return did not reach the bridge in time[/]")
            return
        lines = [(line["line_id"], int(line["expected"])) for line in row.lines]
        await return_flows.act(
            database,
            settings,
            row.id,
            return_flows.Receive(tuple(Receipt(line, quantity) for line, quantity in lines)),
            actor="demo",
        )
        await return_flows.act(
            database,
            settings,
            row.id,
            return_flows.Dispose(
                tuple(
                    DispositionDecision(line, Disposition.RESTOCKED, quantity)
                    for line, quantity in lines
                )
            ),
            actor="demo",
        )

        async def disposed() -> str | None:
            async with database.transaction() as session:
                status = await session.scalar(
                    select(OutboxRow.status).where(OutboxRow.kind == "return_dispose").limit(1)
                )
            return status if status in ("done", "failed") else None

        sent = await _wait_for(disposed) == "done"
    finally:
        stop.set()
        await asyncio.gather(worker, return_exceptions=True)
    units = sum(quantity for _line, quantity in lines)
    console.print(
        f"a customer returned {row.order_name} ({row.name}): {units} unit(s) received and "
        + ("restocked in Shopify" if sent else "[yellow]not yet restocked in Shopify[/]"),
        highlight=False,
    )


async def _report(
    settings: Settings, database: Database, sandbox_url: str, console: Console, line: _Line
) -> None:
    async with database.stores() as stores:
        store = await stores.get(DEMO_STORE)
        secrets = await stores.secrets(DEMO_STORE)
    from fulfillbridge.shopify import Operation

    labelled = await _labelled_fulfillment(database, line)
    async with connect.store_client(database, settings, store, secrets) as client:
        data = await client.execute(Operation.from_document(_SUMMARY))
        # The label's fulfillment as Shopify has it: its tracking and the events it got.
        label_events: dict[str, list[str]] = {}
        if labelled is not None:
            shown = await client.execute(Operation.from_document(_FULFILLMENT), {"id": labelled})
            fulfillment = shown["fulfillment"] or {}
            for info in fulfillment.get("trackingInfo") or []:
                label_events[str(info["number"])] = [
                    e["status"] for e in fulfillment["events"]["nodes"]
                ]
    async with database.transaction() as session:
        work_rows = list(await session.scalars(select(WorkOrderRow)))
        problems = {
            row.order_name: "; ".join(row.problems or []) for row in work_rows if row.problems
        }
        made = {row.order_name: _made_to_order(row) for row in work_rows}
        timeline: dict[int, list[str]] = {}
        for transition in await session.scalars(
            select(WorkTransitionRow).order_by(WorkTransitionRow.id)
        ):
            reason = (transition.detail or {}).get("reason")
            if reason:
                timeline.setdefault(transition.work_order_id, []).append(str(reason))
        held = {row.order_name: _held(timeline.get(row.id, [])) for row in work_rows}
        refusals = {
            work.order_name: str((outbox.payload or {}).get("message") or "")
            for outbox, work in await session.execute(
                select(OutboxRow, WorkOrderRow)
                .join(WorkOrderRow, WorkOrderRow.id == OutboxRow.work_order_id)
                .where(OutboxRow.kind == "reject_cancellation")
            )
        }
    table = Table(
        "order",
        "at",
        "Shopify status",
        "request",
        "tracking",
        "made to order",
        "note",
        title="What Shopify shows now",
    )
    outcome: dict[str, int] = {}
    for order in data["orders"]["nodes"]:
        for fo in order["fulfillmentOrders"]["nodes"]:
            tracking = ", ".join(
                f"{t['company']} {t['number']}"
                + (
                    f" (label bought; Shopify events: {', '.join(label_events[t['number']])})"
                    if t["number"] in label_events
                    else ""
                )
                for f in fo["fulfillments"]["nodes"]
                for t in f["trackingInfo"]
            )
            requests = fo["merchantRequests"]["nodes"]
            note = "; ".join(
                r["message"] or "" for r in requests if r["kind"] != "FULFILLMENT_REQUEST"
            )
            if order["cancelledAt"]:
                note = "order cancelled by the merchant"
            elif fo["requestStatus"] == "CANCELLATION_REJECTED":
                note = f"{note} (refused: {refusals.get(order['name'], '')})"
            elif fo["requestStatus"] == "REJECTED":
                note = f"rejected: {problems.get(order['name'], '')}"
            elif (fo["assignedLocation"] or {}).get("name") != "fulfillbridge":
                note = "at the merchant's own location (not ours)"
            if held.get(order["name"]):
                note = f"{note}; {held[order['name']]}".strip("; ")
            key = fo["requestStatus"] if fo["requestStatus"] != "UNSUBMITTED" else fo["status"]
            outcome[key] = outcome.get(key, 0) + 1
            table.add_row(
                order["name"],
                (fo["assignedLocation"] or {}).get("name", ""),
                fo["status"],
                fo["requestStatus"],
                tracking,
                made.get(order["name"], ""),
                note,
            )
    console.print(table)
    console.print(
        "outcome: "
        + ", ".join(f"{count} {name.lower()}" for name, count in sorted(outcome.items()))
    )
