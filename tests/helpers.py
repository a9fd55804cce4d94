"""Small helpers shared by tests."""

from __future__ import annotations

import httpx


def add_shop(sandbox_url: str, domain: str, **spec) -> str:
    """Add a shop to the sandbox; returns the API base URL that reaches it."""
    response = httpx.post(f"{sandbox_url}/__sandbox/shops", json={"domain": domain, **spec})
    response.raise_for_status()
    return f"{sandbox_url}/shops/{domain}"


def now_header() -> str:
    """``X-Shopify-Triggered-At`` for a webhook triggered now."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def callback_token_of(store: str) -> str:
    """The callback token `store setup` gave the store (read from its sealed secrets)."""
    from fulfillbridge.config import load_settings
    from fulfillbridge.store.database import Database

    database = Database.from_settings(load_settings())
    try:
        async with database.stores() as stores:
            return (await stores.secrets(store))["callback_token"]
    finally:
        await database.close()
