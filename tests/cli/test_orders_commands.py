"""`fulfillbridge orders ...` on a database seeded the way intake leaves it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fulfillbridge.commands.apikeys import apikey_app
from fulfillbridge.commands.orders import orders_app
from fulfillbridge.config import load_settings
from fulfillbridge.core.work import WorkState
from fulfillbridge.store.database import Database
from tests.api.seeding import add_store, add_work, counts, outbox


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(orders_app, name="orders")
    app.add_typer(apikey_app, name="apikey")
    return app


@pytest.fixture
def run(fb_home, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    app = _app()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def _db(coro_fn):
    """Run ``coro_fn(database)`` on the configured database."""

    async def main():
        database = Database.from_settings(load_settings())
        try:
            return await coro_fn(database)
        finally:
            await database.close()

    return asyncio.run(main())


@pytest.fixture
def seeded(run):
    """Two stores; acme has #1001 (accepted) and #1002 (received); globex has a #1001 too."""

    async def seed(database):
        acme = await add_store(database, "acme")
        globex = await add_store(database, "globex")
        return {
            "a1001": await add_work(database, acme, "acme", order_name="#1001"),
            "a1002": await add_work(
                database,
                acme,
                "acme",
                order_name="#1002",
                state=WorkState.RECEIVED,
                lines=[("CAP", 3)],
            ),
            "g1001": await add_work(database, globex, "globex", order_name="#1001"),
        }

    return _db(seed)


def test_list_table_json_and_filters(run, seeded) -> None:
    table = run("orders", "list")
    assert table.exit_code == 0, table.output
    assert "#1001" in table.output and "#1002" in table.output and "globex" in table.output
    as_json = run("orders", "list", "--json", "--store", "acme", "--state", "accepted")
    assert as_json.exit_code == 0
    items = json.loads(as_json.stdout)
    assert [(i["id"], i["store"], i["state"]) for i in items] == [
        (seeded["a1001"], "acme", "accepted")
    ]
    line = items[0]["lines"][0]
    assert {k: line[k] for k in ("sku", "title", "quantity", "shipped", "remaining")} == {
        "sku": "MUG-RED",
        "title": "Item MUG-RED",
        "quantity": 2,
        "shipped": 0,
        "remaining": 2,
    }
    assert line["requires_shipping"] is True and line["properties"] == []
    assert datetime.fromisoformat(items[0]["updated_at"]).tzinfo is not None
    limited = run("orders", "list", "--limit", "1")
    assert limited.output.count("#100") == 1
    assert "more than 1 work orders match" in limited.output
    bad_state = run("orders", "list", "--state", "flying")
    assert bad_state.exit_code == 2
    assert "flying" in bad_state.output
    unknown = run("orders", "list", "--store", "nope")
    assert unknown.exit_code == 1
    assert "no store named 'nope'" in unknown.output


def test_show_by_name_id_and_ambiguity(run, seeded) -> None:
    ambiguous = run("orders", "show", "#1001")
    assert ambiguous.exit_code == 1
    assert "several stores (acme, globex)" in ambiguous.output
    assert "Traceback" not in ambiguous.output
    shown = run("orders", "show", "#1001", "--store", "globex")
    assert shown.exit_code == 0, shown.output
    assert f"work {seeded['g1001']}, store globex" in shown.output
    assert "MUG-RED" in shown.output and "London" in shown.output and "intake" in shown.output
    by_id = run("orders", "show", str(seeded["a1002"]), "--json")
    assert json.loads(by_id.stdout)["order_name"] == "#1002"
    missing = run("orders", "show", "#9999")
    assert missing.exit_code == 1
    assert "no work order for #9999" in missing.output


def test_ship_with_lines_and_several_packages(run, seeded) -> None:
    result = run(
        "orders",
        "ship",
        "#1001",
        "--store",
        "acme",
        "--carrier",
        "UPS",
        "--tracking",
        "1Z1",
        "--tracking",
        "1Z2",
        "--url",
        "https://ups.example/1Z1",
        "--url",
        "https://ups.example/1Z2",
        "--line",
        "MUG-RED=1",
    )
    assert result.exit_code == 0, result.output
    assert "#1001 (work" in result.output and "shipped MUG-RED x 1" in result.output
    assert "partially_shipped" in result.output
    writes = _db(lambda db: outbox(db, seeded["a1001"]))
    assert [kind for kind, _ in writes] == ["create_fulfillment"]
    assert [t["number"] for t in writes[0][1]["tracking"]] == ["1Z1", "1Z2"]
    assert writes[0][1]["tracking"][1]["url"] == "https://ups.example/1Z2"


def test_ship_refusals_write_nothing(run, seeded) -> None:
    work_id = seeded["a1001"]
    before = _db(lambda db: counts(db, work_id))
    too_many = run(
        "orders", "ship", str(work_id), "--carrier", "UPS", "--tracking", "1", "--line", "MUG-RED:5"
    )
    assert too_many.exit_code == 1
    assert "MUG-RED has 2 left to ship on #1001, not 5" in too_many.output
    assert len(too_many.output.strip().splitlines()) == 1
    bad_line = run(
        "orders", "ship", str(work_id), "--carrier", "UPS", "--tracking", "1", "--line", "MUG"
    )
    assert bad_line.exit_code == 2
    assert "SKU:QUANTITY or SKU=QUANTITY" in " ".join(bad_line.output.split())
    zero = run(
        "orders", "ship", str(work_id), "--carrier", "UPS", "--tracking", "1", "--line", "MUG=0"
    )
    assert zero.exit_code == 2
    urls = run(
        "orders",
        "ship",
        str(work_id),
        "--carrier",
        "UPS",
        "--tracking",
        "1",
        "--tracking",
        "2",
        "--url",
        "https://x.example/1",
    )
    assert urls.exit_code == 2
    assert "one --url per --tracking" in urls.output
    received = run("orders", "ship", "#1002", "--carrier", "UPS", "--tracking", "1")
    assert received.exit_code == 1
    assert "cannot ship #1002: it is received" in received.output
    assert _db(lambda db: counts(db, work_id)) == before


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["store", "order", "sku", "quantity", "carrier", "tracking", "url"])
        writer.writerows(rows)
    return path


def test_import_tracking_applies_good_rows_reports_bad_ones_and_reimports_nothing(
    run, seeded, tmp_path
) -> None:
    path = _write_csv(
        tmp_path / "tracking.csv",
        [
            # line 2 and 3: one package with two SKUs
            ["acme", "#1001", "MUG-RED", "2", "DHL", "JD100", "https://dhl.example/JD100"],
            ["acme", "#1001", "TEE-L", "1", "DHL", "JD100", ""],
            # line 4: a bad quantity
            ["globex", "#1001", "MUG-RED", "two", "DHL", "JD200", ""],
            # line 5: unknown order
            ["acme", "#4040", "MUG-RED", "1", "DHL", "JD300", ""],
            # line 6: more than remains
            ["globex", "#1001", "TEE-L", "5", "DHL", "JD400", ""],
            # line 7: a good package for the same order as the bad rows above
            ["globex", "#1001", "MUG-RED", "1", "UPS", "1Z500", ""],
        ],
    )
    first = run("orders", "import-tracking", str(path))
    assert first.exit_code == 3, first.output  # done in part: some rows rejected
    out = first.output
    assert "quantity 'two' is not a positive whole number" in out
    assert "no work order for #4040 in store acme" in out
    assert "TEE-L has 1 left to ship on #1001, not 5" in out
    assert "3 row(s) shipped, 0 already imported, 3 with errors" in out
    acme = _db(lambda db: outbox(db, seeded["a1001"]))
    assert len(acme) == 1
    assert sorted(acme[0][1]["lines"].values()) == [1, 2]
    assert acme[0][1]["tracking"] == [
        {"company": "DHL", "number": "JD100", "url": "https://dhl.example/JD100"}
    ]
    globex = _db(lambda db: outbox(db, seeded["g1001"]))
    assert [p["tracking"][0]["number"] for _, p in globex] == ["1Z500"]

    before = (
        _db(lambda db: counts(db, seeded["a1001"])),
        _db(lambda db: counts(db, seeded["g1001"])),
    )
    again = run("orders", "import-tracking", str(path))
    assert again.exit_code == 3  # the bad rows are still bad
    assert "0 row(s) shipped, 3 already imported, 3 with errors" in again.output
    after = (
        _db(lambda db: counts(db, seeded["a1001"])),
        _db(lambda db: counts(db, seeded["g1001"])),
    )
    assert after == before


def test_import_tracking_file_problems(run, seeded, tmp_path) -> None:
    missing = run("orders", "import-tracking", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert "nope.csv" in missing.output and "does not exist" in missing.output
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("order,tracking\n#1001,1Z\n", encoding="utf-8")
    result = run("orders", "import-tracking", str(wrong))
    assert result.exit_code == 1
    assert "missing column(s) store, sku, quantity, carrier" in result.output
    clean = _write_csv(tmp_path / "all.csv", [["acme", "#1001", "", "", "UPS", "1Z9", ""]])
    everything = run("orders", "import-tracking", str(clean))
    assert everything.exit_code == 0, everything.output
    assert "1 row(s) shipped" in everything.output
    # Every row rejected: nothing was done, so it is a failure (1), not "done in part" (3).
    refused = _write_csv(tmp_path / "bad.csv", [["acme", "#4040", "", "", "UPS", "1Z8", ""]])
    nothing = run("orders", "import-tracking", str(refused))
    assert nothing.exit_code == 1, nothing.output
    assert "0 row(s) shipped, 0 already imported, 1 with errors" in nothing.output
    as_json = run("orders", "import-tracking", str(refused), "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["rejected"] == 1
    shown = json.loads(run("orders", "show", str(seeded["a1001"]), "--json").stdout)
    assert shown["state"] == "shipped"


def test_export_pick_list(run, seeded, tmp_path) -> None:
    run(
        "orders",
        "ship",
        str(seeded["a1001"]),
        "--carrier",
        "UPS",
        "--tracking",
        "1",
        "--line",
        "MUG-RED:2",
    )
    result = run("orders", "export")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][10:] == [
        "personalisation",
        "image_url",
        "unit_price",
        "currency",
        "weight_grams",
        "hs_code",
        "country_of_origin",
        "shipping_method",
        "carrier",
        "carrier_service",
        "fulfill_by",
        "note",
    ]
    rows = [row[:10] for row in rows]
    assert rows[0] == [
        "store",
        "order",
        "work_id",
        "warehouse",
        "sku",
        "title",
        "quantity",
        "ship_to_name",
        "ship_to_city",
        "ship_to_country",
    ]
    assert rows[1:] == [
        [
            "acme",
            "#1001",
            str(seeded["a1001"]),
            "main",
            "TEE-L",
            "Item TEE-L",
            "1",
            "Ada Lovelace",
            "London",
            "GB",
        ],
        [
            "globex",
            "#1001",
            str(seeded["g1001"]),
            "main",
            "MUG-RED",
            "Item MUG-RED",
            "2",
            "Ada Lovelace",
            "London",
            "GB",
        ],
        [
            "globex",
            "#1001",
            str(seeded["g1001"]),
            "main",
            "TEE-L",
            "Item TEE-L",
            "1",
            "Ada Lovelace",
            "London",
            "GB",
        ],
    ]
    target = tmp_path / "picks.csv"
    written = run("orders", "export", "--store", "acme", "--state", "received", "-o", str(target))
    assert written.exit_code == 0
    assert "wrote 1 pick line(s)" in written.output
    picked = list(csv.reader(target.open(encoding="utf-8")))
    assert [row[1] for row in picked[1:]] == ["#1002"]
    assert picked[1][6] == "3"


def test_deadline_listing_and_pickup_refusals(run, seeded) -> None:
    listed = run("orders", "list", "--sort", "deadline", "--json")
    assert listed.exit_code == 0, listed.output
    assert {i["order_name"] for i in json.loads(listed.stdout)} == {"#1001", "#1002"}
    overdue = run("orders", "list", "--overdue", "--json")
    assert overdue.exit_code == 0 and json.loads(overdue.stdout) == []
    bad_sort = run("orders", "list", "--sort", "random")
    assert bad_sort.exit_code == 2 and "sort 'random' is not one of" in bad_sort.output
    bad_hours = run("orders", "list", "--due-within", "-3")
    assert bad_hours.exit_code == 2
    not_pickup = run("orders", "ready-for-pickup", str(seeded["a1001"]))
    assert not_pickup.exit_code == 1 and "is not a pickup order" in not_pickup.output
    unknown = run("orders", "ready-for-pickup", "#9999", "--store", "acme")
    assert unknown.exit_code == 1 and "#9999" in unknown.output


@pytest.fixture
def clashing(run):
    """Work ids that reach order numbers: work 2 is #1002, and an order named #2 exists."""

    async def seed(database):
        acme = await add_store(database, "acme")
        ids = {}
        for name in ("#1001", "#1002", "#2"):
            ids[name] = await add_work(database, acme, "acme", order_name=name)
        return ids

    return _db(seed)


def test_bare_number_that_is_both_a_work_id_and_an_order_is_refused(
    run, clashing, tmp_path
) -> None:
    assert clashing["#1002"] == 2 and clashing["#2"] == 3
    ambiguous = run("orders", "show", "2")
    assert ambiguous.exit_code == 2, ambiguous.output
    text = " ".join(ambiguous.output.split())
    assert "2 is ambiguous: work 2 is order #1002, and there is also order #2 (work 3)" in text
    assert "'#2'" in text and "work:2" in text
    shipped = run("orders", "ship", "2", "--carrier", "UPS", "--tracking", "1Z1")
    assert shipped.exit_code == 2
    assert _db(lambda db: outbox(db, 2)) == [] and _db(lambda db: outbox(db, 3)) == []
    by_name = json.loads(run("orders", "show", "#2", "--json").stdout)
    assert by_name["id"] == 3
    by_id = json.loads(run("orders", "show", "work:2", "--json").stdout)
    assert by_id["order_name"] == "#1002"
    # One match only: used, and the output names the order.
    only_name = run("orders", "show", "1001")
    assert only_name.exit_code == 0 and "#1001 (work 1" in only_name.output
    only_id = run("orders", "show", "3")
    assert only_id.exit_code == 0 and "#2 (work 3" in only_id.output
    neither = run("orders", "show", "77")
    assert neither.exit_code == 1 and "no work order 77 and no order #77" in neither.output
    bad = run("orders", "show", "work:two")
    assert bad.exit_code == 2 and "work:N" in bad.output

    path = _write_csv(
        tmp_path / "rows.csv",
        [
            ["acme", "2", "", "", "UPS", "1Z2", ""],
            ["acme", "1001", "", "", "UPS", "1Z1001", ""],
        ],
    )
    imported = run("orders", "import-tracking", str(path))
    assert imported.exit_code == 3, imported.output
    assert "2 is ambiguous" in imported.output
    assert "1 row(s) shipped, 0 already imported, 1 with errors" in imported.output
    assert [kind for kind, _ in _db(lambda db: outbox(db, 1))] == ["create_fulfillment"]
    assert _db(lambda db: outbox(db, 2)) == [] and _db(lambda db: outbox(db, 3)) == []
