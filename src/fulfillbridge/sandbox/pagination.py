"""Relay connections as Shopify serves them: opaque cursors, ``edges``/``nodes``/``pageInfo``.

Shopify's cursors are base64 of a small JSON object naming the last item seen; clients must
treat them as opaque. ``first``/``last`` are capped at 250 (Shopify docs: "Pagination").
Items are expected in their natural order (ascending ids for most resources); ``reverse``
flips it before paging, like Shopify's ``reverse: true`` argument.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from fulfillbridge.sandbox.registry import TopLevelError

MAX_PAGE_SIZE = 250


def encode_cursor(key: Any) -> str:
    raw = json.dumps({"last_id": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The key a cursor names; a cursor we did not issue is a client error."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return decoded["last_id"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise TopLevelError(f"Invalid cursor: {cursor!r}.", "BAD_REQUEST") from exc


def _default_cursor_key(item: Any) -> Any:
    if isinstance(item, dict) and "id" in item:
        return item["id"]
    raise TypeError("connection() needs cursor_of for items without an 'id' key")


def _check_page_sizes(first: int | None, last: int | None) -> None:
    # Shopify answers a query naming neither with this message (graphql-ruby's wording).
    if first is None and last is None:
        raise TopLevelError("you must provide one of first or last", "BAD_REQUEST")
    for name, value in (("first", first), ("last", last)):
        if value is None:
            continue
        if value < 0:
            raise TopLevelError(f"Argument '{name}' must be a non-negative integer.", "BAD_REQUEST")
        if value > MAX_PAGE_SIZE:
            raise TopLevelError(
                f"Argument '{name}' on Field has an invalid value ({value}). "
                f"Expected value to be at most {MAX_PAGE_SIZE}.",
                "MAX_PAGE_SIZE_EXCEEDED",
            )


def _position_after(keys: list[Any], key: Any) -> int:
    """Index of the first item after ``key``; tolerates the keyed item having gone away."""
    try:
        return keys.index(key) + 1
    except ValueError:
        for index, candidate in enumerate(keys):
            try:
                if candidate > key:
                    return index
            except TypeError:
                break
        return len(keys)


def _position_before(keys: list[Any], key: Any) -> int:
    """Index one past the last item before ``key`` (the end of the window)."""
    try:
        return keys.index(key)
    except ValueError:
        for index, candidate in enumerate(keys):
            try:
                if candidate >= key:
                    return index
            except TypeError:
                break
        return len(keys)


def connection(
    items: Sequence[Any],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
    cursor_of: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """A connection dict (``edges``, ``nodes``, ``pageInfo``) over already filtered items."""
    _check_page_sizes(first, last)
    key_of = cursor_of or _default_cursor_key
    ordered = list(reversed(items)) if reverse else list(items)
    keys = [key_of(item) for item in ordered]

    start, end = 0, len(ordered)
    if after is not None:
        start = _position_after(keys, decode_cursor(after))
    if before is not None:
        end = max(start, _position_before(keys, decode_cursor(before)))
    window_start, window_end = start, end
    if first is not None:
        window_end = min(window_end, window_start + first)
    if last is not None:
        window_start = max(window_start, window_end - last)

    page = ordered[window_start:window_end]
    page_keys = keys[window_start:window_end]
    cursors = [encode_cursor(key) for key in page_keys]
    return {
        "edges": [{"cursor": c, "node": node} for c, node in zip(cursors, page, strict=True)],
        "nodes": page,
        "pageInfo": {
            # Like Shopify, each direction reports whether more items exist that way.
            "hasNextPage": window_end < len(ordered),
            "hasPreviousPage": window_start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }
