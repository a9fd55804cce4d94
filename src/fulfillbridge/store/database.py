"""One handle on the database: engine, sessions and the box that seals secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.config import Settings
from fulfillbridge.store import db
from fulfillbridge.store.crypto import SecretBox, load_secret_box
from fulfillbridge.store.stores import StoreRepository


class Database:
    def __init__(self, url: str, box: SecretBox) -> None:
        self.url = url
        self.box = box
        self.engine = db.create_engine_for(url)
        self._sessions = db.session_factory(self.engine)

    @classmethod
    def from_settings(cls, settings: Settings, *, migrate: bool = True) -> Database:
        """Open the configured database, bringing its schema up to date first."""
        url = settings.effective_database_url
        box = load_secret_box(settings)
        if migrate:
            db.upgrade(url)
        return cls(url, box)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on any error."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def stores(self) -> AsyncIterator[StoreRepository]:
        async with self.transaction() as session:
            yield StoreRepository(session, self.box)

    async def close(self) -> None:
        await self.engine.dispose()
