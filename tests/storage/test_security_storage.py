"""At rest: the home and the SQLite files are private; API keys are scoped by store id and
revoked with their store; migration 0008 carries older keys' scopes over."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.store import db
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.store.database import Database


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_home_and_database_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"
    old_umask = os.umask(0o022)  # the usual umask, which would give 0755 and 0644
    try:
        database = Database.from_settings(Settings(home=home))
        try:
            async with database.stores() as stores:  # a write: the WAL and SHM exist now
                await stores.add(
                    name="acme", shop_domain="acme.myshopify.com", auth_kind=AuthKind.TOKEN,
                    secrets={"access_token": "shpat_x"},
                )  # fmt: skip
            files = [home / "fulfillbridge.db", home / "fulfillbridge.db-wal"]
            files.append(home / "fulfillbridge.db-shm")
            assert _mode(home) == 0o700
            assert _mode(home.parent) == 0o700  # created by us as well
            for path in [*files, home / "secret.key"]:
                assert path.exists(), path
                assert _mode(path) == 0o600, (path, oct(_mode(path)))
        finally:
            await database.close()
        # Files an older version left readable by others are made private on connect.
        (home / "fulfillbridge.db").chmod(0o644)
        database = Database.from_settings(Settings(home=home))
        try:
            async with database.stores() as stores:
                assert [s.name for s in await stores.list()] == ["acme"]
        finally:
            await database.close()
        assert _mode(home / "fulfillbridge.db") == 0o600
    finally:
        os.umask(old_umask)


async def _add(database: Database, name: str, domain: str) -> int:
    async with database.stores() as stores:
        store = await stores.add(
            name=name, shop_domain=domain, auth_kind=AuthKind.TOKEN,
            secrets={"access_token": "shpat_x"},
        )  # fmt: skip
    return store.id


async def test_a_key_does_not_follow_its_store_name_to_another_shop(database_url: str) -> None:
    db.upgrade(database_url)
    database = Database(database_url, _box())
    try:
        await _add(database, "cc", "first.myshopify.com")
        other = await _add(database, "dd", "dd.myshopify.com")
        async with database.transaction() as session:
            created = await ApiKeyRepository(session).create("cc-ops", ["cc"])
            both = await ApiKeyRepository(session).create("both", ["cc", "dd"])
            every = await ApiKeyRepository(session).create("all")
        async with database.transaction() as session:
            key = await ApiKeyRepository(session).authenticate(created.plain)
        assert key is not None and key.allowed() == frozenset({"cc"})

        async with database.stores() as stores:
            await stores.remove("cc")
        await _add(database, "cc", "second.myshopify.com")  # a different shop, same name
        async with database.transaction() as session:
            keys = ApiKeyRepository(session)
            assert await keys.authenticate(created.plain) is None  # revoked with its store
            assert await keys.authenticate(both.plain) is None
            still = await keys.authenticate(every.plain)
            assert still is not None and still.allowed() is None
            listed = {k.name: k for k in await keys.list()}
        assert listed["cc-ops"].revoked_at is not None and listed["cc-ops"].stores == ()
        # A key made now for the new `cc` sees it, and only it.
        async with database.transaction() as session:
            fresh = await ApiKeyRepository(session).create("cc-new", ["cc"])
        assert fresh.key.allowed() == frozenset({"cc"}) and other not in fresh.key.store_ids
    finally:
        await database.close()


def _box():
    from cryptography.fernet import Fernet

    from fulfillbridge.store.crypto import SecretBox

    return SecretBox([Fernet.generate_key()])


def test_0008_turns_names_into_ids_and_goes_down_and_up(database_url: str) -> None:
    db.upgrade(database_url, "0007")
    engine = create_engine(db.normalize_url(database_url, asynchronous=False))
    try:
        with engine.begin() as conn:
            for id_, name in ((7, "acme"), (9, "globex")):
                conn.execute(
                    text(
                        "INSERT INTO stores (id, name, shop_domain, auth_kind, sealed_secrets,"
                        " granted_scopes, settings, created_at, updated_at) VALUES (:id, :name,"
                        " :domain, 'token', 'x', '[]', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": id_, "name": name, "domain": f"{name}.myshopify.com"},
                )
            for id_, name, scope in (
                (1, "acme-ops", '["acme"]'),
                (2, "all", '["*"]'),
                (3, "gone", '["removed-store", "globex"]'),
            ):
                conn.execute(
                    text(
                        "INSERT INTO api_keys (id, name, prefix, key_hash, stores, created_at)"
                        " VALUES (:id, :name, :name, 'h', :scope, CURRENT_TIMESTAMP)"
                    ),
                    {"id": id_, "name": name, "scope": scope},
                )
        db.upgrade(database_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT name, store_ids, all_stores FROM api_keys ORDER BY id")
            ).all()
        scopes = [(n, _json(ids), bool(every)) for n, ids, every in rows]
        assert scopes == [("acme-ops", [7], False), ("all", [], True), ("gone", [9], False)]
        command.downgrade(db.alembic_config(database_url), "0007")
        with engine.connect() as conn:
            names = conn.execute(text("SELECT stores FROM api_keys ORDER BY id")).scalars().all()
        assert [_json(n) for n in names] == [["acme"], ["*"], ["globex"]]
        db.upgrade(database_url)
    finally:
        engine.dispose()


def _json(value):
    import json

    return json.loads(value) if isinstance(value, str) else value
