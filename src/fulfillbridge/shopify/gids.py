"""Shopify global ids (``gid://shopify/<Type>/<id>``): read, build, compare.

Shopify may hand back an id with a query suffix (a fulfillment service's id ends in
``?id=true``): it names the same resource as the bare id, so comparisons ignore it.
Webhook bodies are REST-shaped: they carry ``admin_graphql_api_id`` and, for older
topics, only the numeric ``id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "gid://shopify/"
_GID = re.compile(r"gid://shopify/([A-Za-z][A-Za-z0-9]*)/([^/?]+)(\?.*)?")
_NUMBER = re.compile(r"[1-9][0-9]*")


@dataclass(frozen=True)
class GlobalId:
    kind: str  # the resource type, e.g. "FulfillmentOrder"
    id: str  # the resource's own id (a number for Admin API resources)

    def __str__(self) -> str:
        return f"{PREFIX}{self.kind}/{self.id}"


def parse_gid(value: object) -> GlobalId | None:
    """The type and id of a global id (a query suffix dropped), or None for anything else."""
    if not isinstance(value, str):
        return None
    match = _GID.fullmatch(value)
    return GlobalId(match.group(1), match.group(2)) if match else None


def build_gid(kind: str, number: int | str) -> str:
    return f"{PREFIX}{kind}/{number}"


def to_gid(kind: str, value: object) -> str:
    """``value`` when it is already a global id, else the ``kind`` id with that number."""
    text = str(value)
    return text if text.startswith("gid://") else build_gid(kind, text)


def bare_gid(value: str) -> str:
    """The id without a query suffix (``...FulfillmentService/1?id=true`` -> ``.../1``)."""
    return value.split("?", 1)[0]


def same_resource(a: str, b: str) -> bool:
    """Whether two global ids name one resource, whatever suffix either carries."""
    return bare_gid(a) == bare_gid(b)


def is_gid_of(value: object, kind: str) -> bool:
    """Whether ``value`` is exactly a ``kind`` global id with a positive number, nothing
    after it."""
    found = parse_gid(value)
    return (
        found is not None
        and found.kind == kind
        and str(value) == str(found)
        and bool(_NUMBER.fullmatch(found.id))
    )


def gid_from_webhook(payload: Mapping[str, Any], kind: str) -> str | None:
    """The ``kind`` resource's global id in a REST-shaped webhook body
    (``admin_graphql_api_id``, else the numeric ``id``), without a suffix; None when the
    body names none."""
    value = payload.get("admin_graphql_api_id")
    if isinstance(value, str) and value.startswith(f"{PREFIX}{kind}/"):
        return bare_gid(value)
    raw = payload.get("id")
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return build_gid(kind, raw)
    if isinstance(raw, str) and raw.isdigit():
        return build_gid(kind, raw)
    return None
