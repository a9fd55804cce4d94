"""Stores on SQLite and PostgreSQL: migrations, sealed secrets, constraints."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from fulfillbridge.config import ConfigError
from fulfillbridge.core.stores import AuthKind, StoreError, StoreExists, StoreNotFound
from fulfillbridge.store import db
from fulfillbridge.store.crypto import SecretBox
from fulfillbridge.store.database import Database


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([Fernet.generate_key()])


@pytest.fixture
async def database(database_url: str, box: SecretBox):
    db.upgrade(database_url)
    database = Database(database_url, box)
    yield database
    await database.close()


def test_upgrade_is_idempotent(database_url: str) -> None:
    db.upgrade(database_url)
    db.upgrade(database_url)
    assert db.current_revision(database_url) is not None


async def test_add_get_list_remove(database: Database) -> None:
    async with database.stores() as stores:
        added = await stores.add(
            name="acme",
            shop_domain="acme.myshopify.com",
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": "shpat_supersecret"},
        )
    assert added.id > 0
    async with database.stores() as stores:
        got = await stores.get("acme")
        assert got.shop_domain == "acme.myshopify.com"
        assert [s.name for s in await stores.list()] == ["acme"]
        assert (await stores.secrets("acme"))["access_token"] == "shpat_supersecret"
    async with database.stores() as stores:
        await stores.remove("acme")
    async with database.stores() as stores:
        with pytest.raises(StoreNotFound):
            await stores.get("acme")


async def test_secrets_are_not_stored_in_plain_text(database: Database) -> None:
    async with database.stores() as stores:
        await stores.add(
            name="acme",
            shop_domain="acme.myshopify.com",
            auth_kind=AuthKind.CLIENT_CREDENTIALS,
            client_id="cid",
            secrets={"client_secret": "very-secret-value"},
        )
    engine = create_engine(db.normalize_url(database.url, asynchronous=False))
    with engine.connect() as conn:
        dumped = " ".join(str(v) for row in conn.execute(text("SELECT * FROM stores")) for v in row)
    engine.dispose()
    assert "very-secret-value" not in dumped
    assert "cid" in dumped  # the client id is not secret


async def test_duplicate_name_or_shop_is_refused_without_partial_write(database: Database) -> None:
    async with database.stores() as stores:
        await stores.add(
            name="acme",
            shop_domain="acme.myshopify.com",
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": "t"},
        )
    for name, shop in (("acme", "other.myshopify.com"), ("other", "acme.myshopify.com")):
        with pytest.raises(StoreExists):
            async with database.stores() as stores:
                await stores.add(
                    name=name,
                    shop_domain=shop,
                    auth_kind=AuthKind.TOKEN,
                    secrets={"access_token": "t"},
                )
    async with database.stores() as stores:
        assert [s.name for s in await stores.list()] == ["acme"]


@pytest.mark.parametrize(
    ("name", "kind", "secrets", "client_id", "message"),
    [
        ("Bad Name!", AuthKind.TOKEN, {"access_token": "t"}, None, "not valid"),
        ("acme", AuthKind.TOKEN, {}, None, "access_token"),
        ("acme", AuthKind.CLIENT_CREDENTIALS, {"client_secret": "s"}, None, "client id"),
    ],
)
async def test_bad_store_input(database: Database, name, kind, secrets, client_id, message) -> None:
    with pytest.raises(StoreError, match=message):
        async with database.stores() as stores:
            await stores.add(
                name=name,
                shop_domain="acme.myshopify.com",
                auth_kind=kind,
                secrets=secrets,
                client_id=client_id,
            )
    async with database.stores() as stores:
        assert list(await stores.list()) == []


async def test_wrong_key_gives_clear_error(database: Database) -> None:
    async with database.stores() as stores:
        await stores.add(
            name="acme",
            shop_domain="acme.myshopify.com",
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": "t"},
        )
    other = Database(database.url, SecretBox([Fernet.generate_key()]))
    try:
        with pytest.raises(ConfigError, match="cannot be decrypted"):
            async with other.stores() as stores:
                await stores.secrets("acme")
    finally:
        await other.close()
