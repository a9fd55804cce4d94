"""`fulfillbridge orders picklist` and `orders packing-slip`: PDFs written to a file and
read back, on a database seeded the way intake leaves it."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from fulfillbridge.cli import app
from fulfillbridge.config import load_settings
from fulfillbridge.core.work import WorkState
from fulfillbridge.store.database import Database
from tests.api.seeding import add_store, add_work
from tests.console.seeding import add_personalised_work


def _text(path: Path) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    return len(reader.pages), " ".join(" ".join(p.extract_text().split()) for p in reader.pages)


@pytest.fixture
def run(fb_home, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def seeded(run) -> dict[str, int]:
    async def seed(database: Database) -> dict[str, int]:
        acme = await add_store(database, "acme")
        globex = await add_store(database, "globex")
        return {
            "mug": await add_personalised_work(database, acme, "acme", order_name="#6001"),
            "cap": await add_work(database, acme, "acme", order_name="#6002", lines=[("CAP", 4)]),
            "done": await add_work(
                database, acme, "acme", order_name="#6003", state=WorkState.SHIPPED
            ),
            "globex": await add_work(database, globex, "globex", order_name="#6001"),
        }

    async def main() -> dict[str, int]:
        database = Database.from_settings(load_settings())
        try:
            return await seed(database)
        finally:
            await database.close()

    return asyncio.run(main())


def test_picklist_of_named_orders_and_of_all_open_work(run, seeded, tmp_path: Path) -> None:
    named = tmp_path / "named.pdf"
    result = run("orders", "picklist", "6001", "#6002", "--store", "acme", "-o", str(named))
    assert result.exit_code == 0, result.output
    assert "wrote a pick list for 2 order(s)" in result.output
    _, text = _text(named)
    assert "MUG-ENGRAVED" in text and "#6001 x2" in text and "CAP" in text and "#6002 x4" in text
    everything = tmp_path / "all.pdf"
    result = run("orders", "picklist", "--store", "acme", "--output", str(everything))
    assert result.exit_code == 0, result.output
    _, text = _text(everything)
    assert "#6001" in text and "#6002" in text
    assert "#6003" not in text  # shipped work is not picked again


def test_packing_slips_one_page_per_order(run, seeded, tmp_path: Path) -> None:
    out = tmp_path / "slips.pdf"
    result = run("orders", "packing-slip", str(seeded["mug"]), str(seeded["cap"]), "-o", str(out))
    assert result.exit_code == 0, result.output
    pages, text = _text(out)
    assert pages == 2
    assert "Packing slip #6001" in text and "Packing slip #6002" in text
    assert "Engraving: For Ada, with love" in text and "Happy birthday, Ada!" in text


def test_paper_commands_refuse_bad_input(run, seeded, tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    ambiguous = run("orders", "picklist", "#6001", "-o", str(out))
    assert ambiguous.exit_code == 1 and "several stores" in ambiguous.output
    unknown = run("orders", "packing-slip", "#9999", "-o", str(out))
    assert unknown.exit_code == 1 and "no work order for #9999" in unknown.output
    no_store = run("orders", "picklist", "--store", "nope", "-o", str(out))
    assert no_store.exit_code == 1 and "no store named 'nope'" in no_store.output
    directory = run("orders", "picklist", "6002", "-o", str(tmp_path))
    assert directory.exit_code != 0 and not any(tmp_path.glob("*.pdf"))
    missing = run("orders", "picklist", "6002")
    assert missing.exit_code == 2 and "--output" in missing.output
    assert not out.exists()
