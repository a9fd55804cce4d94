"""Repository of connected stores; secrets are sealed before they touch the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.core.stores import (
    REQUIRED_SECRETS,
    AuthKind,
    Store,
    StoreError,
    StoreExists,
    StoreNotFound,
    validate_store_name,
)
from fulfillbridge.store.api_keys import revoke_store_keys
from fulfillbridge.store.crypto import SecretBox
from fulfillbridge.store.models import StoreRow


def _to_store(row: StoreRow) -> Store:
    return Store(
        id=row.id,
        name=row.name,
        shop_domain=row.shop_domain,
        auth_kind=AuthKind(row.auth_kind),
        api_base_url=row.api_base_url,
        client_id=row.client_id,
        granted_scopes=tuple(row.granted_scopes or ()),
        shop_name=row.shop_name,
        plan_name=row.plan_name,
        settings=dict(row.settings or {}),
    )


class StoreRepository:
    def __init__(self, session: AsyncSession, box: SecretBox) -> None:
        self._session = session
        self._box = box

    async def add(
        self,
        *,
        name: str,
        shop_domain: str,
        auth_kind: AuthKind,
        secrets: dict[str, str],
        client_id: str | None = None,
        api_base_url: str | None = None,
        settings: dict | None = None,
    ) -> Store:
        validate_store_name(name)
        missing = [key for key in REQUIRED_SECRETS[auth_kind] if not secrets.get(key)]
        if missing:
            raise StoreError(f"{auth_kind.value} credentials need: {', '.join(missing)}")
        if auth_kind is not AuthKind.TOKEN and not client_id:
            raise StoreError(f"{auth_kind.value} credentials need a client id")
        row = StoreRow(
            name=name,
            shop_domain=shop_domain,
            auth_kind=auth_kind.value,
            client_id=client_id,
            api_base_url=api_base_url,
            sealed_secrets=self._box.seal(secrets),
            granted_scopes=[],
            settings=settings or {},
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError:
            await self._session.rollback()
            raise StoreExists(
                f"a store named {name!r} or for {shop_domain} already exists: "
                "remove it first or choose another name"
            ) from None
        return _to_store(row)

    async def _row(self, name: str) -> StoreRow:
        row = await self._session.scalar(select(StoreRow).where(StoreRow.name == name))
        if row is None:
            raise StoreNotFound(f"no store named {name!r}: see `fulfillbridge store list`")
        return row

    async def get(self, name: str) -> Store:
        return _to_store(await self._row(name))

    def view(self, row: StoreRow) -> Store:
        """The store of a row already loaded in this session (no query)."""
        return _to_store(row)

    def open_secrets(self, row: StoreRow) -> dict[str, str]:
        """The secrets of a row already loaded in this session (no query)."""
        return self._box.open(row.sealed_secrets)

    async def get_with_secrets(self, store_id: int) -> tuple[Store, dict[str, str]] | None:
        """The store and its secrets by id in one read; None when there is no such store."""
        row = await self._session.get(StoreRow, store_id)
        return None if row is None else (_to_store(row), self._box.open(row.sealed_secrets))

    async def get_by_domain(self, shop_domain: str) -> Store:
        row = await self._session.scalar(
            select(StoreRow).where(StoreRow.shop_domain == shop_domain)
        )
        if row is None:
            raise StoreNotFound(f"no store is connected for {shop_domain}")
        return _to_store(row)

    async def update_settings(self, name: str, changes: dict) -> Store:
        """Merge ``changes`` into the store's settings; a None value removes the key."""
        row = await self._row(name)
        merged = {**(row.settings or {}), **changes}
        row.settings = {key: value for key, value in merged.items() if value is not None}
        await self._session.flush()
        return _to_store(row)

    async def list(self) -> Sequence[Store]:
        rows = await self._session.scalars(select(StoreRow).order_by(StoreRow.name))
        return [_to_store(row) for row in rows]

    async def remove(self, name: str) -> None:
        """Remove the store; the API keys scoped to it are revoked in the same transaction
        (a store added later under the same name, or with a reused id, is not theirs)."""
        row = await self._row(name)
        await revoke_store_keys(self._session, row.id)
        await self._session.execute(delete(StoreRow).where(StoreRow.name == name))

    async def secrets(self, name: str) -> dict[str, str]:
        return self._box.open((await self._row(name)).sealed_secrets)

    async def update_secrets(
        self, name: str, changes: dict[str, str], *, token_expires_at: datetime | None = None
    ) -> None:
        row = await self._row(name)
        merged = self._box.open(row.sealed_secrets) | changes
        row.sealed_secrets = self._box.seal(merged)
        row.token_expires_at = token_expires_at
        await self._session.flush()

    async def add_secrets(self, name: str, changes: dict[str, str]) -> None:
        """Merge ``changes`` into the store's sealed secrets; the access token's expiry is
        kept (unlike ``update_secrets``, which is for a new access token)."""
        row = await self._row(name)
        row.sealed_secrets = self._box.seal(self._box.open(row.sealed_secrets) | changes)
        await self._session.flush()

    async def replace_connection(
        self,
        name: str,
        *,
        secrets: dict[str, str],
        api_base_url: str | None = None,
        set_api_base_url: bool = False,
    ) -> None:
        """Merge new credentials into the sealed secrets (and, with ``set_api_base_url``,
        set the Admin API address)."""
        row = await self._row(name)
        row.sealed_secrets = self._box.seal(self._box.open(row.sealed_secrets) | secrets)
        if set_api_base_url:
            row.api_base_url = api_base_url
        await self._session.flush()

    async def record_check(
        self, name: str, *, shop_name: str | None, plan_name: str | None, scopes: Sequence[str]
    ) -> Store:
        row = await self._row(name)
        row.shop_name = shop_name
        row.plan_name = plan_name
        row.granted_scopes = sorted(scopes)
        await self._session.flush()
        return _to_store(row)
