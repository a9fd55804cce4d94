"""Running the sandbox over real HTTP: a background server for tests and the CLI entry.

``SandboxServer`` starts uvicorn in a thread on 127.0.0.1 and a free port::

    with SandboxServer() as server:             # or: async with SandboxServer() as server
        httpx.post(f"{server.url}/admin/api/2026-07/graphql.json", ...)
        server.sandbox                           # the in-memory Sandbox

``serve(host, port, shops_file)`` runs it in the foreground (``fulfillbridge sandbox serve``).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import uvicorn

from fulfillbridge.sandbox.app import SandboxASGI, SandboxConfig, create_app
from fulfillbridge.sandbox.shops import Sandbox, ShopConfigError
from fulfillbridge.serving import BackgroundServer

logger = logging.getLogger(__name__)


class SandboxServer(BackgroundServer):
    """The sandbox on 127.0.0.1 and a free port, in a background thread."""

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(None, host=host, port=port)
        self.config = config or SandboxConfig()
        self.app: SandboxASGI | None = None

    @property
    def sandbox(self) -> Sandbox:
        if self.app is None:
            raise RuntimeError("the sandbox server is not running")
        return self.app.sandbox

    def graphql_url(self, shop_domain: str | None = None, version: str = "2026-07") -> str:
        prefix = f"/shops/{shop_domain}" if shop_domain else ""
        return f"{self.url}{prefix}/admin/api/{version}/graphql.json"

    def _build_app(self) -> SandboxASGI:
        return create_app(self.config)

    def start(self) -> SandboxServer:
        super().start()
        return self

    def __enter__(self) -> SandboxServer:
        return self.start()

    async def __aenter__(self) -> SandboxServer:
        await asyncio.to_thread(self.start)
        return self


def connect_lines(sandbox: Sandbox, url: str) -> list[str]:
    """The ``fulfillbridge store add`` line for each shop's first app: its token (the custom
    app way) or its client credentials, and the secret that signs its webhooks."""
    lines = []
    for domain, shop in sandbox.shops.items():
        app = next(iter(shop.apps.values()), None)
        if app is None:
            continue
        name = domain.removesuffix(".myshopify.com")
        if app.access_token:
            credentials = f"--token {app.access_token} --webhook-secret {app.client_secret}"
        else:
            credentials = f"--client-id {app.client_id} --client-secret {app.client_secret}"
        lines.append(
            f"fulfillbridge store add {name} --shop {domain} --api-url {url} {credentials}"
        )
    return lines


def serve(host: str = "127.0.0.1", port: int = 8765, shops_file: str | Path | None = None) -> None:
    """Run the sandbox in the foreground until interrupted (``fulfillbridge sandbox serve``).

    A shops file that cannot be used ends the program with its problem named (exit code 2).
    """
    try:
        app = create_app(SandboxConfig(shops_file=shops_file))
    except ShopConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    shops = ", ".join(app.sandbox.shops)
    print(f"fulfillbridge sandbox on http://{host}:{port} serving {shops}")
    print(f"  GraphQL: http://{host}:{port}/admin/api/2026-07/graphql.json")
    print(f"  test controls: http://{host}:{port}/__sandbox/")
    print("Connect a shop to the bridge (in another terminal):")
    reach = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    for line in connect_lines(app.sandbox, f"http://{reach}:{port}"):
        print(f"  {line}")
    sys.stdout.flush()
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="on")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the fulfillbridge Shopify sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--shops", default=None, help="TOML file of shops")
    arguments = parser.parse_args()
    serve(arguments.host, arguments.port, arguments.shops)
