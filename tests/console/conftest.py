"""The console under uvicorn on a real SQLite (or PostgreSQL) database the tests seed."""

from __future__ import annotations

import pytest

from fulfillbridge.config import Settings
from tests.api.conftest import database, server  # noqa: F401 (fixtures)
from tests.api.seeding import api_settings


@pytest.fixture
def settings(fb_home, database_url: str) -> Settings:
    # An operation webhook, so actions queue deliveries the console lists (never sent:
    # no worker runs here).
    return api_settings(fb_home, database_url).model_copy(
        update={"operation_webhook_url": "http://127.0.0.1:9/hooks"}
    )
