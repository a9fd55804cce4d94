"""The inventory feed: a CSV served over real HTTP by a small app on 127.0.0.1, fetched by
``poll_feeds`` (the worker's call) and pushed into the sandbox."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fulfillbridge.config import Settings
from fulfillbridge.core import inventory_feed as core_feed
from fulfillbridge.core.inventory import RawRow
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.flows import inventory, inventory_feed
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import InventoryFeedRow
from fulfillbridge.web.app import create_app
from fulfillbridge.web.inventory_routes import router
from fulfillbridge.worker import run_round
from tests.inventory.conftest import DOMAIN, Shop, add_store

USER, PASSWORD, TOKEN = "ops", "feed-pass-s3cret", "t0ken-in-query"


@dataclass
class FeedHost:
    """Serves ``bodies[name]`` at ``/name`` with an ETag (answering 304 to a matching
    If-None-Match), or the status in ``fail[name]``; ``/private`` wants Basic credentials
    and a token in the query. Every request is counted."""

    bodies: dict[str, str] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (name, If-None-Match)
    url: str = ""

    def app(self) -> Starlette:
        async def serve(request: Request) -> Response:
            name = request.path_params["name"]
            self.requests.append((name, request.headers.get("if-none-match")))
            if name == "private":
                expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                authorized = request.headers.get("authorization") == f"Basic {expected}"
                if not authorized or request.query_params.get("token") != TOKEN:
                    return Response("who are you?", status_code=401)
            if name in self.fail:
                return Response("feed broken", status_code=self.fail[name])
            if name not in self.bodies:
                return Response("no such feed", status_code=404)
            body = self.bodies[name]
            etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers={"ETag": etag})
            return Response(body, media_type="text/csv", headers={"ETag": etag})

        return Starlette(routes=[Route("/{name}", serve)])

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.requests if n == name)


@pytest.fixture
def feeds() -> Iterator[FeedHost]:
    host = FeedHost()
    with BackgroundServer(host.app()) as server:
        host.url = server.url
        yield host


def _shopify_calls(sandbox_url: str) -> int:
    return len(httpx.get(f"{sandbox_url}/__sandbox/shops/{DOMAIN}/requests").json()["requests"])


async def _make_due(database: Database, store: str) -> None:
    """The feed's interval has passed (as if its last poll started an hour ago)."""
    async with database.stores() as stores:
        store_id = (await stores.get(store)).id
    async with database.transaction() as session:
        row = await session.get(InventoryFeedRow, store_id)
        assert row is not None
        row.started_at = datetime.now(UTC) - timedelta(hours=1)


async def _feed_status(database: Database, store: str) -> dict:
    (found,) = await inventory.status(database, store=store)
    assert found.feed is not None
    return found.feed


async def test_feed_rows_are_applied_and_an_unchanged_feed_costs_nothing(
    database: Database,
    settings: Settings,
    shop: Shop,
    sandbox_url: str,
    feeds: FeedHost,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="fulfillbridge")
    shop.add("MUG", available=1)
    shop.add("TEE", available=1)
    host = feeds.url.removeprefix("http://")
    url = f"http://{USER}:{PASSWORD}@{host}/private?token={TOKEN}"
    await add_store(database, sandbox_url, shop, inventory_feed_url=url)
    feeds.bodies["private"] = (
        "store,sku,warehouse,quantity\n"
        ",MUG,main,7\n"
        "acme,TEE,,9\n"
        ",NOPE,main,1\n"
        "globex,MUG,main,2\n"
        ",TEE,main\n"
    )

    (first,) = await inventory_feed.poll_feeds(database, settings)

    assert (first.http_status, first.rows, first.rejected, first.error) == (200, 5, 3, None)
    assert (shop.on_hand("MUG"), shop.on_hand("TEE")) == (7, 9)
    status = await _feed_status(database, "acme")
    assert (status["http_status"], status["rows"], status["rejected"]) == (200, 5, 3)
    assert status["error"] is None and status["last_fetched_at"] is not None
    (acme,) = await inventory.status(database, store="acme")
    reasons = {r["line"]: r["reason"] for r in acme.last_rejections}
    assert "unknown SKU 'NOPE'" in reasons[4]
    assert "row for store 'globex' in the feed of store acme" in reasons[5]
    assert "expected 4 cells, found 3" in reasons[6]

    # Not due yet: nothing is fetched.
    assert await inventory_feed.poll_feeds(database, settings) == []
    assert feeds.count("private") == 1

    # Due again, same content: the ETag answers 304 and Shopify hears nothing.
    calls = _shopify_calls(sandbox_url)
    await _make_due(database, "acme")
    (second,) = await inventory_feed.poll_feeds(database, settings)
    assert second.not_modified and second.http_status == 304
    assert feeds.requests[-1][1] is not None  # If-None-Match was sent
    assert _shopify_calls(sandbox_url) == calls
    status = await _feed_status(database, "acme")
    assert (status["http_status"], status["rows"], status["rejected"]) == (304, 5, 3)

    # Changed content is fetched whole and applied.
    feeds.bodies["private"] = "sku,quantity\nMUG,3\n"
    await _make_due(database, "acme")
    (third,) = await inventory_feed.poll_feeds(database, settings)
    assert (third.http_status, third.rows, third.rejected) == (200, 1, 0)
    assert shop.on_hand("MUG") == 3

    shown = [first.url, status["url"], caplog.text]
    assert all(PASSWORD not in text and TOKEN not in text for text in shown)
    assert status["url"] == f"http://***@{host}/private?***"


async def test_a_failing_feed_is_recorded_and_the_next_store_is_still_polled(
    database: Database,
    settings: Settings,
    shop: Shop,
    sandbox_url: str,
    feeds: FeedHost,
) -> None:
    shop.add("MUG", available=1)
    async with database.stores() as stores:
        await stores.add(
            name="acme",
            shop_domain="acme-broken.myshopify.com",
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": "shpat_unused"},
            api_base_url="http://127.0.0.1:9",  # never reached: its feed fails first
            settings={
                "inventory_feed_url": f"{feeds.url}/broken",
                "inventory_feed_allow": ["127.0.0.1"],
            },
        )
    await add_store(database, sandbox_url, shop, "zeta", inventory_feed_url=f"{feeds.url}/zeta")
    feeds.fail["broken"] = 500
    feeds.bodies["zeta"] = "sku,quantity\nMUG,4\n"

    outcomes = {o.store: o for o in await inventory_feed.poll_feeds(database, settings)}

    assert outcomes["acme"].error == "the feed answered HTTP 500"
    assert outcomes["zeta"].error is None and shop.on_hand("MUG") == 4
    broken = await _feed_status(database, "acme")
    assert (broken["http_status"], broken["error"]) == (500, "the feed answered HTTP 500")
    # Retried next interval; a malformed CSV is recorded with its reason.
    del feeds.fail["broken"]
    feeds.bodies["broken"] = "article;amount\nMUG;1\n"
    await _make_due(database, "acme")
    (malformed,) = await inventory_feed.poll_feeds(database, settings)
    assert malformed.http_status == 200
    assert "not an inventory CSV" in (malformed.error or "")
    assert "not an inventory CSV" in (await _feed_status(database, "acme"))["error"]
    # A host that does not answer is recorded too, and the worker's round goes on.
    async with database.stores() as stores:
        await stores.update_settings("acme", {"inventory_feed_url": "http://127.0.0.1:9/x"})
    report = await run_round(database, settings, worker_id="test", sender=None)
    assert report.feeds == 1  # acme only: zeta's interval has not passed
    refused = await _feed_status(database, "acme")
    assert refused["http_status"] is None
    assert "could not be fetched" in refused["error"]


async def test_two_workers_poll_a_due_feed_once(
    settings: Settings, shop: Shop, sandbox_url: str, feeds: FeedHost
) -> None:
    shop.add("MUG", available=1)
    first, second = Database.from_settings(settings), Database.from_settings(settings)
    try:
        await add_store(first, sandbox_url, shop, inventory_feed_url=f"{feeds.url}/stock")
        feeds.bodies["stock"] = "sku,warehouse,quantity\nMUG,main,12\n"

        results = await asyncio.gather(
            inventory_feed.poll_feeds(first, settings), inventory_feed.poll_feeds(second, settings)
        )

        assert sorted(len(r) for r in results) == [0, 1]
        assert feeds.count("stock") == 1
        assert shop.on_hand("MUG") == 12
    finally:
        await first.close()
        await second.close()


async def test_a_changed_url_is_polled_at_once_without_the_old_etag(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str, feeds: FeedHost
) -> None:
    shop.add("MUG", available=1)
    feeds.bodies["one"] = feeds.bodies["two"] = "sku,quantity\nMUG,5\n"
    await add_store(database, sandbox_url, shop, inventory_feed_url=f"{feeds.url}/one")
    assert len(await inventory_feed.poll_feeds(database, settings)) == 1
    async with database.stores() as stores:
        await stores.update_settings("acme", {"inventory_feed_url": f"{feeds.url}/two"})

    (moved,) = await inventory_feed.poll_feeds(database, settings)

    assert moved.http_status == 200 and feeds.requests[-1] == ("two", None)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://127.0.0.1/stock.csv", "must start with http:// or https://"),
        ("http:///stock.csv", "names no host"),
        ("stock.csv", "must start with http:// or https://"),
        ("http://127.0.0.1:99999/x", "is not a URL"),
        ("http://127.0.0.1/a b", "spaces"),
        ("", "is empty"),
    ],
)
def test_feed_urls_are_checked(url: str, problem: str) -> None:
    with pytest.raises(core_feed.FeedUrlError, match=problem):
        core_feed.check_feed_url(url)


def test_masked_urls_keep_no_credentials() -> None:
    masked = core_feed.mask_url("https://user:pw@feeds.example.com:8443/a.csv?key=abc#x")
    assert masked == "https://***@feeds.example.com:8443/a.csv?***"
    assert (
        core_feed.mask_url("https://feeds.example.com/a.csv") == "https://feeds.example.com/a.csv"
    )


async def test_a_feed_poll_and_a_push_at_once_run_one_after_the_other(
    settings: Settings, shop: Shop, sandbox_url: str, feeds: FeedHost
) -> None:
    skus = [f"BOTH-{n}" for n in range(4)]
    for sku in skus:
        shop.add(sku, available=1)
    first, second = Database.from_settings(settings), Database.from_settings(settings)
    try:
        await add_store(first, sandbox_url, shop, inventory_feed_url=f"{feeds.url}/stock")
        feeds.bodies["stock"] = "sku,quantity\n" + "".join(f"{sku},30\n" for sku in skus)
        rows = [RawRow(i + 2, "acme", sku, "", 60) for i, sku in enumerate(skus)]

        polled, pushed = await asyncio.gather(
            inventory_feed.poll_feeds(first, settings), inventory.push(second, settings, rows)
        )

        assert [(o.rows, o.rejected, o.error) for o in polled] == [(4, 0, None)]
        assert pushed.rejected == []
        assert len({shop.on_hand(sku) for sku in skus}) == 1  # all from one, or the other
        assert shop.on_hand(skus[0]) in (30, 60)
    finally:
        await first.close()
        await second.close()


async def test_the_status_endpoint_shows_the_feed_masked(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str, feeds: FeedHost
) -> None:
    shop.add("MUG", available=1)
    url = f"{feeds.url}/private?token={TOKEN}"  # no credentials for the host: a 401
    await add_store(database, sandbox_url, shop, inventory_feed_url=url)
    await inventory_feed.poll_feeds(database, settings)
    async with database.transaction() as session:
        key = (await ApiKeyRepository(session).create("ops", ["acme"])).plain
    app = create_app(settings)
    app.include_router(router)
    async with (
        BackgroundServer(app) as bridge,
        httpx.AsyncClient(base_url=bridge.url, timeout=30) as http,
    ):
        answer = await http.get(
            "/api/v1/inventory/status", headers={"Authorization": f"Bearer {key}"}
        )
    assert answer.status_code == 200, answer.text
    (found,) = answer.json()["stores"]
    feed = found["feed"]
    assert feed["url"] == f"{feeds.url}/private?***" and TOKEN not in answer.text
    assert (feed["http_status"], feed["error"]) == (401, "the feed answered HTTP 401")
    assert feed["interval_seconds"] == core_feed.FEED_DEFAULT_INTERVAL
