"""Answers kept for ``Idempotency-Key`` replays of the operation's API.

A POST with a key is answered once; the answer is stored in the same transaction as the
action it reports, so a repeat finds either nothing (the first failed and wrote nothing) or
the answer to replay. Two requests racing with one key both try to store an answer: the
unique constraint on (API key, key) lets one commit and the other fail with IntegrityError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.core.errors import ApiErrorCode, FulfillbridgeError
from fulfillbridge.store.models import IdempotencyRecordRow


class IdempotencyKeyReused(FulfillbridgeError):
    """The key was already used for a different request; the message says for which."""

    default_code = ApiErrorCode.IDEMPOTENCY_KEY_REUSED


@dataclass(frozen=True)
class IdempotentRequest:
    """A request carrying an ``Idempotency-Key``; ``request_hash`` identifies its content."""

    api_key_id: int
    key: str
    method: str
    path: str
    request_hash: str


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    response: Any


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replay(self, request: IdempotentRequest) -> StoredAnswer | None:
        """The answer stored for the request's key, or None when the key is new. The same
        key with a different request raises :class:`IdempotencyKeyReused`."""
        record = await self._session.scalar(
            select(IdempotencyRecordRow).where(
                IdempotencyRecordRow.api_key_id == request.api_key_id,
                IdempotencyRecordRow.key == request.key,
            )
        )
        if record is None:
            return None
        if record.request_hash != request.request_hash:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {request.key!r} was already used for {record.method} "
                f"{record.path} with a different body: use a new key for a different request"
            )
        return StoredAnswer(record.status_code, record.response)

    async def remember(self, request: IdempotentRequest, answer: StoredAnswer) -> None:
        """Store the answer (flushed, so a concurrent first use fails here or at commit)."""
        self._session.add(
            IdempotencyRecordRow(
                api_key_id=request.api_key_id,
                key=request.key,
                method=request.method,
                path=request.path,
                request_hash=request.request_hash,
                status_code=answer.status_code,
                response=answer.response,
            )
        )
        await self._session.flush()
