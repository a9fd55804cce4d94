"""The migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from fulfillbridge.store import db
from fulfillbridge.store.models import Base


def test_no_model_change_is_missing_a_migration(database_url: str) -> None:
    db.upgrade(database_url)
    engine = create_engine(db.normalize_url(database_url, asynchronous=False))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
