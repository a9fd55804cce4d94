"""``fulfillbridge sandbox seed`` and ``sandbox orders create``: play the merchant on a
running sandbox (``fulfillbridge sandbox serve``) through its test controls over HTTP.

``sandbox_app`` is registered by ``fulfillbridge.cli``, which adds ``sandbox serve`` to it
(the only command that imports the sandbox itself).
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from fulfillbridge.commands.console import err, examples, out, print_json
from fulfillbridge.commands.orders import CommandFailed, clear_errors

DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765"

sandbox_app = typer.Typer(
    help="The built-in Shopify sandbox: run it, stock it, place orders in it.",
    no_args_is_help=True,
)
orders_app = typer.Typer(help="Orders placed in the sandbox shop.", no_args_is_help=True)
sandbox_app.add_typer(orders_app, name="orders")

SandboxUrl = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="FULFILLBRIDGE_SANDBOX_URL",
        help="Where `fulfillbridge sandbox serve` listens.",
    ),
]
ShopOption = Annotated[
    str | None,
    typer.Option(help="The sandbox shop (needed only when it has several).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _control(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to a sandbox control; its refusal becomes one clear line."""
    try:
        answer = httpx.post(f"{url.rstrip('/')}{path}", json=body, timeout=60)
    except httpx.TransportError as exc:
        raise CommandFailed(
            f"no sandbox at {url} ({exc or type(exc).__name__}): start it with "
            "`fulfillbridge sandbox serve`, or give --url"
        ) from None
    try:
        data = answer.json()
    except ValueError:
        data = {"error": answer.text[:200]}
    if answer.status_code >= 400:
        raise CommandFailed(f"the sandbox refused: {data.get('error') or data}")
    if not isinstance(data, dict):
        raise CommandFailed(f"{url} did not answer like the sandbox: {str(data)[:200]}")
    return data


def _shop_name(url: str, shop: str | None) -> str:
    if shop:
        return shop
    try:
        shops = httpx.get(f"{url.rstrip('/')}/__sandbox/shops", timeout=10).json()["shops"]
    except (httpx.TransportError, ValueError, KeyError, TypeError):
        raise CommandFailed(
            f"no sandbox at {url}: start it with `fulfillbridge sandbox serve`, or give --url"
        ) from None
    if len(shops) != 1:
        names = ", ".join(s.get("domain", "?") for s in shops)
        raise CommandFailed(f"the sandbox has several shops ({names}): give --shop")
    return str(shops[0]["domain"])


@sandbox_app.command(
    "seed",
    epilog=examples(
        "fulfillbridge sandbox seed",
        "fulfillbridge sandbox seed --products 20 --orders 5",
        "fulfillbridge sandbox seed --stock-at merchant   # for an order_management store",
    ),
)
@clear_errors
def seed_command(
    products: Annotated[int, typer.Option(min=1, max=500, help="Products to create.")] = 8,
    orders: Annotated[int, typer.Option(min=0, max=500, help="Orders to place right away.")] = 0,
    stock_at: Annotated[
        str,
        typer.Option(
            help="service: stock only at the bridge's fulfillment-service location (run "
            "`store setup` first), so orders go to the bridge; merchant: at the shop's own "
            "locations (order_management stores).",
        ),
    ] = "service",
    seed: Annotated[int, typer.Option(help="Same number, same catalogue.")] = 0,
    url: SandboxUrl = DEFAULT_SANDBOX_URL,
    shop: ShopOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stock the sandbox shop with products (at the bridge's location by default) and let
    it send fulfillment requests to the bridge by itself, as a merchant would set it up."""
    if stock_at not in ("service", "merchant"):
        raise typer.BadParameter("service or merchant", param_hint="--stock-at")
    domain = _shop_name(url, shop)
    settings = _control(
        url,
        f"/__sandbox/shops/{domain}/settings",
        {"auto_submit_fulfillment_requests": stock_at == "service"},
    )
    try:
        seeded = _control(
            url,
            f"/__sandbox/seed?shop={domain}",
            {"products": products, "orders": orders, "seed": seed, "stock_at": stock_at},
        )
    except CommandFailed as exc:
        if "fulfillment service location" in str(exc):
            raise CommandFailed(
                f"{domain} has no fulfillment service yet: connect the store and run "
                "`fulfillbridge store setup NAME` first (it registers the bridge's location), "
                "or use --stock-at merchant"
            ) from None
        raise
    result = seeded["result"]
    if as_json:
        print_json({"shop": domain, **result, "settings": settings["settings"]})
        return
    where = "the bridge's location" if stock_at == "service" else "the shop's own locations"
    out.print(
        f"{domain}: {result['products']} products ({result['variants']} variants) stocked at "
        f"{where}; {result['orders']} order(s) placed",
        highlight=False,
    )
    if stock_at == "service":
        out.print(
            "fulfillment requests go to the bridge by themselves; place orders with "
            "`fulfillbridge sandbox orders create 3`",
            highlight=False,
        )


@orders_app.command(
    "create",
    epilog=examples(
        "fulfillbridge sandbox orders create 3",
        "fulfillbridge sandbox orders create 1 --personalised --delivery express",
    ),
)
@clear_errors
def create_orders_command(
    count: Annotated[int, typer.Argument(min=1, max=500, help="How many orders.")],
    personalised: Annotated[
        bool,
        typer.Option(
            "--personalised", help="An engraving and artwork on the first line, a gift note."
        ),
    ] = False,
    delivery: Annotated[str, typer.Option(help="standard, express, local or pickup.")] = "standard",
    variety: Annotated[
        str,
        typer.Option(
            help="simple (one known SKU, addressed) or realistic (some with several lines, "
            "unknown SKUs or no address: exceptions to look at).",
        ),
    ] = "simple",
    url: SandboxUrl = DEFAULT_SANDBOX_URL,
    shop: ShopOption = None,
    as_json: JsonOption = False,
) -> None:
    """Place paid orders in the sandbox shop over its current catalogue (`sandbox seed`
    first). Orders for products stocked at the bridge's location are sent to the bridge."""
    if variety not in ("simple", "realistic"):
        raise typer.BadParameter("simple or realistic", param_hint="--variety")
    domain = _shop_name(url, shop)
    body: dict[str, Any] = {
        "action": "create_orders",
        "count": count,
        "variety": variety,
        "delivery": delivery,
    }
    if personalised:
        body["personalised"] = True
    made = _control(url, f"/__sandbox/shops/{domain}/merchant", body)
    if as_json:
        print_json({"shop": domain, **{k: v for k, v in made.items() if k != "ok"}})
        return
    names = [o.get("name", "") for o in made.get("created_orders") or [] if isinstance(o, dict)]
    to_bridge = len(made.get("service_fulfillment_order_ids") or [])
    total = len(made.get("fulfillment_order_ids") or [])
    out.print(
        f"{domain}: placed {made.get('orders', 0)} order(s) {' '.join(names)}; {to_bridge} of "
        f"{total} fulfillment order(s) assigned to the bridge",
        highlight=False,
    )
    if total and not to_bridge:
        err.print(
            "[yellow]warning:[/] none went to the bridge: stock the shop at the bridge's "
            "location with `fulfillbridge sandbox seed` (after `store setup`)",
            highlight=False,
        )
