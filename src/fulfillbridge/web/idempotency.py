"""``Idempotency-Key`` on the operation's API, in one place for every route that takes it.

A POST with a key is answered once: a repeat with the same key and body gets the first
answer again (``Idempotent-Replayed: true``) and writes nothing; the same key with another
body is refused (422, ``IdempotencyKeyReused``). The answer is stored in the transaction
of the change it reports, so one is never kept without the other. Two requests racing
with one key both try to store it: the loser's transaction fails on the unique key and is
run once more, which replays the winner's answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.store.api_keys import ApiKey
from fulfillbridge.store.idempotency import IdempotencyRepository, IdempotentRequest, StoredAnswer

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Makes the request safe to repeat: the same key and body replay the "
        "first answer; the same key with another body is refused (422).",
    ),
]

# What a route does inside the transaction: its change, and the answer (status, JSON).
Apply = Callable[[AsyncSession], Awaitable[tuple[int, Any]]]
# One try: the answer and whether it was replayed.
Attempt = Callable[[AsyncSession], Awaitable[tuple[int, Any, bool]]]
# How the route runs one try in a transaction (and wakes the workers after it).
InTransaction = Callable[[Attempt], Awaitable[tuple[int, Any, bool]]]


def request_hash(request: Request, body: BaseModel | None) -> str:
    """What identifies a request's content: method, path and the parsed body."""
    content = body.model_dump(mode="json") if body is not None else {}
    canonical = json.dumps(
        {"method": request.method, "path": request.url.path, "body": content}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def answer_once(
    request: Request,
    key: ApiKey,
    idempotency_key: str | None,
    body: BaseModel | None,
    apply: Apply,
    *,
    in_transaction: InTransaction,
    conflicts: tuple[type[Exception], ...] = (IntegrityError,),
    retry_without_key: bool = False,
) -> JSONResponse:
    """Run ``apply`` and answer with what it returns, honouring ``Idempotency-Key``.

    ``conflicts`` are the errors meaning another request committed first; the request is
    then tried once more (replaying that request's answer when they shared the key), and
    a second conflict is a 409. Without a key it is tried again only when
    ``retry_without_key`` says a fresh try can succeed."""
    idempotent = (
        IdempotentRequest(
            key.id, idempotency_key, request.method, request.url.path, request_hash(request, body)
        )
        if idempotency_key is not None
        else None
    )

    async def attempt(session: AsyncSession) -> tuple[int, Any, bool]:
        answers = IdempotencyRepository(session)
        if idempotent is not None:
            stored = await answers.replay(idempotent)
            if stored is not None:
                return stored.status_code, stored.response, True
        status, payload = await apply(session)
        if idempotent is not None:
            await answers.remember(idempotent, StoredAnswer(status, payload))
        return status, payload, False

    for tried in range(2):
        try:
            status, payload, replayed = await in_transaction(attempt)
            break
        except conflicts:
            if tried or (idempotency_key is None and not retry_without_key):
                raise HTTPException(409, "a concurrent request conflicted; try again") from None
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(payload, status_code=status, headers=headers)
