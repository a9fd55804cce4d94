"""Migration 0005 carries a mapping made before it: each SKU row becomes item rows (without
a product, unknown until the next full mapping), so webhooks can refresh it at once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from fulfillbridge.store import db


def test_existing_sku_rows_become_item_rows(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    url = f"sqlite:///{path}"
    db.upgrade(url, "0004")
    now = "2026-11-23 10:00:00"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO stores (id, name, shop_domain, auth_kind, sealed_secrets, "
            "granted_scopes, settings, created_at, updated_at) "
            "VALUES (1, 'acme', 'acme.myshopify.com', 'token', '', '[]', '{}', ?, ?)",
            (now, now),
        )
        levels = {"gid://shopify/Location/1": {"on_hand": 4}}
        rows = [
            ("MUG-1", ["gid://shopify/InventoryItem/11"], True, levels),
            ("DUP", ["gid://shopify/InventoryItem/12", "gid://shopify/InventoryItem/13"], True, {}),
        ]
        conn.executemany(
            "INSERT INTO inventory_skus (store_id, sku, item_ids, tracked, levels, refreshed_at)"
            " VALUES (1, ?, ?, ?, ?, ?)",
            [
                (sku, json.dumps(ids), tracked, json.dumps(lv), now)
                for sku, ids, tracked, lv in rows
            ],
        )
    db.upgrade(url, "0005")
    assert db.current_revision(url) == "0005"
    with sqlite3.connect(path) as conn:
        items = conn.execute(
            "SELECT item_id, product_id, sku, tracked, levels FROM inventory_items ORDER BY item_id"
        ).fetchall()
    assert [(i, p, s, bool(t), json.loads(lv)) for i, p, s, t, lv in items] == [
        ("gid://shopify/InventoryItem/11", None, "MUG-1", True, levels),
        ("gid://shopify/InventoryItem/12", None, "DUP", True, {}),
        ("gid://shopify/InventoryItem/13", None, "DUP", True, {}),
    ]
