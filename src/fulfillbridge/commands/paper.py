"""``fulfillbridge orders picklist`` and ``orders packing-slip``: the floor's paper as PDF
(``flows.paper``), for orders named on the command line or all work still to ship.
Registered on ``orders_app`` when the CLI imports this module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fulfillbridge.commands.console import examples, out
from fulfillbridge.commands.orders import (
    ORDER_HELP,
    TO_DO,
    CommandFailed,
    StoreOption,
    clear_errors,
    find_work,
    orders_app,
    with_database,
)
from fulfillbridge.config import Settings
from fulfillbridge.flows import actions, paper
from fulfillbridge.store.database import Database

OutputOption = Annotated[
    Path,
    typer.Option("--output", "-o", help="Where to write the PDF.", dir_okay=False, writable=True),
]


def _views(orders: list[str], store: str | None) -> list[dict[str, Any]]:
    """The named orders, in the order given; none named: every order still to ship."""

    async def work(database: Database, _settings: Settings) -> list[dict[str, Any]]:
        async with database.transaction() as session:
            if orders:
                found = [await find_work(session, ref, store) for ref in orders]
            else:
                if store is not None and store not in (await actions.store_names(session)).values():
                    raise actions.ActionError(f"no store named {store!r}")
                found = []
                after = None
                while True:
                    page, after = await actions.list_work(
                        session, store=store, states=TO_DO, after=after, limit=250
                    )
                    found += page
                    if after is None or len(found) >= paper.MAX_IDS:
                        break
            unique = {row.id: (row, name) for row, name in found}
            return [actions.work_view(row, name) for row, name in unique.values()]

    views = with_database(work)
    if not views:
        raise CommandFailed("no work to print: nothing accepted or in progress")
    if len(views) > paper.MAX_IDS:
        raise CommandFailed(f"at most {paper.MAX_IDS} orders at a time")
    return views


def _write(output: Path, body: bytes, what: str) -> None:
    if output.exists() and output.is_dir():
        raise CommandFailed(f"{output} is a directory: give a file name")
    output.write_bytes(body)
    out.print(f"wrote {what} to {output}", highlight=False, soft_wrap=True)


@orders_app.command(
    "picklist",
    epilog=examples(
        "fulfillbridge orders picklist -o picklist.pdf",
        "fulfillbridge orders picklist 1001 1002 --store acme -o picklist.pdf",
    ),
)
@clear_errors
def picklist_command(
    output: OutputOption,
    orders: Annotated[
        list[str] | None,
        typer.Argument(help=ORDER_HELP + " Several may be given; none: all work to ship."),
    ] = None,
    store: StoreOption = None,
) -> None:
    """A pick list (PDF): per warehouse, each SKU with its barcode, the units to pick and
    the orders they go to."""
    views = _views(orders or [], store)
    _write(output, paper.pick_list(views), f"a pick list for {len(views)} order(s)")


@orders_app.command(
    "packing-slip",
    epilog=examples(
        "fulfillbridge orders packing-slip 1001 -o slip.pdf",
        "fulfillbridge orders packing-slip -o slips.pdf",
    ),
)
@clear_errors
def packing_slip_command(
    output: OutputOption,
    orders: Annotated[
        list[str] | None,
        typer.Argument(help=ORDER_HELP + " Several may be given; none: all work to ship."),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Packing slips (PDF), one page per order: ship-to, lines with personalisation, gift
    message and notes, and the order's barcode."""
    views = _views(orders or [], store)
    _write(output, paper.packing_slips(views), f"{len(views)} packing slip(s)")
