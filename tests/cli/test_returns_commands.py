"""`fulfillbridge returns ...` on a database holding a return the way intake leaves it."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from fulfillbridge.commands.returns import EXPORT_COLUMNS, returns_app
from fulfillbridge.config import load_settings
from fulfillbridge.core.returns import RemoteReturn, RemoteReturnLine, RemoteReturnStatus
from fulfillbridge.core.work import Mode, WorkLine, WorkOrder, WorkState
from fulfillbridge.flows.returns import apply_returns
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import OutboxRow
from fulfillbridge.store.work import WorkRepository
from tests.api.seeding import add_store

ORDER = "gid://shopify/Order/1"


def _db(coro_fn):
    async def main():
        settings = load_settings()
        database = Database.from_settings(settings)
        try:
            return await coro_fn(database, settings)
        finally:
            await database.close()

    return asyncio.run(main())


@pytest.fixture
def run(fb_home, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    app = typer.Typer()
    app.add_typer(returns_app, name="returns")

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def returned(run) -> int:
    """acme shipped #1001 (two tees, a mug) and the customer sends all of it back."""

    async def seed(database: Database, settings) -> int:
        store_id = await add_store(
            database, "acme", returns=True, location_id="gid://shopify/Location/1"
        )
        order = WorkOrder(
            store="acme",
            remote_id="gid://shopify/FulfillmentOrder/1",
            order_name="#1001",
            mode=Mode.FULFILLMENT_SERVICE,
            lines=(
                WorkLine("fol-1", "TEE-M", 2, shipped=2, title="Tee"),
                WorkLine("fol-2", "MUG", 1, shipped=1, title="Mug"),
            ),
            state=WorkState.SHIPPED,
            warehouse=settings.warehouses[0].name,
        )
        news = RemoteReturn(
            "gid://shopify/Return/1",
            "#1001-R1",
            ORDER,
            "#1001",
            RemoteReturnStatus.OPEN,
            (
                RemoteReturnLine("rl-1", "rfo-1", "TEE-M", 2, title="Tee", reason="Too small"),
                RemoteReturnLine("rl-2", "rfo-1", "MUG", 1, title="Mug"),
            ),
        )
        async with database.transaction() as session:
            await WorkRepository(session).create(
                store_id, order, order_remote_id=ORDER, location_remote_id=None, actor="intake"
            )
        async with database.stores() as stores:
            store = await stores.get("acme")
        async with database.transaction() as session:
            await apply_returns(session, settings, store, [news])
        return 1

    return _db(seed)


def _shopify_writes() -> list[tuple[str, dict]]:
    async def read(database: Database, _settings) -> list[tuple[str, dict]]:
        async with database.transaction() as session:
            rows = await session.scalars(
                select(OutboxRow).where(OutboxRow.target == "shopify").order_by(OutboxRow.id)
            )
            return [(row.kind, row.payload) for row in rows]

    return _db(read)


def test_list_show_and_csv(run, returned: int) -> None:
    listed = run("returns", "list", "--state", "expected")
    assert listed.exit_code == 0 and "#1001-R1" in listed.output and "expected" in listed.output
    assert "no returns" in run("returns", "list", "--state", "disposed").output
    shown = json.loads(run("returns", "show", str(returned), "--json").output)
    assert [line["sku"] for line in shown["lines"]] == ["TEE-M", "MUG"]
    exported = run("returns", "list", "--csv")
    rows = list(csv.reader(io.StringIO(exported.output)))
    assert rows[0] == EXPORT_COLUMNS
    assert [(r[7], r[9], r[14]) for r in rows[1:]] == [
        ("TEE-M", "2", "Too small"),
        ("MUG", "1", ""),
    ]
    bad = run("returns", "list", "--state", "lost")
    assert bad.exit_code == 2


def test_receive_dispose_and_label(run, returned: int) -> None:
    # Both spellings of a line's units, as everywhere else: LINE=QUANTITY and LINE:QUANTITY.
    received = run("returns", "receive", str(returned), "TEE-M:1:damaged", "TEE-M=1")
    assert received.exit_code == 0, received.output
    view = json.loads(run("returns", "show", str(returned), "--json").output)
    assert view["state"] == "received"
    assert view["lines"][0]["conditions"] == {"damaged": 1, "good": 1}
    disposed = run(
        "returns",
        "dispose",
        str(returned),
        "--restock",
        "TEE-M:1@main",
        "--not-restocked",
        "TEE-M=1",
        "--missing",
        "MUG=1",
        "--json",
    )
    assert disposed.exit_code == 0, disposed.output
    answer = json.loads(disposed.output)
    assert answer["return"]["state"] == "disposed"
    assert [q["kind"] for q in answer["queued"]] == ["return_dispose"]
    ((kind, payload),) = _shopify_writes()
    assert kind == "return_dispose" and len(payload["items"]) == 3
    late = run("returns", "label", str(returned), "--tracking", "1Z9")
    assert late.exit_code == 1 and "it is disposed" in late.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("receive", "1", "TEE-M=3"), "expects 2 more unit(s); this receipt asks for 3"),
        (("receive", "1", "HAT=1"), "has no line HAT"),
        (
            ("receive", "1", "MUG=1", "MUG=1:damaged"),
            "expects 1 more unit(s); this receipt asks for 2 (1 good, 1 damaged)",
        ),
        (("receive", "1", "TEE-M"), "is not LINE=QUANTITY or LINE:QUANTITY"),
        (("receive", "1", "TEE-M=two"), "is not LINE=QUANTITY or LINE:QUANTITY"),
        (("dispose", "1", "--missing", "MUG=1:x"), "is not LINE=QUANTITY or LINE:QUANTITY"),
        (("receive", "9", "TEE-M=1"), "no return 9"),
        (("dispose", "1"), "--restock, --not-restocked or --missing"),
        (("dispose", "1", "--restock", "TEE-M=1@attic"), "unknown warehouse 'attic'"),
        (("dispose", "1", "--not-restocked", "TEE-M=1"), "has 0 received unit(s)"),
        (("label", "1", "--carrier", "UPS"), "tracking number or a label URL"),
        (("label", "1", "--tracking", "1", "--label-url", "file:///x"), "http(s) URL"),
        (("show", "9"), "no return 9"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(run, returned: int, args, fragment) -> None:
    result = run("returns", *args)
    # A line the user wrote in no known form is a usage error (2); a refusal is 1.
    assert result.exit_code == (2 if "LINE=QUANTITY" in fragment else 1), result.output
    assert fragment in " ".join(result.output.split())
    assert _shopify_writes() == []
    view = json.loads(run("returns", "show", "1", "--json").output)
    assert view["state"] == "expected"
    assert all(line["received"] == 0 for line in view["lines"])
