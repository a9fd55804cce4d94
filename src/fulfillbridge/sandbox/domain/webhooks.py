"""Webhook subscriptions of a shop (pure domain; obtain with ``shop.part("webhooks",
WebhookRegistry)``).

Validation messages come from the capture 2026-04_webhooks_webhook-subscription-
conformance.json. Where the sandbox knowingly differs from Shopify:

* Shopify accepts only ``https://`` addresses for HTTP subscriptions ("Address protocol
  http:// is not supported"). The sandbox also accepts ``http://`` when the host is
  loopback (127.0.0.1, localhost, ::1) so tests and demos can receive deliveries without
  TLS; any other ``http://`` address is refused with Shopify's message.
* Pub/Sub and EventBridge endpoints are not delivered by the sandbox; ``pubsub://`` is
  refused like Shopify refuses it on an HTTP subscription update (capture), together with
  the format message when the address is malformed.
* A second subscription of the same app, topic and address is refused with "Address for
  this topic has already been taken" (Shopify's uniqueness rule; the wording is the REST
  API's, not captured for GraphQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fulfillbridge.sandbox.domain.catalog import parse_search_query
from fulfillbridge.sandbox.state import ShopState, gid

API_VERSION = "2026-07"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_FILTER_MESSAGE = (
    "The specified filter is invalid, please ensure you specify the field(s) you wish to filter on."
)
_PUBSUB = re.compile(r"^pubsub://[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-]+$")
# A payload key naming the only app whose subscriptions get the event (bulk_operations/finish
# goes to the app that ran the operation); the dispatcher removes it before sending.
ONLY_APP_KEY = "__only_app_id"


def topic_path(enum_name: str) -> str:
    """``ORDERS_CREATE`` -> ``orders/create`` for the topics the sandbox emits.

    The split between resource and action is not recoverable from the enum alone
    (``FULFILLMENT_ORDERS_MOVED``), so known resources are matched first."""
    lowered = enum_name.lower()
    for resource in _KNOWN_RESOURCES:
        if lowered.startswith(resource + "_"):
            return f"{resource}/{lowered[len(resource) + 1 :]}"
    head, _, rest = lowered.partition("_")
    return f"{head}/{rest}"


def topic_enum(path: str) -> str:
    """``orders/create`` -> ``ORDERS_CREATE`` (Shopify's enum naming)."""
    return path.replace("/", "_").upper()


_KNOWN_RESOURCES = (
    "bulk_operations",
    "fulfillment_orders",
    "fulfillment_events",
    "fulfillment_holds",
    "inventory_levels",
    "inventory_items",
    "order_transactions",
    "draft_orders",
    "products",
    "orders",
    "fulfillments",
    "app",
    "shop",
    "customers",
    "locations",
    "refunds",
    "returns",
    "reverse_deliveries",
    "reverse_fulfillment_orders",
)


@dataclass
class Subscription:
    id: int
    app_id: str
    topic: str  # the enum name, e.g. "ORDERS_CREATE"
    uri: str
    format: str = "JSON"
    include_fields: list[str] = field(default_factory=list)
    metafield_namespaces: list[str] = field(default_factory=list)
    filter: str | None = None
    name: str | None = None
    created_at: str = ""
    updated_at: str = ""
    api_version: str = API_VERSION
    # Only API-made subscriptions are deleted after repeated failures (Shopify docs).
    created_through_api: bool = True

    @property
    def gid(self) -> str:
        return gid("WebhookSubscription", self.id)

    @property
    def path(self) -> str:
        return topic_path(self.topic)


@dataclass(frozen=True)
class SubscriptionError:
    field: list[str]
    message: str


def validate_address(uri: str | None) -> list[SubscriptionError]:
    where = ["webhookSubscription", "callbackUrl"]
    if uri is None or not uri.strip():
        return [SubscriptionError(where, "Address can't be blank")]
    scheme, sep, _ = uri.partition("://")
    if not sep:
        return [SubscriptionError(where, "Address is invalid")]
    scheme = scheme.lower()
    if scheme == "https":
        return [] if urlsplit(uri).hostname else [SubscriptionError(where, "Address is invalid")]
    if scheme == "http":
        host = (urlsplit(uri).hostname or "").lower()
        if host in LOOPBACK_HOSTS:
            return []  # sandbox-only allowance, see the module docstring
        return [SubscriptionError(where, "Address protocol http:// is not supported")]
    errors = [SubscriptionError(where, f"Address protocol {scheme}:// is not supported")]
    if scheme == "pubsub" and not _PUBSUB.match(uri):
        errors.append(
            SubscriptionError(
                where,
                "Address is not a valid GCP pub/sub format. Format should be "
                "pubsub://project:topic",
            )
        )
    return errors


def validate_filter(value: str | None) -> list[SubscriptionError]:
    """A filter must name the field(s) it filters on: every term is ``field:value``."""
    if value is None or not value.strip():
        return []
    groups = parse_search_query(value)
    if not groups or any(term.field is None for group in groups for term in group):
        return [SubscriptionError(["webhookSubscription"], _FILTER_MESSAGE)]
    return []


def filter_matches(value: str | None, payload: dict[str, Any]) -> bool:
    """Whether a delivery passes the subscription's filter (terms compared with the payload
    field of that name, dotted paths allowed; case-insensitive)."""
    groups = parse_search_query(value)
    if not groups:
        return True

    def holds(term: Any) -> bool:
        current: Any = payload
        for part in str(term.field).split("."):
            current = current.get(part) if isinstance(current, dict) else None
        found = current is not None and str(current).lower() == term.value.lower()
        return not found if term.negated else found

    return any(all(holds(t) for t in group) for group in groups)


class WebhookRegistry:
    """The shop's webhook subscriptions, each owned by one app."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self._subscriptions: dict[int, Subscription] = {}

    def create(
        self,
        app_id: str,
        topic: str,
        *,
        uri: str | None,
        format: str | None = None,
        include_fields: list[str] | None = None,
        metafield_namespaces: list[str] | None = None,
        filter: str | None = None,
        name: str | None = None,
    ) -> tuple[Subscription | None, list[SubscriptionError]]:
        errors = validate_address(uri) + validate_filter(filter)
        if not errors and any(
            s.app_id == app_id and s.topic == topic and s.uri == uri and s.filter == filter
            for s in self._subscriptions.values()
        ):
            errors.append(
                SubscriptionError(
                    ["webhookSubscription", "callbackUrl"],
                    "Address for this topic has already been taken",
                )
            )
        if errors:
            return None, errors
        assert uri is not None
        now = self.shop.clock.iso_now()
        subscription = Subscription(
            id=self.shop.next_id(),
            app_id=app_id,
            topic=topic,
            uri=uri,
            format=format or "JSON",
            include_fields=list(include_fields or []),
            metafield_namespaces=list(metafield_namespaces or []),
            filter=filter,
            name=name,
            created_at=now,
            updated_at=now,
        )
        self._subscriptions[subscription.id] = subscription
        return subscription, []

    def update(
        self, subscription_id: int, app_id: str, changes: dict[str, Any]
    ) -> tuple[Subscription | None, list[SubscriptionError]]:
        """Apply WebhookSubscriptionInput-style ``changes`` (keys: uri, format,
        include_fields, metafield_namespaces, filter, name); absent keys stay."""
        subscription = self.get(subscription_id, app_id)
        if subscription is None:
            return None, [SubscriptionError(["id"], "Webhook subscription does not exist")]
        errors: list[SubscriptionError] = []
        if "uri" in changes:
            errors += validate_address(changes["uri"])
        if "filter" in changes:
            errors += validate_filter(changes["filter"])
        if errors:
            return None, errors
        for key, value in changes.items():
            if key not in {
                "uri",
                "format",
                "include_fields",
                "metafield_namespaces",
                "filter",
                "name",
            }:
                raise ValueError(f"unknown subscription attribute {key!r}")
            if key in {"include_fields", "metafield_namespaces"}:
                value = list(value or [])
            elif key == "format":
                value = value or subscription.format
            setattr(subscription, key, value)
        subscription.updated_at = self.shop.clock.iso_now()
        return subscription, []

    def delete(self, subscription_id: int, app_id: str | None = None) -> bool:
        if self.get(subscription_id, app_id) is None:
            return False
        del self._subscriptions[subscription_id]
        return True

    def get(self, subscription_id: int, app_id: str | None = None) -> Subscription | None:
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None or (app_id is not None and subscription.app_id != app_id):
            return None
        return subscription

    def of_app(self, app_id: str) -> list[Subscription]:
        return sorted(
            (s for s in self._subscriptions.values() if s.app_id == app_id), key=lambda s: s.id
        )

    def for_topic(self, path: str) -> list[Subscription]:
        """Every app's subscriptions to the topic ``path`` (e.g. "orders/create")."""
        wanted = topic_enum(path)
        # Copied first: the outbound loop may read while a request thread writes.
        current = list(self._subscriptions.values())
        return sorted((s for s in current if s.topic == wanted), key=lambda s: s.id)

    def all(self) -> list[Subscription]:
        return sorted(self._subscriptions.values(), key=lambda s: s.id)

    def dump(self) -> list[dict[str, Any]]:
        return [
            {
                "id": s.gid,
                "app_id": s.app_id,
                "topic": s.topic,
                "uri": s.uri,
                "format": s.format,
                "filter": s.filter,
                "includeFields": s.include_fields,
            }
            for s in self.all()
        ]
