"""``inventory push|status|map`` through Typer, against the sandbox over real HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fulfillbridge.cli import app as root
from fulfillbridge.config import Settings
from fulfillbridge.store.database import Database
from tests.inventory.conftest import Shop, add_store


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    return lambda *args: runner.invoke(root, list(args), catch_exceptions=False)


@pytest.fixture
def settings(fb_home) -> Settings:  # what the CLI loads: one warehouse, "main"
    return Settings(home=fb_home)


def connect(settings: Settings, sandbox_url: str, shop: Shop) -> None:
    async def main() -> None:
        database = Database.from_settings(settings)
        try:
            await add_store(database, sandbox_url, shop)
        finally:
            await database.close()

    asyncio.run(main())


def test_push_file_with_bad_rows_then_status(
    run, settings: Settings, shop: Shop, sandbox_url: str, tmp_path: Path
) -> None:
    shop.add("MUG", available=0)
    shop.add("TEE", available=0)
    connect(settings, sandbox_url, shop)
    upload = tmp_path / "levels.csv"
    upload.write_text(
        "store,sku,warehouse,quantity\n"
        "acme,MUG,main,12\n"
        "acme,TEE,main,abc\n"
        "acme,TEE,main,3,extra\n"
        "nobody,MUG,main,1\n"
        "acme,TEE,,4\n"
    )

    result = run("inventory", "push", str(upload))

    assert result.exit_code == 3, result.output  # done in part: some rows were rejected
    assert "Inventory push" in result.output and "Rejected rows (3)" in result.output
    assert "not a whole number" in result.output
    assert "expected 4 cells, found 5" in result.output
    assert "unknown store 'nobody'" in result.output
    assert shop.on_hand("MUG") == 12 and shop.on_hand("TEE") == 4

    again = run("inventory", "push", str(upload), "--json")
    report = json.loads(again.output)
    assert [a["result"] for a in report["accepted"]] == ["unchanged", "unchanged"]
    assert [r["line"] for r in report["rejected"]] == [3, 4, 5]

    # Every row rejected: nothing was done, so 1, not "done in part".
    hopeless = tmp_path / "hopeless.csv"
    hopeless.write_text("store,sku,warehouse,quantity\nnobody,MUG,main,1\n")
    refused = run("inventory", "push", str(hopeless))
    assert refused.exit_code == 1, refused.output

    status = run("inventory", "status")
    assert status.exit_code == 0, status.output
    assert "acme" in status.output and "rows rejected by the last sync" in status.output
    # The summary counts the rows the last sync rejected (acme's one bad quantity), beside
    # the table listing them: never "0" next to a list of rejected rows.
    row = next(line for line in status.output.splitlines() if line.startswith("│ acme"))
    cells = [cell.strip() for cell in row.strip("│").split("│")]
    assert "rows rejected (last sync)" in status.output
    assert cells[5] == "1", row


def test_map_and_malformed_csv(
    run, settings: Settings, shop: Shop, sandbox_url: str, tmp_path: Path
) -> None:
    shop.add("MUG")
    shop.add("DUP")
    shop.add("DUP")
    connect(settings, sandbox_url, shop)
    mapped = run("inventory", "map", "acme")
    assert mapped.exit_code == 0, mapped.output
    assert "2 SKUs on 3 variants" in mapped.output and "DUP" in mapped.output

    bad = tmp_path / "bad.csv"
    bad.write_text("item,count\nMUG,1\n")
    result = run("inventory", "push", str(bad))
    assert result.exit_code == 1
    assert "header must name the columns" in result.output
    # A file the user named that does not exist is a wrong command line: exit 2.
    absent = run("inventory", "push", str(tmp_path / "nofile.csv"))
    assert absent.exit_code == 2
    assert "nofile.csv" in absent.output and "does not exist" in absent.output
    assert run("inventory", "map", "nobody").exit_code == 1
