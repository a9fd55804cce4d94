"""``fulfillbridge apikey ...``: keys for the operation's API (``/api/v1``).

``apikey_app`` is a Typer app the main command registers (``app.add_typer(apikey_app,
name="apikey")``). The plain key is printed once, at creation; only its hash is stored.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fulfillbridge.commands.console import examples, out, print_json
from fulfillbridge.commands.orders import clear_errors, with_database
from fulfillbridge.config import Settings
from fulfillbridge.store.api_keys import ApiKey, ApiKeyRepository, CreatedKey
from fulfillbridge.store.database import Database

apikey_app = typer.Typer(
    help="Create, list and revoke keys for the REST API.", no_args_is_help=True
)


def _key_json(key: ApiKey) -> dict[str, object]:
    return {
        "name": key.name,
        "prefix": f"fbk_{key.prefix}_",
        "stores": None if key.all_stores else list(key.stores),
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


@apikey_app.command(
    "create",
    epilog=examples(
        "fulfillbridge apikey create ops", "fulfillbridge apikey create acme-erp --store acme"
    ),
)
@clear_errors
def create_command(
    name: Annotated[str, typer.Argument(help="A name for the key, e.g. the system using it.")],
    store: Annotated[
        list[str] | None,
        typer.Option(
            help="A store the key may use (repeatable); default: every store.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a key and print it once: store it now, it cannot be shown again."""

    async def work(database: Database, _settings: Settings) -> CreatedKey:
        async with database.transaction() as session:
            return await ApiKeyRepository(session).create(name, store or [])

    created = with_database(work)
    if as_json:
        print_json({**_key_json(created.key), "key": created.plain})
        return
    scope = "every store" if created.key.all_stores else ", ".join(created.key.stores)
    out.print(f"created API key [bold]{created.key.name}[/] for {scope}", highlight=False)
    out.print("Store this key now; it is not shown again:")
    # Plain echo so the key is one copyable line, never wrapped by Rich.
    typer.echo(created.plain)


@apikey_app.command("list", epilog=examples("fulfillbridge apikey list --json"))
@clear_errors
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List keys (names, prefixes and stores; never the keys themselves)."""

    async def work(database: Database, _settings: Settings) -> list[ApiKey]:
        async with database.transaction() as session:
            return await ApiKeyRepository(session).list()

    keys = with_database(work)
    if as_json:
        print_json([_key_json(key) for key in keys])
        return
    table = Table("name", "prefix", "stores", "created", "revoked", title="API keys")
    for key in keys:
        table.add_row(
            key.name,
            f"fbk_{key.prefix}_…",
            "every store" if key.all_stores else ", ".join(key.stores),
            key.created_at.strftime("%Y-%m-%d %H:%M"),
            key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "",
        )
    out.print(table)
    if not keys:
        out.print("no API keys yet: create one with `fulfillbridge apikey create NAME`")


@apikey_app.command("revoke", epilog=examples("fulfillbridge apikey revoke ops"))
@clear_errors
def revoke_command(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Revoke a key: requests with it are refused from now on."""

    async def work(database: Database, _settings: Settings) -> ApiKey:
        async with database.transaction() as session:
            return await ApiKeyRepository(session).revoke(name)

    revoked = with_database(work)
    if as_json:
        print_json(_key_json(revoked))
        return
    out.print(f"revoked API key {revoked.name}", highlight=False)
