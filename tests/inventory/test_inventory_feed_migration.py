"""Migration 0006 adds the push locks and the feeds, and goes back down cleanly."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from fulfillbridge.store import db


def _tables(url: str) -> set[str]:
    engine = create_engine(db.normalize_url(url, asynchronous=False))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_0006_up_down_and_up_again(database_url: str) -> None:
    db.upgrade(database_url, "0006")
    assert db.current_revision(database_url) == "0006"
    assert {"inventory_locks", "inventory_feeds"} <= _tables(database_url)
    command.downgrade(db.alembic_config(database_url), "0005")
    assert db.current_revision(database_url) == "0005"
    assert not {"inventory_locks", "inventory_feeds"} & _tables(database_url)
    db.upgrade(database_url, "0006")
    assert db.current_revision(database_url) == "0006"
