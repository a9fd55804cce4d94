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
import socket
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from fulfillbridge.sandbox.app import SandboxASGI, SandboxConfig, create_app
from fulfillbridge.sandbox.shops import Sandbox, ShopConfigError

STARTUP_TIMEOUT = 30.0  # seconds; building the schema takes about two

logger = logging.getLogger(__name__)


class SandboxServer:
    """The sandbox on 127.0.0.1 and a free port, in a background thread."""

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port
        self.app: SandboxASGI | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def sandbox(self) -> Sandbox:
        if self.app is None:
            raise RuntimeError("the sandbox server is not running")
        return self.app.sandbox

    def graphql_url(self, shop_domain: str | None = None, version: str = "2026-07") -> str:
        prefix = f"/shops/{shop_domain}" if shop_domain else ""
        return f"{self.url}{prefix}/admin/api/{version}/graphql.json"

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        if self._thread is not None:
            return self
        self.app = create_app(self.config)
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted connections whose
        # protocol says TCP, and without it every answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on", loop="asyncio"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the sandbox server stopped during startup (see its log)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox server did not start in {STARTUP_TIMEOUT}s")
            time.sleep(0.01)
        return self

    def _run(self) -> None:
        assert self._server is not None and self._socket is not None
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None
        self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SandboxServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await asyncio.to_thread(self.stop)


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
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="on")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the fulfillbridge Shopify sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--shops", default=None, help="TOML file of shops")
    arguments = parser.parse_args()
    serve(arguments.host, arguments.port, arguments.shops)
