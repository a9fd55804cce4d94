"""GraphQL resolvers of webhook subscriptions (shapes and messages from the capture
2026-04_webhooks_webhook-subscription-conformance.json; sandbox differences are listed in
``sandbox.domain.webhooks``).

Subscriptions belong to the calling app: another app's subscriptions are invisible to it,
as on Shopify (``webhookSubscriptions`` lists only the caller's API-made subscriptions).
No access scope is needed to manage subscriptions; the sandbox does not check that the app
may read the topic's resource (Shopify refuses topics the app has no scope for).
"""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.catalog import (
    SearchTerm,
    search_filter,
    term_matches_number,
    term_matches_text,
)
from fulfillbridge.sandbox.domain.webhooks import (
    Subscription,
    SubscriptionError,
    WebhookRegistry,
    topic_path,
)
from fulfillbridge.sandbox.registry import Context, mutation, node_loader, query
from fulfillbridge.sandbox.resolvers._common import legacy_id_connection
from fulfillbridge.sandbox.state import ShopState, gid, parse_gid


def webhooks_of(shop: ShopState) -> WebhookRegistry:
    return shop.part("webhooks", WebhookRegistry)


def subscription_node(subscription: Subscription) -> dict[str, Any]:
    return {
        "__typename": "WebhookSubscription",
        "id": subscription.gid,
        "legacyResourceId": str(subscription.id),
        "topic": subscription.topic,
        "format": subscription.format,
        "includeFields": list(subscription.include_fields),
        "metafieldNamespaces": list(subscription.metafield_namespaces),
        "metafields": [],
        "filter": subscription.filter,
        "name": subscription.name,
        "createdAt": subscription.created_at,
        "updatedAt": subscription.updated_at,
        "uri": subscription.uri,
        "callbackUrl": subscription.uri,
        "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": subscription.uri},
        "apiVersion": {
            "handle": subscription.api_version,
            "displayName": subscription.api_version,
            "supported": True,
        },
    }


def _errors(errors: list[SubscriptionError]) -> list[dict[str, Any]]:
    return [{"field": e.field, "message": e.message} for e in errors]


def _changes(data: dict[str, Any]) -> dict[str, Any]:
    """WebhookSubscriptionInput (camelCase, only the given keys) -> domain attribute names."""
    names = {
        "uri": "uri",
        "callbackUrl": "uri",
        "format": "format",
        "includeFields": "include_fields",
        "metafieldNamespaces": "metafield_namespaces",
        "filter": "filter",
        "name": "name",
    }
    return {names[k]: v for k, v in data.items() if k in names}


@mutation("webhookSubscriptionCreate")
def resolve_webhook_subscription_create(
    _parent: Any, ctx: Context, topic: str, webhookSubscription: dict[str, Any]
) -> dict[str, Any]:
    changes = _changes(webhookSubscription)
    subscription, errors = webhooks_of(ctx.shop).create(
        ctx.app_id,
        topic,
        uri=changes.get("uri"),
        format=changes.get("format"),
        include_fields=changes.get("include_fields"),
        metafield_namespaces=changes.get("metafield_namespaces"),
        filter=changes.get("filter"),
        name=changes.get("name"),
    )
    return {
        "webhookSubscription": subscription_node(subscription) if subscription else None,
        "userErrors": _errors(errors),
    }


@mutation("webhookSubscriptionUpdate")
def resolve_webhook_subscription_update(
    _parent: Any, ctx: Context, id: str, webhookSubscription: dict[str, Any]
) -> dict[str, Any]:
    number = parse_gid(id, "WebhookSubscription")
    registry = webhooks_of(ctx.shop)
    subscription, errors = registry.update(
        number if number is not None else -1, ctx.app_id, _changes(webhookSubscription)
    )
    return {
        "webhookSubscription": subscription_node(subscription) if subscription else None,
        "userErrors": _errors(errors),
    }


@mutation("webhookSubscriptionDelete")
def resolve_webhook_subscription_delete(_parent: Any, ctx: Context, id: str) -> dict[str, Any]:
    number = parse_gid(id, "WebhookSubscription")
    if number is None or not webhooks_of(ctx.shop).delete(number, ctx.app_id):
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
        }
    return {"deletedWebhookSubscriptionId": gid("WebhookSubscription", number), "userErrors": []}


@query("webhookSubscription")
def resolve_webhook_subscription(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    number = parse_gid(id, "WebhookSubscription")
    subscription = webhooks_of(ctx.shop).get(number, ctx.app_id) if number is not None else None
    return subscription_node(subscription) if subscription else None


def _match(subscription: Subscription, term: SearchTerm) -> bool | None:
    f = term.field
    if f == "id":
        return term_matches_number(term, subscription.id)
    if f == "topic":
        return term_matches_text(term, subscription.topic) or term_matches_text(
            term, topic_path(subscription.topic)
        )
    if f in {"uri", "callback_url", "address"}:
        return term_matches_text(term, subscription.uri)
    if f == "format":
        return term_matches_text(term, subscription.format)
    if f is None:
        return term.value.lower() in subscription.uri.lower()
    return None


def _filtered(
    ctx: Context,
    query: str | None,
    topics: list[str] | None = None,
    uri: str | None = None,
    format: str | None = None,
) -> list[Subscription]:
    found = webhooks_of(ctx.shop).of_app(ctx.app_id)
    if topics:
        found = [s for s in found if s.topic in topics]
    if uri is not None:
        found = [s for s in found if s.uri == uri]
    if format is not None:
        found = [s for s in found if s.format == format]
    return search_filter(found, query, _match)


@query("webhookSubscriptions")
def resolve_webhook_subscriptions(
    _parent: Any,
    ctx: Context,
    sortKey: str = "CREATED_AT",
    query: str | None = None,
    callbackUrl: str | None = None,
    uri: str | None = None,
    format: str | None = None,
    topics: list[str] | None = None,
    **page: Any,
) -> dict[str, Any]:
    found = _filtered(ctx, query, topics, uri if uri is not None else callbackUrl, format)
    # Ids grow with creation time, so CREATED_AT and ID order alike.
    return legacy_id_connection([subscription_node(s) for s in found], page)


@query("webhookSubscriptionsCount")
def resolve_webhook_subscriptions_count(
    _parent: Any, ctx: Context, query: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    count = len(_filtered(ctx, query))
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


@node_loader("WebhookSubscription")
def load_webhook_subscription(ctx: Context, numeric_id: int) -> dict[str, Any] | None:
    subscription = webhooks_of(ctx.shop).get(numeric_id, ctx.app_id)
    return subscription_node(subscription) if subscription else None
