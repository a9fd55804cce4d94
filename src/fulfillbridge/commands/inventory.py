"""``fulfillbridge inventory ...``: push stock levels, see the sync status, refresh mappings.

``inventory_app`` is a Typer app the main command registers
(``app.add_typer(inventory_app, name="inventory")``). Thin: parse, call
``flows.inventory``, print.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fulfillbridge.commands.console import EXIT_ERROR, EXIT_PARTIAL, examples, out, print_json
from fulfillbridge.commands.orders import CommandFailed, clear_errors, with_database
from fulfillbridge.config import Settings
from fulfillbridge.core.inventory import InventoryInputError, parse_csv
from fulfillbridge.core.stores import StoreNotFound
from fulfillbridge.flows import inventory
from fulfillbridge.shopify import ShopifyError
from fulfillbridge.store.database import Database

inventory_app = typer.Typer(
    help="Push stock levels to Shopify, see the sync status, refresh SKU mappings.",
    no_args_is_help=True,
)
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_SHOWN_REJECTIONS = 50


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CommandFailed(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CommandFailed(f"{path} is not UTF-8 text") from None


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "never"


@inventory_app.command(
    "push",
    epilog=examples(
        "fulfillbridge inventory push levels.csv",
        "fulfillbridge inventory push levels.csv --store acme --json",
    ),
)
@clear_errors
def push_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: store,sku,warehouse,quantity.", exists=True, dir_okay=False, readable=True
        ),
    ],
    store: Annotated[
        str | None, typer.Option(help="Store of rows without a store column or cell.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Set stock levels from a CSV: good rows are applied, bad ones listed with their line."""
    try:
        raw, unreadable = parse_csv(_read(file), default_store=store)
    except InventoryInputError as exc:
        raise CommandFailed(f"{file}: {exc}") from None

    async def work(database: Database, settings: Settings) -> inventory.PushReport:
        with Progress(
            TextColumn("[bold]pushing levels"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out,
            transient=True,
            disable=as_json,
        ) as bar:
            task = bar.add_task("push", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            try:
                return await inventory.push(database, settings, raw, progress=progress)
            except (inventory.InventorySyncError, ShopifyError) as exc:
                raise CommandFailed(str(exc)) from None

    report = with_database(work)
    report.rejected = sorted([*unreadable, *report.rejected], key=lambda r: r.line)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)
    if report.rejected:
        # Every row rejected: nothing was done (1); some: done in part (3).
        raise typer.Exit(EXIT_PARTIAL if report.accepted else EXIT_ERROR)


def _print_report(report: inventory.PushReport) -> None:
    table = Table(title="Inventory push")
    for column in ("store", "rows", "applied", "unchanged", "rejected", "calls", "points"):
        table.add_column(column, justify="left" if column == "store" else "right")
    for result in report.stores.values():
        table.add_row(
            result.store,
            *(
                str(v)
                for v in (
                    result.rows,
                    result.applied,
                    result.unchanged,
                    result.rejected,
                    result.calls,
                    result.points,
                )
            ),
        )
    outside = len([r for r in report.rejected if r.store not in report.stores])
    if outside:
        table.add_row("(no store)", "", "", "", str(outside), "", "")
    out.print(table)
    if report.rejected:
        rejected = Table(title=f"Rejected rows ({len(report.rejected)})")
        for column in ("line", "store", "sku", "warehouse", "reason"):
            rejected.add_column(column, overflow="fold")
        for r in report.rejected[:MAX_SHOWN_REJECTIONS]:
            rejected.add_row(str(r.line), r.store or "", r.sku or "", r.warehouse or "", r.reason)
        out.print(rejected)
        if len(report.rejected) > MAX_SHOWN_REJECTIONS:
            out.print(f"... and {len(report.rejected) - MAX_SHOWN_REJECTIONS} more (use --json)")


def _count(value: int | None) -> str:
    return "unknown" if value is None else str(value)


@inventory_app.command(
    "status",
    epilog=examples(
        "fulfillbridge inventory status",
        "fulfillbridge inventory status --store acme --json",
        "fulfillbridge inventory status --sku TEE-M",
    ),
)
@clear_errors
def status_command(
    store: Annotated[str | None, typer.Option(help="Only this store.")] = None,
    sku: Annotated[
        list[str] | None,
        typer.Option(help="Also show this SKU's levels (repeatable).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per store: last sync, levels in sync, pending, rejected rows with reasons."""

    async def work(database: Database, _settings: Settings) -> list[Any]:
        try:
            return await inventory.status(database, store=store, skus=sku or ())
        except StoreNotFound:
            raise CommandFailed(
                f"no store named {store!r}: see `fulfillbridge store list`"
            ) from None

    found = with_database(work)
    if as_json:
        print_json([vars(s) for s in found])
        return
    table = Table(title="Inventory sync")
    columns = (
        "store",
        "mapped SKUs",
        "last sync",
        "in sync",
        "pending",
        "rows rejected (last sync)",
        "levels refused",
    )
    for column in columns:
        table.add_column(column)
    for s in found:
        table.add_row(
            s.store,
            str(s.mapped_skus),
            _stamp(s.last_sync_at),
            str(s.in_sync),
            str(s.pending),
            str(len(s.last_rejections)),
            str(len(s.rejected_levels)),
        )
    out.print(table)
    for s in found:
        for level in s.levels or ():
            out.print(
                f"{s.store} {level['sku']} at {level['warehouse'] or '(store location)'}: "
                f"{_count(level['known'])} in Shopify, {_count(level['wanted'])} asked for "
                f"({level['status']})",
                highlight=False,
            )
    for s in found:
        if s.feed:
            out.print(_feed_line(s.store, s.feed), highlight=False, soft_wrap=True)
    for s in found:
        if s.last_rejections:
            rejected = Table(title=f"{s.store}: rows rejected by the last sync")
            for column in ("line", "sku", "warehouse", "reason"):
                rejected.add_column(column, overflow="fold")
            for r in s.last_rejections[:MAX_SHOWN_REJECTIONS]:
                rejected.add_row(
                    str(r["line"]), r.get("sku") or "", r.get("warehouse") or "", r["reason"]
                )
            out.print(rejected)


def _feed_line(store: str, feed: dict[str, Any]) -> str:
    """``acme feed https://host/path?*** every 900 s: last fetched ..., HTTP 200, ...``."""
    head = f"{store} feed {feed['url']} every {feed['interval_seconds']} s: "
    if not feed.get("last_fetched_at"):
        return head + "not fetched yet"
    parts = [f"last fetched {_stamp(feed['last_fetched_at'])}"]
    if feed.get("http_status") is not None:
        parts.append(f"HTTP {feed['http_status']}")
    parts.append(f"{feed['rows']} rows, {feed['rejected']} rejected")
    if feed.get("last_changed_at"):
        parts.append(f"content last applied {_stamp(feed['last_changed_at'])}")
    if feed.get("error"):
        parts.append(f"error: {feed['error']}")
    return head + ", ".join(parts)


@inventory_app.command("map", epilog=examples("fulfillbridge inventory map acme"))
@clear_errors
def map_command(
    store: Annotated[str, typer.Argument(help="The store's name.")],
    bulk: Annotated[
        bool, typer.Option("--bulk/--pages", help="Large catalogues: one bulk operation.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Read the store's variants again and refresh its SKU -> inventory item mapping."""

    async def work(database: Database, settings: Settings) -> inventory.MappingReport:
        try:
            return await inventory.refresh_mapping(database, settings, store, use_bulk=bulk)
        except ShopifyError as exc:
            raise CommandFailed(str(exc)) from None

    report = with_database(work)
    if as_json:
        print_json(vars(report))
        return
    out.print(
        f"{report.store}: {report.skus} SKUs on {report.variants} variants "
        f"({report.calls} calls, {report.points} points)"
    )
    if report.duplicated_skus:
        shown = ", ".join(report.duplicated_skus[:20])
        out.print(f"[yellow]SKUs on several variants (rows for them are refused):[/] {shown}")
    if report.untracked_skus:
        out.print(f"[yellow]{report.untracked_skus} SKUs are not tracked in Shopify[/]")
