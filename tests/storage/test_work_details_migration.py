"""Migration 0007 adds the work order's details, flags, holder and deadline: work stored
before it reads back with empty details, and it goes down and up again cleanly."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import create_engine, inspect, text

from fulfillbridge.core.details import OrderDetails
from fulfillbridge.store import db
from fulfillbridge.store.work import details_from_json, line_from_json

NEW = {"details", "flags", "held_by", "fulfill_by", "deadline_notified"}


def _columns(url: str) -> set[str]:
    engine = create_engine(db.normalize_url(url, asynchronous=False))
    try:
        return {c["name"] for c in inspect(engine).get_columns("work_orders")}
    finally:
        engine.dispose()


def test_0007_keeps_older_work_and_goes_down_and_up(database_url: str) -> None:
    db.upgrade(database_url, "0006")
    engine = create_engine(db.normalize_url(database_url, asynchronous=False))
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO stores (id, name, shop_domain, auth_kind, sealed_secrets,"
                    " granted_scopes, settings, created_at, updated_at) VALUES (1, 'acme',"
                    " 'acme.myshopify.com', 'token', 'x', '[]', '{}', CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO work_orders (id, store_id, remote_id, order_remote_id,"
                    " order_name, mode, state, lines, problems, cancel_requested, version,"
                    " created_at, updated_at) VALUES (1, 1, 'fo-1', 'o-1', '#1001',"
                    " 'fulfillment_service', 'accepted',"
                    ' \'[{"line_id": "l1", "sku": "MUG", "quantity": 2}]\', \'[]\','
                    " false, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        db.upgrade(database_url, "0007")
        assert db.current_revision(database_url) == "0007"
        assert _columns(database_url) >= NEW
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT details, flags, deadline_notified, lines FROM work_orders")
            ).one()
        assert row.details is None and row.flags is None and not row.deadline_notified
        assert details_from_json(row.details) == OrderDetails()
        lines = row.lines if isinstance(row.lines, list) else json.loads(row.lines)
        assert line_from_json(lines[0]).properties == ()
        db.upgrade(database_url)  # the later revisions come down with it too
        command.downgrade(db.alembic_config(database_url), "0006")
        assert not NEW & _columns(database_url)
        db.upgrade(database_url)
        assert _columns(database_url) >= NEW
    finally:
        engine.dispose()
