"""``fulfillbridge orders ...``: the operation's work from the command line.

``orders_app`` is a Typer app the main command registers (``app.add_typer(orders_app,
name="orders")``). Commands are thin: they parse, call ``flows.actions``, and print.
"""

from __future__ import annotations

import asyncio
import csv
import getpass
import io
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from fulfillbridge.commands.console import (
    EXIT_ERROR,
    EXIT_PARTIAL,
    err,
    examples,
    one_line,
    out,
    print_json,
    split_line_units,
)
from fulfillbridge.config import ConfigError, Settings, load_settings
from fulfillbridge.core.errors import CommandErrorCode, FulfillbridgeError
from fulfillbridge.core.stores import StoreError
from fulfillbridge.core.work import Tracking, WorkState
from fulfillbridge.flows import actions
from fulfillbridge.flows.work_views import work_detail
from fulfillbridge.store.api_keys import ApiKeyError
from fulfillbridge.store.database import Database

orders_app = typer.Typer(
    help="List, show, ship, import tracking for, and export the operation's work.",
    no_args_is_help=True,
)

T = TypeVar("T")

CSV_COLUMNS = ("store", "order", "sku", "quantity", "carrier", "tracking", "url")
EXPORT_COLUMNS = (
    "store",
    "order",
    "work_id",
    "warehouse",
    "sku",
    "title",
    "quantity",
    "ship_to_name",
    "ship_to_city",
    "ship_to_country",
    "personalisation",
    "image_url",
    "unit_price",
    "currency",
    "weight_grams",
    "hs_code",
    "country_of_origin",
    "shipping_method",
    "carrier",
    "carrier_service",
    "fulfill_by",
    "note",
)
TO_DO = (WorkState.ACCEPTED, WorkState.IN_PROGRESS, WorkState.PARTIALLY_SHIPPED)


class CommandFailed(FulfillbridgeError):
    """A failure the user can act on: one line on standard error, exit status 1."""

    default_code = CommandErrorCode.FAILED


def clear_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Known failures become one line on standard error and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except actions.ActionError as exc:
            err.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except (ConfigError, StoreError, ApiKeyError, CommandFailed, OSError) as exc:
            err.print(f"[bold red]error:[/] {one_line(exc)}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def with_database(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    """Open the configured database, run ``work`` on it, and close it."""

    async def main() -> T:
        settings = load_settings()
        database = Database.from_settings(settings)
        try:
            return await work(database, settings)
        finally:
            await database.close()

    return asyncio.run(main())


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


WORK_ID_PREFIX = "work:"


def ambiguous_number(number: str, row_by_id: Any, row_by_name: Any | None) -> str:
    """Why a bare number cannot be used: it is both a work id and an order name."""
    other = (
        f"order #{number} (work {row_by_name.id})"
        if row_by_name is not None
        else (f"order #{number}")
    )
    return (
        f"{number} is ambiguous: work {number} is order {row_by_id.order_name}, and there is "
        f"also {other}; say '#{number}' for the order or {WORK_ID_PREFIX}{number} for the work id"
    )


async def find_work(session: Any, order: str, store: str | None = None) -> tuple[Any, str]:
    """Work by reference: ``'#1001'`` (an order name), ``work:7`` (a work id), a Shopify gid,
    or a bare number. A bare number is an order name (``1001`` finds ``#1001``) or a work id,
    whichever exists; when both exist and are different work orders it is refused as
    ambiguous (a usage error), naming both, since guessing could ship the wrong order."""
    ref = order.strip()
    if ref.lower().startswith(WORK_ID_PREFIX):
        number = ref[len(WORK_ID_PREFIX) :].strip()
        if not number.isdigit():
            raise typer.BadParameter(
                f"{order!r}: a work id is {WORK_ID_PREFIX}N, N a whole number", param_hint="ORDER"
            )
        return await actions.find_work(session, number, store=store)
    if not ref.isdigit():
        return await actions.find_work(session, ref, store=store)
    try:
        by_id: tuple[Any, str] | None = await actions.find_work(session, ref, store=store)
    except actions.ActionError as exc:
        if exc.code is not actions.NOT_FOUND:
            raise
        by_id = None
    try:
        by_name: tuple[Any, str] | None = await actions.find_work(session, f"#{ref}", store=store)
        name_error: actions.ActionError | None = None
    except actions.ActionError as exc:
        by_name, name_error = None, exc
    if by_id is None:
        if by_name is None:
            assert name_error is not None
            if name_error.code is not actions.NOT_FOUND:
                raise name_error
            where = f" in store {store}" if store else ""
            raise actions.ActionError(
                f"no work order {ref} and no order #{ref}{where}",
                status=actions.NOT_FOUND,
                field="order",
            )
        return by_name
    if by_name is None and (name_error is None or name_error.code is actions.NOT_FOUND):
        return by_id
    if by_name is not None and by_name[0].id == by_id[0].id:
        return by_id
    raise typer.BadParameter(
        ambiguous_number(ref, by_id[0], by_name[0] if by_name else None), param_hint="ORDER"
    )


def resolve(order: str, store: str | None) -> Callable[[Database], Awaitable[str]]:
    """The work id ``order`` refers to (``#`` optional), as a reference for ``run_action``."""

    async def work(database: Database) -> str:
        async with database.transaction() as session:
            row, _name = await find_work(session, order, store)
            return str(row.id)

    return work


def _units(view: dict[str, Any]) -> str:
    shipped = sum(line["shipped"] for line in view["lines"])
    total = sum(line["quantity"] for line in view["lines"])
    return f"{shipped}/{total}"


def _json(data: Any) -> None:
    print_json(data)


ORDER_HELP = (
    "An order name ('#1001', or 1001 without the #) or a work id (work:7). A bare number "
    "that is both an order name and another order's work id is refused as ambiguous."
)
StoreOption = Annotated[
    str | None, typer.Option(help="The store, when the name is ambiguous.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


# --- list and show ---------------------------------------------------------------------------


@orders_app.command(
    "list",
    epilog=examples(
        "fulfillbridge orders list --state accepted",
        "fulfillbridge orders list --overdue --sort deadline --json",
    ),
)
@clear_errors
def list_command(
    store: Annotated[str | None, typer.Option(help="Only this store's work.")] = None,
    state: Annotated[
        list[WorkState] | None,
        typer.Option(help="Only work in this state (repeat for several).", show_default=False),
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open work whose deadline has passed.")
    ] = False,
    due_within: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=24 * 365,
            help="Only open work due within this many hours.",
            show_default=False,
        ),
    ] = None,
    sort: Annotated[
        str, typer.Option(help="updated (oldest change first) or deadline (nearest first).")
    ] = "updated",
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List work orders, oldest change first (or nearest deadline first)."""
    due_before = datetime.now(UTC) + timedelta(hours=due_within) if due_within is not None else None

    async def work(database: Database, _settings: Settings) -> tuple[list[dict[str, Any]], bool]:
        async with database.transaction() as session:
            if store is not None and store not in (await actions.store_names(session)).values():
                raise CommandFailed(f"no store named {store!r}: see `fulfillbridge store list`")
            try:
                page, more = await actions.list_work(
                    session,
                    store=store,
                    states=state or (),
                    overdue=overdue,
                    due_before=due_before,
                    sort=sort,
                    limit=limit,
                )
            except actions.ActionError as exc:
                raise typer.BadParameter(exc.message, param_hint="--sort") from None
            return [actions.work_view(row, name) for row, name in page], more is not None

    views, more = with_database(work)
    if as_json:
        _json(views)
        return
    table = Table(
        "id", "store", "order", "state", "stage", "warehouse", "shipped", "due", "updated"
    )
    for view in views:
        due = view["fulfill_by"].strftime("%Y-%m-%d %H:%M") if view["fulfill_by"] else ""
        if view["overdue"]:
            due = f"[red]{due} overdue[/]"
        table.add_row(
            str(view["id"]),
            view["store"],
            view["order_name"],
            view["state"],
            view["stage"] or "",
            view["warehouse"] or "",
            _units(view),
            due,
            view["updated_at"].strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)
    if not views:
        out.print("no work orders match")
    if more:
        out.print(f"more than {limit} work orders match: raise --limit or filter by store/state")


@orders_app.command(
    "show",
    epilog=examples("fulfillbridge orders show 1001", "fulfillbridge orders show '#1001' --json"),
)
@clear_errors
def show_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    store: Annotated[
        str | None, typer.Option(help="The store, when the name is ambiguous.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one work order: lines, address, shipments and every transition."""

    async def work(database: Database, _settings: Settings) -> dict[str, Any]:
        async with database.transaction() as session:
            row, name = await find_work(session, order, store)
            return await work_detail(session, row, name)

    view = with_database(work)
    if as_json:
        _json(view)
        return
    _print_view(view)


def _print_view(view: dict[str, Any]) -> None:
    stage = f" at {view['stage']}" if view["stage"] else ""
    out.print(
        f"[bold]{view['order_name']}[/] (work {view['id']}, store {view['store']}): "
        f"{view['state']}{stage}, warehouse {view['warehouse'] or '-'}",
        highlight=False,
    )
    if view["hold_reason"]:
        by = f" (held by {view['held_by']})" if view.get("held_by") else ""
        out.print(f"on hold: {view['hold_reason']}{by}", highlight=False)
    for problem in view["problems"]:
        out.print(f"[red]problem:[/] {problem}", highlight=False)
    for flag in view.get("flags") or []:
        out.print(f"[yellow]flag:[/] {flag}", highlight=False)
    _print_details(view)
    address = view["shipping_address"] or {}
    if address:
        keys = ("name", "address1", "address2", "city", "province_code", "zip", "country_code")
        parts = [address.get(k) or "" for k in keys]
        out.print("ship to: " + ", ".join(p for p in parts if p), highlight=False)
    lines = Table(
        "sku",
        "title",
        "quantity",
        "shipped",
        "remaining",
        "personalisation",
        "price",
        title="lines",
    )
    for line in view["lines"]:
        personal = "; ".join(f"{p['key']}: {p['value']}" for p in line.get("properties") or [])
        price = f"{line['unit_price']} {line['currency'] or ''}" if line.get("unit_price") else ""
        lines.add_row(
            line["sku"] or "-",
            line["title"],
            str(line["quantity"]),
            str(line["shipped"]),
            str(line["remaining"]),
            personal,
            price.strip(),
        )
    out.print(lines)
    if view["shipments"]:
        shipments = Table("id", "lines", "tracking", "status", title="shipments")
        for shipment in view["shipments"]:
            shipments.add_row(
                str(shipment["id"]),
                ", ".join(
                    f"{x['sku'] or x['line_id']} x {x['quantity']}" for x in shipment["lines"]
                ),
                ", ".join(f"{p['company']} {p['number']}" for p in shipment["packages"]),
                shipment["status"],
            )
        out.print(shipments)
    history = Table("at", "from", "to", "stage", "event", "by", title="transitions")
    for t in view["transitions"]:
        detail = t["detail"] or {}
        # A row that left the state as it was (a tracking scan, a second package) is an
        # event, not a change; a new stage is a change of its own.
        same = t["from_state"] == t["to_state"] and detail.get("action") != "stage"
        event = " ".join([str(detail.get("action") or ""), *map(str, detail.get("statuses") or [])])
        history.add_row(
            t["at"].strftime("%Y-%m-%d %H:%M:%S"),
            "" if same else t["from_state"] or "",
            f"(still {t['to_state']})" if same else t["to_state"],
            t["stage"] or "",
            event.strip() if same else "",
            t["actor"],
        )
    out.print(history)


def _print_details(view: dict[str, Any]) -> None:
    delivery = view.get("delivery") or {}
    if delivery:
        method = delivery.get("presented_name") or delivery.get("shipping_title") or ""
        carrier = delivery.get("carrier")
        mapped = (
            f" -> {carrier} {delivery.get('carrier_service') or ''}".rstrip() if carrier else ""
        )
        out.print(f"delivery: {delivery.get('kind')} {method}{mapped}".rstrip(), highlight=False)
    if view.get("fulfill_by"):
        late = " [red](overdue)[/]" if view.get("overdue") else ""
        out.print(f"deadline: {view['fulfill_by'].isoformat()}{late}", highlight=False)
    payment = view.get("payment") or {}
    if payment and payment.get("state") not in ("paid", "unknown"):
        out.print(
            f"payment: {payment['state']} ({payment.get('financial_status')})", highlight=False
        )
    if view.get("note"):
        out.print(f"note: {view['note']}", highlight=False)
    for attribute in view.get("note_attributes") or []:
        out.print(f"  {attribute['key']}: {attribute['value']}", highlight=False)


# --- ship ------------------------------------------------------------------------------------


def _parse_line(value: str) -> actions.ShipLine:
    try:
        sku, quantity, _ = split_line_units(value)
    except ValueError:
        quantity = 0
    if quantity <= 0:
        raise typer.BadParameter(
            f"{value!r} is not SKU:QUANTITY or SKU=QUANTITY (e.g. MUG-RED:2), QUANTITY a "
            "positive whole number",
            param_hint="--line",
        )
    return actions.ShipLine(quantity, sku=sku)


def _packages(carrier: str, numbers: list[str], urls: list[str]) -> tuple[Tracking, ...]:
    if urls and len(urls) != len(numbers):
        raise typer.BadParameter(
            f"give one --url per --tracking ({len(numbers)} tracking, {len(urls)} url)",
            param_hint="--url",
        )
    return tuple(
        Tracking(carrier, number, urls[i] if urls else None) for i, number in enumerate(numbers)
    )


def _act(order: str, store: str | None, command: actions.Command) -> actions.ActionResult:
    """Apply ``command`` to the work ``order`` names, in one transaction."""

    async def work(database: Database, settings: Settings) -> actions.ActionResult:
        ref = await resolve(order, store)(database)
        return await actions.run_action(
            database, settings, ref, command, actor=actor(), store=store
        )

    return with_database(work)


def _report(result: actions.ActionResult, as_json: bool, said: str) -> None:
    view = actions.work_view(result.row, result.store)
    if as_json:
        _json(
            {
                "work": view,
                "shipment": actions.shipment_view(result.shipment, result.row)
                if result.shipment is not None
                else None,
                "queued": [{"id": q.id, "kind": q.kind} for q in result.queued],
            }
        )
        return
    queued = ", ".join(q.kind for q in result.queued)
    tail = f"; queued for Shopify: {queued}" if queued else ""
    out.print(
        f"{view['order_name']} (work {view['id']}, store {view['store']}): {said}; "
        f"now {view['state']}{tail}",
        highlight=False,
    )


@orders_app.command(
    "ready-for-pickup", epilog=examples("fulfillbridge orders ready-for-pickup 1002")
)
@clear_errors
def ready_for_pickup_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark a pickup order ready at the counter; Shopify tells the customer."""
    _report(_act(order, store, actions.ReadyForPickup()), as_json, "ready for pickup")


@orders_app.command(
    "ship",
    epilog=examples(
        "fulfillbridge orders ship 1001 --carrier UPS --tracking 1Z999AA10123456784",
        "fulfillbridge orders ship '#1001' --carrier DHL --tracking JD1 --tracking JD2 "
        "--line MUG-RED:1",
    ),
)
@clear_errors
def ship_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    carrier: Annotated[str, typer.Option(help="The carrier, e.g. UPS.", show_default=False)],
    tracking: Annotated[
        list[str],
        typer.Option(help="A tracking number; repeat for several packages.", show_default=False),
    ],
    url: Annotated[
        list[str] | None,
        typer.Option(help="Tracking URL, one per --tracking.", show_default=False),
    ] = None,
    line: Annotated[
        list[str] | None,
        typer.Option(
            help="SKU:QUANTITY (or SKU=QUANTITY) to ship (repeatable); default: everything left.",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = None,
    notify: Annotated[bool, typer.Option(help="Let Shopify email the customer.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Record a shipment with tracking; Shopify gets the fulfillment from the worker."""
    lines = tuple(_parse_line(value) for value in line) if line else None
    command = actions.Ship(lines, _packages(carrier, tracking, url or []), notify)
    result = _act(order, store, command)
    view = actions.work_view(result.row, result.store)
    shipped = ", ".join(
        f"{line['sku'] or line['line_id']} x {qty}"
        for line in view["lines"]
        if (qty := (result.shipment.lines if result.shipment else {}).get(line["line_id"]))
    )
    _report(result, as_json, f"shipped {shipped}")


@orders_app.command(
    "stage",
    epilog=examples(
        "fulfillbridge orders stage 1001 picking", "fulfillbridge orders stage 1001 packing"
    ),
)
@clear_errors
def stage_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    stage: Annotated[str, typer.Argument(help="A configured stage (setting `stages`).")],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Report a production stage (stages only move forward); Shopify gets it as progress."""
    _report(_act(order, store, actions.StartStage(stage)), as_json, f"at stage {stage}")


@orders_app.command(
    "hold",
    epilog=examples(
        "fulfillbridge orders hold 1001 --reason INCORRECT_ADDRESS --notes 'flat number missing'"
    ),
)
@clear_errors
def hold_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    reason: Annotated[
        str,
        typer.Option(
            help="Shopify's hold reason: " + ", ".join(actions.HOLD_REASONS) + ".",
            show_default=False,
        ),
    ],
    notes: Annotated[str, typer.Option(help="Why, in words.")] = "",
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put work on hold (a fulfillment hold in Shopify)."""
    if reason not in actions.HOLD_REASONS:
        raise typer.BadParameter(
            f"{reason!r} is not one of {', '.join(actions.HOLD_REASONS)}", param_hint="--reason"
        )
    _report(_act(order, store, actions.Hold(reason, notes)), as_json, "on hold")


@orders_app.command("release", epilog=examples("fulfillbridge orders release 1001"))
@clear_errors
def release_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Release the operation's hold; the work returns to the state it was held in."""
    _report(_act(order, store, actions.Release()), as_json, "released")


ReasonOption = Annotated[
    str, typer.Option(help="Why, in words (Shopify records it).", show_default=False)
]


@orders_app.command(
    "give-up", epilog=examples("fulfillbridge orders give-up 1001 --reason 'blank out of stock'")
)
@clear_errors
def give_up_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    reason: ReasonOption,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give up on accepted work: Shopify closes the fulfillment order as incomplete."""
    _report(_act(order, store, actions.GiveUp(reason)), as_json, "given up")


@orders_app.command(
    "cancel", epilog=examples("fulfillbridge orders cancel 1001 --reason 'cannot be made'")
)
@clear_errors
def cancel_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    reason: ReasonOption,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """The operation cancels its work. Only the merchant can cancel a Shopify order, so this
    is give-up: the fulfillment order is closed as incomplete with the reason."""
    _report(_act(order, store, actions.GiveUp(reason)), as_json, "cancelled")


@orders_app.command(
    "fix",
    epilog=examples(
        "fulfillbridge orders fix 1003 --address address1='1 Main St' --address city=Ottawa",
        "fulfillbridge orders fix 1003 --sku gid://shopify/FulfillmentOrderLineItem/7=MUG-RED",
    ),
)
@clear_errors
def fix_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    address: Annotated[
        list[str] | None,
        typer.Option(
            help="FIELD=VALUE of the shipping address (name, address1, address2, city, "
            "province_code, zip, country_code, phone); repeatable.",
            show_default=False,
        ),
    ] = None,
    sku: Annotated[
        list[str] | None,
        typer.Option(
            help="LINE_ID=SKU for a line without a known SKU; repeatable.", show_default=False
        ),
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Correct an exception's data (shipping address, SKUs) and validate it again."""
    fields = {
        "name",
        "address1",
        "address2",
        "city",
        "province_code",
        "zip",
        "country_code",
        "phone",
    }
    patch: dict[str, str] = {}
    for pair in address or []:
        key, sep, value = pair.partition("=")
        if not sep or key.strip() not in fields:
            raise typer.BadParameter(
                f"{pair!r} is not FIELD=VALUE with FIELD one of {', '.join(sorted(fields))}",
                param_hint="--address",
            )
        patch[key.strip()] = value.strip()
    skus: dict[str, str] = {}
    for pair in sku or []:
        line_id, sep, value = pair.rpartition("=")
        if not sep or not line_id.strip() or not value.strip():
            raise typer.BadParameter(f"{pair!r} is not LINE_ID=SKU", param_hint="--sku")
        skus[line_id.strip()] = value.strip()
    if not patch and not skus:
        raise typer.BadParameter("give --address FIELD=VALUE or --sku LINE_ID=SKU")
    command = actions.FixException(shipping_address=patch or None, skus=skus)
    _report(_act(order, store, command), as_json, "fixed and validated again")


@orders_app.command("retry", epilog=examples("fulfillbridge orders retry 1003"))
@clear_errors
def retry_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate an exception again (after its cause was fixed elsewhere)."""
    _report(_act(order, store, actions.RetryException()), as_json, "validated again")


@orders_app.command(
    "override", epilog=examples("fulfillbridge orders override 1003 --reason 'SKU checked by hand'")
)
@clear_errors
def override_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    reason: ReasonOption,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Accept an exception despite its problems; the reason is recorded."""
    _report(_act(order, store, actions.OverrideException(reason)), as_json, "accepted anyway")


@orders_app.command("delivered", epilog=examples("fulfillbridge orders delivered 1001"))
@clear_errors
def delivered_command(
    order: Annotated[str, typer.Argument(help=ORDER_HELP)],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark shipped work delivered; Shopify gets a DELIVERED event on each fulfillment."""
    _report(_act(order, store, actions.Deliver()), as_json, "delivered")


# --- import-tracking -------------------------------------------------------------------------


@dataclass
class _Package:
    """Rows of one CSV file that describe the same package (same store, order and
    tracking number)."""

    store: str
    order: str
    carrier: str
    tracking: str
    url: str | None
    rows: list[int] = field(default_factory=list)
    lines: list[actions.ShipLine] = field(default_factory=list)
    everything: bool = False
    error: str | None = None


@dataclass
class _RowResult:
    line: int
    order: str
    tracking: str
    outcome: str
    ok: bool


def _read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        # The file is the user's argument: a name that does not exist is a usage error.
        raise typer.BadParameter(f"{path}: no such file", param_hint="FILE") from None
    except UnicodeDecodeError:
        raise CommandFailed(f"{path} is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [column for column in CSV_COLUMNS if column not in header and column != "url"]
    if missing:
        raise CommandFailed(
            f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(CSV_COLUMNS)}"
        )
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _group(path: Path) -> tuple[list[_Package], list[_RowResult]]:
    """Packages to ship, and the rows that are wrong on their own. A package with a wrong
    row is not shipped in part: the whole package waits until the file is fixed."""
    grouped: dict[tuple[str, str, str, str], list[tuple[int, dict[str, str]]]] = {}
    for number, row in _read_rows(path):
        key = (row.get("store", ""), row.get("order", ""), row.get("carrier", ""))
        grouped.setdefault((*key, row.get("tracking", "")), []).append((number, row))
    packages: list[_Package] = []
    bad: list[_RowResult] = []
    for (store, order, carrier, tracking), rows in grouped.items():
        urls = sorted({row.get("url", "") for _, row in rows} - {""})
        package = _Package(store, order, carrier, tracking, urls[0] if urls else None)
        if len(urls) > 1:
            package.error = f"tracking {tracking} has different urls ({', '.join(urls)})"
        for number, row in rows:
            problem = _row_problem(row)
            if problem:
                bad.append(_RowResult(number, order, tracking, problem, False))
                package.error = package.error or f"line {number} of the same package is wrong"
                continue
            package.rows.append(number)
            if row["sku"]:
                package.lines.append(actions.ShipLine(int(row["quantity"]), sku=row["sku"]))
            else:
                package.everything = True
        if package.everything and package.lines:
            package.error = "a row without sku ships everything left; do not mix it with SKU rows"
        packages.append(package)
    return packages, bad


def _row_problem(row: dict[str, str]) -> str | None:
    for column in ("order", "carrier", "tracking"):
        if not row.get(column):
            return f"{column} is empty"
    sku, quantity = row.get("sku", ""), row.get("quantity", "")
    if sku and not quantity:
        return f"quantity is empty for SKU {sku}"
    if quantity and not sku:
        return "sku is empty (leave quantity empty too to ship everything left)"
    if quantity and (not quantity.isdigit() or int(quantity) <= 0):
        return f"quantity {quantity!r} is not a positive whole number"
    url = row.get("url", "")
    if url and not url.startswith(("http://", "https://")):
        return f"url {url!r} is not an http(s) URL"
    return None


@orders_app.command(
    "import-tracking",
    epilog=examples(
        "fulfillbridge orders import-tracking shipments.csv",
        "fulfillbridge orders import-tracking shipments.csv --json --no-notify",
    ),
)
@clear_errors
def import_tracking_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: store, order, sku, quantity, carrier, tracking, url.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    notify: Annotated[bool, typer.Option(help="Let Shopify email the customers.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Apply shipments from a CSV file, one row per package line. Rows with the same store,
    order and tracking number are one package. Bad rows are reported by line number and the
    good ones applied; importing the same file again applies nothing twice. The order column
    is read like ORDER elsewhere ('#1001', 1001, work:7; a bare number that is both an order
    name and another order's work id is rejected as ambiguous). Exit 3 when some rows were
    rejected, 1 when all were."""
    packages, results = _group(file)

    async def work(database: Database, settings: Settings) -> None:
        progress = Progress(
            TextColumn("importing"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
        )
        with progress:
            task = progress.add_task("import", total=len(packages))
            for package in packages:
                results.extend(await _apply(database, settings, package, notify))
                progress.advance(task)

    with_database(work)
    results.sort(key=lambda r: r.line)
    failed = sum(not r.ok for r in results)
    applied = sum(r.outcome == "shipped" for r in results)
    repeated = sum(r.outcome.startswith("already") for r in results)
    if as_json:
        _json(
            {
                "rows": [vars(r) for r in results],
                "shipped": applied,
                "already_imported": repeated,
                "rejected": failed,
            }
        )
        if failed:
            raise typer.Exit(_import_status(results))
        return
    table = Table("line", "order", "tracking", "result", title=f"import of {file.name}")
    for r in results:
        style = "" if r.ok else "red"
        table.add_row(str(r.line), r.order, r.tracking, r.outcome, style=style)
    out.print(table)
    out.print(f"{applied} row(s) shipped, {repeated} already imported, {failed} with errors")
    if failed:
        raise typer.Exit(_import_status(results))


def _import_status(results: list[_RowResult]) -> int:
    """Exit 1 when every row was rejected (nothing done), 3 when only some were."""
    return EXIT_PARTIAL if any(r.ok for r in results) else EXIT_ERROR


async def _apply(
    database: Database, settings: Settings, package: _Package, notify: bool
) -> list[_RowResult]:
    def each(outcome: str, ok: bool) -> list[_RowResult]:
        return [_RowResult(n, package.order, package.tracking, outcome, ok) for n in package.rows]

    if package.error:
        return each(f"not applied: {package.error}", False)
    lines = None if package.everything else tuple(package.lines)
    key = actions.dedupe_key(
        package.store,
        package.order,
        package.carrier,
        package.tracking,
        package.url,
        sorted((line.sku or "", line.quantity) for line in package.lines),
    )
    command = actions.Ship(
        lines, (Tracking(package.carrier, package.tracking, package.url),), notify, key
    )
    store = package.store or None
    try:
        # The row's order is read like the command line's (a bare number may be an order
        # name), then applied by its work id.
        ref = await resolve(package.order, store)(database)
        result = await actions.run_action(
            database, settings, ref, command, actor=actor(), store=store
        )
    except actions.ActionError as exc:
        return each(exc.message, False)
    except typer.BadParameter as exc:
        return each(exc.message, False)
    return each("shipped" if result.applied else "already imported", True)


# --- export ----------------------------------------------------------------------------------


@orders_app.command(
    "export", epilog=examples("fulfillbridge orders export -o picklist.csv --store acme")
)
@clear_errors
def export_command(
    store: Annotated[str | None, typer.Option(help="Only this store's work.")] = None,
    state: Annotated[
        list[WorkState] | None,
        typer.Option(
            help="Work in this state (repeatable); default accepted, in_progress, "
            "partially_shipped.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of standard output.")
    ] = None,
) -> None:
    """Write a pick list (CSV): one row per line with units left to ship."""

    async def work(database: Database, _settings: Settings) -> list[list[Any]]:
        async with database.transaction() as session:
            if store is not None and store not in (await actions.store_names(session)).values():
                raise CommandFailed(f"no store named {store!r}: see `fulfillbridge store list`")
            rows: list[list[Any]] = []
            after = None
            for _ in range(100_000):  # bounded walk over pages
                page, after = await actions.list_work(
                    session, store=store, states=state or TO_DO, after=after, limit=250
                )
                rows += [_pick_rows(actions.work_view(row, name)) for row, name in page]
                if after is None:
                    break
            return [r for group in rows for r in group]

    picked = sorted(with_database(work), key=lambda r: (r[3] or "", r[0], r[1], r[4] or ""))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(picked)
    if output is None:
        sys.stdout.write(buffer.getvalue())
        return
    output.write_text(buffer.getvalue(), encoding="utf-8")
    out.print(f"wrote {len(picked)} pick line(s) to {output}", highlight=False)


def _pick_rows(view: dict[str, Any]) -> list[list[Any]]:
    address = view["shipping_address"] or {}
    delivery = view.get("delivery") or {}
    deadline = view["fulfill_by"].isoformat() if view.get("fulfill_by") else ""
    return [
        [
            view["store"],
            view["order_name"],
            view["id"],
            view["warehouse"] or "",
            line["sku"] or "",
            line["title"],
            line["remaining"],
            address.get("name", ""),
            address.get("city", ""),
            address.get("country_code", ""),
            "; ".join(f"{p['key']}={p['value']}" for p in line.get("properties") or []),
            line.get("image_url") or "",
            line.get("unit_price") or "",
            line.get("currency") or "",
            line.get("weight_grams") if line.get("weight_grams") is not None else "",
            line.get("hs_code") or "",
            line.get("country_of_origin") or "",
            delivery.get("presented_name") or delivery.get("shipping_title") or "",
            delivery.get("carrier") or "",
            delivery.get("carrier_service") or "",
            deadline,
            view.get("note") or "",
        ]
        for line in view["lines"]
        if line["remaining"] > 0
    ]
