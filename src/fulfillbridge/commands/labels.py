"""``fulfillbridge orders label ...`` (rates, buy, print, void, ship, event) and
``fulfillbridge carrier add|list``: labels and carrier accounts from the command line.

Thin: parse, call ``flows.shipping`` or ``flows.tracking``, print. The root command group
turns the flows' errors into one line on standard error.
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fulfillbridge.commands.console import examples, out, print_json, split_line_units
from fulfillbridge.commands.orders import ORDER_HELP, actor, find_work, with_database
from fulfillbridge.config import Settings
from fulfillbridge.core.carriers import ShippingError
from fulfillbridge.core.tracking import TrackingInputError, status_from_shopify
from fulfillbridge.flows import shipping, tracking
from fulfillbridge.flows.work_commands import ShipLine
from fulfillbridge.store.database import Database

label_app = typer.Typer(
    help="Rate, buy, print and void shipping labels; ship labelled packages.",
    no_args_is_help=True,
)
carrier_app = typer.Typer(help="Carrier accounts labels are bought with.", no_args_is_help=True)

OrderArg = Annotated[str, typer.Argument(help=ORDER_HELP + " Or a Shopify gid.")]
PackageOpt = Annotated[str, typer.Option("--package", "-p", help="Your name for the box.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for other programs.")]
LinesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--line",
        help="SKU=UNITS (or SKU:UNITS) in the box (repeat); none: all that is left.",
    ),
]


async def _work_id(database: Database, order: str) -> int:
    return (await _work(database, order))[0]


async def _work(database: Database, order: str) -> tuple[int, str]:
    """The work id and order name ``order`` refers to."""
    async with database.transaction() as session:
        row, _ = await find_work(session, order)
        return row.id, row.order_name


def _bad(message: str, hint: str) -> typer.BadParameter:
    """Input the user typed that cannot be used: exit status 2, like any usage error."""
    return typer.BadParameter(message, param_hint=hint)


def _lines(raw: list[str] | None) -> tuple[ShipLine, ...] | None:
    if not raw:
        return None
    lines = []
    for item in raw:
        try:
            sku, units, _ = split_line_units(item)
        except ValueError:
            units = 0
        if units <= 0:
            raise _bad(
                f"{item!r} must be SKU=units or SKU:units, units a positive number", "--line"
            )
        lines.append(ShipLine(units, sku=sku))
    return tuple(lines)


def _request(
    package: str,
    lines: list[str] | None,
    service: str | None,
    account: str | None,
    weight: float | None,
    dims: str | None,
    label_format: str = "PDF",
) -> shipping.LabelRequest:
    length = width = height = None
    if dims:
        parts = dims.lower().split("x")
        try:
            length, width, height = (float(p) for p in parts)
        except ValueError:
            raise _bad(f"{dims!r} must be LxWxH in centimetres, e.g. 30x20x10", "--dims") from None
    fmt = label_format.upper()
    if fmt not in ("PDF", "ZPL"):
        raise _bad(f"{label_format!r}: the format must be PDF or ZPL", "--format")
    return shipping.LabelRequest(
        package=package,
        lines=_lines(lines),
        service=service,
        account=account,
        weight_grams=weight,
        length_cm=length,
        width_cm=width,
        height_cm=height,
        label_format=fmt,
    )


ServiceOpt = Annotated[
    str | None, typer.Option(help="Service, e.g. ups_ground, sr_43 (Shiprocket), cp_4 (Clickpost).")
]
AccountOpt = Annotated[str | None, typer.Option(help="Carrier account name.")]
WeightOpt = Annotated[float | None, typer.Option("--weight", help="Package weight in grams.")]
DimsOpt = Annotated[str | None, typer.Option("--dims", help="LxWxH in cm, e.g. 30x20x10.")]


@label_app.command("rates", epilog=examples("fulfillbridge orders label rates 1001 -p box-1"))
def rates_command(
    order: OrderArg,
    package: PackageOpt = "box-1",
    line: LinesOpt = None,
    account: AccountOpt = None,
    weight: WeightOpt = None,
    dims: DimsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What each service would cost for a package of the order."""

    request = _request(package, line, None, account, weight, dims)

    async def work(database: Database, _settings: Settings) -> list[Any]:
        return await shipping.rates(database, await _work_id(database, order), request)

    found = with_database(work)
    if as_json:
        print_json([r.__dict__ for r in found])
        return
    table = Table("service", "name", "amount", "days")
    for rate in found:
        table.add_row(
            rate.service, rate.name, f"{rate.amount} {rate.currency}", str(rate.transit_days or "")
        )
    out.print(table)


@label_app.command(
    "buy",
    epilog=examples(
        "fulfillbridge orders label buy 1001 -p box-1 --service ups_ground",
        "fulfillbridge orders label buy 1001 -p box-2 --line MUG-1=2 --weight 900 --format ZPL",
    ),
)
def buy_command(
    order: OrderArg,
    package: PackageOpt = "box-1",
    line: LinesOpt = None,
    service: ServiceOpt = None,
    account: AccountOpt = None,
    weight: WeightOpt = None,
    dims: DimsOpt = None,
    label_format: Annotated[str, typer.Option("--format", help="PDF or ZPL (4x6 in).")] = "PDF",
    as_json: JsonOpt = False,
) -> None:
    """Buy a package's label (once: buying the same package again shows the label bought)."""

    request = _request(package, line, service, account, weight, dims, label_format)

    async def work(database: Database, _settings: Settings) -> tuple[shipping.Bought, str]:
        work_id, name = await _work(database, order)
        return await shipping.buy_label(database, work_id, request, actor=actor()), name

    bought, name = with_database(work)
    view = shipping.label_view(bought.label)
    if as_json:
        print_json({"label": view, "bought_now": bought.bought_now})
        return
    verb = "bought" if bought.bought_now else "already bought"
    # Quoted: an order name starts with '#', which a shell takes for a comment.
    out.print(
        f"label {view['id']} for {name} {verb}: {view['company']} {view['tracking_number']} "
        f"({view['service']}); print it with `fulfillbridge orders label print "
        f"{shlex.quote(name)} {view['id']}`",
        highlight=False,
        soft_wrap=True,
    )


@label_app.command(
    "print",
    epilog=examples("fulfillbridge orders label print 1001 7 --out label-7.pdf"),
)
def print_command(
    order: OrderArg,
    label_id: Annotated[int, typer.Argument(help="The label's id.")],
    to: Annotated[
        Path | None, typer.Option("--out", help="File to write; default: label-ID.ext")
    ] = None,
    customs: Annotated[bool, typer.Option(help="Write the customs form instead.")] = False,
) -> None:
    """Write a bought label (PDF or ZPL), or its customs form, to a file."""

    async def work(database: Database, _settings: Settings) -> Any:
        return await shipping.get_label(database, await _work_id(database, order), label_id)

    label = with_database(work)
    if customs:
        if label.customs_form is None:
            raise ShippingError(f"label {label_id} has no customs form (a domestic parcel)")
        data, name = label.customs_form, f"customs-{label_id}.pdf"
    else:
        data, name = label.label_data or b"", f"label-{label_id}.{label.label_format.lower()}"
    path = to or Path(name)
    path.write_bytes(data)
    out.print(f"wrote {path} ({len(data)} bytes)")


@label_app.command("void", epilog=examples("fulfillbridge orders label void 1001 7"))
def void_command(
    order: OrderArg, label_id: Annotated[int, typer.Argument(help="The label's id.")]
) -> None:
    """Void a bought label that has not shipped (the carrier refuses once it has the parcel)."""

    async def work(database: Database, _settings: Settings) -> dict[str, Any]:
        return await shipping.void_label(database, await _work_id(database, order), label_id)

    view = with_database(work)
    out.print(f"label {view['id']} voided ({view['tracking_number']})")


@label_app.command("ship", epilog=examples("fulfillbridge orders label ship 1001 7 8"))
def ship_command(
    order: OrderArg,
    label_ids: Annotated[list[int], typer.Argument(help="The labels' ids.")],
    notify: Annotated[bool, typer.Option(help="Tell the customer.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Report labelled packages shipped: one Shopify fulfillment per carrier, then follow
    them to the door."""

    async def work(database: Database, settings: Settings) -> Any:
        return await shipping.ship_labels(
            database,
            settings,
            await _work_id(database, order),
            label_ids,
            actor=actor(),
            notify_customer=notify,
        )

    result = with_database(work)
    ids = [s.id for s in (result.shipments or [result.shipment]) if s is not None]
    if as_json:
        print_json({"applied": result.applied, "shipments": ids})
        return
    said = "recorded" if result.applied else "already recorded"
    out.print(f"shipment {', '.join(map(str, ids))} {said}; Shopify is told by the worker")


@label_app.command(
    "event",
    epilog=examples("fulfillbridge orders label event 1001 3 DELIVERED --at 2026-12-02T10:00Z"),
)
def event_command(
    order: OrderArg,
    shipment_id: Annotated[int, typer.Argument(help="The shipment's id.")],
    status: Annotated[str, typer.Argument(help="IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED ...")],
    at: Annotated[str | None, typer.Option(help="When it happened (ISO 8601 with zone).")] = None,
    message: Annotated[str, typer.Option(help="A note for the customer.")] = "",
) -> None:
    """Report where a shipment is; Shopify gets it as a fulfillment event."""
    when = None
    if at:
        try:
            when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(f"{at!r} is not an ISO 8601 time", "--at") from None
        if when.tzinfo is None:
            raise _bad(f"{at!r} needs a zone (Z or +hh:mm)", "--at")
    try:
        status_from_shopify(status)
    except TrackingInputError as exc:
        raise _bad(str(exc), "STATUS") from None

    async def work(database: Database, _settings: Settings) -> dict[str, Any]:
        return await tracking.post_event(
            database,
            await _work_id(database, order),
            shipment_id,
            status=status,
            happened_at=when,
            message=message,
            actor=actor(),
        )

    answer = with_database(work)
    out.print("recorded" if answer["applied"] else "already recorded", highlight=False)


@carrier_app.command(
    "add",
    epilog=examples(
        "fulfillbridge carrier add ups-main --carrier ups --store acme "
        "--credentials credentials.json --ship-from warehouse.json",
        "fulfillbridge carrier add parcels-in --carrier shiprocket --account-number Primary "
        "--credentials shiprocket.json --ship-from mumbai.json",
    ),
)
def carrier_add_command(
    name: Annotated[str, typer.Argument(help="A name for the account.")],
    carrier: Annotated[str, typer.Option(help="The carrier: ups, shiprocket or clickpost.")],
    credentials: Annotated[
        Path,
        typer.Option(help="JSON file of the API credentials.", exists=True, dir_okay=False),
    ],
    ship_from: Annotated[
        Path,
        typer.Option(
            "--ship-from",
            help="JSON file of the address the parcels leave from (see docs/shipping.md).",
            exists=True,
            dir_okay=False,
        ),
    ],
    store: Annotated[str | None, typer.Option(help="The store it serves; none: all.")] = None,
    account_number: Annotated[
        str,
        typer.Option(
            help="The carrier account number (Shiprocket: the pickup location's name; "
            "Clickpost: the courier account code, if several)."
        ),
    ] = "",
    base_url: Annotated[str | None, typer.Option(help="The carrier API's address.")] = None,
    test_mode: Annotated[bool, typer.Option(help="Use the carrier's test server.")] = False,
) -> None:
    """Add a carrier account (its credentials are stored encrypted)."""

    def read(path: Path, option: str) -> dict[str, str]:
        # The files are the user's arguments: one that cannot be read is a usage error.
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise _bad(f"{path}: no such file", option) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise _bad(f"{path} cannot be read: {exc}", option) from None
        except json.JSONDecodeError as exc:
            raise _bad(f"{path} is not JSON: {exc.msg}", option) from None
        if not isinstance(raw, dict):
            raise _bad(f"{path} must hold a JSON object", option)
        return {str(k): str(v) for k, v in raw.items()}

    secrets, address = read(credentials, "--credentials"), read(ship_from, "--ship-from")

    async def work(database: Database, _settings: Settings) -> dict[str, Any]:
        return await shipping.add_account(
            database,
            name=name,
            carrier=carrier,
            credentials=secrets,
            ship_from=address,
            store=store,
            account_number=account_number,
            base_url=base_url,
            test_mode=test_mode,
        )

    view = with_database(work)
    out.print(f"carrier account {view['name']} ({view['carrier']}) added")


@carrier_app.command("list", epilog=examples("fulfillbridge carrier list --json"))
def carrier_list_command(as_json: JsonOpt = False) -> None:
    """The carrier accounts (never their credentials)."""
    accounts = with_database(lambda database, _settings: shipping.list_accounts(database))
    if as_json:
        print_json(accounts)
        return
    table = Table("name", "carrier", "store", "account", "api")
    for a in accounts:
        table.add_row(
            a["name"],
            a["carrier"],
            a["store"] or "(all)",
            a["account_number"],
            a["base_url"] or "carrier's own",
        )
    out.print(table)
