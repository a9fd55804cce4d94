"""Webhook subscriptions over real HTTP: ownership by app, loopback addresses, duplicates,
listing filters (capture-independent behaviour; the capture replay covers the rest)."""

from __future__ import annotations

from typing import Any

import httpx

from fulfillbridge.sandbox.server import SandboxServer

GRAPHQL = "/admin/api/2026-07/graphql.json"
CREATE = """mutation($topic: WebhookSubscriptionTopic!, $uri: String!, $filter: String) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, filter: $filter}) {
    webhookSubscription { id topic uri } userErrors { field message } } }"""
LIST = """query($topics: [WebhookSubscriptionTopic!], $q: String) {
  webhookSubscriptions(first: 10, topics: $topics, query: $q) { nodes { topic uri } }
  webhookSubscriptionsCount { count } }"""


def gql(
    server: SandboxServer,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str = "shpat_sandbox",
    shop: str | None = None,
) -> Any:
    prefix = f"/shops/{shop}" if shop else ""
    response = httpx.post(
        server.url + prefix + GRAPHQL,
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_loopback_http_is_accepted_other_http_refused(sandbox_server: SandboxServer) -> None:
    for uri in ("http://127.0.0.1:9/hooks", "http://localhost:8080/x", "https://example.com/y"):
        body = gql(sandbox_server, CREATE, {"topic": "ORDERS_CREATE", "uri": uri})
        assert body["data"]["webhookSubscriptionCreate"]["userErrors"] == [], uri
    refused = gql(sandbox_server, CREATE, {"topic": "ORDERS_CREATE", "uri": "http://10.0.0.5/"})
    assert refused["data"]["webhookSubscriptionCreate"] == {
        "webhookSubscription": None,
        "userErrors": [
            {
                "field": ["webhookSubscription", "callbackUrl"],
                "message": "Address protocol http:// is not supported",
            }
        ],
    }


def test_duplicate_topic_and_address_is_refused(sandbox_server: SandboxServer) -> None:
    variables = {"topic": "ORDERS_PAID", "uri": "http://127.0.0.1:9/paid"}
    assert (
        gql(sandbox_server, CREATE, variables)["data"]["webhookSubscriptionCreate"]["userErrors"]
        == []
    )
    again = gql(sandbox_server, CREATE, variables)["data"]["webhookSubscriptionCreate"]
    assert again["userErrors"] == [
        {
            "field": ["webhookSubscription", "callbackUrl"],
            "message": "Address for this topic has already been taken",
        }
    ]
    other_topic = gql(sandbox_server, CREATE, {**variables, "topic": "ORDERS_CANCELLED"})
    assert other_topic["data"]["webhookSubscriptionCreate"]["userErrors"] == []


def test_list_filters_by_topic_and_query(sandbox_server: SandboxServer) -> None:
    for topic, uri in (
        ("ORDERS_CREATE", "http://127.0.0.1:9/a"),
        ("FULFILLMENT_ORDERS_FULFILLMENT_REQUEST_SUBMITTED", "http://127.0.0.1:9/b"),
        ("INVENTORY_LEVELS_UPDATE", "http://127.0.0.1:9/c"),
    ):
        gql(sandbox_server, CREATE, {"topic": topic, "uri": uri})
    every = gql(sandbox_server, LIST)["data"]
    assert every["webhookSubscriptionsCount"] == {"count": 3}
    by_topic = gql(sandbox_server, LIST, {"topics": ["INVENTORY_LEVELS_UPDATE"]})["data"]
    assert by_topic["webhookSubscriptions"]["nodes"] == [
        {"topic": "INVENTORY_LEVELS_UPDATE", "uri": "http://127.0.0.1:9/c"}
    ]
    by_query = gql(sandbox_server, LIST, {"q": "topic:orders/create"})["data"]
    assert [n["uri"] for n in by_query["webhookSubscriptions"]["nodes"]] == ["http://127.0.0.1:9/a"]


def test_subscriptions_belong_to_the_calling_app(sandbox_server: SandboxServer) -> None:
    httpx.post(
        sandbox_server.url + "/__sandbox/shops",
        json={
            "domain": "two-apps",
            "apps": [
                {"access_token": "shpat_one", "client_id": "one", "client_secret": "s1"},
                {"access_token": "shpat_two", "client_id": "two", "client_secret": "s2"},
            ],
        },
        timeout=10,
    ).raise_for_status()
    shop = "two-apps.myshopify.com"
    made = gql(
        sandbox_server,
        CREATE,
        {"topic": "ORDERS_CREATE", "uri": "http://127.0.0.1:9/one"},
        token="shpat_one",
        shop=shop,
    )["data"]["webhookSubscriptionCreate"]["webhookSubscription"]
    seen_by_two = gql(sandbox_server, LIST, token="shpat_two", shop=shop)["data"]
    assert seen_by_two["webhookSubscriptions"]["nodes"] == []
    detail = gql(
        sandbox_server,
        "query($id: ID!) { webhookSubscription(id: $id) { id } }",
        {"id": made["id"]},
        token="shpat_two",
        shop=shop,
    )
    assert detail["data"] == {"webhookSubscription": None}
    deleted = gql(
        sandbox_server,
        "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId "
        "userErrors { field message } } }",
        {"id": made["id"]},
        token="shpat_two",
        shop=shop,
    )["data"]["webhookSubscriptionDelete"]
    assert deleted["userErrors"] == [
        {"field": ["id"], "message": "Webhook subscription does not exist"}
    ]
    assert gql(sandbox_server, LIST, token="shpat_one", shop=shop)["data"][
        "webhookSubscriptionsCount"
    ] == {"count": 1}
