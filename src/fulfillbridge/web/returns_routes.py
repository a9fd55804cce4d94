"""Returns in the operation's API: list and read returns, record what arrived, decide what
becomes of it, attach the return label the operation bought.

- ``GET /api/v1/returns?state=expected&store=…``: returns, oldest first, with their age.
- ``GET /api/v1/returns/{id}``: one return with its lines.
- ``POST /api/v1/returns/{id}/receive``: ``{"lines": [{"line", "quantity", "condition"}]}``.
- ``POST /api/v1/returns/{id}/dispose``: ``{"lines": [{"line", "disposition", "quantity",
  "warehouse"}]}``; sent to Shopify through the outbox.
- ``POST /api/v1/returns/{id}/label``: ``{"carrier", "tracking_number", "tracking_url",
  "label_url"}``; sent to Shopify through the outbox.

``line`` is the line's id or its SKU. Same API keys, store scoping and ``Idempotency-Key``
as the rest of ``/api/v1`` (``web.idempotency``): the command and the answer kept for a
replay are written in one transaction. Routes are thin: they parse, call ``flows.returns``, answer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from fulfillbridge.core.returns import (
    MAX_CONDITION_LENGTH,
    Disposition,
    DispositionDecision,
    Receipt,
    ReturnError,
    ReturnState,
    ReturnTracking,
)
from fulfillbridge.flows import returns
from fulfillbridge.store.api_keys import ApiKey
from fulfillbridge.web.api import ERRORS, MAX_ID, Key, Problem, StrictQuery
from fulfillbridge.web.dependencies import app_database
from fulfillbridge.web.idempotency import Attempt, IdempotencyKey, answer_once

router = APIRouter(prefix="/api/v1", tags=["returns"])
ReturnId = Annotated[int, Path(ge=1, le=MAX_ID, description="The return's id.")]
RETURN_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": Problem, "description": "No such return (or not in this key's stores)."},
    409: {"model": Problem, "description": "The return's state does not allow this."},
}


class ReceiveLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: str = Field(min_length=1, max_length=255, description="Line id or SKU.")
    quantity: int = Field(ge=1, le=1_000_000)
    condition: str = Field("good", min_length=1, max_length=MAX_CONDITION_LENGTH)


class ReceiveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[ReceiveLineIn] = Field(min_length=1, max_length=250)


class DisposeLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: str = Field(min_length=1, max_length=255, description="Line id or SKU.")
    disposition: Literal["restocked", "not_restocked", "missing"]
    quantity: int = Field(ge=1, le=1_000_000)
    warehouse: str | None = Field(
        None, max_length=64, description="Restocked only; default: where it was shipped from."
    )


class DisposeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[DisposeLineIn] = Field(min_length=1, max_length=250)


class LabelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    carrier: str | None = Field(None, max_length=255)
    tracking_number: str | None = Field(None, min_length=1, max_length=255)
    tracking_url: str | None = Field(None, max_length=2000)
    label_url: str | None = Field(None, max_length=2000)


@router.get(
    "/returns",
    responses=RETURN_ERRORS,
    summary="List returns",
    description="Returns of the key's stores, oldest first, each with its lines (expected, "
    "received by condition, disposed by kind), the return shipment and its age in hours. "
    "Filter by `state` (repeatable: expected, received, ...) and `store`.",
    dependencies=StrictQuery,
)
async def list_returns(
    request: Request,
    key: Key,
    store: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[
        list[ReturnState] | None, Query(description="expected, received, … (repeatable)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Any:
    allowed = key.allowed()
    if store is not None and allowed is not None and store not in allowed:
        raise HTTPException(403, f"store {store!r} is outside this key's stores")
    views = await returns.list_returns(
        app_database(request),
        stores=allowed,
        store=store,
        states=[s.value for s in state or ()],
        limit=limit,
        offset=offset,
    )
    return {"returns": views}


@router.get(
    "/returns/{return_id}",
    responses=RETURN_ERRORS,
    summary="Show a return",
    description="One return with its lines, the work order that shipped each, the customer's "
    "reason and note, tracking, and how many new items an exchange sends.",
)
async def get_return(request: Request, key: Key, return_id: ReturnId) -> Any:
    async with app_database(request).transaction() as session:
        row, store = await returns.get_return(session, return_id, stores=key.allowed())
        return returns.return_view(row, store)


async def _act(
    request: Request,
    key: ApiKey,
    return_id: int,
    command: returns.ReturnCommand,
    body: BaseModel,
    idempotency_key: str | None,
) -> JSONResponse:
    database = app_database(request)
    settings = request.app.state.settings

    async def apply(session: AsyncSession) -> tuple[int, Any]:
        result = await returns.apply_command(
            session, settings, return_id, command, actor=f"api:{key.name}", stores=key.allowed()
        )
        return 200, {
            "return": result.view,
            "queued": [{"id": row_id, "kind": kind} for row_id, kind in result.queued],
        }

    async def in_transaction(attempt: Attempt) -> tuple[int, Any, bool]:
        async with database.transaction() as session:
            answer = await attempt(session)
        database.ring()
        return answer

    # Another request (the same Idempotency-Key, or a change to the same return) may commit
    # first: the second try replays it or applies to fresh data.
    return await answer_once(
        request,
        key,
        idempotency_key,
        body,
        apply,
        in_transaction=in_transaction,
        conflicts=(IntegrityError, StaleDataError),
        retry_without_key=True,
    )


@router.post(
    "/returns/{return_id}/receive",
    responses=RETURN_ERRORS,
    summary="Record returned units",
    description="Units that arrived, per line (its id or SKU), with their condition. More than "
    "the line still expects is refused (422) and nothing of the request is recorded. A "
    "receipt stays with the bridge: Shopify learns what became of the units from the "
    "disposition.",
)
async def post_receive(
    request: Request,
    key: Key,
    return_id: ReturnId,
    body: ReceiveRequest,
    idem: IdempotencyKey = None,
) -> JSONResponse:
    command = returns.Receive(
        tuple(Receipt(line.line, line.quantity, line.condition) for line in body.lines)
    )
    return await _act(request, key, return_id, command, body, idem)


@router.post(
    "/returns/{return_id}/dispose",
    responses=RETURN_ERRORS,
    summary="Decide what becomes of returned units",
    description="Per line: `restocked` (received units back on the shelf at `warehouse`, by "
    "default the one that shipped them), `not_restocked` (received, not sellable) or "
    "`missing` (never arrived). Sent to Shopify once, through the outbox, as "
    "reverseFulfillmentOrderDispose; restocked units raise the inventory levels the bridge "
    "knows.",
)
async def post_dispose(
    request: Request,
    key: Key,
    return_id: ReturnId,
    body: DisposeRequest,
    idem: IdempotencyKey = None,
) -> JSONResponse:
    command = returns.Dispose(
        tuple(
            DispositionDecision(
                line.line, Disposition(line.disposition), line.quantity, line.warehouse
            )
            for line in body.lines
        )
    )
    return await _act(request, key, return_id, command, body, idem)


@router.post(
    "/returns/{return_id}/label",
    responses=RETURN_ERRORS,
    summary="Attach a return label",
    description="The return label the operation bought: its tracking number and URL and the "
    "label's URL (http or https) reach Shopify, which shows them to the customer, for every "
    "unit still to come back.",
)
async def post_label(
    request: Request,
    key: Key,
    return_id: ReturnId,
    body: LabelRequest,
    idem: IdempotencyKey = None,
) -> JSONResponse:
    tracking = ReturnTracking(body.carrier, body.tracking_number, body.tracking_url, body.label_url)
    if not (tracking.number or tracking.label_url):
        raise ReturnError("a return label needs tracking_number or label_url")
    return await _act(request, key, return_id, returns.AttachLabel(tracking), body, idem)
