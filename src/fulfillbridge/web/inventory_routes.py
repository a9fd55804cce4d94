"""Inventory endpoints: the operation pushes stock levels, reads the sync status, and
Shopify's fulfillment-service ``fetch_stock`` callback is answered from the same levels.

- ``PUT /api/v1/inventory``: rows of (store, SKU, warehouse, quantity). The answer lists every
  accepted row (applied, or already at that level) and every rejected row with its number
  (1-based position in ``rows``) and reason. Sending the same rows again applies nothing
  twice. Same API keys and store scoping as the rest of ``/api/v1`` (``web.api``): rows for
  a store the key does not cover are reported as rows of an unknown store.
- ``GET /api/v1/inventory/status``: per store, last sync, levels in sync, pending, rejected,
  and the inventory feed's last fetch (its URL masked) when the store has one.
- ``GET /shopify/{store}/{token}/fetch_stock?sku=...&shop=...``: ``{"SKU": quantity, ...}``.
  Shopify's documentation describes no signature on this GET (only the POSTed notification
  is signed), so, like ``fetch_tracking_numbers``, the callback token in the path is what
  admits the caller; a request carrying ``X-Shopify-Hmac-Sha256`` must also verify, and
  ``shop`` must be the store's.

Routes are thin: they parse, call ``flows.inventory``, answer.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fulfillbridge.core.inventory import RawRow
from fulfillbridge.core.stores import StoreNotFound
from fulfillbridge.flows import inventory
from fulfillbridge.flows.intake import UNKNOWN_CALLBACK
from fulfillbridge.shopify import ShopifyError
from fulfillbridge.web import shopify_routes
from fulfillbridge.web.api import ERRORS, Key, StrictQuery, zoned
from fulfillbridge.web.dependencies import AppDatabase

log = logging.getLogger("fulfillbridge.web.inventory")

router = APIRouter(tags=["inventory"])
MAX_ROWS = 50_000


class InventoryRowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str | None = Field(None, description="Store name; default: the request's store.")
    sku: str | None = Field(None, description="The variant's SKU (case-sensitive).")
    warehouse: str | None = Field(
        None, description="A configured warehouse; empty: the store's own location."
    )
    # Loose on purpose: a bad quantity is reported for its row, not as a 422 for the request.
    quantity: int | float | str | None = Field(None, description="Units, 0 to 1,000,000,000.")


class InventoryPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str | None = Field(
        None, description="Store of rows that name none (default: the key's only store)."
    )
    rows: list[InventoryRowIn] = Field(min_length=1, max_length=MAX_ROWS)


class RejectedRow(BaseModel):
    line: int
    store: str | None
    sku: str | None
    warehouse: str | None
    reason: str


class AcceptedRow(BaseModel):
    line: int
    store: str
    sku: str
    warehouse: str | None
    quantity: int
    result: str = Field(description="applied, or unchanged (Shopify already had it).")


class InventoryPutResult(BaseModel):
    accepted: list[AcceptedRow]
    rejected: list[RejectedRow]
    stores: dict[str, dict[str, Any]]


@router.put(
    "/api/v1/inventory",
    response_model=InventoryPutResult,
    responses={
        400: ERRORS[400],
        401: ERRORS[401],
        413: ERRORS[413],
        422: ERRORS[422],
        502: {"description": "Shopify failed; nothing is applied twice when sent again."},
    },
    summary="Set stock levels (bad rows reported, good rows applied)",
    description="Rows of store, SKU, warehouse and quantity. Every accepted row (applied, or "
    "already at that level) and every rejected row (its 1-based position in rows and the "
    "reason) is answered; sending the same rows again applies nothing twice.",
)
async def put_inventory(
    request: Request, body: InventoryPut, key: Key, database: AppDatabase
) -> dict[str, Any]:
    allowed = key.allowed()
    default = body.store
    if default is None and allowed is not None and len(allowed) == 1:
        default = next(iter(allowed))
    rows = [
        RawRow(
            line=i + 1,
            store=r.store or default,
            sku=r.sku,
            warehouse=r.warehouse,
            quantity=r.quantity,
        )
        for i, r in enumerate(body.rows)
    ]
    try:
        report = await inventory.push(
            database, request.app.state.settings, rows, allowed_stores=allowed
        )
    except ShopifyError as exc:
        # Rows already written stay written and recorded; sending again is safe.
        log.warning("inventory push stopped: %s", exc)
        raise HTTPException(502, f"Shopify could not be reached or refused: {exc}") from None
    return report.as_dict()


@router.get(
    "/api/v1/inventory/status",
    responses={401: ERRORS[401], 404: ERRORS[404], 422: ERRORS[422]},
    summary="Inventory sync status per store",
    description="Per store: the last sync, levels in sync, pending and rejected, the rows "
    "the last sync rejected, and the inventory feed's last fetch (its URL masked). Times "
    "are ISO 8601 with their offset.",
    dependencies=StrictQuery,
)
async def inventory_status(
    key: Key,
    database: AppDatabase,
    store: Annotated[str | None, Query(max_length=64, description="Only this store.")] = None,
) -> dict[str, Any]:
    try:
        found = await inventory.status(database, allowed_stores=key.allowed(), store=store)
    except StoreNotFound:
        raise HTTPException(404, f"no store named {store!r}") from None
    return {"stores": zoned([vars(s) for s in found])}


@router.get(
    "/shopify/{store}/{token}/fetch_stock",
    tags=["shopify"],
    summary="Stock by SKU for Shopify",
    description="Shopify's fulfillment-service stock callback: `{SKU: quantity}` from the "
    "levels last pushed; a SKU with no count is left out.",
    responses=shopify_routes.shopify_answers(400, 401, 404, 413),
)
async def fetch_stock(
    store: str, token: str, request: Request, database: AppDatabase
) -> JSONResponse:
    verified = await shopify_routes.verified_fetch(request, store, token)
    if isinstance(verified, JSONResponse):
        return verified
    try:
        async with database.stores() as stores:
            found = await stores.get(store)
    except StoreNotFound:  # removed a moment ago
        return JSONResponse({"error": UNKNOWN_CALLBACK}, status_code=404)
    sku = request.query_params.get("sku")
    stock = await inventory.fetch_stock(database, found, [sku] if sku else None)
    # A SKU we hold no count for is left out rather than answered as 0 (not guessed).
    return JSONResponse(stock)
