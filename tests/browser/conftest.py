"""A real browser for the console's tests: Playwright driving the system's Chromium
(``FULFILLBRIDGE_CHROMIUM``, else ``chromium`` on PATH; Playwright's own browser download
is never used). Without one the tests skip, except in CI (``CI=true``) or with
``FULFILLBRIDGE_REQUIRE_BROWSER=1``, where they fail. Screenshots go to
``test-artifacts/browser/`` (or ``FULFILLBRIDGE_ARTIFACTS``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import bridge, merchant  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def chromium_path() -> str | None:
    given = os.environ.get("FULFILLBRIDGE_CHROMIUM")
    if given:
        return given if Path(given).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _required() -> bool:
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("FULFILLBRIDGE_REQUIRE_BROWSER") == "1"
    )


@pytest.fixture(scope="session")
def chromium() -> str:
    found = chromium_path()
    if found is None:
        reason = (
            "no Chromium here: install it (apt-get install chromium, or "
            "bash scripts/chromium.sh install) or set FULFILLBRIDGE_CHROMIUM"
        )
        if _required():
            pytest.fail(f"the browser tests are required here but cannot run: {reason}")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("FULFILLBRIDGE_ARTIFACTS") or ROOT / "test-artifacts") / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            await launched.close()


class Outside:
    """Every request a page tried to send beyond this machine (aborted, and recorded)."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, str]] = []

    async def watch(self, context) -> None:
        async def handle(route) -> None:
            request = route.request
            host = urlsplit(request.url).hostname or ""
            if request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL_HOSTS:
                await route.continue_()
            else:
                self.attempts.append((request.resource_type, request.url))
                await route.abort()

        await context.route("**/*", handle)
