"""The inventory feed cannot be pointed at what only the bridge can reach (SSRF): refused
destinations before any connection, on every redirect, after DNS, and the address checked
is the one connected to. Feeds are served on 127.0.0.1, admitted by the store's
allow-list; every refused destination is refused before a connection is tried, so these
tests send nothing beyond 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fulfillbridge.config import Settings
from fulfillbridge.core import inventory_feed as core_feed
from fulfillbridge.flows import inventory, inventory_feed
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from tests.inventory.conftest import Shop, add_store

SECRET_TEXT = "TOPSECRET-INTERNAL-VALUE"


@dataclass
class Host:
    port: int = 0
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    redirect_to: str = ""

    def app(self) -> Starlette:
        async def serve(request: Request) -> Response:
            name = request.path_params["name"]
            self.seen.append((name, request.headers.get("host", "")))
            if name == "jump":
                return RedirectResponse(self.redirect_to, status_code=302)
            if name == "secret-error":
                return Response(SECRET_TEXT, status_code=500)
            if name == "secret-csv":
                return Response(f"{SECRET_TEXT};x\n1;2\n", media_type="text/csv")
            return Response("sku,warehouse,quantity\nMUG,main,3\n", media_type="text/csv")

        return Starlette(routes=[Route("/{name}", serve)])


@pytest.fixture
def host() -> Iterator[Host]:
    served = Host()
    with BackgroundServer(served.app()) as server:
        served.port = int(server.url.rpartition(":")[2])
        yield served


async def _poll(database: Database, settings: Settings, shop: Shop, sandbox_url: str, **feed):
    await add_store(database, sandbox_url, shop, **feed)
    (outcome,) = await inventory_feed.poll_feeds(database, settings)
    (status,) = await inventory.status(database, store="acme")
    return outcome, status.feed


async def test_a_loopback_feed_without_the_allow_list_is_not_fetched(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str, host: Host
) -> None:
    outcome, shown = await _poll(
        database, settings, shop, sandbox_url,
        inventory_feed_url=f"http://127.0.0.1:{host.port}/stock", inventory_feed_allow=[],
    )  # fmt: skip
    assert "loopback address" in (outcome.error or "")
    assert "--feed-allow-host" in (outcome.error or "")
    assert host.seen == []  # refused before any connection
    assert shown is not None and "loopback" in shown["error"]


async def test_a_name_resolving_to_loopback_is_refused_after_dns(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str, host: Host
) -> None:
    outcome, _ = await _poll(
        database, settings, shop, sandbox_url,
        inventory_feed_url=f"http://localhost:{host.port}/stock", inventory_feed_allow=[],
    )  # fmt: skip
    assert "resolves to a loopback address" in (outcome.error or "")
    assert host.seen == []


async def test_the_allow_list_admits_the_checked_address_and_keeps_the_host_name(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str, host: Host
) -> None:
    shop.add("MUG", available=1)
    outcome, _ = await _poll(
        database, settings, shop, sandbox_url,
        inventory_feed_url=f"http://localhost:{host.port}/stock",
        inventory_feed_allow=["127.0.0.1/32"],
    )  # fmt: skip
    assert outcome.error is None and outcome.http_status == 200
    # Connected to the address that was checked, with the name the URL gave as Host.
    assert host.seen == [("stock", f"localhost:{host.port}")]
    assert shop.on_hand("MUG") == 3


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/stock",  # loopback, outside the allow-list
        "http://2130706434:{port}/stock",  # 127.0.0.2 spelled as a number
        "http://0x7f.0.0.2:{port}/stock",
        "http://[::1]:{port}/stock",
        "http://[::ffff:127.0.0.2]:{port}/stock",
        "http://0.0.0.0:{port}/stock",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_every_redirect_is_checked_like_the_first_address(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str, host: Host, target: str
) -> None:
    host.redirect_to = target.format(port=host.port)
    outcome, _ = await _poll(
        database, settings, shop, sandbox_url,
        inventory_feed_url=f"http://127.0.0.1:{host.port}/jump",
        inventory_feed_allow=["127.0.0.1"],
    )  # fmt: skip
    assert outcome.error is not None
    assert any(
        words in outcome.error
        for words in ("loopback", "unspecified", "cloud metadata", "not a public")
    ), outcome.error
    assert [name for name, _ in host.seen] == ["jump"]  # the redirect was never followed


@pytest.mark.parametrize("name", ["secret-error", "secret-csv"])
async def test_the_feeds_body_is_never_shown(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str, host: Host, name: str
) -> None:
    outcome, shown = await _poll(
        database, settings, shop, sandbox_url,
        inventory_feed_url=f"http://127.0.0.1:{host.port}/{name}",
        inventory_feed_allow=["127.0.0.1"],
    )  # fmt: skip
    assert outcome.error is not None and SECRET_TEXT not in outcome.error
    assert shown is not None and SECRET_TEXT not in str(shown)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/x", "link-local"),
        ("http://[::ffff:169.254.169.254]/x", "link-local"),
        ("http://10.1.2.3/x", "private address"),
        ("http://192.168.0.10/x", "private address"),
        ("http://172.16.5.4/x", "private address"),
        ("http://[fd00::1]/x", "private address"),
        ("http://0177.0.0.1/x", "loopback"),
        ("http://instance-data/latest", "cloud metadata"),
        ("http://METADATA.GOOGLE.INTERNAL./x", "cloud metadata"),
        ("http://224.0.0.1/x", "not a public address"),
    ],
)
def test_non_public_destinations_are_refused(url: str, why: str) -> None:
    with pytest.raises(core_feed.FeedUrlError, match=why):
        core_feed.check_feed_url(url)


def test_the_allow_list_admits_only_what_it_names() -> None:
    allowed = core_feed.parse_allow_list(["10.0.0.5", "192.168.10.0/24"])
    assert core_feed.check_feed_url("http://10.0.0.5/f.csv", allowed)
    assert core_feed.check_feed_url("http://192.168.10.77/f.csv", allowed)
    with pytest.raises(core_feed.FeedUrlError, match="private address"):
        core_feed.check_feed_url("http://10.0.0.6/f.csv", allowed)
    # Names of metadata services and the unspecified address stay refused whatever it says.
    everything = core_feed.parse_allow_list(["0.0.0.0/0"])
    with pytest.raises(core_feed.FeedUrlError, match="cloud metadata"):
        core_feed.check_feed_url("http://metadata.google.internal/", everything)
    with pytest.raises(core_feed.FeedUrlError, match="unspecified"):
        core_feed.check_feed_url("http://0.0.0.0/", everything)
    for bad in ("10.0.0.0/33", "not-an-address", "10.0.0.5:80"):
        with pytest.raises(core_feed.FeedUrlError, match="not an IP address or CIDR"):
            core_feed.parse_allow_list([bad])


async def test_a_feed_url_left_in_the_clear_is_sealed_at_its_first_poll(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str, host: Host
) -> None:
    # As an older version stored it: the whole URL, credentials included, in the settings.
    url = f"http://ops:feed-pass@127.0.0.1:{host.port}/stock?token=feed-token"
    outcome, _ = await _poll(
        database, settings, shop, sandbox_url,
        inventory_feed_url=url, inventory_feed_allow=["127.0.0.1"],
    )  # fmt: skip
    assert outcome.error is None and outcome.http_status == 200
    async with database.stores() as stores:
        stored = await stores.get("acme")
        secrets = await stores.secrets("acme")
    assert stored.settings["inventory_feed_url"] == f"http://***@127.0.0.1:{host.port}/stock?***"
    assert "feed-pass" not in str(stored.settings) and "feed-token" not in str(stored.settings)
    assert secrets["inventory_feed_url"] == url
    # The next poll reads the sealed URL (credentials and all) and fetches it again.
    async with database.transaction() as session:
        from sqlalchemy import update

        from fulfillbridge.store.models import InventoryFeedRow

        await session.execute(update(InventoryFeedRow).values(started_at=None))
    again = await inventory_feed.poll_feeds(database, settings)
    assert [o.error for o in again] == [None]
    assert [name for name, _ in host.seen] == ["stock", "stock"]
