"""The inventory feed the worker polls: per store whose feed is due (``core.inventory_feed``
reads the settings), one worker claims the poll, fetches the CSV with a conditional GET
(bounded in time, size and redirects), and pushes its rows through ``flows.inventory.push``.
The outcome (HTTP status, rows, rejected, error) is recorded where ``inventory status``
shows it; the URL's credentials never reach a log or an error, and nothing of the feed's
body does either (an error names the kind of failure and the status code only).

Every connection goes through :class:`PinnedTransport`: the host is resolved, every
address it resolves to is checked (``core.inventory_feed.destination_refusal``, with the
store's allow-list), and the connection is made to the address checked, not to a second
lookup of the name (DNS rebinding). Redirects pass through the transport too, so each hop
is checked the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import socket
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.exc import IntegrityError, OperationalError

from fulfillbridge.config import Settings
from fulfillbridge.core.errors import FulfillbridgeError, InventoryErrorCode
from fulfillbridge.core.inventory import (
    InventoryInputError,
    RawRow,
    Rejection,
    parse_csv,
)
from fulfillbridge.core.inventory_feed import (
    FEED_SECRET,
    FEED_URL,
    Feed,
    FeedUrlError,
    Network,
    allow_list_of,
    check_feed_url,
    check_host,
    destination_refusal,
    feed_of,
    mask_url,
)
from fulfillbridge.core.stores import Store
from fulfillbridge.flows import inventory
from fulfillbridge.shopify import ShopifyError
from fulfillbridge.store import leases
from fulfillbridge.store.database import Database
from fulfillbridge.store.inventory import (
    FeedClaim,
    InventoryRepository,
)

log = logging.getLogger("fulfillbridge.flows.inventory_feed")

FEED_MAX_BYTES = 20 * 1024 * 1024
FEED_MAX_REDIRECTS = 3
FEED_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
FEED_DEADLINE = 120.0  # a whole fetch, however slowly the bytes come


class FeedError(FulfillbridgeError):
    """Why one poll of a feed got nothing to apply; the message is safe to show.
    ``http_status`` is what the feed's server answered (recorded and shown), not ours."""

    default_code = InventoryErrorCode.FEED_FAILED

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


@dataclass
class FeedOutcome:
    """One poll of one store's feed."""

    store: str
    url: str  # masked
    http_status: int | None = None
    rows: int = 0
    rejected: int = 0
    error: str | None = None
    not_modified: bool = False


def _scrub(text: str, url: str) -> str:
    """An error text with the feed's secrets put out of sight (an HTTP library may quote
    the URL it was given)."""
    try:
        parts = urlsplit(url)
        secrets = [url, parts.netloc.rpartition("@")[0], parts.query, parts.password]
    except ValueError:
        secrets = [url]
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class PinnedTransport(httpx.AsyncHTTPTransport):
    """Connects only to public addresses (or the store's allow-list), and to the very
    address it checked; TLS still verifies the certificate against the host name."""

    def __init__(self, allowed: Sequence[Network] = ()) -> None:
        super().__init__()
        self._allowed = tuple(allowed)

    async def _address(self, host: str, port: int) -> str:
        try:
            check_host(host, self._allowed)
        except FeedUrlError as exc:
            raise FeedError(str(exc)) from None
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError:
            raise FeedError(f"the feed's host {host} could not be resolved") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
        for address in addresses:
            why = destination_refusal(address, self._allowed)
            if why is not None:  # one bad answer spoils the name: no picking around it
                raise FeedError(
                    f"the feed's host {host} resolves to {why} ({address}): refused; a feed "
                    "inside your own network needs `store configure --feed-allow-host`"
                )
        if not addresses:
            raise FeedError(f"the feed's host {host} could not be resolved")
        return str(addresses[0])

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        address = await self._address(host, port)
        request.url = request.url.copy_with(host=address)
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        return await super().handle_async_request(request)


async def _download(
    url: str, claim: FeedClaim, allowed: Sequence[Network] = ()
) -> tuple[int, str | None, str | None, bytes]:
    """(status, ETag, Last-Modified, body) of a conditional GET; the body is empty on
    304. Bounded in time, size and redirects; every hop's address checked."""
    headers = {"Accept": "text/csv, text/plain;q=0.9, */*;q=0.1"}
    if claim.etag:
        headers["If-None-Match"] = claim.etag
    if claim.last_modified:
        headers["If-Modified-Since"] = claim.last_modified
    async with (
        asyncio.timeout(FEED_DEADLINE),
        httpx.AsyncClient(
            timeout=FEED_TIMEOUT,
            follow_redirects=True,
            max_redirects=FEED_MAX_REDIRECTS,
            transport=PinnedTransport(allowed),
            trust_env=False,  # a proxy from the environment would connect for us, unchecked
        ) as http,
        http.stream("GET", url, headers=headers) as response,
    ):
        status = response.status_code
        if status == 304:
            return status, claim.etag, claim.last_modified, b""
        if status != 200:
            raise FeedError(f"the feed answered HTTP {status}", http_status=status)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > FEED_MAX_BYTES:
            raise FeedError(f"the feed is larger than {FEED_MAX_BYTES // (1024 * 1024)} MB")
        body = bytearray()
        async for part in response.aiter_bytes():
            body += part
            if len(body) > FEED_MAX_BYTES:
                raise FeedError(f"the feed is larger than {FEED_MAX_BYTES // (1024 * 1024)} MB")
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        return status, etag, modified, bytes(body)


def _feed_rows(store: Store, body: bytes) -> tuple[list[RawRow], list[Rejection], int]:
    """The feed's rows for its store, the lines refused already, and the lines read."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedError("the feed is not UTF-8 text") from None
    try:
        raw, unreadable = parse_csv(text, default_store=store.name)
    except InventoryInputError:
        # Not the parser's words: they may quote the body, which is never shown.
        raise FeedError(
            "the feed is not an inventory CSV (it needs a header row with sku and quantity)"
        ) from None
    own: list[RawRow] = []
    refused = list(unreadable)
    for row in raw:
        if row.store == store.name:
            own.append(row)
        else:  # one feed per store: a row for another store is not guessed to be meant
            refused.append(
                Rejection(
                    row.line,
                    f"row for store {row.store!r} in the feed of store {store.name}: "
                    "leave the store cell empty or name this store",
                    store.name,
                    row.sku,
                    row.warehouse or None,
                )
            )
    return own, refused, len(raw) + len(unreadable)


async def _claim_feed(database: Database, store: Store, feed: Feed) -> FeedClaim | None:
    now = datetime.now(UTC)
    url_hash = hashlib.sha256(feed.url.encode()).hexdigest()
    due_before = now - timedelta(seconds=feed.interval)
    async with database.transaction() as session:
        if not await InventoryRepository(session).feed_due(store.id, url_hash, due_before):
            return None
    try:
        async with database.transaction() as session:
            return await InventoryRepository(session).claim_feed(
                store.id, url_hash, leases.new_holder(), now=now, interval=feed.interval
            )
    except (IntegrityError, OperationalError):
        return None  # another worker claimed it first


async def _poll_feed(
    database: Database, settings: Settings, store: Store, feed: Feed
) -> FeedOutcome | None:
    """Fetch and push one store's feed when its round is due and ours; None otherwise."""
    outcome = FeedOutcome(store.name, mask_url(feed.url))
    claim = await _claim_feed(database, store, feed)
    if claim is None:
        return None
    record: dict[str, Any] = {"fetched_at": datetime.now(UTC), "http_status": None, "error": None}
    try:
        allowed = allow_list_of(store)
        try:
            url = check_feed_url(feed.url, allowed)
        except FeedUrlError as exc:  # settings written before a rule tightened
            raise FeedError(str(exc)) from None
        status, etag, modified, body = await _download(url, claim, allowed)
        outcome.http_status = record["http_status"] = status
        if status == 304:  # unchanged since the content last applied: nothing to do
            outcome.not_modified = True
        else:
            rows, refused, lines = _feed_rows(store, body)
            report = await inventory.push(
                database,
                settings,
                rows,
                allowed_stores=frozenset({store.name}),
                refused={store.name: refused} if refused else None,
            )
            outcome.rows = lines
            outcome.rejected = len(report.rejected)
            # The validators are kept only once the content is applied: a poll that failed
            # half-way fetches everything again next time.
            record.update(
                rows=lines,
                rejected=len(report.rejected),
                etag=(etag or "")[:500] or None,
                last_modified=(modified or "")[:100] or None,
                changed_at=record["fetched_at"],
            )
    except FeedError as exc:
        outcome.error = str(exc)
        if exc.http_status is not None:
            outcome.http_status = record["http_status"] = exc.http_status
    except TimeoutError:
        outcome.error = f"the feed took more than {FEED_DEADLINE:.0f} s"
    except httpx.TooManyRedirects:
        outcome.error = f"the feed redirected more than {FEED_MAX_REDIRECTS} times"
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        # The kind of failure only: an exception's text may carry what the server said.
        outcome.error = f"the feed could not be fetched ({type(exc).__name__})"
    except (inventory.InventorySyncError, ShopifyError) as exc:
        outcome.error = f"the feed's rows could not be pushed: {exc}"
    except Exception as exc:  # recorded like the others; the worker goes on
        log.error(
            "store %s: inventory feed %s: unexpected failure\n%s",
            store.name,
            outcome.url,
            _scrub(traceback.format_exc(), feed.url),
        )
        outcome.error = f"unexpected failure ({type(exc).__name__})"
    if outcome.error is not None:
        record.update(
            error=outcome.error,
            etag=None,
            last_modified=None,
            rows=outcome.rows,
            rejected=outcome.rejected,
        )
        log.warning("store %s: inventory feed %s: %s", store.name, outcome.url, outcome.error)
    else:
        log.info(
            "store %s: inventory feed %s: HTTP %s, %s",
            store.name,
            outcome.url,
            outcome.http_status,
            "not modified"
            if outcome.not_modified
            else f"{outcome.rows} rows, {outcome.rejected} rejected",
        )
    async with database.transaction() as session:
        await InventoryRepository(session).record_feed(store.id, **record)
    return outcome


async def _sealed_feed(stores: Any, store: Store) -> Feed | None:
    """The store's feed with its whole URL, read from the sealed secrets. A URL written
    in the settings in the clear (before feeds were sealed) is sealed now."""
    feed = feed_of(store)
    if feed is None:
        return None
    secrets = await stores.secrets(store.name)
    sealed = secrets.get(FEED_SECRET)
    if sealed and mask_url(sealed) == feed.url:  # the settings show the sealed URL masked
        return Feed(sealed, feed.interval)
    if mask_url(feed.url) != feed.url:
        await stores.add_secrets(store.name, {FEED_SECRET: feed.url})
        await stores.update_settings(store.name, {FEED_URL: mask_url(feed.url)})
    return feed


async def poll_feeds(database: Database, settings: Settings) -> list[FeedOutcome]:
    """Poll every store's inventory feed whose interval has elapsed (one worker per feed
    and interval, whatever the number of workers) and push its rows like ``push`` does.
    A failing feed is recorded and tried again next interval; it never stops the others."""
    async with database.stores() as stores:
        listed = [(s, await _sealed_feed(stores, s)) for s in await stores.list()]
    outcomes = []
    for store, feed in listed:
        if feed is None:
            continue
        try:
            outcome = await _poll_feed(database, settings, store, feed)
        except Exception as exc:  # one store's failure never stops the others
            log.error(
                "store %s: inventory feed %s failed: %s",
                store.name,
                mask_url(feed.url),
                _scrub(f"{type(exc).__name__}: {exc}", feed.url),
            )
            continue
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes
