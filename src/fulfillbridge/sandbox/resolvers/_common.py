"""Small helpers several resolver modules share (no GraphQL fields are registered here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fulfillbridge.sandbox.pagination import connection

MAX_INPUT_ITEMS = 250  # NOTES.md: input arrays are capped at 250 items

_PAGE_KEYS = ("first", "after", "last", "before", "reverse")


def page_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The pagination arguments among a field's arguments (the others are the caller's)."""
    return {key: args[key] for key in _PAGE_KEYS if key in args}


def _legacy_id(node: Mapping[str, Any]) -> int:
    return int(node["legacyResourceId"])


def legacy_id_connection(nodes: list[dict[str, Any]], args: Mapping[str, Any]) -> dict[str, Any]:
    """A connection over rendered nodes, keyed (cursors, order checks) by their numeric
    ``legacyResourceId``; ``args`` are the field's arguments."""
    return connection(nodes, **page_args(args), cursor_of=_legacy_id)
