"""Store set-up: what the bridge registers at Shopify for a store's mode (``setup_store``).
What the mode is, and the other choices, are the store's configuration (``flows.configure``).

Set-up is converging, not scripted: it reads what Shopify has (our fulfillment service,
this app's webhook subscriptions), compares it with what the store's mode needs, creates or
repairs only the difference, then reads everything back and verifies it. Running it twice
changes nothing the second time; a drifted set-up (a deleted subscription, a changed
callback URL, a deleted service) is repaired and each repair reported.
"""

from __future__ import annotations

import secrets as token_source
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import Store
from fulfillbridge.flows.configure import (
    FULFILLMENT_SERVICE,
    MODES,
    ORDER_MANAGEMENT,
    SetupError,
    StoreConfig,
    configure_store,
)
from fulfillbridge.flows.connect import store_client
from fulfillbridge.shopify import ShopifyClient, UserErrors, has_scope, operation
from fulfillbridge.shopify.returns import RETURN_TOPICS
from fulfillbridge.store.database import Database

WEBHOOK_PATH = "/webhooks/shopify"
SERVICE_NAME = "fulfillbridge"

# Webhook topics per mode (Shopify topic paths). Both modes follow the
# order's life and cancellation, fulfillment-order moves, splits and merges, and the app's
# removal. A fulfillment service learns of requests from callbacks and these webhooks; order
# management follows fulfillment orders routed to, held at and released at its locations.
_COMMON_TOPICS = (
    "orders/updated",
    "orders/cancelled",
    "fulfillment_orders/cancelled",
    "fulfillment_orders/moved",
    "fulfillment_orders/split",
    "fulfillment_orders/merged",
    # The merchant's changes after acceptance (core.follow): holds, edits, reschedules.
    "fulfillment_orders/placed_on_hold",
    "fulfillment_orders/hold_released",
    "fulfillment_orders/rescheduled",
    "fulfillment_orders/scheduled_fulfillment_order_ready",
    "orders/edited",
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
    # Returns (flows.returns), only for stores with returns on: a grant without
    # read_returns skips them, and `store check` names the missing scope.
    **{topic: "read_returns" for topic in RETURN_TOPICS},
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
    # A fulfillment service is not told of new or newly paid orders: its work comes as the
    # merchant's requests, and the two busiest topics would only fill its inbox with events
    # it has nothing to do with (a store set up before keeps them until `store setup` runs).
    ORDER_MANAGEMENT: (
        *_COMMON_TOPICS,
        "orders/create",
        "orders/paid",
        "fulfillment_orders/order_routing_complete",
    ),
}


def topics_for(mode: str, *, returns: bool = False) -> tuple[str, ...]:
    """The webhook topics a store in ``mode`` subscribes to (with the return topics when
    the store has returns on)."""
    try:
        topics = TOPICS[mode]
    except KeyError:
        raise SetupError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}") from None
    return (*topics, *RETURN_TOPICS) if returns else topics


def all_topics() -> frozenset[str]:
    return frozenset(topic for topics in TOPICS.values() for topic in topics) | set(RETURN_TOPICS)


def webhook_url(settings: Settings) -> str:
    return settings.public_url + WEBHOOK_PATH


CALLBACK_TOKEN = "callback_token"  # the key in the store's sealed secrets


def callback_url(settings: Settings, store_name: str, token: str | None = None) -> str:
    """The fulfillment service's callback URL; Shopify appends ``/fulfillment_order_
    notification``, ``/fetch_tracking_numbers`` and ``/fetch_stock`` to it. The token (a
    random path segment, sealed with the store's secrets) is what keeps the two unsigned
    ``fetch_*`` calls from answering anyone who guesses a store's name."""
    base = f"{settings.public_url}/shopify/{store_name}"
    return f"{base}/{token}" if token else base


def new_callback_token() -> str:
    return token_source.token_urlsafe(24)


def topic_enum(topic: str) -> str:
    """``orders/create`` -> ``ORDERS_CREATE`` (the WebhookSubscriptionTopic value)."""
    return topic.replace("/", "_").upper()


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


def _desired_service(settings: Settings, store_name: str, token: str) -> dict[str, Any]:
    return {
        "name": SERVICE_NAME,
        "callbackUrl": callback_url(settings, store_name, token),
        "trackingSupport": True,
        "inventoryManagement": True,
        "requiresShippingMethod": True,
    }


def _shown(desired: dict[str, Any]) -> str:
    """The callback URL as printed: its token replaced (the token is a secret)."""
    url = str(desired["callbackUrl"])
    return url.rpartition("/")[0] + "/***"


def _hide_tokens(text: str, *tokens: str | None) -> str:
    for token in tokens:
        if token:
            text = text.replace(token, "***")
    return text


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
    client: ShopifyClient, store: Store, settings: Settings, report: SetupReport, token: str
) -> dict[str, Any]:
    desired = _desired_service(settings, store.name, token)
    remembered = store.settings.get("fulfillment_service_id")
    service = await _find_service(client, remembered)
    try:
        if service is None:
            data = await client.execute(operation("FulfillmentServiceCreate"), desired)
            service = data["fulfillmentServiceCreate"]["fulfillmentService"]
            if remembered:
                report.add("fulfillment service", SERVICE_NAME, "repaired", "was deleted; created")
            else:
                report.add("fulfillment service", SERVICE_NAME, "created", _shown(desired))
            return service
        drift = _service_drift(service, desired)
        if not drift:
            report.add("fulfillment service", SERVICE_NAME, "unchanged", _shown(desired))
            return service
        data = await client.execute(
            operation("FulfillmentServiceUpdate"), {"id": service["id"], **desired}
        )
        base = callback_url(settings, store.name) + "/"
        old = str(service.get("callbackUrl") or "")
        old_token = old[len(base) :] if old.startswith(base) else None
        shown_drift = _hide_tokens("; ".join(drift), old_token, token)
        report.add("fulfillment service", SERVICE_NAME, "repaired", shown_drift)
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


async def _granted_topics(
    client: ShopifyClient, mode: str, report: SetupReport, *, returns: bool = False
) -> tuple[str, ...]:
    """The mode's topics the app's grant allows; the others are reported as skipped."""
    data = await client.execute(operation("AccessScopes"))
    granted = [s["handle"] for s in data["currentAppInstallation"]["accessScopes"]]
    allowed = []
    for topic in topics_for(mode, returns=returns):
        scope = TOPIC_SCOPES.get(topic)
        if scope is None or has_scope(granted, scope):
            allowed.append(topic)
        else:
            report.add(
                "webhook", topic, "skipped", _skipped_detail(f"needs the {scope} scope", topic)
            )
    return tuple(allowed)


def _skipped_detail(why: str, topic: str = "") -> str:
    if topic in RETURN_TOPICS:
        return f"{why}; returns are then found only by reconciliation"
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
                report.add(
                    "webhook", topic, "skipped", _skipped_detail(_user_errors_text(exc), topic)
                )
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
            elif path in topics_for(mode, returns=bool(store.settings.get("returns"))):
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
    token: str = "",
    *,
    returns: bool = False,
) -> list[str]:
    """Read everything back; returns what is still wrong (empty when all is right)."""
    problems: list[str] = []
    if mode == FULFILLMENT_SERVICE:
        data = await client.execute(operation("FulfillmentServiceById"), {"id": service_id or ""})
        service = data.get("fulfillmentService")
        if service is None:
            problems.append("the fulfillment service cannot be read back")
        else:
            desired = _desired_service(settings, store.name, token)
            problems += [
                f"fulfillment service {_hide_tokens(d, token)}"
                for d in _service_drift(service, desired)
            ]
    uri = webhook_url(settings)
    present = {s["id"]: s for s in await _subscriptions(client)}
    for topic in topics_for(mode, returns=returns):
        if topic in skipped:
            continue
        subscription = present.get(subscriptions.get(topic, ""))
        if subscription is None or not _is_clean(subscription, uri):
            problems.append(f"webhook {topic} is not subscribed to {uri}")
    return problems


async def stored_store(settings: Settings, name: str) -> Store:
    """The store called ``name`` (StoreNotFound, naming it, when there is none): checked
    before anything else a set-up does."""
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            return await stores.get(name)
    finally:
        await database.close()


async def setup_store(
    settings: Settings, name: str, *, rotate_callback_token: bool = False
) -> SetupReport:
    """Register what the store's mode needs at Shopify, repair drift, verify, remember.
    A fulfillment service gets a callback token the first time (or a new one when
    ``rotate_callback_token``); the old address stops answering at once, and the new one
    is registered at Shopify in the same run."""
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            store = await stores.get(name)
            secrets = await stores.secrets(name)
        config = StoreConfig.of(store)
        report = SetupReport(store=name, mode=config.mode)
        topics_for(config.mode)  # an unknown mode fails before any call to Shopify
        token = secrets.get(CALLBACK_TOKEN) or ""
        if config.mode == FULFILLMENT_SERVICE and (rotate_callback_token or not token):
            # Stored before Shopify is told, so the first call to the new address is known.
            token = new_callback_token()
            async with database.stores() as stores:
                await stores.add_secrets(name, {CALLBACK_TOKEN: token})
            report.add(
                "callback token",
                name,
                "rotated" if rotate_callback_token and secrets.get(CALLBACK_TOKEN) else "created",
            )
        async with store_client(database, settings, store, secrets) as client:
            service: dict[str, Any] | None = None
            if config.mode == FULFILLMENT_SERVICE:
                service = await _converge_service(client, store, settings, report, token)
            else:
                await _check_locations(client, config.managed_locations)
            returns = bool(store.settings.get("returns"))
            allowed = await _granted_topics(client, config.mode, report, returns=returns)
            subscriptions = await _converge_webhooks(
                client, store, settings, config.mode, report, allowed
            )
            skipped = frozenset(topics_for(config.mode, returns=returns)) - frozenset(subscriptions)
            service_id = service["id"] if service else None
            problems = await _verify(
                client,
                settings,
                store,
                config.mode,
                service_id,
                subscriptions,
                skipped,
                token,
                returns=returns,
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


__all__ = [
    "FULFILLMENT_SERVICE",
    "MODES",
    "ORDER_MANAGEMENT",
    "SERVICE_NAME",
    "TOPICS",
    "TOPIC_SCOPES",
    "WEBHOOK_PATH",
    "SetupError",
    "SetupReport",
    "SetupStep",
    "StoreConfig",
    "all_topics",
    "callback_url",
    "configure_store",  # flows.configure's, kept here for the demo, which uses both
    "setup_store",
    "topic_enum",
    "topics_for",
    "webhook_url",
]
