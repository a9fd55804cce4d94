"""Replays 2026-04_webhooks_webhook-subscription-conformance.json against the sandbox over
real HTTP: reads, the create/update/delete lifecycle, filters and address validation.

The capture holds variables and responses, not the documents, so the documents below
select what the responses show. Ids and timestamps are the sandbox's own; everything else
is compared as recorded. The capture's https://example.com addresses are accepted (https)
but never contacted: the sandbox only delivers to loopback hosts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.server import SandboxServer

CAPTURE = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "captures"
    / "2026-04_webhooks_webhook-subscription-conformance.json"
)
GRAPHQL = "/admin/api/2026-07/graphql.json"
TOKEN = {"X-Shopify-Access-Token": "shpat_sandbox"}
FIELDS = """id topic format includeFields metafieldNamespaces filter createdAt updatedAt
  endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } }"""
CREATE = f"""mutation Create($topic: WebhookSubscriptionTopic!,
    $webhookSubscription: WebhookSubscriptionInput!) {{
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {{
    webhookSubscription {{ {FIELDS} }} userErrors {{ field message }} }} }}"""
UPDATE = f"""mutation Update($id: ID!, $webhookSubscription: WebhookSubscriptionInput!) {{
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $webhookSubscription) {{
    webhookSubscription {{ {FIELDS} }} userErrors {{ field message }} }} }}"""
DELETE = """mutation Delete($id: ID!) { webhookSubscriptionDelete(id: $id) {
  deletedWebhookSubscriptionId userErrors { field message } } }"""
DETAIL = f"query Detail($id: ID!) {{ webhookSubscription(id: $id) {{ {FIELDS} }} }}"
CATALOG = """query Catalog($first: Int!, $missingQuery: String!, $unknownId: ID!) {
  webhookSubscriptions(first: $first) { nodes { id } edges { node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }
  webhookSubscriptionsCount { count precision }
  filteredCount: webhookSubscriptionsCount(query: $missingQuery) { count precision }
  unknown: webhookSubscription(id: $unknownId) { id } }"""
VALIDATION = """mutation Branches($unknownId: ID!, $unknownUpdateInput: WebhookSubscriptionInput!) {
  updateUnknown: webhookSubscriptionUpdate(id: $unknownId,
    webhookSubscription: $unknownUpdateInput) { webhookSubscription { id }
    userErrors { field message } }
  deleteUnknown: webhookSubscriptionDelete(id: $unknownId) { deletedWebhookSubscriptionId
    userErrors { field message } }
  createMissingUri: webhookSubscriptionCreate(topic: SHOP_UPDATE,
    webhookSubscription: {format: JSON}) { webhookSubscription { id }
    userErrors { field message } } }"""
MISSING_TOPIC = """mutation MissingCreateWebhookTopic {
  webhookSubscriptionCreate(webhookSubscription: {uri: "https://example.com/x"}) {
    userErrors { message } } }"""
NULL_INPUT = """mutation NullUpdateWebhookInput {
  webhookSubscriptionUpdate(id: "gid://shopify/WebhookSubscription/1",
    webhookSubscription: null) { userErrors { message } } }"""
VOLATILE = ("id", "createdAt", "updatedAt")


def _capture() -> dict[str, Any]:
    return json.loads(CAPTURE.read_text(encoding="utf-8"))


def gql(server: SandboxServer, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        server.url + GRAPHQL,
        json={"query": query, "variables": variables or {}},
        headers=TOKEN,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _payload(section: dict[str, Any]) -> dict[str, Any]:
    return section["response"]["payload"]


def _stable(subscription: dict[str, Any] | None) -> dict[str, Any] | None:
    if subscription is None:
        return None
    return {k: v for k, v in subscription.items() if k not in VOLATILE}


class _Replayer:
    """Runs captured steps, mapping recorded subscription ids onto the sandbox's."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.ids: dict[str, str] = {}

    def variables(self, section: dict[str, Any]) -> dict[str, Any]:
        variables = dict(section["variables"])
        if "id" in variables:
            variables["id"] = self.ids.get(variables["id"], variables["id"])
        return variables

    def mutate(self, document: str, section: dict[str, Any], field: str) -> dict[str, Any]:
        body = gql(self.server, document, self.variables(section))
        assert "errors" not in body, body
        actual = body["data"][field]
        expected = _payload(section)["data"][field]
        assert actual["userErrors"] == expected["userErrors"]
        if "webhookSubscription" in expected:
            assert _stable(actual["webhookSubscription"]) == _stable(
                expected["webhookSubscription"]
            )
            if expected["webhookSubscription"] is not None:
                recorded = expected["webhookSubscription"]["id"]
                self.ids.setdefault(recorded, actual["webhookSubscription"]["id"])
        if "deletedWebhookSubscriptionId" in expected:
            recorded = expected["deletedWebhookSubscriptionId"]
            assert actual["deletedWebhookSubscriptionId"] == (
                self.ids.get(recorded) if recorded else None
            )
        return actual

    def detail(self, section: dict[str, Any]) -> None:
        body = gql(self.server, DETAIL, self.variables(section))
        expected = _payload(section)["data"]["webhookSubscription"]
        assert _stable(body["data"]["webhookSubscription"]) == _stable(expected)


def test_catalog_read_of_an_empty_shop(sandbox_server: SandboxServer) -> None:
    section = _capture()["catalog"]
    body = gql(sandbox_server, CATALOG, section["variables"])
    assert body["data"] == _payload(section)["data"]


def test_lifecycle(sandbox_server: SandboxServer) -> None:
    steps = _capture()["lifecycle"]
    replay = _Replayer(sandbox_server)
    created = replay.mutate(CREATE, steps["create"], "webhookSubscriptionCreate")
    sub = created["webhookSubscription"]
    assert sub["createdAt"] == sub["updatedAt"]
    replay.detail(steps["detailAfterCreate"])
    replay.mutate(UPDATE, steps["update"], "webhookSubscriptionUpdate")
    replay.detail(steps["detailAfterUpdate"])
    replay.mutate(DELETE, steps["delete"], "webhookSubscriptionDelete")
    body = gql(sandbox_server, DETAIL, replay.variables(steps["postDeleteDetail"]))
    assert body["data"] == _payload(steps["postDeleteDetail"])["data"]


def test_filter_default_and_empty(sandbox_server: SandboxServer) -> None:
    steps = _capture()["filterDefault"]
    replay = _Replayer(sandbox_server)
    replay.mutate(CREATE, steps["createWithoutFilter"], "webhookSubscriptionCreate")
    replay.detail(steps["detailWithoutFilter"])
    replay.mutate(DELETE, steps["deleteWithoutFilter"], "webhookSubscriptionDelete")
    replay.mutate(CREATE, steps["createWithEmptyFilter"], "webhookSubscriptionCreate")
    replay.mutate(DELETE, steps["deleteWithEmptyFilter"], "webhookSubscriptionDelete")


def test_filter_validation(sandbox_server: SandboxServer) -> None:
    steps = _capture()["filterValidation"]
    replay = _Replayer(sandbox_server)
    replay.mutate(CREATE, steps["createValidFilter"], "webhookSubscriptionCreate")
    replay.detail(steps["detailValidFilter"])
    replay.mutate(DELETE, steps["deleteValidFilter"], "webhookSubscriptionDelete")
    replay.mutate(CREATE, steps["createUpdateBase"], "webhookSubscriptionCreate")
    replay.mutate(UPDATE, steps["updateValidFilter"], "webhookSubscriptionUpdate")
    replay.detail(steps["detailAfterValidUpdate"])
    replay.mutate(UPDATE, steps["updateInvalidFilter"], "webhookSubscriptionUpdate")
    replay.mutate(DELETE, steps["deleteUpdateBase"], "webhookSubscriptionDelete")
    replay.mutate(CREATE, steps["createInvalidFilter"], "webhookSubscriptionCreate")


def test_update_address_validation(sandbox_server: SandboxServer) -> None:
    steps = _capture()["updateValidation"]
    replay = _Replayer(sandbox_server)
    replay.mutate(CREATE, steps["create"], "webhookSubscriptionCreate")
    for step in ("updateBlankUri", "updateHttpUri", "updateInvalidPubSub"):
        replay.mutate(UPDATE, steps[step], "webhookSubscriptionUpdate")
    replay.detail(steps["detailAfterFailedUpdates"])
    replay.mutate(DELETE, steps["delete"], "webhookSubscriptionDelete")


def test_unknown_ids_and_missing_address(sandbox_server: SandboxServer) -> None:
    section = _capture()["validation"]
    body = gql(sandbox_server, VALIDATION, section["variables"])
    assert body["data"] == _payload(section)["data"]


@pytest.mark.parametrize(
    ("key", "document"),
    [
        ("missingCreateTopic", MISSING_TOPIC),
        ("nullUpdateInput", NULL_INPUT),
    ],
)
def test_graphql_validation(sandbox_server: SandboxServer, key: str, document: str) -> None:
    section = _capture()["graphqlValidation"][key]
    [expected] = _payload(section)["errors"]
    [actual] = gql(sandbox_server, document)["errors"]
    assert actual["message"] == expected["message"]
    assert actual["extensions"]["code"] == expected["extensions"]["code"]
    assert actual["path"] == expected["path"]
