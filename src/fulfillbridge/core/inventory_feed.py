"""Where a store's inventory feed is and how often the worker reads it: the store's
settings, the URL checks, and the URL as it may be shown. Pure: the fetching is
``flows.inventory_feed``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fulfillbridge.core.errors import FulfillbridgeError, InventoryErrorCode
from fulfillbridge.core.stores import Store

FEED_URL = "inventory_feed_url"  # store settings keys
FEED_INTERVAL = "inventory_feed_interval"
FEED_DEFAULT_INTERVAL = 900  # seconds
FEED_MIN_INTERVAL = 60
_FEED_URL_LENGTH = 2000


class FeedUrlError(FulfillbridgeError, ValueError):
    """A feed URL the worker will not fetch; the message names why (the URL masked)."""

    default_code = InventoryErrorCode.FEED_URL_INVALID


@dataclass(frozen=True)
class Feed:
    """A store's feed: the URL and the seconds between reads."""

    url: str
    interval: int


def check_feed_url(url: str) -> str:
    """The URL when the worker may poll it (http or https, with a host); else a
    ``FeedUrlError`` naming the problem, the URL masked."""
    url = url.strip()
    if not url:
        raise FeedUrlError("the inventory feed URL is empty")
    if len(url) > _FEED_URL_LENGTH:
        raise FeedUrlError(f"the inventory feed URL is longer than {_FEED_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise FeedUrlError(
            f"the inventory feed URL {mask_url(url)} has spaces or control characters"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FeedUrlError(f"the inventory feed URL {mask_url(url)} is not a URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FeedUrlError(
            f"the inventory feed URL {mask_url(url)} must start with http:// or https:// "
            f"(scheme {parts.scheme or 'missing'!r} is not fetched)"
        )
    if not parts.hostname:
        raise FeedUrlError(f"the inventory feed URL {mask_url(url)} names no host")
    if port == 0:
        raise FeedUrlError(f"the inventory feed URL {mask_url(url)} has port 0")
    return url


def mask_url(url: str) -> str:
    """The URL safe to log or print: user and password (``***@``) and the query string
    (``?***``), where feed credentials usually travel, are hidden; the fragment dropped."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "(unreadable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    masked = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else netloc + parts.path
    return masked + ("?***" if parts.query else "")


def feed_of(store: Store) -> Feed | None:
    """The store's feed settings (``store configure --inventory-feed``), or None."""
    url = store.settings.get(FEED_URL)
    if not url:
        return None
    interval = store.settings.get(FEED_INTERVAL) or FEED_DEFAULT_INTERVAL
    try:
        seconds = max(int(interval), FEED_MIN_INTERVAL)
    except (TypeError, ValueError):
        seconds = FEED_DEFAULT_INTERVAL
    return Feed(str(url), seconds)
