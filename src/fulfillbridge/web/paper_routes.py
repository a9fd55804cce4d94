"""Paper through the API: ``GET /api/v1/work/picklist.pdf?ids=1,2`` (one pick list for the
work given) and ``GET /api/v1/work/{id}/packing-slip.pdf``. Built by ``flows.paper`` from
the same views as the JSON answers; a key sees only its own stores' work (404 otherwise).
Included before the work routes, so ``picklist.pdf`` is not read as a work id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from fulfillbridge.flows import paper
from fulfillbridge.flows.work_commands import ActionError
from fulfillbridge.web.api import ERRORS, Key, StrictQuery, WorkId
from fulfillbridge.web.dependencies import app_database
from fulfillbridge.web.errors import http_status

router = APIRouter(prefix="/api/v1", tags=["work"])

PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The PDF."},
    **{code: ERRORS[code] for code in (401, 404)},
    422: {"description": "An id is not a work id, none was given, or more than 250."},
}


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


async def _views(request: Request, key: Any, ids: list[str]) -> list[dict[str, Any]]:
    try:
        wanted = paper.parse_ids(ids)
        async with app_database(request).transaction() as session:
            return await paper.load_views(session, wanted, stores=key.allowed())
    except ActionError as exc:
        raise HTTPException(http_status(exc), exc.message) from None


@router.get(
    "/work/picklist.pdf",
    response_class=Response,
    responses=PDF,
    summary="A pick list (PDF) for several work orders",
    dependencies=StrictQuery,
)
async def picklist(
    request: Request,
    key: Key,
    ids: Annotated[
        list[str],
        Query(description="Work ids, comma-separated or repeated (at most 250)."),
    ],
) -> Response:
    """What to take from the shelves: per warehouse, one row per SKU (with its Code 128
    barcode), the units still to ship and the orders they go to."""
    return _pdf(paper.pick_list(await _views(request, key, ids)), "picklist.pdf")


@router.get(
    "/work/{work_id}/packing-slip.pdf",
    response_class=Response,
    responses=PDF,
    summary="A packing slip (PDF) for one work order",
    dependencies=StrictQuery,
)
async def packing_slip(request: Request, key: Key, work_id: WorkId) -> Response:
    """Ship-to, the lines with their personalisation, the gift message and the order's
    note, with the order's barcode."""
    views = await _views(request, key, [str(work_id)])
    return _pdf(paper.packing_slips(views), f"packing-slip-{work_id}.pdf")
