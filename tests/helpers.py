"""Small helpers shared by tests."""

from __future__ import annotations

import httpx


def add_shop(sandbox_url: str, domain: str, **spec) -> str:
    """Add a shop to the sandbox; returns the API base URL that reaches it."""
    response = httpx.post(f"{sandbox_url}/__sandbox/shops", json={"domain": domain, **spec})
    response.raise_for_status()
    return f"{sandbox_url}/shops/{domain}"
