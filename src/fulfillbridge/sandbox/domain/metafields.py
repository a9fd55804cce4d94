"""Metafields on orders, products, variants and locations, and metaobjects with their definitions
(pure Python, no GraphQL). Obtain the part as ``metafields_of(shop)``.

Rules follow Shopify's documentation of ``metafieldsSet`` (at most 25 per call, applied all
or nothing, a type needed unless the metafield exists already, values checked against the
type), ``metaobjectDefinitionCreate``, ``metaobjectCreate`` and ``metaobjectDelete``. A
``metaobject_reference`` keeps its value (the metaobject's global id) after the metaobject
is deleted; only the resolved reference becomes null. Where no recorded answer shows
Shopify's exact words, the messages below are the sandbox's, each naming the problem.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fulfillbridge.sandbox.state import ShopState, gid, parse_gid

MAX_SET_INPUTS = 25  # metafieldsSet: at most 25 metafields per call (Shopify docs)
MAX_SINGLE_LINE = 255  # single_line_text_field holds up to 255 characters (Shopify docs)
# Metafield types Shopify defines; the common ones below have their values checked, the
# others are stored as given.
KNOWN_TYPES = frozenset(
    {
        "boolean",
        "color",
        "date",
        "date_time",
        "dimension",
        "id",
        "json",
        "link",
        "money",
        "multi_line_text_field",
        "number_decimal",
        "number_integer",
        "rating",
        "rich_text_field",
        "single_line_text_field",
        "url",
        "volume",
        "weight",
        "collection_reference",
        "customer_reference",
        "file_reference",
        "metaobject_reference",
        "mixed_reference",
        "page_reference",
        "product_reference",
        "variant_reference",
        "order_reference",
        "company_reference",
    }
)
_LIST_TYPES = frozenset(f"list.{t}" for t in KNOWN_TYPES - {"json", "money", "rich_text_field"})
OWNER_KINDS = {
    "Order": "ORDER",
    "Product": "PRODUCT",
    "ProductVariant": "PRODUCTVARIANT",
    "Location": "LOCATION",
}
_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")
_URL_SCHEMES = {"http", "https", "mailto", "sms", "tel"}
_HANDLE = re.compile(r"[^a-z0-9]+")


class MetaUserErrors(Exception):
    """Refusals to report as ``userErrors`` (dicts with field, message, code, elementIndex)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def _error(
    field_path: list[str] | None, message: str, code: str, index: int | None = None
) -> dict[str, Any]:
    return {"field": field_path, "message": message, "code": code, "elementIndex": index}


@dataclass
class Metafield:
    id: int
    owner_id: str  # global id of the owner
    namespace: str
    key: str
    type: str
    value: str
    created_at: str
    updated_at: str

    @property
    def gid(self) -> str:
        return gid("Metafield", self.id)


@dataclass
class MetaobjectFieldDefinition:
    key: str
    type: str
    name: str
    required: bool = False


@dataclass
class MetaobjectDefinition:
    id: int
    type: str
    name: str
    fields: list[MetaobjectFieldDefinition]
    display_name_key: str | None
    created_at: str

    @property
    def gid(self) -> str:
        return gid("MetaobjectDefinition", self.id)

    def field(self, key: str) -> MetaobjectFieldDefinition | None:
        return next((f for f in self.fields if f.key == key), None)


@dataclass
class Metaobject:
    id: int
    type: str
    handle: str
    values: dict[str, str]
    created_at: str
    updated_at: str

    @property
    def gid(self) -> str:
        return gid("Metaobject", self.id)


@dataclass
class Metafields:
    shop: ShopState
    by_owner: dict[str, dict[tuple[str, str], Metafield]] = field(default_factory=dict)
    definitions: dict[str, MetaobjectDefinition] = field(default_factory=dict)
    metaobjects: dict[int, Metaobject] = field(default_factory=dict)

    # ------------------------------------------------------------------ metafields
    def of(self, owner_id: str) -> list[Metafield]:
        """The owner's metafields, oldest first."""
        return sorted(self.by_owner.get(owner_id, {}).values(), key=lambda m: m.id)

    def drop_owner(self, owner_id: str) -> None:
        """Forget every metafield of an owner that was deleted (they go with it)."""
        self.by_owner.pop(owner_id, None)

    def get(self, owner_id: str, namespace: str, key: str) -> Metafield | None:
        return self.by_owner.get(owner_id, {}).get((namespace, key))

    def set_many(
        self, inputs: list[dict[str, Any]], owner_exists: Any, app_namespace: str
    ) -> list[Metafield]:
        """metafieldsSet: validate every input, then write them all (or none).
        ``owner_exists(gid) -> bool`` says whether an owner id names a record."""
        if len(inputs) > MAX_SET_INPUTS:
            raise MetaUserErrors(
                [
                    _error(
                        ["metafields"],
                        f"Exceeded the maximum metafields input limit of {MAX_SET_INPUTS}.",
                        "LESS_THAN_OR_EQUAL_TO",
                    )
                ]
            )
        errors: list[dict[str, Any]] = []
        planned: list[tuple[str, str, str, str, str]] = []
        for index, entry in enumerate(inputs):
            base = ["metafields", str(index)]
            owner = entry["ownerId"]
            namespace = entry.get("namespace") or app_namespace
            key = entry["key"]
            value = entry["value"]
            kind = owner.split("/")[3] if owner.count("/") >= 4 else ""
            if kind not in OWNER_KINDS or not owner_exists(owner):
                errors.append(_error([*base, "ownerId"], "Owner does not exist.", "INVALID"))
                continue
            found = len(errors)
            if not 3 <= len(namespace) <= 255:
                errors.append(
                    _error(
                        [*base, "namespace"],
                        "Namespace must be between 3 and 255 characters long.",
                        "TOO_SHORT" if len(namespace) < 3 else "TOO_LONG",
                    )
                )
            if not 2 <= len(key) <= 64:
                errors.append(
                    _error(
                        [*base, "key"],
                        "Key must be between 2 and 64 characters long.",
                        "TOO_SHORT" if len(key) < 2 else "TOO_LONG",
                    )
                )
            existing = self.get(owner, namespace, key)
            type_name = entry.get("type") or (existing.type if existing else None)
            if type_name is None:
                errors.append(_error([*base, "type"], "Type can't be blank.", "BLANK"))
            elif type_name not in KNOWN_TYPES and type_name not in _LIST_TYPES:
                errors.append(
                    _error(
                        [*base, "type"],
                        f"Type '{type_name}' is not a valid metafield type.",
                        "INVALID_TYPE",
                    )
                )
            else:
                problem = self.value_problem(type_name, value)
                if problem is not None:
                    errors.append(_error([*base, "value"], problem, "INVALID_VALUE"))
            if len(errors) == found:
                assert type_name is not None
                planned.append((owner, namespace, key, type_name, value))
        if errors:
            raise MetaUserErrors(errors)
        now = self.shop.clock.iso_now()
        written: list[Metafield] = []
        for owner, namespace, key, type_name, value in planned:
            current = self.get(owner, namespace, key)
            if current is None:
                current = Metafield(
                    self.shop.next_id(), owner, namespace, key, type_name, value, now, now
                )
                self.by_owner.setdefault(owner, {})[(namespace, key)] = current
            else:
                current.type, current.value, current.updated_at = type_name, value, now
            written.append(current)
        return written

    def value_problem(self, type_name: str, value: str) -> str | None:
        """Why ``value`` does not fit ``type_name``, or None."""
        if type_name == "single_line_text_field":
            if "\n" in value or "\r" in value:
                return "Value must be a single line text string."
            if len(value) > MAX_SINGLE_LINE:
                return f"Value must be at most {MAX_SINGLE_LINE} characters long."
        elif type_name == "number_integer":
            if not _INTEGER.match(value.strip()):
                return "Value must be an integer."
            if not -(2**53) + 1 <= int(value) <= 2**53 - 1:
                return "Value must be between -9007199254740991 and 9007199254740991."
        elif type_name == "number_decimal":
            if not _DECIMAL.match(value.strip()):
                return "Value must be a decimal number."
        elif type_name == "boolean":
            if value not in {"true", "false"}:
                return "Value must be true or false."
        elif type_name == "json":
            try:
                json.loads(value)
            except ValueError:
                return "Value must be valid JSON."
        elif type_name == "url":
            parts = urlsplit(value)
            if parts.scheme not in _URL_SCHEMES or (
                parts.scheme in {"http", "https"} and not parts.netloc
            ):
                return "Value must be a URL with one of the schemes http, https, mailto, sms, tel."
        elif type_name == "metaobject_reference":
            number = parse_gid(value, "Metaobject")
            if number is None or number not in self.metaobjects:
                return "Value must be the global id of an existing metaobject."
        return None

    # ------------------------------------------------------------------ metaobjects
    def create_definition(self, spec: dict[str, Any]) -> MetaobjectDefinition:
        type_name = spec["type"]
        if not 3 <= len(type_name) <= 255 or not re.fullmatch(r"[A-Za-z0-9_-]+", type_name):
            raise MetaUserErrors(
                [
                    _error(
                        ["definition", "type"],
                        "Type must be 3 to 255 characters of letters, digits, - and _.",
                        "INVALID",
                    )
                ]
            )
        if type_name in self.definitions:
            raise MetaUserErrors(
                [_error(["definition", "type"], "Type has already been taken.", "TAKEN")]
            )
        fields: list[MetaobjectFieldDefinition] = []
        errors: list[dict[str, Any]] = []
        for index, raw in enumerate(spec.get("fieldDefinitions") or []):
            base = ["definition", "fieldDefinitions", str(index)]
            if raw["type"] not in KNOWN_TYPES and raw["type"] not in _LIST_TYPES:
                errors.append(
                    _error(
                        [*base, "type"],
                        f"Type '{raw['type']}' is not a valid field type.",
                        "INVALID",
                    )
                )
            if any(f.key == raw["key"] for f in fields):
                errors.append(
                    _error([*base, "key"], "Key has already been taken.", "OBJECT_FIELD_TAKEN")
                )
            fields.append(
                MetaobjectFieldDefinition(
                    raw["key"],
                    raw["type"],
                    raw.get("name") or raw["key"],
                    bool(raw.get("required")),
                )
            )
        if errors:
            raise MetaUserErrors(errors)
        definition = MetaobjectDefinition(
            self.shop.next_id(),
            type_name,
            spec.get("name") or type_name,
            fields,
            spec.get("displayNameKey"),
            self.shop.clock.iso_now(),
        )
        self.definitions[type_name] = definition
        return definition

    def create_metaobject(self, spec: dict[str, Any]) -> Metaobject:
        definition = self.definitions.get(spec["type"])
        if definition is None:
            raise MetaUserErrors(
                [
                    _error(
                        ["metaobject", "type"],
                        f'No metaobject definition exists for type "{spec["type"]}".',
                        "UNDEFINED_OBJECT_TYPE",
                    )
                ]
            )
        values: dict[str, str] = {}
        errors: list[dict[str, Any]] = []
        for index, raw in enumerate(spec.get("fields") or []):
            base = ["metaobject", "fields", str(index)]
            known = definition.field(raw["key"])
            if known is None:
                errors.append(
                    _error(
                        base,
                        f'Field definition "{raw["key"]}" does not exist.',
                        "UNDEFINED_OBJECT_FIELD",
                        index,
                    )
                )
                continue
            if raw["key"] in values:
                errors.append(
                    _error(base, f'Field "{raw["key"]}" was given twice.', "DUPLICATE_FIELD_INPUT")
                )
                continue
            problem = self.value_problem(known.type, raw["value"])
            if problem is not None:
                errors.append(_error(base, problem, "INVALID_VALUE", index))
            values[raw["key"]] = raw["value"]
        for wanted in definition.fields:
            if wanted.required and not values.get(wanted.key):
                errors.append(
                    _error(
                        ["metaobject"],
                        f'Field "{wanted.key}" is required.',
                        "OBJECT_FIELD_REQUIRED",
                    )
                )
        handle = spec.get("handle") or self._free_handle(definition, values)
        if any(m.type == definition.type and m.handle == handle for m in self.metaobjects.values()):
            errors.append(
                _error(["metaobject", "handle"], "Handle has already been taken.", "TAKEN")
            )
        if errors:
            raise MetaUserErrors(errors)
        now = self.shop.clock.iso_now()
        metaobject = Metaobject(self.shop.next_id(), definition.type, handle, values, now, now)
        self.metaobjects[metaobject.id] = metaobject
        return metaobject

    def _free_handle(self, definition: MetaobjectDefinition, values: dict[str, str]) -> str:
        # Shopify derives the handle from the display name (else the type), made unique.
        shown = values.get(definition.display_name_key or "") or definition.type
        stem = _HANDLE.sub("-", shown.lower()).strip("-") or definition.type
        taken = {m.handle for m in self.metaobjects.values() if m.type == definition.type}
        handle, n = stem, 1
        while handle in taken:
            n += 1
            handle = f"{stem}-{n}"
        return handle

    def delete_metaobject(self, global_id: str) -> str:
        number = parse_gid(global_id, "Metaobject")
        if number is None or number not in self.metaobjects:
            raise MetaUserErrors([_error(["id"], "Record not found", "RECORD_NOT_FOUND")])
        del self.metaobjects[number]
        return global_id

    def metaobject(self, number: int) -> Metaobject | None:
        return self.metaobjects.get(number)

    def display_name(self, metaobject: Metaobject) -> str:
        definition = self.definitions.get(metaobject.type)
        key = definition.display_name_key if definition else None
        return metaobject.values.get(key or "") or metaobject.handle

    def dump(self) -> dict[str, Any]:
        return {
            "metafields": [m for owned in self.by_owner.values() for m in owned.values()],
            "definitions": list(self.definitions.values()),
            "metaobjects": list(self.metaobjects.values()),
        }


def metafields_of(shop: ShopState) -> Metafields:
    """The shop's metafields part."""
    part: Metafields = shop.part("metafields", Metafields)
    return part
