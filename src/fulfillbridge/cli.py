"""The ``fulfillbridge`` command. Commands are thin: they parse, call a flow, print."""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from fulfillbridge import __version__
from fulfillbridge.commands import paper as _paper  # noqa: F401 (adds orders picklist, packing-slip)
from fulfillbridge.commands.apikeys import apikey_app
from fulfillbridge.commands.console import (
    EXIT_CODES_HELP,
    EXIT_PARTIAL,
    OneLineErrors,
    err,
    examples,
    out,
    print_json,
)
from fulfillbridge.commands.inventory import inventory_app
from fulfillbridge.commands.labels import carrier_app, label_app
from fulfillbridge.commands.orders import orders_app
from fulfillbridge.commands.returns import returns_app
from fulfillbridge.commands.sandbox import sandbox_app
from fulfillbridge.commands.setup import (
    CONFIGURE_EXAMPLES,
    SETUP_EXAMPLES,
    configure_command,
    setup_command,
)
from fulfillbridge.commands.workers import workers_command
from fulfillbridge.config import ConfigError, Settings, load_settings
from fulfillbridge.core.errors import CommandErrorCode, FulfillbridgeError
from fulfillbridge.core.stores import AuthKind, StoreError

app = typer.Typer(
    cls=OneLineErrors,
    rich_markup_mode=None,
    help="Bridge Shopify stores and the operations that fulfil their orders.",
    epilog="First steps: `fulfillbridge sandbox serve` (a local Shopify), then the lines it "
    "prints. Every command has --help with examples. " + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
store_app = typer.Typer(help="Connect, check and remove Shopify stores.", no_args_is_help=True)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(store_app, name="store")
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(sandbox_app, name="sandbox")
store_app.command("configure", epilog=CONFIGURE_EXAMPLES)(configure_command)
store_app.command("setup", epilog=SETUP_EXAMPLES)(setup_command)
app.add_typer(orders_app, name="orders")
app.add_typer(apikey_app, name="apikey")
app.add_typer(inventory_app, name="inventory")
app.add_typer(returns_app, name="returns")
orders_app.add_typer(label_app, name="label")
app.add_typer(carrier_app, name="carrier")
app.command(
    "workers",
    epilog=examples("fulfillbridge workers", "fulfillbridge workers --json --stale-after 30"),
)(workers_command)


T = TypeVar("T")


class CommandError(FulfillbridgeError):
    """A failure the user can act on; printed as one line, exit status 1 (or
    ``exit_status``)."""

    default_code = CommandErrorCode.FAILED

    def __init__(self, message: str, exit_status: int = 1) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def _known_errors() -> tuple[type[BaseException], ...]:
    from fulfillbridge.shopify import ShopifyError

    return (ConfigError, StoreError, CommandError, ShopifyError)


def _fail(exc: BaseException) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(exc.exit_status if isinstance(exc, CommandError) else 1)


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn known errors into one clear line and a non-zero exit, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _known_errors() as exc:
            raise _fail(exc) from None

    return wrapper


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def settings() -> Settings:
    return load_settings()


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        out.print(__version__)
        raise typer.Exit()


# --- config and db -------------------------------------------------------------------------


@config_app.command(
    "show", epilog=examples("fulfillbridge config show", "fulfillbridge config show --json")
)
@command
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the effective configuration, every secret masked."""
    shown = settings().masked()
    if as_json:
        out.print_json(json.dumps(shown))
        return
    table = Table("setting", "value", title="fulfillbridge configuration")
    for key, value in shown.items():
        table.add_row(key, "" if value is None else str(value))
    out.print(table)


@db_app.command("upgrade", epilog=examples("fulfillbridge db upgrade"))
@command
def db_upgrade(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Apply database migrations (also done automatically on start)."""
    from fulfillbridge.store import db

    current = settings()
    db.upgrade(current.effective_database_url)
    from fulfillbridge.config import mask_url

    revision = db.current_revision(current.effective_database_url)
    if as_json:
        print_json({"database": mask_url(current.effective_database_url), "revision": revision})
        return
    out.print(f"database {mask_url(current.effective_database_url)} at revision {revision}")


# --- stores --------------------------------------------------------------------------------


def _read_secret(value: str | None, what: str) -> str | None:
    if value == "-":
        line = sys.stdin.readline().strip()
        if not line:
            raise CommandError(f"no {what} on standard input")
        return line
    return value


def _store_json(store: Any) -> dict[str, Any]:
    return {
        "name": store.name,
        "shop": store.shop_domain,
        "auth": store.auth_kind.value,
        "api": store.base_url,
        "shop_name": store.shop_name,
        "plan": store.plan_name,
        "scopes": list(store.granted_scopes),
        "mode": (store.settings or {}).get("mode"),
    }


@store_app.command(
    "add",
    epilog=examples(
        "fulfillbridge store add acme --shop acme.myshopify.com --token - --webhook-secret -",
        "fulfillbridge store add acme --shop acme.myshopify.com --client-id ID --client-secret -",
        "fulfillbridge store add sandbox --shop demo-shop.myshopify.com "
        "--api-url http://127.0.0.1:8765 --token shpat_sandbox "
        "--webhook-secret sandbox-client-secret",
    ),
)
@command
def store_add(
    name: Annotated[str, typer.Argument(help="A short name for the store, e.g. 'acme'.")],
    shop: Annotated[
        str, typer.Option(help="The shop domain, e.g. acme.myshopify.com.", show_default=False)
    ],
    token: Annotated[
        str | None,
        typer.Option(
            envvar="FULFILLBRIDGE_STORE_TOKEN",
            help="A custom app's Admin API access token ('-' reads it from standard input).",
            show_default=False,
        ),
    ] = None,
    client_id: Annotated[
        str | None, typer.Option(help="Client id of a Dev Dashboard app.", show_default=False)
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="FULFILLBRIDGE_STORE_CLIENT_SECRET",
            help="Client secret of that app ('-' reads it from standard input).",
            show_default=False,
        ),
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            envvar="FULFILLBRIDGE_STORE_WEBHOOK_SECRET",
            help="With --token: the custom app's API secret key, which signs its webhooks "
            "(for the sandbox: its client secret, sandbox-client-secret). Without it every "
            "webhook is refused. '-' reads it from standard input.",
            show_default=False,
        ),
    ] = None,
    oauth: Annotated[
        bool, typer.Option("--oauth", help="Install by the OAuth flow (prints an install link).")
    ] = False,
    api_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL of the Admin API (default https://<shop>); for the sandbox its "
            "address, e.g. http://127.0.0.1:8765.",
            show_default=False,
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="Reach the shop before adding and audit its scopes; --no-check stores the "
            "credentials without contacting anyone.",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Connect a store: a token, the client-credentials grant, or the OAuth install flow."""
    from fulfillbridge.flows import connect

    token = _read_secret(token, "token")
    client_secret = _read_secret(client_secret, "client secret")
    webhook_secret = _read_secret(webhook_secret, "webhook secret")
    if webhook_secret and not token:
        raise CommandError("--webhook-secret goes with --token (other apps sign with their secret)")
    if token and (client_id or client_secret or oauth):
        raise CommandError("give either --token, or --client-id with --client-secret, not both")
    if oauth:
        kind = AuthKind.OAUTH
    elif token:
        kind = AuthKind.TOKEN
    elif client_id and client_secret:
        kind = AuthKind.CLIENT_CREDENTIALS
    else:
        raise CommandError(
            "no credentials: give --token (a custom app's token), or --client-id and "
            "--client-secret (a Dev Dashboard app), or add --oauth for the install flow"
        )
    from fulfillbridge.shopify import TransportError

    try:
        result = run(
            connect.add_store(
                settings(),
                name=name,
                shop=shop,
                kind=kind,
                token=token,
                client_id=client_id,
                client_secret=client_secret,
                webhook_secret=webhook_secret,
                api_url=api_url,
                probe=check and kind is not AuthKind.OAUTH,
            )
        )
    except TransportError as exc:
        if api_url is not None:
            raise
        raise CommandError(
            f"{exc}; nothing was added. For a local sandbox give its address with --api-url "
            "(e.g. --api-url http://127.0.0.1:8765, as `fulfillbridge sandbox serve` prints)"
        ) from None
    warning = None
    if kind is AuthKind.TOKEN and not webhook_secret:
        warning = (
            "no --webhook-secret: Shopify's webhooks and callbacks for this store will be "
            "refused (401) until you give the custom app's API secret key with "
            f"`fulfillbridge store configure {name} --webhook-secret -`"
        )
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    report = None
    if check and not result.install_url:
        report = run(connect.check_store(settings(), name))
    if as_json:
        print_json(
            {
                "store": _store_json(result.store),
                "install_url": result.install_url,
                "check": _check_json(report) if report is not None else None,
                "warnings": [warning] if warning else [],
            }
        )
        if report is not None and not report.ok:
            raise typer.Exit(EXIT_PARTIAL)
        return
    out.print(f"added store [bold]{result.store.name}[/] ({result.store.shop_domain})")
    if result.install_url:
        out.print("Open this link as the shop's owner to install the app:")
        out.print(result.install_url, soft_wrap=True, highlight=False)
        return
    if report is not None:
        _print_check(report)
    else:
        out.print(f"not checked: `fulfillbridge store check {name}` reaches the shop")


@store_app.command(
    "list", epilog=examples("fulfillbridge store list", "fulfillbridge store list --json")
)
@command
def store_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List connected stores."""
    from fulfillbridge.flows import connect

    stores = run(connect.list_stores(settings()))
    if as_json:
        print_json([_store_json(store) for store in stores])
        return
    table = Table("name", "shop", "auth", "api", "shop name", "plan", title="stores")
    for store in stores:
        table.add_row(
            store.name,
            store.shop_domain,
            store.auth_kind.value,
            store.base_url,
            store.shop_name or "",
            store.plan_name or "",
        )
    out.print(table)
    if not stores:
        out.print("no stores yet: add one with `fulfillbridge store add NAME --shop ...`")


@store_app.command(
    "update",
    epilog=examples(
        "fulfillbridge store update acme --token -",
        "fulfillbridge store update acme --client-secret -",
        "fulfillbridge store update acme --token - --webhook-secret -",
        "fulfillbridge store update sandbox --api-url http://127.0.0.1:8765",
    ),
)
@command
def store_update(
    name: Annotated[str, typer.Argument(help="The store's name.")],
    token: Annotated[
        str | None,
        typer.Option(
            envvar="FULFILLBRIDGE_STORE_TOKEN",
            help="The custom app's new Admin API access token ('-' reads it from standard input).",
            show_default=False,
        ),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="FULFILLBRIDGE_STORE_CLIENT_SECRET",
            help="The app's new client secret ('-' reads it from standard input); webhooks "
            "signed with the previous one stay accepted.",
            show_default=False,
        ),
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            envvar="FULFILLBRIDGE_STORE_WEBHOOK_SECRET",
            help="The secret webhooks are signed with (a custom app's API secret key; '-' "
            "reads it from standard input); the previous one stays accepted.",
            show_default=False,
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            help="New base URL of the Admin API, e.g. the sandbox's http://127.0.0.1:8765.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replace a store's credentials or API address in place, keeping its work and history
    (rotating a token or a secret). The shop is reached with the new values and its scopes
    audited before anything is written; a failure changes nothing. Secrets are stored
    encrypted and never printed."""
    from fulfillbridge.flows import connect

    token = _read_secret(token, "token")
    client_secret = _read_secret(client_secret, "client secret")
    webhook_secret = _read_secret(webhook_secret, "webhook secret")
    report = run(
        connect.update_store(
            settings(),
            name,
            token=token,
            client_secret=client_secret,
            webhook_secret=webhook_secret,
            api_url=api_url,
        )
    )
    changed = [
        what
        for what, value in (
            ("token", token),
            ("client secret", client_secret),
            ("webhook secret", webhook_secret),
            ("api url", api_url),
        )
        if value is not None
    ]
    if as_json:
        print_json({"store": name, "updated": changed, "check": _check_json(report)})
        if not report.ok:
            raise typer.Exit(EXIT_PARTIAL)
        return
    out.print(f"updated store [bold]{name}[/]: {', '.join(changed)}", highlight=False)
    _print_check(report)


@store_app.command(
    "remove",
    epilog=examples("fulfillbridge store remove acme", "fulfillbridge store remove acme --yes"),
)
@command
def store_remove(
    name: Annotated[str, typer.Argument(help="The store's name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Remove a store: its credentials AND every work order of it with its history
    (transitions, shipments, queued writes), its inventory records and deliveries. Nothing
    changes in Shopify. Asks first unless --yes."""
    from fulfillbridge.flows import connect

    found = run(_work_count(name))
    if not yes:
        typer.confirm(
            f"Remove store {name} and delete its {found} work order(s) with their history? "
            "Nothing changes in Shopify",
            abort=True,
            err=True,
        )
    run(connect.remove_store(settings(), name))
    if as_json:
        print_json({"removed": name, "work_orders_deleted": found})
        return
    out.print(f"removed store {name} and {found} work order(s)", highlight=False)


async def _work_count(name: str) -> int:
    """How many work orders the store has (raises when there is no such store)."""
    from sqlalchemy import func, select

    from fulfillbridge.store.database import Database
    from fulfillbridge.store.models import WorkOrderRow

    database = Database.from_settings(settings())
    try:
        async with database.stores() as stores:
            store = await stores.get(name)
        async with database.transaction() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(WorkOrderRow)
                .where(WorkOrderRow.store_id == store.id)
            )
        return int(count or 0)
    finally:
        await database.close()


@store_app.command(
    "check",
    epilog=examples("fulfillbridge store check acme", "fulfillbridge store check acme --json"),
)
@command
def store_check(
    name: Annotated[str, typer.Argument(help="The store's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Reach the shop, show its name, plan and API version, and audit granted scopes.
    Exit status 3 when a scope a feature needs is missing."""
    from fulfillbridge.flows import connect

    report = run(connect.check_store(settings(), name))
    if as_json:
        print_json(_check_json(report))
        if not report.ok:
            raise typer.Exit(EXIT_PARTIAL)
        return
    _print_check(report)


def _check_json(report: Any) -> dict[str, Any]:
    return {
        "shop": report.shop_domain,
        "shop_name": report.shop_name,
        "plan": report.plan_name,
        "api_version": report.api_version,
        "granted": list(report.granted),
        "ok": report.ok,
        "missing": list(report.missing),
        "features": [
            {
                "feature": row.feature,
                "needed": list(row.needed),
                "missing": list(row.missing),
                "optional": row.optional,
                "ok": row.ok,
            }
            for row in report.features
        ],
        "fix": None if report.ok else report.fix_hint,
    }


def _print_check(report: Any) -> None:
    out.print(
        f"[bold]{report.shop_name}[/] ({report.shop_domain}) plan {report.plan_name}, "
        f"API {report.api_version}",
        highlight=False,
    )
    table = Table("feature", "scopes needed", "missing", "status", title="scopes")
    for row in report.features:
        if row.ok:
            status = "[green]ok[/]"
        elif row.optional:
            status = "[yellow]optional, not granted[/]"
        else:
            status = "[red]missing[/]"
        table.add_row(row.feature, ", ".join(row.needed), ", ".join(row.missing), status)
    out.print(table)
    for row in report.features:
        if row.optional and not row.ok:
            out.print(
                f"note: without {', '.join(row.missing)} fulfillbridge cannot {row.description}",
                highlight=False,
            )
    if not report.ok:
        raise CommandError(report.fix_hint, exit_status=EXIT_PARTIAL)


# --- sandbox and demo ----------------------------------------------------------------------


@sandbox_app.command(
    "serve",
    epilog=examples(
        "fulfillbridge sandbox serve",
        "fulfillbridge sandbox serve --port 9000 --shops shops.toml",
    ),
)
@command
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    shops: Annotated[
        Path | None,
        typer.Option(help="TOML file defining the sandbox's shops.", show_default=False),
    ] = None,
) -> None:
    """Run the built-in Shopify sandbox (local only; its credentials are not secret). It
    prints the `fulfillbridge store add` line that connects each of its shops."""
    from fulfillbridge.sandbox.server import serve

    serve(host=host, port=port, shops_file=shops)


TWINS = ("ups", "shiprocket", "clickpost")


@sandbox_app.command(
    "carrier-twin",
    epilog=examples(
        "fulfillbridge sandbox carrier-twin ups --port 8766",
        "fulfillbridge sandbox carrier-twin shiprocket --port 8767",
    ),
)
@command
def sandbox_carrier_twin(
    carrier: Annotated[str, typer.Argument(help="Which carrier: ups, shiprocket or clickpost.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8766,
) -> None:
    """Run a local carrier (a twin of its API) on its own, for trying labels without an
    account at the carrier. Its credentials are local-only; `GET /__twin/` lists its test
    controls. It prints the `fulfillbridge carrier add` line that uses it."""
    import uvicorn

    from fulfillbridge.carrier_twins import clickpost, shiprocket, ups

    factories: dict[str, Any] = {
        "ups": ups.create_app,
        "shiprocket": shiprocket.create_app,
        "clickpost": clickpost.create_app,
    }
    if carrier not in factories:
        raise typer.BadParameter(
            f"{carrier!r} is not one of {', '.join(TWINS)}", param_hint="CARRIER"
        )
    factory = factories[carrier]
    # The twin's local credentials are its factory's defaults (named as the carrier names
    # them), so what is printed is what it accepts.
    credentials = {
        name: str(parameter.default)
        for name, parameter in inspect.signature(factory).parameters.items()
    }
    twin = factory()
    url = f"http://{host}:{port}"
    out.print(f"{carrier} twin at {url} (controls: {url}/__twin/)", highlight=False)
    out.print(
        f"connect it: write {json.dumps(credentials)} to credentials.json and a ship-from "
        "address (docs/shipping.md) to warehouse.json, then\n"
        f"  fulfillbridge carrier add {carrier}-twin --carrier {carrier} "
        f"--credentials credentials.json --ship-from warehouse.json --base-url {url}",
        highlight=False,
        soft_wrap=True,
    )
    uvicorn.run(twin, host=host, port=port, log_level="info")


def _port_mismatch(current: Settings, port: int | None) -> str | None:
    """A warning when `serve` listens on another port than public_url names: Shopify would
    be told to send webhooks and callbacks where nothing listens."""
    from urllib.parse import urlsplit

    listening = port or current.port
    public = urlsplit(current.public_url)
    if public.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None  # behind a proxy or tunnel: its port is its own business
    public_port = public.port or (443 if public.scheme == "https" else 80)
    if public_port == listening:
        return None
    return (
        f"public_url is {current.public_url} but the bridge listens on port {listening}: "
        "`store setup` would register webhooks and callbacks where nothing answers. Set "
        f"FULFILLBRIDGE_PUBLIC_URL=http://127.0.0.1:{listening} (or public_url in the "
        "config file), or serve on the port public_url names"
    )


@app.command(
    "serve",
    epilog=examples(
        "fulfillbridge serve",
        "FULFILLBRIDGE_PUBLIC_URL=http://127.0.0.1:34000 fulfillbridge serve --port 34000",
        "fulfillbridge serve --no-worker   # and `fulfillbridge worker` elsewhere",
    ),
)
@command
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface (default: configured host).", show_default=False)
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port (default: configured port).", show_default=False),
    ] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker", help="Also run a worker in this process (the default)."
        ),
    ] = True,
) -> None:
    """Run the bridge: the HTTP app (webhooks, callbacks, API, dashboard) and a worker."""
    from fulfillbridge.logs import setup_logging
    from fulfillbridge.runtime import serve_forever

    current = settings()
    warning = _port_mismatch(current, port)
    if warning:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    setup_logging(current.log_level, current.log_format)
    run(serve_forever(current, host=host, port=port, with_worker=worker))


@app.command(
    "worker",
    epilog=examples(
        "fulfillbridge worker",
        "fulfillbridge worker --once",
        "fulfillbridge worker --metrics-port 9101",
    ),
)
@command
def worker_command(
    once: Annotated[bool, typer.Option("--once", help="Run one round and exit.")] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve Prometheus metrics on this port (GET /metrics): this worker's figures "
            "and the database's backlog.",
            show_default=False,
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Interface for --metrics-port (0.0.0.0: every interface).")
    ] = "127.0.0.1",
) -> None:
    """Run a worker alone: process inbound events, reconcile stores, send the outbox.
    Run as many as you like, on any machine that reaches the database."""
    from fulfillbridge.logs import setup_logging
    from fulfillbridge.runtime import work_until_stopped

    current = settings()
    setup_logging(current.log_level, current.log_format)
    run(
        work_until_stopped(current, once=once, metrics_port=metrics_port, metrics_host=metrics_host)
    )


@app.command(
    "demo",
    epilog=examples("fulfillbridge demo", "fulfillbridge demo --orders 30 --keep"),
)
@command
def demo(
    orders: Annotated[int, typer.Option(min=1, max=200, help="How many orders to simulate.")] = 12,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="Keep the sandbox and the bridge up after the run (until Ctrl-C), so the "
            "printed links can be opened.",
        ),
    ] = False,
) -> None:
    """Run the main job against the built-in sandbox, in a temporary home of its own (a
    SQLite file and a key, removed at the end): nothing of yours is read or left behind."""
    from fulfillbridge import demo as demo_flow

    run(demo_flow.run_demo(out, orders=orders, keep=keep))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
