"""Store configuration and set-up: how the bridge works with a store (``configure_store``)
and what it registers at Shopify for that (``setup_store``).

Set-up is converging, not scripted: it reads what Shopify has (our fulfillment service,
this app's webhook subscriptions), compares it with what the store's mode needs, creates or
repairs only the difference, then reads everything back and verifies it. Running it twice
changes nothing the second time; a drifted set-up (a deleted subscription, a changed
callback URL, a deleted service) is repaired and each repair reported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fulfillbridge.config import Settings
from fulfillbridge.core.inventory import DEFAULT_QUANTITY_NAME, QUANTITY_NAMES
from fulfillbridge.core.inventory_feed import (
    FEED_INTERVAL,
    FEED_MIN_INTERVAL,
    FEED_URL,
    Feed,
    FeedUrlError,
    check_feed_url,
    feed_of,
)
from fulfillbridge.core.stores import Store, StoreError
from fulfillbridge.flows.connect import store_client
from fulfillbridge.shopify import ShopifyClient, UserErrors, has_scope, operation
from fulfillbridge.shopify.gids import build_gid, is_gid_of
from fulfillbridge.store.database import Database

FULFILLMENT_SERVICE = "fulfillment_service"
ORDER_MANAGEMENT = "order_management"
MODES = (FULFILLMENT_SERVICE, ORDER_MANAGEMENT)

WEBHOOK_PATH = "/webhooks/shopify"
SERVICE_NAME = "fulfillbridge"
MAX_CATALOGUE_SKUS = 100_000
MAX_FEED_INTERVAL = 7 * 24 * 3600

# Webhook topics per mode (Shopify topic paths; NOTES.md "Webhooks"). Both modes follow the
# order's life and cancellation, fulfillment-order moves, splits and merges, and the app's
# removal. A fulfillment service learns of requests from callbacks and these webhooks; order
# management follows fulfillment orders routed to, held at and released at its locations.
_COMMON_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "fulfillment_orders/cancelled",
    "fulfillment_orders/moved",
    "fulfillment_orders/split",
    "fulfillment_orders/merged",
    "app/uninstalled",
    # The SKU -> inventory item mapping follows the catalogue (flows/inventory).
    "products/create",
    "products/update",
    "products/delete",
    "inventory_items/create",
    "inventory_items/update",
    "inventory_items/delete",
)
# Topics whose resource needs a scope the bridge's core work does not (Shopify's webhook
# topic reference: products/* need read_products, inventory_items/* read_inventory). When
# the grant lacks it, set-up skips the topic and says so instead of failing: orders still
# flow, and the mapping is still refreshed by `inventory map` and by pushes.
TOPIC_SCOPES: dict[str, str] = {
    "products/create": "read_products",
    "products/update": "read_products",
    "products/delete": "read_products",
    "inventory_items/create": "read_inventory",
    "inventory_items/update": "read_inventory",
    "inventory_items/delete": "read_inventory",
}
TOPICS: dict[str, tuple[str, ...]] = {
    FULFILLMENT_SERVICE: (
        *_COMMON_TOPICS,
        "fulfillment_orders/fulfillment_request_submitted",
        "fulfillment_orders/cancellation_request_submitted",
    ),
    ORDER_MANAGEMENT: (
        *_COMMON_TOPICS,
        "fulfillment_orders/order_routing_complete",
        "fulfillment_orders/placed_on_hold",
        "fulfillment_orders/hold_released",
    ),
}

_SKU_HEADERS = frozenset({"sku", "skus"})


class SetupError(StoreError):
    """Configuration or set-up that cannot be done; the message names the problem."""


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreConfig:
    """The per-store settings a user chooses (``store configure``)."""

    mode: str = FULFILLMENT_SERVICE
    managed_locations: tuple[str, ...] = ()
    require_billing_address: bool = False
    catalogue: tuple[str, ...] | None = None
    inventory_quantity_name: str = DEFAULT_QUANTITY_NAME
    inventory_feed: Feed | None = None

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


def topics_for(mode: str) -> tuple[str, ...]:
    """The webhook topics a store in ``mode`` subscribes to."""
    try:
        return TOPICS[mode]
    except KeyError:
        raise SetupError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}") from None


def all_topics() -> frozenset[str]:
    return frozenset(topic for topics in TOPICS.values() for topic in topics)


def webhook_url(settings: Settings) -> str:
    return settings.public_url + WEBHOOK_PATH


def callback_url(settings: Settings, store_name: str) -> str:
    """The fulfillment service's callback URL; Shopify appends ``/fulfillment_order_
    notification``, ``/fetch_tracking_numbers`` and ``/fetch_stock`` to it."""
    return f"{settings.public_url}/shopify/{store_name}"


def topic_enum(topic: str) -> str:
    """``orders/create`` -> ``ORDERS_CREATE`` (the WebhookSubscriptionTopic value)."""
    return topic.replace("/", "_").upper()


def read_catalogue(path: Path) -> tuple[str, ...]:
    """SKUs from a file: one per line, or a CSV whose ``sku`` column holds them.

    SKUs are case-sensitive (NOTES.md "Inventory"), so they are kept as written; blank
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
        _feed_changes(current, inventory_feed, inventory_feed_interval, clear_inventory_feed)
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
    current: StoreConfig, url: str | None, interval: int | None, clear: bool
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
            changes[FEED_URL] = check_feed_url(url)
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
) -> Store:
    """Validate and write the store's settings (all or nothing).

    ``webhook_secret`` sets the secret webhooks are signed with (a custom app's API secret
    key); the secret it replaces stays accepted as ``previous_webhook_secret`` so a
    rotation loses no delivery."""
    if webhook_secret is not None and not webhook_secret.strip():
        raise SetupError("the webhook secret is empty")
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            store = await stores.get(name)
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
            )
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


# --- set-up ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupStep:
    """One thing set-up looked at: ``result`` is created, unchanged, repaired or removed."""

    item: str  # "fulfillment service" or "webhook"
    target: str  # the service name or the topic
    result: str
    detail: str = ""


@dataclass
class SetupReport:
    store: str
    mode: str
    steps: list[SetupStep] = field(default_factory=list)
    fulfillment_service_id: str | None = None
    location_id: str | None = None

    @property
    def changed(self) -> bool:
        return any(step.result not in {"unchanged", "skipped"} for step in self.steps)

    def add(self, item: str, target: str, result: str, detail: str = "") -> None:
        self.steps.append(SetupStep(item, target, result, detail))


def _desired_service(settings: Settings, store_name: str) -> dict[str, Any]:
    return {
        "name": SERVICE_NAME,
        "callbackUrl": callback_url(settings, store_name),
        "trackingSupport": True,
        "inventoryManagement": True,
        "requiresShippingMethod": True,
    }


def _service_drift(service: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    seen = {
        "name": service.get("serviceName"),
        "callbackUrl": service.get("callbackUrl"),
        "trackingSupport": service.get("trackingSupport"),
        "inventoryManagement": service.get("inventoryManagement"),
        "requiresShippingMethod": service.get("requiresShippingMethod"),
    }
    return [
        f"{key} was {seen[key]!r}, now {value!r}"
        for key, value in desired.items()
        if seen[key] != value
    ]


def _user_errors_text(exc: UserErrors) -> str:
    return "; ".join(e.message for e in exc.user_errors) or str(exc)


async def _find_service(client: ShopifyClient, remembered: str | None) -> dict[str, Any] | None:
    if remembered:
        data = await client.execute(operation("FulfillmentServiceById"), {"id": remembered})
        if data.get("fulfillmentService"):
            return data["fulfillmentService"]
    data = await client.execute(operation("ShopFulfillmentServices"))
    for service in data["shop"]["fulfillmentServices"] or []:
        if service.get("serviceName") == SERVICE_NAME and service.get("type") != "MANUAL":
            return service
    return None


async def _converge_service(
    client: ShopifyClient, store: Store, settings: Settings, report: SetupReport
) -> dict[str, Any]:
    desired = _desired_service(settings, store.name)
    remembered = store.settings.get("fulfillment_service_id")
    service = await _find_service(client, remembered)
    try:
        if service is None:
            data = await client.execute(operation("FulfillmentServiceCreate"), desired)
            service = data["fulfillmentServiceCreate"]["fulfillmentService"]
            if remembered:
                report.add("fulfillment service", SERVICE_NAME, "repaired", "was deleted; created")
            else:
                report.add("fulfillment service", SERVICE_NAME, "created", desired["callbackUrl"])
            return service
        drift = _service_drift(service, desired)
        if not drift:
            report.add("fulfillment service", SERVICE_NAME, "unchanged", desired["callbackUrl"])
            return service
        data = await client.execute(
            operation("FulfillmentServiceUpdate"), {"id": service["id"], **desired}
        )
        report.add("fulfillment service", SERVICE_NAME, "repaired", "; ".join(drift))
        return data["fulfillmentServiceUpdate"]["fulfillmentService"]
    except UserErrors as exc:
        raise SetupError(
            f"Shopify refused the fulfillment service {SERVICE_NAME!r}: {_user_errors_text(exc)}"
        ) from None


async def _subscriptions(client: ShopifyClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async for node in client.paginate(
        operation("WebhookSubscriptions"), path=("webhookSubscriptions",), page_size=100
    ):
        found.append(node)
    return found


def _is_clean(subscription: dict[str, Any], uri: str) -> bool:
    return (
        subscription.get("uri") == uri
        and (subscription.get("format") or "JSON") == "JSON"
        and not subscription.get("filter")
        and not subscription.get("includeFields")
    )


async def _granted_topics(client: ShopifyClient, mode: str, report: SetupReport) -> tuple[str, ...]:
    """The mode's topics the app's grant allows; the others are reported as skipped."""
    data = await client.execute(operation("AccessScopes"))
    granted = [s["handle"] for s in data["currentAppInstallation"]["accessScopes"]]
    allowed = []
    for topic in topics_for(mode):
        scope = TOPIC_SCOPES.get(topic)
        if scope is None or has_scope(granted, scope):
            allowed.append(topic)
        else:
            report.add("webhook", topic, "skipped", _skipped_detail(f"needs the {scope} scope"))
    return tuple(allowed)


def _skipped_detail(why: str) -> str:
    return f"{why}; the SKU mapping is then refreshed only by `inventory map` and pushes"


async def _converge_webhooks(
    client: ShopifyClient,
    store: Store,
    settings: Settings,
    mode: str,
    report: SetupReport,
    wanted: Sequence[str] | None = None,
) -> dict[str, str]:
    uri = webhook_url(settings)
    remembered: dict[str, str] = dict(store.settings.get("webhook_subscriptions") or {})
    existing = await _subscriptions(client)
    by_id = {s["id"]: s for s in existing}
    wanted = list(topics_for(mode) if wanted is None else wanted)
    result: dict[str, str] = {}
    used: set[str] = set()
    try:
        for topic in list(wanted):
            enum = topic_enum(topic)
            same_topic = [s for s in existing if s["topic"] == enum]
            clean = next((s for s in same_topic if _is_clean(s, uri)), None)
            if clean is not None:
                result[topic] = clean["id"]
                used.add(clean["id"])
                report.add("webhook", topic, "unchanged", uri)
                continue
            # Ours but drifted: the one we remember, else one aimed at our webhook path.
            drifted = by_id.get(remembered.get(topic, "")) or next(
                (s for s in same_topic if str(s.get("uri", "")).endswith(WEBHOOK_PATH)), None
            )
            if drifted is not None and drifted["topic"] == enum:
                data = await client.execute(
                    operation("WebhookSubscriptionUpdate"), {"id": drifted["id"], "uri": uri}
                )
                fixed = data["webhookSubscriptionUpdate"]["webhookSubscription"]
                result[topic] = fixed["id"]
                used.add(fixed["id"])
                report.add("webhook", topic, "repaired", f"address was {drifted.get('uri')}")
                continue
            try:
                data = await client.execute(
                    operation("WebhookSubscriptionCreate"), {"topic": enum, "uri": uri}
                )
            except UserErrors as exc:
                if topic not in TOPIC_SCOPES:
                    raise
                # A catalogue topic Shopify refuses (e.g. a scope missing) costs only the
                # mapping's freshness: reported, the rest of set-up goes on.
                report.add("webhook", topic, "skipped", _skipped_detail(_user_errors_text(exc)))
                wanted.remove(topic)
                continue
            created = data["webhookSubscriptionCreate"]["webhookSubscription"]
            result[topic] = created["id"]
            used.add(created["id"])
            if topic in remembered:
                report.add("webhook", topic, "repaired", "was deleted; subscribed again")
            else:
                report.add("webhook", topic, "created", uri)
        # Ours and no longer needed (the mode changed), or a second copy of a topic.
        for subscription in existing:
            ours = subscription["id"] in remembered.values() or subscription.get("uri") == uri
            if subscription["id"] in used or not ours:
                continue
            await client.execute(operation("WebhookSubscriptionDelete"), {"id": subscription["id"]})
            path = _topic_path(subscription["topic"])
            if subscription["topic"] in {topic_enum(t) for t in wanted}:
                why = "duplicate"
            elif path in topics_for(mode):
                why = "skipped: its scope is not granted"
            else:
                why = "not needed in this mode"
            report.add("webhook", path, "removed", why)
    except UserErrors as exc:
        raise SetupError(
            f"Shopify refused a webhook subscription: {_user_errors_text(exc)}"
        ) from None
    return result


def _topic_path(enum: str) -> str:
    for topic in all_topics():
        if topic_enum(topic) == enum:
            return topic
    return enum.lower()


async def _check_locations(client: ShopifyClient, locations: Sequence[str]) -> None:
    known: set[str] = set()
    async for location in client.paginate(operation("Locations"), path=("locations",)):
        if location.get("isActive", True):
            known.add(location["id"])
    missing = [loc for loc in locations if loc not in known]
    if missing:
        raise SetupError(
            f"managed location(s) {', '.join(missing)} are not active locations of the shop: "
            "fix them with `store configure --location`"
        )


async def _verify(
    client: ShopifyClient,
    settings: Settings,
    store: Store,
    mode: str,
    service_id: str | None,
    subscriptions: dict[str, str],
    skipped: frozenset[str] = frozenset(),
) -> list[str]:
    """Read everything back; returns what is still wrong (empty when all is right)."""
    problems: list[str] = []
    if mode == FULFILLMENT_SERVICE:
        data = await client.execute(operation("FulfillmentServiceById"), {"id": service_id or ""})
        service = data.get("fulfillmentService")
        if service is None:
            problems.append("the fulfillment service cannot be read back")
        else:
            problems += [
                f"fulfillment service {d}"
                for d in _service_drift(service, _desired_service(settings, store.name))
            ]
    uri = webhook_url(settings)
    present = {s["id"]: s for s in await _subscriptions(client)}
    for topic in topics_for(mode):
        if topic in skipped:
            continue
        subscription = present.get(subscriptions.get(topic, ""))
        if subscription is None or not _is_clean(subscription, uri):
            problems.append(f"webhook {topic} is not subscribed to {uri}")
    return problems


async def setup_store(settings: Settings, name: str) -> SetupReport:
    """Register what the store's mode needs at Shopify, repair drift, verify, remember."""
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            store = await stores.get(name)
            secrets = await stores.secrets(name)
        config = StoreConfig.of(store)
        report = SetupReport(store=name, mode=config.mode)
        topics_for(config.mode)  # an unknown mode fails before any call to Shopify
        async with store_client(database, settings, store, secrets) as client:
            service: dict[str, Any] | None = None
            if config.mode == FULFILLMENT_SERVICE:
                service = await _converge_service(client, store, settings, report)
            else:
                await _check_locations(client, config.managed_locations)
            allowed = await _granted_topics(client, config.mode, report)
            subscriptions = await _converge_webhooks(
                client, store, settings, config.mode, report, allowed
            )
            skipped = frozenset(topics_for(config.mode)) - frozenset(subscriptions)
            service_id = service["id"] if service else None
            problems = await _verify(
                client, settings, store, config.mode, service_id, subscriptions, skipped
            )
        if problems:
            raise SetupError("set-up could not be verified: " + "; ".join(problems))
        changes: dict[str, Any] = {"webhook_subscriptions": subscriptions}
        if service is not None:
            location = (service.get("location") or {}).get("id")
            changes |= {"fulfillment_service_id": service["id"], "location_id": location}
            report.fulfillment_service_id = service["id"]
            report.location_id = location
        if any(store.settings.get(key) != value for key, value in changes.items()):
            async with database.stores() as stores:
                await stores.update_settings(name, changes)
        return report
    finally:
        await database.close()
