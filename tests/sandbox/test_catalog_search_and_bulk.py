"""Unit tests: the search-syntax subset the catalogue uses, and bulk JSONL flattening."""

from __future__ import annotations

from fulfillbridge.sandbox.domain.bulk import flatten
from fulfillbridge.sandbox.domain.catalog import (
    SearchTerm,
    parse_search_query,
    search_filter,
    term_matches_number,
    term_matches_text,
)


def test_parse_terms_connectives_negation_and_quotes() -> None:
    groups = parse_search_query("sku:FB-TEE-BLK-M title:'Classic Tee' OR -status:draft")
    assert groups == [
        [SearchTerm("sku", "FB-TEE-BLK-M"), SearchTerm("title", "Classic Tee")],
        [SearchTerm("status", "draft", negated=True)],
    ]
    assert parse_search_query("id:>=5")[0][0] == SearchTerm("id", "5", comparator=":>=")
    assert parse_search_query("  ") == []
    assert parse_search_query("hoodie")[0][0] == SearchTerm(None, "hoodie")


def test_text_and_number_matching() -> None:
    exact = SearchTerm("sku", "FB-TEE-BLK-M")
    assert term_matches_text(exact, "fb-tee-blk-m")  # Shopify search is case-insensitive
    assert not term_matches_text(exact, "FB-TEE-BLK-MX")
    assert term_matches_text(SearchTerm("sku", "FB-TEE*"), "FB-TEE-BLK-M")
    assert not term_matches_text(exact, None)
    assert term_matches_number(SearchTerm("id", "5", comparator=":<"), 4)
    assert not term_matches_number(SearchTerm("id", "x"), 4)


def test_search_filter_ignores_unknown_fields() -> None:
    items = [{"sku": "A"}, {"sku": "B"}]

    def match(item: dict[str, str], term: SearchTerm) -> bool | None:
        return term_matches_text(term, item["sku"]) if term.field == "sku" else None

    assert search_filter(items, "sku:A", match) == [{"sku": "A"}]
    assert search_filter(items, "colour:red", match) == items
    assert search_filter(items, "sku:A OR sku:B", match) == items
    assert search_filter(items, "-sku:A", match) == [{"sku": "B"}]


def test_flatten_nested_connections_with_parent_ids() -> None:
    nodes = [
        {
            "id": "gid://shopify/Order/1",
            "name": "#1001",
            "lineItems": {"edges": [{"node": {"id": "gid://shopify/LineItem/2", "sku": "A"}}]},
            "fulfillmentOrders": {
                "nodes": [
                    {
                        "id": "gid://shopify/FulfillmentOrder/3",
                        "lineItems": {
                            "nodes": [{"id": "gid://shopify/FulfillmentOrderLineItem/4"}]
                        },
                    }
                ]
            },
        }
    ]
    rows = flatten(
        nodes, [("lineItems",), ("fulfillmentOrders",), ("fulfillmentOrders", "lineItems")]
    )
    assert rows == [
        {"id": "gid://shopify/Order/1", "name": "#1001"},
        {"id": "gid://shopify/LineItem/2", "sku": "A", "__parentId": "gid://shopify/Order/1"},
        {"id": "gid://shopify/FulfillmentOrder/3", "__parentId": "gid://shopify/Order/1"},
        {
            "id": "gid://shopify/FulfillmentOrderLineItem/4",
            "__parentId": "gid://shopify/FulfillmentOrder/3",
        },
    ]
