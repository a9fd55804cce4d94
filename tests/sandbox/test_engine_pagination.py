"""Connections: opaque cursors, both directions, Shopify's 250 cap; and locations paged
through GraphQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.pagination import connection, decode_cursor, encode_cursor
from fulfillbridge.sandbox.registry import TopLevelError
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.state import Location

ITEMS = [{"id": n} for n in range(1, 8)]


def _ids(page: dict[str, Any]) -> list[int]:
    return [node["id"] for node in page["nodes"]]


def test_forward_paging_walks_everything_once() -> None:
    seen: list[int] = []
    after = None
    for _ in range(10):
        page = connection(ITEMS, first=3, after=after)
        seen += _ids(page)
        assert [e["node"] for e in page["edges"]] == page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [1, 2, 3, 4, 5, 6, 7]
    assert page["pageInfo"]["hasPreviousPage"] is True


def test_backward_paging_and_reverse() -> None:
    last_page = connection(ITEMS, last=2)
    assert _ids(last_page) == [6, 7]
    assert last_page["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": encode_cursor(6),
        "endCursor": encode_cursor(7),
    }
    before = connection(ITEMS, last=2, before=last_page["pageInfo"]["startCursor"])
    assert _ids(before) == [4, 5]
    assert _ids(connection(ITEMS, first=2, reverse=True)) == [7, 6]


def test_cursor_of_a_removed_item_still_pages_on() -> None:
    cursor = encode_cursor(3)
    assert _ids(connection([i for i in ITEMS if i["id"] != 3], first=2, after=cursor)) == [4, 5]


def test_empty_page_has_null_cursors() -> None:
    page = connection([], first=5)
    assert page["nodes"] == [] and page["edges"] == []
    assert page["pageInfo"]["startCursor"] is None and page["pageInfo"]["endCursor"] is None


def test_limits_and_bad_cursors_are_errors() -> None:
    with pytest.raises(TopLevelError, match="you must provide one of first or last"):
        connection(ITEMS)
    with pytest.raises(TopLevelError, match="at most 250"):
        connection(ITEMS, first=251)
    with pytest.raises(TopLevelError, match="Invalid cursor"):
        connection(ITEMS, first=1, after="not-a-cursor")
    assert decode_cursor(encode_cursor("abc")) == "abc"


def test_locations_page_through_graphql(sandbox_server: SandboxServer) -> None:
    shop = sandbox_server.sandbox.shop("demo-shop.myshopify.com")
    assert shop is not None
    for name in ("Berlin", "Austin", "Calgary", "Denver"):
        location_id = shop.state.next_id()
        shop.state.locations[location_id] = Location(location_id, name)
    query = (
        "query($after: String, $q: String) { locations(first: 2, after: $after, query: $q) {"
        " edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }"
    )
    names: list[str] = []
    after = None
    for _ in range(5):
        body = httpx.post(
            sandbox_server.url + "/admin/api/2026-07/graphql.json",
            json={"query": query, "variables": {"after": after}},
            headers={"X-Shopify-Access-Token": "shpat_sandbox"},
        ).json()
        page = body["data"]["locations"]
        names += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # Default sortKey NAME.
    assert names == ["Austin", "Berlin", "Calgary", "Denver", "Shop location"]
    filtered = httpx.post(
        sandbox_server.url + "/admin/api/2026-07/graphql.json",
        json={"query": query, "variables": {"q": "name:den"}},
        headers={"X-Shopify-Access-Token": "shpat_sandbox"},
    ).json()
    assert [e["node"]["name"] for e in filtered["data"]["locations"]["edges"]] == ["Denver"]
