"""Fixtures shared by the whole suite: settings on a temporary home, and the database
engines storage tests run on (SQLite always, PostgreSQL when a server is given)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from fulfillbridge.cli import app
from fulfillbridge.sandbox.server import SandboxServer

POSTGRES_URL = os.environ.get("FULFILLBRIDGE_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("FULFILLBRIDGE_REQUIRE_POSTGRES") == "1"

# The outbox tests' shared fixtures (admin, settings, database, store_id, service). A
# plugin's fixtures give way to any a conftest or module defines under the same name.
pytest_plugins = ["tests.flows.outbox_fixtures"]


@pytest.fixture
def fb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh FULFILLBRIDGE_HOME with no settings leaking in from the environment."""
    kept = ("FULFILLBRIDGE_TEST_", "FULFILLBRIDGE_REQUIRE_POSTGRES")
    for key in list(os.environ):
        if key.startswith("FULFILLBRIDGE_") and not key.startswith(kept):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    monkeypatch.setenv("FULFILLBRIDGE_HOME", str(home))
    return home


def _worker_postgres_url(url: str) -> str:
    """The database this pytest process owns. Under pytest-xdist each worker gets a database
    of its own on the same server (``<name>_gw0`` ...), created on first use, so parallel
    workers never drop each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    from sqlalchemy.engine import make_url

    from fulfillbridge.store.db import normalize_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(normalize_url(url, asynchronous=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _reset_postgres(url: str) -> None:
    from fulfillbridge.store.db import normalize_url

    engine = create_engine(normalize_url(url, asynchronous=False))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each engine the storage code supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail(
                "FULFILLBRIDGE_REQUIRE_POSTGRES=1 but FULFILLBRIDGE_TEST_POSTGRES_URL unset"
            )
        pytest.skip(
            "no PostgreSQL server here: install postgresql or set FULFILLBRIDGE_TEST_POSTGRES_URL "
            "(`make test` starts one when the server binaries exist; CI always does)"
        )
    url = _worker_postgres_url(POSTGRES_URL)
    _reset_postgres(url)
    yield url


# --- the real CLI against a real sandbox over HTTP ----------------------------------------


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox_url(sandbox: SandboxServer) -> str:
    httpx.post(f"{sandbox.url}/__sandbox/reset").raise_for_status()
    return sandbox.url


@pytest.fixture
def cli(fb_home, monkeypatch):
    # Wide enough that Rich tables do not shorten shop domains.
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke
