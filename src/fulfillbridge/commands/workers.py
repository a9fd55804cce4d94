"""``fulfillbridge workers``: the worker processes on this database, from their heartbeats.

A worker writes its row in ``worker_heartbeats`` every ``worker_heartbeat_seconds`` and
removes it when it stops cleanly; one whose last beat is older than
``worker_lease_seconds`` has stopped beating (killed, hung, cut off), and its claims are
free for the others.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from fulfillbridge.commands.orders import CommandFailed, clear_errors, out, with_database
from fulfillbridge.config import Settings
from fulfillbridge.store import queues
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import as_utc


def worker_views(rows: Any, *, now: datetime, stale_after: float) -> list[dict[str, Any]]:
    """Each heartbeat row as plain values, with its age and whether it still beats."""
    views = []
    for row in rows:
        beat_at = as_utc(row.beat_at)
        age = max(0.0, (now - beat_at).total_seconds())
        views.append(
            {
                "worker_id": row.worker_id,
                "host": row.host,
                "pid": row.pid,
                "started_at": as_utc(row.started_at).isoformat(),
                "last_beat_at": beat_at.isoformat(),
                "seconds_since_beat": round(age, 1),
                "alive": age <= stale_after,
                "current_store": row.current_store,
                "stores_held": row.stores_held,
                "rounds": row.rounds,
            }
        )
    return views


@clear_errors
def workers_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    stale_after: Annotated[
        float | None,
        typer.Option(
            help="Call a worker stopped when its last beat is older than this many seconds "
            "(default: worker_lease_seconds).",
        ),
    ] = None,
) -> None:
    """List worker processes: host, pid, when they started, their last heartbeat and the
    store whose queues they work now."""
    if stale_after is not None and not 0 < stale_after <= 86400:
        raise CommandFailed(f"--stale-after must be between 0 and 86400 seconds, got {stale_after}")

    async def work(database: Database, settings: Settings) -> list[dict[str, Any]]:
        async with database.transaction() as session:
            rows = await queues.list_workers(session)
        limit = stale_after if stale_after is not None else settings.worker_lease_seconds
        return worker_views(rows, now=datetime.now(UTC), stale_after=limit)

    views = with_database(work)
    if as_json:
        # Plain echo, not Rich: the output is for other programs.
        typer.echo(json.dumps(views, indent=2))
        return
    if not views:
        out.print("no workers are running: start one with `fulfillbridge worker`")
        return
    table = Table(
        "worker", "host", "pid", "started", "last beat", "status", "store", "stores", "rounds"
    )
    for view in views:
        table.add_row(
            view["worker_id"],
            view["host"],
            str(view["pid"]),
            view["started_at"][:19].replace("T", " "),
            f"{view['seconds_since_beat']:.0f} s ago",
            "alive" if view["alive"] else "[red]stopped beating[/]",
            view["current_store"] or "",
            str(view["stores_held"]),
            str(view["rounds"]),
        )
    out.print(table)
