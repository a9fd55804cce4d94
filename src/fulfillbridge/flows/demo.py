"""``fulfillbridge demo``: the main job on the embedded default, against the built-in sandbox.

What runs today: start the sandbox, connect its shop as store ``demo`` (SQLite under the
configured home), check the connection and scopes. The order flow joins here as it lands.
"""

from __future__ import annotations

import contextlib

from rich.console import Console

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind, StoreNotFound
from fulfillbridge.flows import connect

DEMO_STORE = "demo"
DEMO_SHOP = "demo-shop.myshopify.com"
# The sandbox's documented local-only credentials (see README, "The sandbox").
DEMO_TOKEN = "shpat_sandbox"
DEMO_WEBHOOK_SECRET = "sandbox-client-secret"


async def run_demo(settings: Settings, console: Console) -> None:
    from fulfillbridge.sandbox.server import SandboxServer

    console.rule("fulfillbridge demo")
    console.print(f"database: {settings.masked()['database_url']}")
    with SandboxServer() as sandbox:
        console.print(f"sandbox Shopify running at {sandbox.url} (shop {DEMO_SHOP})")
        with contextlib.suppress(StoreNotFound):
            await connect.remove_store(settings, DEMO_STORE)
        await connect.add_store(
            settings,
            name=DEMO_STORE,
            shop=DEMO_SHOP,
            kind=AuthKind.TOKEN,
            token=DEMO_TOKEN,
            webhook_secret=DEMO_WEBHOOK_SECRET,
            api_url=sandbox.url,
        )
        console.print(f"connected store [bold]{DEMO_STORE}[/] to {DEMO_SHOP}")
        report = await connect.check_store(settings, DEMO_STORE)
        console.print(
            f"checked: {report.shop_name}, plan {report.plan_name}, API {report.api_version}, "
            f"{len(report.granted)} scopes granted, "
            + ("every feature's scopes present" if report.ok else f"missing {report.missing}")
        )
    console.print(
        "The order flow (intake, validation, routing, shipping with tracking) and inventory "
        "sync are not built yet, so the demo ends after connecting and checking the store."
    )
