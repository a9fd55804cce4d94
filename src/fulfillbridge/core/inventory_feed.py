"""Where a store's inventory feed is and how often the worker reads it: the store's
settings, the URL checks, and the URL as it may be shown. Pure: the fetching is
``flows.inventory_feed``.

The feed is fetched by the bridge from inside the operation's network, so its URL must not
become a way to reach what only the bridge can reach (SSRF): a destination that is not a
public address (loopback, private ranges, link-local with the cloud metadata service,
0.0.0.0, multicast, reserved; IPv4 inside IPv6 unwrapped first; numeric spellings such as
``2130706433`` read as the address they are) is refused, unless the store's own allow-list
(``store configure --feed-allow-host``, addresses or CIDR ranges) names it. Cloud metadata
host names are refused whatever the list says. The fetch applies the same rule to every
address a name resolves to and to every redirect, and connects to the address it checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from fulfillbridge.core.errors import FulfillbridgeError, InventoryErrorCode
from fulfillbridge.core.stores import Store

FEED_URL = "inventory_feed_url"  # store settings keys (the URL there is the masked one)
FEED_INTERVAL = "inventory_feed_interval"
FEED_ALLOW = "inventory_feed_allow"  # addresses or CIDR ranges inside the operation's network
FEED_SECRET = "inventory_feed_url"  # the key of the whole URL in the store's sealed secrets
MAX_ALLOW_ENTRIES = 32
# Names of cloud metadata services: never fetched, allow-list or not.
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.packet.net",
        "metadata.oraclecloud.com",
    }
)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
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


def parse_allow_list(values: Iterable[str]) -> tuple[Network, ...]:
    """The allow-list's entries as networks (a lone address is a /32 or /128); a
    ``FeedUrlError`` names an entry that is neither."""
    networks: list[Network] = []
    for value in values:
        text = str(value).strip().strip("[]")
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise FeedUrlError(
                f"feed allow-list entry {value!r} is not an IP address or CIDR range "
                "(e.g. 10.0.0.5 or 10.20.0.0/16)"
            ) from None
    if len(networks) > MAX_ALLOW_ENTRIES:
        raise FeedUrlError(f"the feed allow-list holds more than {MAX_ALLOW_ENTRIES} entries")
    return tuple(networks)


def allow_list_of(store: Store) -> tuple[Network, ...]:
    """The store's allow-list (entries that no longer parse are ignored)."""
    networks: list[Network] = []
    for value in store.settings.get(FEED_ALLOW) or ():
        try:
            networks += parse_allow_list([value])
        except FeedUrlError:
            continue
    return tuple(networks)


def numeric_host(host: str) -> Address | None:
    """The address a host spelled as a number is (``127.0.0.1``, ``[::1]``, ``2130706433``,
    ``0x7f.1``, ``127.1``: C's inet_aton reads them all), else None."""
    text = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def destination_refusal(address: Address, allowed: Sequence[Network] = ()) -> str | None:
    """Why the feed may not be fetched from ``address`` (a phrase), or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            address = inner
    if address.is_unspecified:  # reaches this very machine: never allowed
        return "the unspecified address"
    if any(address.version == net.version and address in net for net in allowed):
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_private:
        return "a private address"
    if address.is_multicast or address.is_reserved or not address.is_global:
        return "not a public address"
    return None


def check_host(host: str, allowed: Sequence[Network] = ()) -> None:
    """Refuse, before any lookup, a host that is a metadata service's name or a number
    naming a non-public address (``FeedUrlError``)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in METADATA_HOSTS:
        raise FeedUrlError(f"the inventory feed host {name} is a cloud metadata service")
    address = numeric_host(name)
    if address is not None:
        why = destination_refusal(address, allowed)
        if why is not None:
            raise FeedUrlError(
                f"the inventory feed host {name} is {why}: a feed inside your own network "
                "needs `store configure --feed-allow-host ADDRESS`"
            )


def check_feed_url(url: str, allowed: Sequence[Network] = ()) -> str:
    """The URL when the worker may poll it (http or https, with a host that is not a
    refused destination, see the module); else a ``FeedUrlError`` naming the problem, the
    URL masked."""
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
    check_host(parts.hostname, allowed)
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
