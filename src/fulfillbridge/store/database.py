"""One handle on the database: engine, sessions and the box that seals secrets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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
        self._doorbells: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}
        # What the flows using this handle remember between rounds in this process (e.g.
        # when an inbox event last failed); never the truth, which is the database.
        self.memory: dict[str, Any] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, migrate: bool = True) -> Database:
        """Open the configured database, bringing its schema up to date first."""
        url = settings.effective_database_url
        box = load_secret_box(settings)
        if migrate:
            db.upgrade(url)
        return cls(url, box)

    # A worker in the same process as the web app hears of new work at once instead of at
    # its next poll; workers in other processes still poll (the database stays the truth).

    def ring(self) -> None:
        """Committed work is waiting for a worker (new inbox events, new outbox rows)."""
        for bell in self._doorbells.values():
            bell.set()

    async def wait_for_work(self, timeout: float) -> bool:
        """Wait until ``ring`` or ``timeout``; True when rung."""
        loop = asyncio.get_running_loop()
        bell = self._doorbells.setdefault(loop, asyncio.Event())
        if not bell.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bell.wait(), timeout=timeout)
        rung = bell.is_set()
        bell.clear()
        return rung

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
