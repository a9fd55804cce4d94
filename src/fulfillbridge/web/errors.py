"""Our errors as HTTP answers: the one table from error codes to statuses.

Flows, the store and the domain raise :class:`FulfillbridgeError` with a code and never
choose a status; ``install`` registers the handler that answers them as
``{"detail": message}`` with the status below (the shape FastAPI gives ``HTTPException``).
Routes that must answer in Shopify's shape (``{"error": reason}``) or count outcomes ask
:func:`http_status` for the same status.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from fulfillbridge.core.errors import (
    ApiErrorCode,
    CommandErrorCode,
    ConfigErrorCode,
    ErrorCode,
    FulfillbridgeError,
    IntakeErrorCode,
    InventoryErrorCode,
    OutboxErrorCode,
    ReturnErrorCode,
    ShippingErrorCode,
    StoreErrorCode,
    WorkErrorCode,
)

STATUS_BY_CODE: dict[ErrorCode, int] = {
    ConfigErrorCode.INVALID: 503,  # the bridge is misconfigured: not the caller's fault
    StoreErrorCode.INVALID: 400,
    StoreErrorCode.NOT_FOUND: 404,
    StoreErrorCode.EXISTS: 409,
    StoreErrorCode.NOT_READY: 409,
    StoreErrorCode.SETUP_INVALID: 400,
    WorkErrorCode.NOT_FOUND: 404,
    WorkErrorCode.NOT_ALLOWED: 409,
    WorkErrorCode.INVALID: 422,
    WorkErrorCode.UNROUTABLE: 409,
    InventoryErrorCode.INVALID_INPUT: 422,
    InventoryErrorCode.SYNC_FAILED: 422,
    InventoryErrorCode.STORE_BUSY: 422,
    InventoryErrorCode.FEED_URL_INVALID: 422,
    InventoryErrorCode.FEED_FAILED: 502,
    ReturnErrorCode.NOT_FOUND: 404,
    ReturnErrorCode.NOT_ALLOWED: 409,
    ReturnErrorCode.INVALID: 422,
    IntakeErrorCode.MALFORMED: 400,
    IntakeErrorCode.UNAUTHENTICATED: 401,
    IntakeErrorCode.UNKNOWN_STORE: 404,
    IntakeErrorCode.TOO_LARGE: 413,
    IntakeErrorCode.UNAVAILABLE: 503,  # Shopify delivers again after a 503
    ApiErrorCode.KEY_INVALID: 400,
    ApiErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    OutboxErrorCode.CANNOT_SEND: 409,
    CommandErrorCode.FAILED: 400,
    ShippingErrorCode.INVALID: 422,
    ShippingErrorCode.NOT_FOUND: 404,
    ShippingErrorCode.REFUSED: 422,
    ShippingErrorCode.CONFLICT: 409,
    ShippingErrorCode.UNAVAILABLE: 502,
    ShippingErrorCode.UNAUTHORIZED: 401,
}


def http_status(error: FulfillbridgeError) -> int:
    """The status an error's code is answered with."""
    return STATUS_BY_CODE[error.code]


async def _answer(_request: Request, error: Exception) -> Response:
    if not isinstance(error, FulfillbridgeError):  # registered for that class only
        raise error
    return JSONResponse({"detail": error.message}, status_code=http_status(error))


def install(app: FastAPI) -> None:
    """Answer every FulfillbridgeError a route lets through with its code's status."""
    app.add_exception_handler(FulfillbridgeError, _answer)
