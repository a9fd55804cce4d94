"""What monitoring asks the HTTP app: ``/readyz`` (can this process do its job: the database
answers and its schema is the one this code expects) beside ``/healthz`` (the process is
alive, no database involved), and the database-backed figures of ``/metrics``.

``install(app)`` adds the route and puts the process's own metrics and the backlog read
from the database (``metrics.BacklogCollector``) into the app's metrics registry.
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from fulfillbridge.metrics import BacklogCollector, ProcessMetrics
from fulfillbridge.store.database import Database
from fulfillbridge.store.health import backlog_engine, read_backlog, schema_status

router = APIRouter(tags=["operations"])


@router.get(
    "/readyz",
    responses={
        200: {"description": "The database answers and its schema is current."},
        503: {
            "description": "Not ready: the reason says whether the database is unreachable "
            "or its schema is behind (run `fulfillbridge db upgrade`) or ahead of this code."
        },
    },
)
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database is reachable and migrated to this version's head."""
    database: Database = request.app.state.database
    try:
        status = await schema_status(database)
    except Exception as exc:
        return _not_ready(f"database unreachable: {type(exc).__name__}")
    if status.current is None:
        return _not_ready(f"database has no schema yet (expected revision {status.head})")
    if not status.ready:
        return _not_ready(
            f"database schema is at revision {status.current}, this version expects "
            f"{status.head}: run `fulfillbridge db upgrade` with the matching version"
        )
    return JSONResponse({"status": "ready", "schema": status.current})


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)


def install(app: FastAPI) -> None:
    """The /readyz route, and the process's and the database's figures in /metrics."""
    app.include_router(router)
    database: Database = app.state.database
    registry = app.state.metrics
    registry.register(ProcessMetrics())
    registry.register(BacklogCollector(partial(read_backlog, backlog_engine(database.url))))
