"""`fulfillbridge apikey ...`: the key is shown once, stored hashed, scoped and revocable."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
import typer
from typer.testing import CliRunner

from fulfillbridge.commands.apikeys import apikey_app
from fulfillbridge.config import load_settings
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.store.database import Database
from tests.api.seeding import add_store


@pytest.fixture
def run(fb_home, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    app = typer.Typer()
    app.add_typer(apikey_app, name="apikey")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["apikey", *args], catch_exceptions=False)


def _with_db(fn):
    async def main():
        database = Database.from_settings(load_settings())
        try:
            async with database.transaction() as session:
                return await fn(session)
        finally:
            await database.close()

    return asyncio.run(main())


def _authenticate(plain: str):
    return _with_db(lambda session: ApiKeyRepository(session).authenticate(plain))


def test_create_list_revoke(run, fb_home) -> None:
    async def seed():
        database = Database.from_settings(load_settings())
        await add_store(database, "acme")
        await database.close()

    asyncio.run(seed())
    created = run("create", "warehouse-system", "--store", "acme")
    assert created.exit_code == 0, created.output
    plain = created.stdout.strip().splitlines()[-1]
    assert plain.startswith("fbk_")
    assert "for acme" in created.output
    key = _authenticate(plain)
    assert key is not None and key.allowed() == frozenset({"acme"})
    assert _authenticate(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None

    with sqlite3.connect(fb_home / "fulfillbridge.db") as conn:
        stored = " ".join(str(v) for row in conn.execute("SELECT * FROM api_keys") for v in row)
    assert plain not in stored
    assert plain.split("_", 2)[2] not in stored

    everything = run("create", "reporting")
    assert "every store" in everything.output
    listed = run("list")
    assert listed.exit_code == 0
    assert "warehouse-system" in listed.output and "reporting" in listed.output
    assert plain not in listed.output

    revoked = run("revoke", "warehouse-system")
    assert revoked.exit_code == 0
    assert _authenticate(plain) is None


def test_refusals_are_one_line(run) -> None:
    for args, words in [
        (("create", "k", "--store", "nope"), "no store named nope"),
        (("create", "bad name!"), "is not valid"),
        (("revoke", "ghost"), "no API key named 'ghost'"),
    ]:
        result = run(*args)
        assert result.exit_code == 1, args
        assert words in result.output
        assert len(result.output.strip().splitlines()) == 1
    run("create", "twice")
    again = run("create", "twice")
    assert again.exit_code == 1
    assert "already exists" in again.output
