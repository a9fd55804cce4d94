"""Small helpers several resolver modules share (no GraphQL fields are registered here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from fulfillbridge.sandbox.pagination import connection

MAX_INPUT_ITEMS = 250  # docs/shopify.md#input-limits: input arrays are capped at 250 items

_PAGE_KEYS = ("first", "after", "last", "before", "reverse")
_Item = TypeVar("_Item")


def page_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The pagination arguments among a field's arguments (the others are the caller's)."""
    return {key: args[key] for key in _PAGE_KEYS if key in args}


def _legacy_id(node: Mapping[str, Any]) -> int:
    return int(node["legacyResourceId"])


def legacy_id_connection(nodes: list[dict[str, Any]], args: Mapping[str, Any]) -> dict[str, Any]:
    """A connection over rendered nodes, keyed (cursors, order checks) by their numeric
    ``legacyResourceId``; ``args`` are the field's arguments."""
    return connection(nodes, **page_args(args), cursor_of=_legacy_id)


def rendered_page(
    items: Sequence[_Item],
    args: Mapping[str, Any],
    render: Callable[[_Item], dict[str, Any]],
    id_of: Callable[[_Item], int] = lambda item: item.id,  # type: ignore[attr-defined]
) -> dict[str, Any]:
    """Like ``legacy_id_connection`` over ``render(item)`` for every item, but paged on the
    domain objects (their ``id`` is the legacy id) so only the page is rendered: rendering a
    whole catalogue for each page made reading it page by page quadratic."""
    window = connection(list(items), **page_args(args), cursor_of=id_of)
    rendered = {id_of(item): render(item) for item in window["nodes"]}
    window["nodes"] = [rendered[id_of(item)] for item in window["nodes"]]
    window["edges"] = [{**edge, "node": rendered[id_of(edge["node"])]} for edge in window["edges"]]
    return window
