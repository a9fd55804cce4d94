"""Metafields a store asked for, as a work order carries them (pure, no I/O).

A ``WorkOrderMetafields`` answer becomes, per owner, ``{"namespace.key": {"type", "value"}}``;
a metaobject reference also carries the metaobject (``handle``, ``type``, ``fields`` as a
key -> value map). A reference Shopify can no longer resolve (the metaobject was deleted)
keeps its stored value and is reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

OWNERS = ("order", "product", "variant")
MAX_KEYS_PER_OWNER = 20  # one page of Shopify's metafields connection


@dataclass
class WorkMetafields:
    order: dict[str, Any] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _nodes(connection: Any) -> list[Mapping[str, Any]]:
    if not isinstance(connection, Mapping):
        return []
    return [n for n in connection.get("nodes") or [] if isinstance(n, Mapping)]


def _values(connection: Any, owner: str, warnings: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for node in _nodes(connection):
        name = f"{node.get('namespace')}.{node.get('key')}"
        kind = str(node.get("type") or "")
        entry: dict[str, Any] = {"type": kind, "value": node.get("value")}
        reference = node.get("reference")
        if isinstance(reference, Mapping) and reference.get("id"):
            entry["metaobject"] = {
                "id": reference.get("id"),
                "handle": reference.get("handle"),
                "type": reference.get("type"),
                "fields": {
                    str(f.get("key")): f.get("value")
                    for f in reference.get("fields") or []
                    if isinstance(f, Mapping)
                },
            }
        elif kind == "metaobject_reference":
            warnings.append(
                f"{owner} metafield {name} points at metaobject {node.get('value')}, which "
                "Shopify no longer has"
            )
        found[name] = entry
    return found


def parse_work_metafields(data: Mapping[str, Any]) -> WorkMetafields:
    """The ``order`` of a WorkOrderMetafields answer, by owner."""
    result = WorkMetafields()
    order = data.get("order")
    if not isinstance(order, Mapping):
        return result
    result.order = _values(order.get("metafields"), "order", result.warnings)
    for line in _nodes(order.get("lineItems")):
        for owner, target in (("product", result.products), ("variant", result.variants)):
            node = line.get(owner)
            if isinstance(node, Mapping) and node.get("id") and node["id"] not in target:
                target[str(node["id"])] = _values(node.get("metafields"), owner, result.warnings)
    return result


def check_key(value: str) -> tuple[str, str]:
    """``owner:namespace.key`` -> (owner, "namespace.key"); ValueError names the problem."""
    owner, sep, key = value.partition(":")
    owner = owner.strip().lower()
    key = key.strip()
    if not sep or owner not in OWNERS:
        raise ValueError(
            f"metafield {value!r} must be OWNER:namespace.key with OWNER one of {', '.join(OWNERS)}"
        )
    namespace, dot, name = key.partition(".")
    if not dot or not namespace or not name or len(key) > 255 or any(c.isspace() for c in key):
        raise ValueError(f"metafield {value!r}: the key must be namespace.key, without spaces")
    return owner, key
