"""``store configure`` and ``store setup``: thin commands over ``flows.configure`` and
``flows.setup``.

Registered by ``fulfillbridge.cli`` (``store_app.command("configure")(configure_command)``
and ``store_app.command("setup")(setup_command)``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from fulfillbridge.commands.console import err, examples, make_console, print_json
from fulfillbridge.config import ConfigError, Settings, load_settings
from fulfillbridge.core.inventory_feed import mask_url
from fulfillbridge.core.stores import StoreError
from fulfillbridge.flows import configure as configure_flow
from fulfillbridge.flows import setup as setup_flow
from fulfillbridge.flows import work_settings
from fulfillbridge.shopify import ShopifyError

_RESULT_STYLE = {
    "created": "green",
    "unchanged": "dim",
    "repaired": "yellow",
    "removed": "magenta",
    "rotated": "yellow",
    "skipped": "red",
}


def _clear_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Known failures become one line on standard error and exit status 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, StoreError, ShopifyError) as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def _read_secret(value: str | None) -> str | None:
    if value != "-":
        return value
    line = sys.stdin.readline().strip()
    if not line:
        raise StoreError("no webhook secret on standard input")
    return line


@_clear_errors
def configure_command(
    name: Annotated[str, typer.Argument(help="The store's name.")],
    mode: Annotated[
        str | None,
        typer.Option(
            help="How the bridge works with the store: fulfillment_service (Shopify sends "
            "requests to our location) or order_management (we handle orders assigned to "
            "the merchant's --location).",
            show_default=False,
        ),
    ] = None,
    location: Annotated[
        list[str] | None,
        typer.Option(
            "--location",
            help="A merchant location to handle in order_management mode "
            "(gid://shopify/Location/N); repeat for several. Replaces the list.",
            show_default=False,
        ),
    ] = None,
    require_billing: Annotated[
        bool | None,
        typer.Option(
            "--require-billing/--no-require-billing",
            help="Refuse orders without a billing address.",
            show_default=False,
        ),
    ] = None,
    catalogue: Annotated[
        Path | None,
        typer.Option(
            help="File of known SKUs (one per line, or CSV with a 'sku' column); orders "
            "with other SKUs become exceptions.",
            show_default=False,
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    no_catalogue: Annotated[
        bool, typer.Option("--no-catalogue", help="Forget the catalogue: accept any SKU.")
    ] = False,
    inventory_quantity: Annotated[
        str | None,
        typer.Option(
            help="Which Shopify quantity inventory sync sets: on_hand (the default: a "
            "physical count; Shopify keeps available = on_hand - committed) or available "
            "(counts already net of open orders).",
            show_default=False,
        ),
    ] = None,
    inventory_feed: Annotated[
        str | None,
        typer.Option(
            help="An http(s) URL serving the inventory CSV (store,sku,warehouse,quantity; an "
            "empty store cell means this store) that the worker fetches on a schedule and "
            "pushes like `inventory push`.",
            show_default=False,
        ),
    ] = None,
    inventory_feed_interval: Annotated[
        int | None,
        typer.Option(
            help="Seconds between two fetches of the inventory feed (default 900, at least 60).",
            show_default=False,
        ),
    ] = None,
    no_inventory_feed: Annotated[
        bool, typer.Option("--no-inventory-feed", help="Stop polling the inventory feed.")
    ] = False,
    feed_allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--feed-allow-host",
            help="An address or CIDR range inside your own network the inventory feed may "
            "be fetched from (private, loopback and link-local addresses are refused "
            "otherwise); repeat for several. Replaces the list.",
            show_default=False,
        ),
    ] = None,
    no_feed_allow_host: Annotated[
        bool, typer.Option("--no-feed-allow-host", help="Clear the feed's allow-list.")
    ] = False,
    shipping_rules: Annotated[
        Path | None,
        typer.Option(
            help="JSON file mapping the shipping method paid for to the operation's carrier "
            'and service: {"rules": [{"name_contains": "express", "carrier": "UPS", '
            '"service": "Express Saver"}], "default": {"carrier": "DHL"}}; first match wins. '
            "Conditions: delivery (shipping, pickup, local), service_code, name_contains.",
            show_default=False,
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    no_shipping_rules: Annotated[
        bool, typer.Option("--no-shipping-rules", help="Forget the shipping-method mapping.")
    ] = False,
    allow_payment_pending: Annotated[
        bool | None,
        typer.Option(
            "--allow-payment-pending/--paid-only",
            help="order_management: let unpaid orders (cash on delivery, net terms) become "
            "work, flagged as such; by default only paid orders do.",
            show_default=False,
        ),
    ] = None,
    returns: Annotated[
        bool | None,
        typer.Option(
            "--returns/--no-returns",
            help="Whether the operation receives this store's returns (asks for the "
            "read_returns and write_returns scopes); off by default.",
            show_default=False,
        ),
    ] = None,
    operation_webhook_url: Annotated[
        str | None,
        typer.Option(
            help="Where this store's webhooks to the operation go (instead of the global "
            "operation_webhook_url).",
            show_default=False,
        ),
    ] = None,
    metafield: Annotated[
        list[str] | None,
        typer.Option(
            "--metafield",
            help="A metafield to hand the operation with each work order, as "
            "OWNER:namespace.key (OWNER: order, product or variant; metaobject references "
            "come with their fields); repeat for several. Replaces the list.",
            show_default=False,
        ),
    ] = None,
    no_metafields: Annotated[
        bool, typer.Option("--no-metafields", help="Read no metafields.")
    ] = False,
    no_operation_webhook_url: Annotated[
        bool,
        typer.Option("--no-operation-webhook-url", help="Use the global webhook URL again."),
    ] = False,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            envvar="FULFILLBRIDGE_STORE_WEBHOOK_SECRET",
            help="Secret Shopify signs webhooks with (a custom app's API secret key; '-' "
            "reads it from standard input). The previous one stays accepted.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Choose how the bridge works with a store (then run `store setup`)."""
    work_changes = work_settings.work_setting_changes(
        shipping_rules=shipping_rules,
        clear_shipping_rules=no_shipping_rules,
        allow_payment_pending=allow_payment_pending,
        returns=returns,
        operation_webhook_url=operation_webhook_url,
        clear_operation_webhook_url=no_operation_webhook_url,
        metafields=metafield,
        clear_metafields=no_metafields,
    )
    store = asyncio.run(
        configure_flow.configure_store(
            load_settings(),
            name,
            mode=mode,
            locations=location,
            require_billing=require_billing,
            catalogue=catalogue,
            clear_catalogue=no_catalogue,
            webhook_secret=_read_secret(webhook_secret),
            inventory_quantity=inventory_quantity,
            inventory_feed=inventory_feed,
            inventory_feed_interval=inventory_feed_interval,
            clear_inventory_feed=no_inventory_feed,
            feed_allow_hosts=[] if no_feed_allow_host else feed_allow_host,
            work_changes=work_changes,
        )
    )
    config = configure_flow.StoreConfig.of(store)
    shown: dict[str, str] = {}
    add = shown.__setitem__
    add("mode", config.mode)
    add("managed locations", ", ".join(config.managed_locations) or "-")
    add("require billing address", "yes" if config.require_billing_address else "no")
    catalogue_text = "any SKU" if config.catalogue is None else f"{len(config.catalogue)} SKUs"
    add("catalogue", catalogue_text)
    add("inventory quantity set", config.inventory_quantity_name)
    feed = config.inventory_feed
    feed_text = f"{mask_url(feed.url)} every {feed.interval} s" if feed else "none"
    add("inventory feed", feed_text)
    allow = store.settings.get("inventory_feed_allow") or []
    add("feed allow-list", ", ".join(allow) or "public addresses only")
    rules = store.settings.get("shipping_rules") or {}
    rules_text = f"{len(rules.get('rules') or [])} rules"
    if rules.get("default"):
        rules_text += f", default {rules['default'].get('carrier')}"
    add("shipping method mapping", rules_text if rules else "none")
    add(
        "payment-pending orders",
        "become work (flagged)" if store.settings.get("allow_payment_pending") else "wait",
    )
    add("returns", "on" if store.settings.get("returns") else "off")
    chosen = store.settings.get("metafields") or {}
    add(
        "metafields",
        ", ".join(f"{owner}:{key}" for owner, keys in chosen.items() for key in keys) or "none",
    )
    own_url = store.settings.get("operation_webhook_url")
    add("operation webhooks", mask_url(own_url) if own_url else "global setting")
    if webhook_secret is not None:
        add("webhook secret", "set (previous one still accepted)")
    if as_json:
        print_json({"store": store.name, "shop": store.shop_domain, "settings": shown})
        return
    out = make_console()
    table = Table("setting", "value", title=f"store {store.name} ({store.shop_domain})")
    for setting, value in shown.items():
        table.add_row(setting, value)
    out.print(table)
    out.print(f"next: `fulfillbridge store setup {store.name}`", highlight=False)


CONFIGURE_EXAMPLES = examples(
    "fulfillbridge store configure acme --mode fulfillment_service",
    "fulfillbridge store configure acme --mode order_management --location "
    "gid://shopify/Location/1",
    "fulfillbridge store configure acme --webhook-secret -",
    "fulfillbridge store configure acme --shipping-rules rules.json",
)
SETUP_EXAMPLES = examples(
    "fulfillbridge store setup acme",
    "fulfillbridge store setup acme --json",
    "fulfillbridge store setup acme --no-verify-url   # the bridge is not reachable yet",
)


def verify_public_url(settings: Settings) -> str | None:
    """Ask the bridge's own health route through public_url, the address Shopify was just
    given; a problem (in words) when nothing, or something else, answers there."""
    url = f"{settings.public_url.rstrip('/')}/healthz"
    try:
        answer = httpx.get(url, timeout=5, follow_redirects=False)
    except httpx.TransportError as exc:
        return f"nothing answers at {url} ({exc or type(exc).__name__})"
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code != 200 or not isinstance(body, dict) or body.get("status") != "ok":
        return f"{url} answered HTTP {answer.status_code}, not fulfillbridge's health check"
    return None


@_clear_errors
def setup_command(
    name: Annotated[str, typer.Argument(help="The store's name.")],
    verify_url: Annotated[
        bool,
        typer.Option(
            "--verify-url/--no-verify-url",
            help="Before set-up, call the bridge's /healthz through public_url (where Shopify "
            "will send webhooks and callbacks) and stop, changing nothing, when it does not "
            "answer.",
        ),
    ] = True,
    rotate_callback_token: Annotated[
        bool,
        typer.Option(
            "--rotate-callback-token",
            help="Give the fulfillment service's callback URL a new secret token (the old "
            "address stops answering at once).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register the fulfillment service and webhooks the store's mode needs, repair drift,
    verify. Safe to run again: what is right is left alone. First checks that the bridge
    answers at public_url, the address Shopify is given; if not, nothing is changed."""
    settings = load_settings()
    asyncio.run(setup_flow.stored_store(settings, name))  # an unknown store is named first
    # Checked before any registration: set-up gives Shopify public_url for every webhook and
    # the callback, so with nothing answering there it would move working registrations to
    # a dead address.
    problem = verify_public_url(settings) if verify_url else None
    if problem:
        if as_json:
            print_json(
                {
                    "store": name,
                    "changed": False,
                    "steps": [],
                    "public_url": settings.public_url,
                    "public_url_answers": False,
                    "problem": problem,
                }
            )
        err.print(
            f"[bold red]error:[/] {problem}, so set-up of {name} stopped before registering "
            "anything: nothing was changed at Shopify (it would send webhooks and fulfillment "
            "requests there). Start `fulfillbridge serve` on the port public_url names, or set "
            "public_url to where the bridge is reached (`fulfillbridge config show`)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    report = asyncio.run(
        setup_flow.setup_store(settings, name, rotate_callback_token=rotate_callback_token)
    )
    if as_json:
        print_json(
            {
                "store": report.store,
                "mode": report.mode,
                "changed": report.changed,
                "fulfillment_service_id": report.fulfillment_service_id,
                "location_id": report.location_id,
                "steps": [vars(step) for step in report.steps],
                "public_url": settings.public_url,
                "public_url_answers": True if verify_url else None,
                "problem": None,
            }
        )
        return
    out = make_console()
    table = Table("what", "target", "result", "detail", title=f"set-up of {report.store}")
    for step in report.steps:
        style = _RESULT_STYLE.get(step.result, "")
        table.add_row(step.item, step.target, f"[{style}]{step.result}[/]", step.detail)
    out.print(table)
    if report.fulfillment_service_id:
        out.print(
            f"fulfillment service {report.fulfillment_service_id}, location {report.location_id}",
            highlight=False,
        )
    summary = "changed" if report.changed else "unchanged"
    reached = f"; the bridge answers at {settings.public_url}" if verify_url else ""
    out.print(
        f"store {report.store} ({report.mode}): set-up verified, {summary}{reached}",
        highlight=False,
    )
