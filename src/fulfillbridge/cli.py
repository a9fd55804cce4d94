"""The ``fulfillbridge`` command. Commands are thin: they parse, call a flow, print."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from fulfillbridge import __version__
from fulfillbridge.commands.apikeys import apikey_app
from fulfillbridge.commands.inventory import inventory_app
from fulfillbridge.commands.orders import orders_app
from fulfillbridge.commands.setup import configure_command, setup_command
from fulfillbridge.commands.workers import workers_command
from fulfillbridge.config import ConfigError, Settings, load_settings
from fulfillbridge.core.errors import CommandErrorCode, FulfillbridgeError
from fulfillbridge.core.stores import AuthKind, StoreError

app = typer.Typer(
    help="Bridge Shopify stores and the operations that fulfil their orders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
store_app = typer.Typer(help="Connect, check and remove Shopify stores.", no_args_is_help=True)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The built-in Shopify sandbox.", no_args_is_help=True)
app.add_typer(store_app, name="store")
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(sandbox_app, name="sandbox")
store_app.command("configure")(configure_command)
store_app.command("setup")(setup_command)
app.add_typer(orders_app, name="orders")
app.add_typer(apikey_app, name="apikey")
app.add_typer(inventory_app, name="inventory")
app.command("workers")(workers_command)

out = Console()
err = Console(stderr=True)

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


@config_app.command("show")
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


@db_app.command("upgrade")
@command
def db_upgrade() -> None:
    """Apply database migrations (also done automatically on start)."""
    from fulfillbridge.store import db

    current = settings()
    db.upgrade(current.effective_database_url)
    from fulfillbridge.config import mask_url

    revision = db.current_revision(current.effective_database_url)
    out.print(f"database {mask_url(current.effective_database_url)} at revision {revision}")


# --- stores --------------------------------------------------------------------------------


def _read_secret(value: str | None, what: str) -> str | None:
    if value == "-":
        line = sys.stdin.readline().strip()
        if not line:
            raise CommandError(f"no {what} on standard input")
        return line
    return value


@store_app.command("add")
@command
def store_add(
    name: Annotated[str, typer.Argument(help="A short name for the store, e.g. 'acme'.")],
    shop: Annotated[str, typer.Option(help="The shop domain, e.g. acme.myshopify.com.")],
    token: Annotated[
        str | None,
        typer.Option(
            envvar="FULFILLBRIDGE_STORE_TOKEN",
            help="A custom app's Admin API access token ('-' reads it from standard input).",
            show_default=False,
        ),
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="Client id of a Dev Dashboard app.")] = None,
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
            "('-' reads it from standard input).",
            show_default=False,
        ),
    ] = None,
    oauth: Annotated[
        bool, typer.Option("--oauth", help="Install by the OAuth flow (prints an install link).")
    ] = False,
    api_url: Annotated[
        str | None,
        typer.Option(help="Base URL of the Admin API (default https://<shop>), e.g. a sandbox."),
    ] = None,
    check: Annotated[bool, typer.Option(help="Check the connection after adding.")] = True,
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
        )
    )
    out.print(f"added store [bold]{result.store.name}[/] ({result.store.shop_domain})")
    if result.install_url:
        out.print("Open this link as the shop's owner to install the app:")
        out.print(result.install_url, soft_wrap=True, highlight=False)
        return
    if check:
        _print_check(run(connect.check_store(settings(), name)))


@store_app.command("list")
@command
def store_list() -> None:
    """List connected stores."""
    from fulfillbridge.flows import connect

    stores = run(connect.list_stores(settings()))
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


@store_app.command("remove")
@command
def store_remove(name: Annotated[str, typer.Argument(help="The store's name.")]) -> None:
    """Remove a store and its stored credentials."""
    from fulfillbridge.flows import connect

    run(connect.remove_store(settings(), name))
    out.print(f"removed store {name}")


@store_app.command("check")
@command
def store_check(name: Annotated[str, typer.Argument(help="The store's name.")]) -> None:
    """Reach the shop, show its name, plan and API version, and audit granted scopes."""
    from fulfillbridge.flows import connect

    report = run(connect.check_store(settings(), name))
    _print_check(report)


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
        raise CommandError(report.fix_hint, exit_status=3)


# --- sandbox and demo ----------------------------------------------------------------------


@sandbox_app.command("serve")
@command
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    shops: Annotated[
        Path | None, typer.Option(help="TOML file defining the sandbox's shops.", exists=False)
    ] = None,
) -> None:
    """Run the built-in Shopify sandbox (local only; its credentials are not secret)."""
    from fulfillbridge.sandbox.server import serve

    serve(host=host, port=port, shops_file=shops)


@app.command("serve")
@command
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default: configured host).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default: configured port).")
    ] = None,
    worker: Annotated[
        bool, typer.Option(help="Also run a worker in this process (the embedded default).")
    ] = True,
) -> None:
    """Run the bridge: the HTTP app (webhooks, callbacks, API, dashboard) and a worker."""
    from fulfillbridge.logs import setup_logging
    from fulfillbridge.runtime import serve_forever

    current = settings()
    setup_logging(current.log_level, current.log_format)
    run(serve_forever(current, host=host, port=port, with_worker=worker))


@app.command("worker")
@command
def worker_command(
    once: Annotated[bool, typer.Option(help="Run one round and exit.")] = False,
) -> None:
    """Run a worker alone: process inbound events, reconcile stores, send the outbox.
    Run as many as you like, on any machine that reaches the database."""
    from fulfillbridge.logs import setup_logging
    from fulfillbridge.runtime import work_until_stopped

    current = settings()
    setup_logging(current.log_level, current.log_format)
    run(work_until_stopped(current, once=once))


@app.command("demo")
@command
def demo(
    orders: Annotated[int, typer.Option(min=1, max=200, help="How many orders to simulate.")] = 12,
) -> None:
    """Run the main job against the built-in sandbox on the embedded default database."""
    from fulfillbridge import demo as demo_flow

    run(demo_flow.run_demo(settings(), out, orders=orders))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
