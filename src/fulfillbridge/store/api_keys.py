"""API keys for the operation's API: created once, stored as a hash, scoped to stores.

A key reads ``fbk_<prefix>_<secret>``. The prefix (not secret) finds the row; the SHA-256
of the whole key is what is stored and compared, in constant time. The plain key exists
only in the value :func:`ApiKeyRepository.create` returns.

The scope is a set of store ids (or every store), resolved to the stores' current names
when a key is read: a store removed and another added under the same name is not in the
old key's scope, and removing a store revokes the keys scoped to it
(:func:`revoke_store_keys`), so a reused id cannot bring it back either.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.core.errors import ApiErrorCode, FulfillbridgeError
from fulfillbridge.store.models import ApiKeyRow, StoreRow

KEY_PREFIX = "fbk_"
ALL_STORES = "*"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEY = re.compile(r"^fbk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{20,100})$")


class ApiKeyError(FulfillbridgeError):
    """An API key request that cannot be carried out; the message says why."""

    default_code = ApiErrorCode.KEY_INVALID


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    stores: tuple[str, ...]  # ("*",) for every store; else the current names of its stores
    created_at: datetime
    revoked_at: datetime | None
    store_ids: tuple[int, ...] = ()

    @property
    def all_stores(self) -> bool:
        return ALL_STORES in self.stores

    def allowed(self) -> frozenset[str] | None:
        """Names of the stores the key may see (those of its store ids that still exist),
        or None for every store."""
        return None if self.all_stores else frozenset(self.stores)

    def __repr__(self) -> str:  # never the hash
        return f"ApiKey(name={self.name!r}, prefix={self.prefix!r}, stores={self.stores!r})"


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    plain: str  # shown once, never stored

    def __repr__(self) -> str:
        return f"CreatedKey(key={self.key!r}, plain='***')"


def _hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def _to_key(row: ApiKeyRow, names: dict[int, str]) -> ApiKey:
    ids = tuple(int(i) for i in row.store_ids or ())
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        stores=(ALL_STORES,)
        if row.all_stores
        else tuple(sorted(names[i] for i in ids if i in names)),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        store_ids=ids,
    )


async def revoke_store_keys(session: AsyncSession, store_id: int) -> int:
    """Revoke every live key whose scope names the store (called as the store is removed);
    returns how many."""
    rows = await session.scalars(
        select(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None), ApiKeyRow.all_stores.is_(False))
    )
    now = datetime.now(UTC)
    revoked = [row.id for row in rows if store_id in (row.store_ids or ())]
    if revoked:
        await session.execute(
            update(ApiKeyRow).where(ApiKeyRow.id.in_(revoked)).values(revoked_at=now)
        )
    return len(revoked)


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, name: str, stores: Sequence[str] = ()) -> CreatedKey:
        """A new key limited to ``stores`` (empty: every store). Returns the plain key."""
        if not _NAME.match(name):
            raise ApiKeyError(
                f"key name {name!r} is not valid: use 1-64 letters, digits, '.', '-' or '_'"
            )
        taken = await self._session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.name == name))
        if taken is not None:
            raise ApiKeyError(
                f"an API key named {name!r} already exists: revoke it or pick another"
            )
        scope = sorted(set(stores))
        names = await self._names()
        every = not scope or ALL_STORES in scope
        ids: list[int] = []
        if not every:
            by_name = {n: i for i, n in names.items()}
            unknown = [s for s in scope if s not in by_name]
            if unknown:
                raise ApiKeyError(
                    f"no store named {', '.join(unknown)}: see `fulfillbridge store list`"
                )
            ids = sorted(by_name[s] for s in scope)
        prefix = "".join(secrets.choice("abcdefghijkmnopqrstuvwxyz23456789") for _ in range(12))
        plain = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        row = ApiKeyRow(
            name=name, prefix=prefix, key_hash=_hash(plain), store_ids=ids, all_stores=every
        )
        self._session.add(row)
        await self._session.flush()
        return CreatedKey(_to_key(row, names), plain)

    async def _names(self) -> dict[int, str]:
        return {i: n for i, n in await self._session.execute(select(StoreRow.id, StoreRow.name))}

    async def list(self) -> list[ApiKey]:
        rows = await self._session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.name))
        names = await self._names()
        return [_to_key(row, names) for row in rows]

    async def revoke(self, name: str) -> ApiKey:
        row = await self._session.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name))
        if row is None:
            raise ApiKeyError(f"no API key named {name!r}: see `fulfillbridge apikey list`")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            await self._session.flush()
        return _to_key(row, await self._names())

    async def authenticate(self, plain: str) -> ApiKey | None:
        """The live key ``plain`` is, or None (unknown, malformed or revoked)."""
        match = _KEY.match(plain.strip())
        if match is None:
            return None
        given = _hash(plain.strip())
        rows = await self._session.scalars(
            select(ApiKeyRow).where(ApiKeyRow.prefix == match.group(1))
        )
        found = None
        for row in rows:
            # Compare every candidate so timing does not tell which prefix exists.
            if hmac.compare_digest(row.key_hash, given) and row.revoked_at is None:
                found = row
        return _to_key(found, await self._names()) if found is not None else None
