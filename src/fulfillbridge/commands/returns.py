"""``fulfillbridge returns ...``: what customers send back, for the operation's side.

``returns_app`` is a Typer app the main command registers (``app.add_typer(returns_app,
name="returns")``). Lines are named by their id or SKU as ``LINE=QUANTITY`` or
``LINE:QUANTITY``, like ``orders ship --line`` (receive: ``LINE=QUANTITY[:CONDITION]``;
dispose: ``LINE=QUANTITY[@WAREHOUSE]``). The commands call ``flows.returns``, like the API.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fulfillbridge.commands.console import err, examples, out, print_json, split_line_units
from fulfillbridge.commands.orders import CommandFailed, actor, clear_errors, with_database
from fulfillbridge.config import Settings
from fulfillbridge.core.returns import (
    Disposition,
    DispositionDecision,
    Receipt,
    ReturnError,
    ReturnNotFound,
    ReturnState,
    ReturnTracking,
)
from fulfillbridge.flows import returns
from fulfillbridge.store.database import Database

returns_app = typer.Typer(
    help="List returns, record what arrived, decide what becomes of it.", no_args_is_help=True
)
EXPORT_COLUMNS = [
    "store",
    "return",
    "return_id",
    "order",
    "state",
    "age_hours",
    "line_id",
    "sku",
    "title",
    "expected",
    "received",
    "restocked",
    "not_restocked",
    "missing",
    "reason",
    "customer_note",
    "warehouse",
    "tracking",
]


def _return_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A return that cannot take the command is one line on standard error, exit 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ReturnError, ReturnNotFound) as exc:
            err.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def _split(text: str, what: str, extra: str) -> tuple[str, int, str | None]:
    """``LINE=QUANTITY`` or ``LINE:QUANTITY``, with an optional ``<extra>VALUE``."""
    try:
        return split_line_units(text, extras=extra)
    except ValueError:
        shown = ":CONDITION" if extra == ":" else f"{extra}WAREHOUSE"
        raise typer.BadParameter(
            f"{what} {text!r} is not LINE=QUANTITY or LINE:QUANTITY (optionally followed by "
            f"{shown}), QUANTITY a whole number"
        ) from None


def _print_return(view: dict[str, Any]) -> None:
    out.print(
        f"[bold]return {view['id']}[/] {view['name']} (order {view['order_name']}, "
        f"{view['store']}): {view['state']}",
        highlight=False,
    )
    table = Table("line", "sku", "expected", "received", "disposed", "reason", "warehouse")
    for line in view["lines"]:
        disposed = ", ".join(f"{k} {v}" for k, v in (line["disposed"] or {}).items())
        table.add_row(
            line["line_id"],
            line["sku"] or "",
            str(line["expected"]),
            str(line["received"]),
            disposed,
            line["reason"] or "",
            line["warehouse"] or "",
        )
    out.print(table)
    for tracking in view["tracking"]:
        out.print(
            f"tracking: {tracking.get('carrier') or ''} {tracking.get('number') or ''} "
            f"{tracking.get('label_url') or ''}".strip(),
            highlight=False,
        )
    if view.get("decline"):
        out.print(f"declined: {view['decline']['reason']} {view['decline'].get('note') or ''}")
    if view.get("exchange_items"):
        out.print(f"exchange: {view['exchange_items']} new item(s) come as normal work")


def _list(store: str | None, states: list[ReturnState] | None) -> list[dict[str, Any]]:
    async def work(database: Database, _settings: Settings) -> list[dict[str, Any]]:
        views: list[dict[str, Any]] = []
        offset = 0
        for _ in range(10_000):  # bounded walk over pages
            page = await returns.list_returns(
                database,
                store=store,
                states=[s.value for s in states or ()],
                limit=500,
                offset=offset,
            )
            views += page
            offset += len(page)
            if len(page) < 500:
                break
        return views

    return with_database(work)


@returns_app.command(
    "list",
    epilog=examples(
        "fulfillbridge returns list",
        "fulfillbridge returns list --state expected --state received --store acme",
        "fulfillbridge returns list --csv -o returns.csv",
    ),
)
@clear_errors
@_return_errors
def list_command(
    store: Annotated[str | None, typer.Option(help="Only this store's returns.")] = None,
    state: Annotated[
        list[ReturnState] | None,
        typer.Option(help="Returns in this state (repeatable); default: all.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="One CSV row per return line.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV here.")
    ] = None,
) -> None:
    """List returns, oldest first, with their age."""
    views = _list(store, state)
    if as_json:
        print_json(views)
        return
    if as_csv or output is not None:
        _write_csv(views, output)
        return
    if not views:
        out.print("no returns")
        return
    table = Table("id", "store", "return", "order", "state", "units", "received", "age (h)")
    for view in views:
        table.add_row(
            str(view["id"]),
            view["store"],
            view["name"],
            view["order_name"],
            view["state"],
            str(sum(line["expected"] for line in view["lines"])),
            str(sum(line["received"] for line in view["lines"])),
            "" if view["age_hours"] is None else str(view["age_hours"]),
        )
    out.print(table)


def _write_csv(views: list[dict[str, Any]], output: Path | None) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for view in views:
        tracking = "; ".join(
            " ".join(str(t.get(k) or "") for k in ("carrier", "number")).strip()
            for t in view["tracking"]
        )
        for line in view["lines"]:
            disposed = line["disposed"] or {}
            writer.writerow(
                [
                    view["store"],
                    view["name"],
                    view["id"],
                    view["order_name"],
                    view["state"],
                    "" if view["age_hours"] is None else view["age_hours"],
                    line["line_id"],
                    line["sku"] or "",
                    line["title"],
                    line["expected"],
                    line["received"],
                    disposed.get("restocked", 0),
                    disposed.get("not_restocked", 0),
                    disposed.get("missing", 0),
                    line["reason"],
                    line["customer_note"],
                    line["warehouse"] or "",
                    tracking,
                ]
            )
            count += 1
    if output is None:
        sys.stdout.write(buffer.getvalue())
        return
    output.write_text(buffer.getvalue(), encoding="utf-8")
    out.print(f"wrote {count} return line(s) to {output}", highlight=False)


@returns_app.command("show", epilog=examples("fulfillbridge returns show 3 --json"))
@clear_errors
@_return_errors
def show_command(
    return_id: Annotated[int, typer.Argument(help="The return's id (see `returns list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one return with its lines."""

    async def work(database: Database, _settings: Settings) -> dict[str, Any]:
        async with database.transaction() as session:
            row, store = await returns.get_return(session, return_id)
            return returns.return_view(row, store)

    view = with_database(work)
    if as_json:
        print_json(view)
    else:
        _print_return(view)


def _run(return_id: int, command: returns.ReturnCommand, as_json: bool, done: str) -> None:
    async def work(database: Database, settings: Settings) -> returns.ReturnResult:
        return await returns.act(database, settings, return_id, command, actor=actor())

    result = with_database(work)
    if as_json:
        print_json(
            {"return": result.view, "queued": [{"id": i, "kind": k} for i, k in result.queued]}
        )
        return
    out.print(done, highlight=False)
    _print_return(result.view)


@returns_app.command(
    "receive",
    epilog=examples(
        "fulfillbridge returns receive 3 TEE-M=2",
        "fulfillbridge returns receive 3 TEE-M=1:damaged MUG=1",
    ),
)
@clear_errors
@_return_errors
def receive_command(
    return_id: Annotated[int, typer.Argument(help="The return's id.")],
    lines: Annotated[
        list[str],
        typer.Argument(
            help="LINE=QUANTITY[:CONDITION] (or LINE:QUANTITY[:CONDITION]), LINE a line id or SKU."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record returned units that arrived (condition default: good)."""
    receipts = []
    for text in lines:
        line, quantity, condition = _split(text, "receipt", ":")
        receipts.append(Receipt(line, quantity, condition or "good"))
    _run(return_id, returns.Receive(tuple(receipts)), as_json, "received")


@returns_app.command(
    "dispose",
    epilog=examples(
        "fulfillbridge returns dispose 3 --restock TEE-M=2@main",
        "fulfillbridge returns dispose 3 --not-restocked TEE-M=1 --missing MUG=1",
    ),
)
@clear_errors
@_return_errors
def dispose_command(
    return_id: Annotated[int, typer.Argument(help="The return's id.")],
    restock: Annotated[
        list[str] | None,
        typer.Option(
            help="LINE=QUANTITY[@WAREHOUSE] (or LINE:QUANTITY) back to stock (repeatable).",
            show_default=False,
        ),
    ] = None,
    not_restocked: Annotated[
        list[str] | None,
        typer.Option(
            help="LINE=QUANTITY (or LINE:QUANTITY) arrived but not sellable.",
            show_default=False,
        ),
    ] = None,
    missing: Annotated[
        list[str] | None,
        typer.Option(
            help="LINE=QUANTITY (or LINE:QUANTITY) that never arrived.", show_default=False
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Decide what becomes of returned units; sent to Shopify once, through the outbox."""
    decisions = []
    for kind, texts in (
        (Disposition.RESTOCKED, restock),
        (Disposition.NOT_RESTOCKED, not_restocked),
        (Disposition.MISSING, missing),
    ):
        for text in texts or ():
            line, quantity, warehouse = _split(text, kind.value, "@")
            decisions.append(DispositionDecision(line, kind, quantity, warehouse))
    if not decisions:
        raise CommandFailed(
            "say what becomes of the units: --restock, --not-restocked or --missing"
        )
    _run(return_id, returns.Dispose(tuple(decisions)), as_json, "disposition queued for Shopify")


@returns_app.command(
    "label",
    epilog=examples(
        "fulfillbridge returns label 3 --carrier UPS --tracking 1Z999 "
        "--label-url https://labels.example.com/1.pdf"
    ),
)
@clear_errors
@_return_errors
def label_command(
    return_id: Annotated[int, typer.Argument(help="The return's id.")],
    tracking: Annotated[str | None, typer.Option(help="The label's tracking number.")] = None,
    carrier: Annotated[str | None, typer.Option(help="The carrier.")] = None,
    tracking_url: Annotated[str | None, typer.Option(help="Where to follow it.")] = None,
    label_url: Annotated[str | None, typer.Option(help="Where the label is (https).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Attach the return label the operation bought (Shopify shows it to the customer)."""
    label = ReturnTracking(carrier, tracking, tracking_url, label_url)
    _run(return_id, returns.AttachLabel(label), as_json, "label queued for Shopify")
