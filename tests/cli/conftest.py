"""The real CLI against a real sandbox over HTTP, on a temporary home."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from fulfillbridge.cli import app
from fulfillbridge.sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox_url(sandbox: SandboxServer) -> str:
    httpx.post(f"{sandbox.url}/__sandbox/reset").raise_for_status()
    return sandbox.url


@pytest.fixture
def cli(fb_home, monkeypatch):
    # Wide enough that Rich tables do not shorten shop domains.
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


def add_shop(sandbox_url: str, domain: str, **spec) -> str:
    """Add a shop to the sandbox; returns the API base URL that reaches it."""
    response = httpx.post(f"{sandbox_url}/__sandbox/shops", json={"domain": domain, **spec})
    response.raise_for_status()
    return f"{sandbox_url}/shops/{domain}"
