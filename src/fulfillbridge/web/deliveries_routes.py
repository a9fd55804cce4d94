"""The operation's webhook deliveries: ``GET /api/v1/deliveries`` lists them newest first
(status, attempts, last error), ``POST /api/v1/deliveries/{id}/redeliver`` sends one again.
Same API keys and store scoping as the rest of ``/api/v1``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from fulfillbridge.flows import deliveries
from fulfillbridge.web.api import ERRORS, MAX_ID, MAX_PAGE, Key, StrictQuery, Zoned
from fulfillbridge.web.dependencies import AppDatabase

router = APIRouter(prefix="/api/v1", tags=["deliveries"])


class DeliveryOut(BaseModel):
    id: int
    store: str
    work_id: int | None
    event: str = Field(description="new_work, updated, on_hold, released, shipped ...")
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt.")
    status: str = Field(description="pending, sending, done, failed or skipped.")
    attempts: int
    last_error: str | None
    response_status: int | None = Field(description="HTTP status of the last answer.")
    next_attempt_at: Zoned | None
    created_at: Zoned
    done_at: Zoned | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )


@router.get(
    "/deliveries",
    response_model=DeliveryPage,
    responses=ERRORS,
    summary="List webhook deliveries to the operation",
    dependencies=StrictQuery,
)
async def list_deliveries(
    database: AppDatabase,
    key: Key,
    store: Annotated[str | None, Query(max_length=255)] = None,
    status: Annotated[
        str | None, Query(description="pending, sending, done, failed, skipped.")
    ] = None,
    work_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_before.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Any:
    """Webhook deliveries to the operation, newest first."""
    async with database.transaction() as session:
        items, next_before = await deliveries.list_deliveries(
            session,
            stores=key.allowed(),
            store=store,
            status=status,
            work_id=work_id,
            before_id=before,
            limit=limit,
        )
    return {"items": items, "next_before": next_before}


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    responses=ERRORS,
    summary="Send a delivery again",
)
async def post_redeliver(
    database: AppDatabase,
    key: Key,
    delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Any:
    """Send a delivery again now (same webhook-id), whatever became of it before."""
    async with database.transaction() as session:
        view = await deliveries.redeliver(session, delivery_id, stores=key.allowed())
    database.ring()
    return view
