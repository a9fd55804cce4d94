"""Store configuration: how the bridge works with a store (``configure_store``), the
choices checked and written all or nothing. ``flows.setup`` then registers at Shopify what
those choices need.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fulfillbridge.config import Settings
from fulfillbridge.core.errors import StoreErrorCode
from fulfillbridge.core.inventory import DEFAULT_QUANTITY_NAME, QUANTITY_NAMES
from fulfillbridge.core.inventory_feed import (
    FEED_ALLOW,
    FEED_INTERVAL,
    FEED_MIN_INTERVAL,
    FEED_SECRET,
    FEED_URL,
    Feed,
    FeedUrlError,
    Network,
    allow_list_of,
    check_feed_url,
    feed_of,
    mask_url,
    parse_allow_list,
)
from fulfillbridge.core.stores import Store, StoreError
from fulfillbridge.shopify.gids import build_gid, is_gid_of
from fulfillbridge.store.database import Database

FULFILLMENT_SERVICE = "fulfillment_service"
ORDER_MANAGEMENT = "order_management"
MODES = (FULFILLMENT_SERVICE, ORDER_MANAGEMENT)

MAX_CATALOGUE_SKUS = 100_000
MAX_FEED_INTERVAL = 7 * 24 * 3600

_LOCATION_GID = re.compile(r"^gid://shopify/Location/[1-9][0-9]*$")
_SKU_HEADERS = frozenset({"sku", "skus"})


class SetupError(StoreError):
    """Configuration or set-up that cannot be done; the message names the problem."""

    default_code = StoreErrorCode.SETUP_INVALID


@dataclass(frozen=True)
class StoreConfig:
    """The per-store settings a user chooses (``store configure``)."""

    mode: str = FULFILLMENT_SERVICE
    managed_locations: tuple[str, ...] = ()
    require_billing_address: bool = False
    catalogue: tuple[str, ...] | None = None
    inventory_quantity_name: str = DEFAULT_QUANTITY_NAME
    inventory_feed: Feed | None = None  # its URL masked: the whole URL is sealed

    @classmethod
    def of(cls, store: Store) -> StoreConfig:
        settings = store.settings
        catalogue = settings.get("catalogue")
        return cls(
            mode=str(settings.get("mode") or FULFILLMENT_SERVICE),
            managed_locations=tuple(settings.get("managed_locations") or ()),
            require_billing_address=bool(settings.get("require_billing_address", False)),
            catalogue=tuple(catalogue) if catalogue is not None else None,
            inventory_quantity_name=str(
                settings.get("inventory_quantity_name") or DEFAULT_QUANTITY_NAME
            ),
            inventory_feed=feed_of(store),
        )


def read_catalogue(path: Path) -> tuple[str, ...]:
    """SKUs from a file: one per line, or a CSV whose ``sku`` column holds them.

    SKUs are case-sensitive at Shopify, so they are kept as written; blank
    lines are skipped and repeats kept once, in first-seen order."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SetupError(f"catalogue file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"catalogue file {path} cannot be read: {exc}") from None
    rows = list(csv.reader(io.StringIO(text)))
    column, first_line = 0, 1
    if rows and any(cell.strip().lower() in _SKU_HEADERS for cell in rows[0]):
        header = [cell.strip().lower() for cell in rows[0]]
        column = next(i for i, cell in enumerate(header) if cell in _SKU_HEADERS)
        rows, first_line = rows[1:], 2
    elif rows and max(len(row) for row in rows) > 1:
        raise SetupError(
            f"catalogue file {path} has several columns but no 'sku' header: give one SKU "
            "per line, or a CSV with a 'sku' column"
        )
    skus: dict[str, None] = {}
    for number, row in enumerate(rows, start=first_line):
        value = row[column].strip() if len(row) > column else ""
        if not value:
            continue
        if any(ch.isspace() for ch in value):
            raise SetupError(f"catalogue file {path}, line {number}: SKU {value!r} has spaces")
        skus[value] = None
    if not skus:
        raise SetupError(f"catalogue file {path} holds no SKU")
    if len(skus) > MAX_CATALOGUE_SKUS:
        raise SetupError(f"catalogue file {path} holds more than {MAX_CATALOGUE_SKUS} SKUs")
    return tuple(skus)


def validate_location(value: str) -> str:
    value = value.strip()
    if value.isdigit() and int(value) > 0:
        value = build_gid("Location", value)
    if not is_gid_of(value, "Location"):
        raise SetupError(
            f"location {value!r} is not a Shopify location id: give "
            "gid://shopify/Location/<number> (see `store check` or Shopify's admin)"
        )
    return value


def _config_changes(
    current: StoreConfig,
    *,
    mode: str | None,
    locations: Sequence[str] | None,
    require_billing: bool | None,
    catalogue: Path | None,
    clear_catalogue: bool,
    inventory_quantity: str | None = None,
    inventory_feed: str | None = None,
    inventory_feed_interval: int | None = None,
    clear_inventory_feed: bool = False,
    feed_allow: Sequence[Network] | None = None,
) -> dict[str, Any]:
    if inventory_quantity is not None and inventory_quantity not in QUANTITY_NAMES:
        raise SetupError(
            f"unknown inventory quantity {inventory_quantity!r}: choose one of "
            f"{', '.join(QUANTITY_NAMES)}"
        )
    if mode is not None and mode not in MODES:
        raise SetupError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    if catalogue is not None and clear_catalogue:
        raise SetupError("give either --catalogue FILE or --no-catalogue, not both")
    changes: dict[str, Any] = {}
    if mode is not None:
        changes["mode"] = mode
    if locations:
        checked = [validate_location(v) for v in locations]
        changes["managed_locations"] = list(dict.fromkeys(checked))
    if require_billing is not None:
        changes["require_billing_address"] = require_billing
    if catalogue is not None:
        changes["catalogue"] = list(read_catalogue(catalogue))
    if clear_catalogue:
        changes["catalogue"] = None
    if inventory_quantity is not None:
        changes["inventory_quantity_name"] = inventory_quantity
    changes.update(
        _feed_changes(
            current, inventory_feed, inventory_feed_interval, clear_inventory_feed, feed_allow
        )
    )
    final_mode = changes.get("mode", current.mode)
    final_locations = changes.get("managed_locations", list(current.managed_locations))
    if final_mode == ORDER_MANAGEMENT and not final_locations:
        raise SetupError(
            "order_management mode needs the merchant locations to handle: add "
            "--location gid://shopify/Location/<number> (once per location)"
        )
    return changes


def _feed_changes(
    current: StoreConfig,
    url: str | None,
    interval: int | None,
    clear: bool,
    allowed: Sequence[Network] | None = None,
) -> dict[str, Any]:
    """Settings changes for the inventory feed (the URL is checked, never printed whole)."""
    if clear and (url is not None or interval is not None):
        raise SetupError(
            "give either --inventory-feed URL (and --inventory-feed-interval) or "
            "--no-inventory-feed, not both"
        )
    if clear:
        return {FEED_URL: None, FEED_INTERVAL: None}
    changes: dict[str, Any] = {}
    if url is not None:
        try:
            changes[FEED_URL] = check_feed_url(url, allowed or ())
        except FeedUrlError as exc:
            raise SetupError(str(exc)) from None
    if interval is not None:
        if not FEED_MIN_INTERVAL <= interval <= MAX_FEED_INTERVAL:
            raise SetupError(
                f"inventory feed interval {interval} s is out of range: give "
                f"{FEED_MIN_INTERVAL} to {MAX_FEED_INTERVAL} seconds"
            )
        if url is None and current.inventory_feed is None:
            raise SetupError("the store has no inventory feed: give --inventory-feed URL too")
        changes[FEED_INTERVAL] = interval
    return changes


async def configure_store(
    settings: Settings,
    name: str,
    *,
    mode: str | None = None,
    locations: Sequence[str] | None = None,
    require_billing: bool | None = None,
    catalogue: Path | None = None,
    clear_catalogue: bool = False,
    webhook_secret: str | None = None,
    inventory_quantity: str | None = None,
    inventory_feed: str | None = None,
    inventory_feed_interval: int | None = None,
    clear_inventory_feed: bool = False,
    feed_allow_hosts: Sequence[str] | None = None,
    work_changes: dict[str, Any] | None = None,
) -> Store:
    """Validate and write the store's settings (all or nothing); ``work_changes`` are
    already checked (``flows.work_settings``).

    ``webhook_secret`` sets the secret webhooks are signed with (a custom app's API secret
    key); the secret it replaces stays accepted as ``previous_webhook_secret`` so a
    rotation loses no delivery.

    ``feed_allow_hosts`` replaces the feed's allow-list (an empty list clears it). The
    feed URL is sealed with the store's secrets; the settings keep it masked, for display."""
    if webhook_secret is not None and not webhook_secret.strip():
        raise SetupError("the webhook secret is empty")
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            store = await stores.get(name)
            try:
                allowed = (
                    parse_allow_list(feed_allow_hosts)
                    if feed_allow_hosts is not None
                    else allow_list_of(store)
                )
            except FeedUrlError as exc:
                raise SetupError(str(exc)) from None
            changes = _config_changes(
                StoreConfig.of(store),
                mode=mode,
                locations=locations,
                require_billing=require_billing,
                catalogue=catalogue,
                clear_catalogue=clear_catalogue,
                inventory_quantity=inventory_quantity,
                inventory_feed=inventory_feed,
                inventory_feed_interval=inventory_feed_interval,
                clear_inventory_feed=clear_inventory_feed,
                feed_allow=allowed,
            )
            if feed_allow_hosts is not None:
                changes[FEED_ALLOW] = [str(net) for net in allowed] or None
            changes.update(work_changes or {})
            if FEED_URL in changes:
                whole = changes[FEED_URL]
                if whole is not None:
                    changes[FEED_URL] = mask_url(whole)
                await stores.add_secrets(name, {FEED_SECRET: whole or ""})
            if changes:
                store = await stores.update_settings(name, changes)
            if webhook_secret is not None:
                secrets = await stores.secrets(name)
                current = secrets.get("webhook_secret") or ""
                rotation = {"webhook_secret": webhook_secret.strip()}
                if current and current != webhook_secret.strip():
                    rotation["previous_webhook_secret"] = current
                await stores.update_secrets(name, rotation)
            return store
    finally:
        await database.close()
