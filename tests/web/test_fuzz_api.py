"""Property-based fuzzing of the real app from its own OpenAPI document (Schemathesis):
every operation, with generated valid and invalid input, as a key of the right store, a
key of another store and no key at all. Any 5xx, or an answer that breaks the schema the
document gives for its status, fails.

Small here (``FUZZ_EXAMPLES``, default 4 per operation, so `make test` stays quick);
`make fuzz` runs it with many more."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from fulfillbridge.config import Settings
from fulfillbridge.core.work import WorkState
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from fulfillbridge.web.app import create_app
from tests.api.seeding import add_key, add_store, add_work, api_settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))


async def _seed(app_settings: Settings) -> dict[str, str]:
    database = Database.from_settings(app_settings)
    try:
        acme = await add_store(database, "acme")
        globex = await add_store(database, "globex")
        await add_work(database, acme, "acme", order_name="#1001")
        await add_work(database, acme, "acme", order_name="#1002", state=WorkState.EXCEPTION,
                       problems=["shipping address is missing"], address=None)  # fmt: skip
        await add_work(database, globex, "globex", order_name="#9001")
        async with database.stores() as stores:
            await stores.add_secrets("acme", {"callback_token": "acme-token"})
        return {
            "own": await add_key(database, "acme-ops", ["acme"]),
            "other": await add_key(database, "globex-ops", ["globex"]),
        }
    finally:
        await database.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    home: Path = tmp_path_factory.mktemp("fuzz") / "home"
    app_settings = api_settings(home, f"sqlite:///{home.parent / 'fuzz.db'}")
    keys = asyncio.run(_seed(app_settings))
    with BackgroundServer(create_app(app_settings)) as server:
        yield server.url, keys


def _document() -> dict[str, Any]:
    """The app's own OpenAPI document, as /openapi.json serves it (the app is built over a
    database it never opens; the calls go to the served app below)."""
    from cryptography.fernet import Fernet

    from fulfillbridge.store.crypto import SecretBox

    unused = Database("sqlite:///:memory:", SecretBox([Fernet.generate_key()]))
    return create_app(Settings(), database=unused).openapi()


schema = schemathesis.openapi.from_dict(_document())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=EXAMPLES <= 10,  # the same cases on every `make test`
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_fails_or_breaks_its_schema(case: Any, served) -> None:
    url, keys = served
    for who in (f"Bearer {keys['own']}", f"Bearer {keys['other']}", None):
        headers = {"Authorization": who} if who else {}
        if who is None:
            headers["Authorization"] = ""
        case.call_and_validate(
            base_url=url,
            headers=headers,
            checks=[not_a_server_error, response_schema_conformance],
            timeout=30,
        )
