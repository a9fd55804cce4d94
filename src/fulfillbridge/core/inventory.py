"""Inventory levels the operation reports, checked and compared with what Shopify holds.

Pure: no I/O. ``parse_csv`` and ``check_rows`` turn input into rows or per-row rejections
(with the line number); ``resolve_rows`` finds each row's Shopify level (item and
location) in the store's SKU mapping or refuses the row; ``changed_levels`` keeps what
differs from the last level we know; ``chunks`` cuts a list into Shopify-sized calls;
``decide_stale`` is the rule applied when Shopify answers ``CHANGE_FROM_QUANTITY_STALE``.

The stale rule (documented for operators in ``decide_stale``): Shopify's level changed since
we last read it. We read it again and

1. if it already holds the quantity the operation asked for, there is nothing to do;
2. if Shopify's change is *newer* than the upload (its ``updatedAt`` is after the time we
   received the rows), Shopify's value wins: the row is reported as stale, nothing is
   written, and the operation must send a new count to override it;
3. otherwise the upload is the newer news: it is sent once more with the value just read
   as ``changeFromQuantity`` (a second stale answer rejects the row; never a loop).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from fulfillbridge.core.errors import FulfillbridgeError, InventoryErrorCode

# Shopify refuses quantities above this (docs/shopify.md#inventory, captures).
MAX_QUANTITY = 1_000_000_000
CHUNK_SIZE = 250  # Shopify's cap on input arrays (docs/shopify.md#input-limits)
MAX_ROWS = 200_000  # one upload; beyond this the input is refused as a whole
MAX_FIELD = 255
CSV_COLUMNS = ("store", "sku", "warehouse", "quantity")
QUANTITY_NAMES = ("available", "on_hand")
# Why on_hand: a warehouse count is physical stock, which includes units already promised to
# open orders. Setting on_hand lets Shopify derive available = on_hand - committed; setting
# available to a physical count would sell the committed units twice. Operations that report
# sellable stock (net of their open orders) set the store's inventory_quantity_name to
# "available".
DEFAULT_QUANTITY_NAME = "on_hand"

_T = TypeVar("_T")


class InventoryInputError(FulfillbridgeError, ValueError):
    """Input that cannot be read at all (no header, wrong columns); names the problem."""

    default_code = InventoryErrorCode.INVALID_INPUT


@dataclass(frozen=True)
class RawRow:
    """One input row as received (strings or numbers), with its line number."""

    line: int
    store: str | None
    sku: str | None
    warehouse: str | None
    quantity: object


@dataclass(frozen=True)
class LevelRow:
    """A checked row: set ``sku`` at ``warehouse`` of ``store`` to ``quantity``."""

    line: int
    store: str
    sku: str
    warehouse: str
    quantity: int


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str
    store: str | None = None
    sku: str | None = None
    warehouse: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "store": self.store,
            "sku": self.sku,
            "warehouse": self.warehouse,
            "reason": self.reason,
        }


def parse_csv(
    text: str, *, default_store: str | None = None
) -> tuple[list[RawRow], list[Rejection]]:
    """Rows of a CSV with the header ``store,sku,warehouse,quantity`` (``store`` may be left
    out when ``default_store`` is given; ``warehouse`` may be left out: the store's default
    location). Line numbers count the header as line 1. Rows that cannot be read (too many
    or too few cells) are rejected here; every other check is ``check_rows``'s."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InventoryInputError(
            "the CSV is empty: expected a header sku,warehouse,quantity"
        ) from None
    except csv.Error as exc:
        raise InventoryInputError(f"the CSV header cannot be read: {exc}") from None
    columns = [c.strip().lower() for c in header]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    missing = [c for c in ("sku", "quantity") if c not in columns]
    if unknown or missing or len(set(columns)) != len(columns):
        raise InventoryInputError(
            f"the CSV header must name the columns {', '.join(CSV_COLUMNS)} "
            f"(store and warehouse optional); got {', '.join(columns) or 'nothing'}"
        )
    if "store" not in columns and default_store is None:
        raise InventoryInputError("the CSV has no store column: give the store (--store)")
    rows: list[RawRow] = []
    rejected: list[Rejection] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejected.append(Rejection(line, f"the line cannot be read as CSV: {exc}"))
            continue
        line = reader.line_num  # a quoted cell may span lines; report where the row ends
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) + len(rejected) >= MAX_ROWS:
            raise InventoryInputError(f"more than {MAX_ROWS} rows: split the upload")
        if len(cells) != len(columns):
            rejected.append(Rejection(line, f"expected {len(columns)} cells, found {len(cells)}"))
            continue
        cell = dict(zip(columns, (c.strip() for c in cells), strict=True))
        rows.append(
            RawRow(
                line=line,
                store=cell.get("store") or default_store,
                sku=cell.get("sku"),
                warehouse=cell.get("warehouse") or None,
                quantity=cell.get("quantity"),
            )
        )
    return rows, rejected


def _quantity(value: object) -> int | str:
    """The quantity as an int, or why it is not one."""
    if isinstance(value, bool):
        return "quantity must be a whole number"
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return f"quantity {value} is not a whole number"
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return "quantity is missing"
        try:
            number = int(text)
        except ValueError:
            return f"quantity {text[:40]!r} is not a whole number"
    else:
        return "quantity is missing"
    if number < 0:
        return f"quantity {number} is negative"
    if number > MAX_QUANTITY:
        return f"quantity {number} is above Shopify's limit of {MAX_QUANTITY:,}"
    return number


def check_rows(
    rows: Iterable[RawRow], *, default_warehouse: str = ""
) -> tuple[list[LevelRow], list[Rejection]]:
    """Rows that can be applied, and every other row with its reason. Two rows for the same
    store, SKU and warehouse in one upload are both rejected: which one is meant cannot be
    known, so neither is guessed."""
    good: list[LevelRow] = []
    rejected: list[Rejection] = []
    for raw in rows:
        store = (raw.store or "").strip()
        sku = raw.sku if isinstance(raw.sku, str) else None
        warehouse = (raw.warehouse or "").strip() or default_warehouse

        def reject(
            reason: str, raw: RawRow = raw, store: str = store, sku: str | None = sku
        ) -> None:
            rejected.append(Rejection(raw.line, reason, store or None, sku, raw.warehouse))

        if not store:
            reject("store is missing")
            continue
        # SKUs are case-sensitive in Shopify (docs/shopify.md#inventory): only surrounding
        # blanks are dropped.
        sku = sku.strip() if sku else None
        if not sku:
            reject("sku is missing")
            continue
        if len(sku) > MAX_FIELD or len(store) > MAX_FIELD or len(warehouse) > MAX_FIELD:
            reject(f"store, sku and warehouse may be at most {MAX_FIELD} characters")
            continue
        quantity = _quantity(raw.quantity)
        if isinstance(quantity, str):
            reject(quantity)
            continue
        good.append(LevelRow(raw.line, store, sku, warehouse, quantity))
    lines_by_key: dict[tuple[str, str, str], list[int]] = {}
    for row in good:
        lines_by_key.setdefault((row.store, row.sku, row.warehouse), []).append(row.line)
    duplicated = {key: lines for key, lines in lines_by_key.items() if len(lines) > 1}
    if duplicated:
        kept = []
        for row in good:
            lines = duplicated.get((row.store, row.sku, row.warehouse))
            if lines is None:
                kept.append(row)
                continue
            others = ", ".join(str(n) for n in lines if n != row.line)
            rejected.append(
                Rejection(
                    row.line,
                    f"duplicate row for this SKU and warehouse (also on line {others}); "
                    "send one row per SKU and warehouse",
                    row.store,
                    row.sku,
                    row.warehouse or None,
                )
            )
        good = kept
    rejected.sort(key=lambda r: r.line)
    return good, rejected


# --- rows to Shopify levels --------------------------------------------------------------------


class MappedSku(Protocol):
    """What the store's variants say about one SKU (``store.inventory.SkuEntry``)."""

    @property
    def item_ids(self) -> Sequence[str]: ...
    @property
    def tracked(self) -> bool: ...
    @property
    def levels(self) -> Mapping[str, Mapping[str, int]]: ...


@dataclass(frozen=True)
class StoreLevels:
    """Where one store's counts go: the quantity name set, the store's own location (its
    fulfillment-service location, for warehouses without locations and for an empty
    warehouse cell) and each configured warehouse's Shopify locations."""

    store: str
    quantity_name: str
    default_location: str | None
    warehouse_locations: Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class ResolvedRow:
    """A row with the Shopify level it sets and the quantity seen there at mapping."""

    row: LevelRow
    item_id: str
    location_id: str
    seen: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.item_id, self.location_id)


def location_for(place: StoreLevels, warehouse: str) -> str | None:
    """The Shopify location a warehouse's counts go to (its first location, else the
    store's own), or None when it has none or is not configured."""
    if not warehouse:
        return place.default_location
    if warehouse in place.warehouse_locations:
        locations = place.warehouse_locations[warehouse]
        return locations[0] if locations else place.default_location
    return None


def unmapped_reason(place: StoreLevels, warehouse: str) -> str:
    names = list(place.warehouse_locations)
    if warehouse and warehouse not in names:
        return f"warehouse {warehouse!r} is not configured (known: {', '.join(names)})"
    return (
        f"warehouse {warehouse or '(default)'!r} has no Shopify location: give it locations in "
        f"the settings or run `fulfillbridge store setup {place.store}`"
    )


def _rejection(row: LevelRow, reason: str) -> Rejection:
    return Rejection(row.line, reason, row.store, row.sku, row.warehouse or None)


def _row_problem(place: StoreLevels, row: LevelRow, entry: MappedSku | None) -> str | None:
    if entry is None:
        return (
            f"unknown SKU {row.sku!r} in store {place.store} (SKUs are case-sensitive; run "
            f"`fulfillbridge inventory map {place.store}` if it was just added)"
        )
    if len(entry.item_ids) > 1:
        return (
            f"SKU {row.sku!r} belongs to {len(entry.item_ids)} variants in store "
            f"{place.store}; make it unique in Shopify (not guessed)"
        )
    if not entry.tracked:
        return f"SKU {row.sku!r} is not tracked in Shopify: turn on inventory tracking"
    if location_for(place, row.warehouse) is None:
        return unmapped_reason(place, row.warehouse)
    return None


def resolve_rows(
    place: StoreLevels, rows: Sequence[LevelRow], mapping: Mapping[str, MappedSku]
) -> tuple[list[ResolvedRow], list[Rejection]]:
    """Each row's Shopify level, or its rejection. Never guessed: an unknown SKU, a SKU on
    several variants, an untracked item and a warehouse without a location are refused,
    and so are rows that set one item at one location twice (two warehouses may share a
    location, and Shopify refuses a repeated item/location pair in one call)."""
    resolved: list[ResolvedRow] = []
    rejected: list[Rejection] = []
    for row in rows:
        entry = mapping.get(row.sku)
        problem = _row_problem(place, row, entry)
        if problem is not None or entry is None:
            rejected.append(_rejection(row, problem or ""))
            continue
        location = location_for(place, row.warehouse)
        assert location is not None  # _row_problem refused the row otherwise
        seen = entry.levels.get(location, {}).get(place.quantity_name)
        resolved.append(ResolvedRow(row, entry.item_ids[0], location, seen))
    lines: dict[tuple[str, str], list[int]] = {}
    for found in resolved:
        lines.setdefault(found.key, []).append(found.row.line)
    kept = []
    for found in resolved:
        same = lines[found.key]
        if len(same) > 1:
            others = ", ".join(str(n) for n in same if n != found.row.line)
            rejected.append(
                _rejection(
                    found.row,
                    f"another row (line {others}) sets the same SKU at the same Shopify location",
                )
            )
        else:
            kept.append(found)
    return kept, rejected


# --- comparing with what we know ---------------------------------------------------------------


@dataclass(frozen=True)
class LevelTarget:
    """A level to be written: the inventory item at a location, and the quantities."""

    item_id: str
    location_id: str
    quantity: int
    known: int | None  # the last level we know Shopify holds (None: never read)
    revision: int  # bumps each time our record of this level changes
    line: int = 0
    sku: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.item_id, self.location_id)


def changed_levels(targets: Iterable[LevelTarget]) -> tuple[list[LevelTarget], list[LevelTarget]]:
    """(to send, already in sync): a level whose known value equals the wanted one is not
    sent again; that is also why a repeated upload writes nothing twice."""
    send: list[LevelTarget] = []
    same: list[LevelTarget] = []
    for target in targets:
        (same if target.known == target.quantity else send).append(target)
    return send, same


def chunks(items: Sequence[_T], size: int = CHUNK_SIZE) -> Iterator[list[_T]]:
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class StaleDecision(StrEnum):
    IN_SYNC = "in_sync"  # Shopify already holds the wanted quantity
    KEEP_SHOPIFY = "keep_shopify"  # Shopify's change is newer than the upload
    RETRY = "retry"  # the upload is newer: send again from the value just read


def decide_stale(
    *,
    wanted: int,
    current: int,
    current_updated_at: datetime | None,
    received_at: datetime,
    already_retried: bool,
) -> StaleDecision:
    """What to do with a row Shopify refused as CHANGE_FROM_QUANTITY_STALE, after reading
    the level again (see the module docstring for the rule and why)."""
    if current == wanted:
        return StaleDecision.IN_SYNC
    if already_retried:
        return StaleDecision.KEEP_SHOPIFY
    if current_updated_at is not None and current_updated_at > received_at:
        return StaleDecision.KEEP_SHOPIFY
    return StaleDecision.RETRY


def kept_shopify_reason(current: int, updated_at: datetime | None) -> str:
    """Why a row was not written when Shopify's change was newer (``KEEP_SHOPIFY``)."""
    return (
        f"changed in Shopify since our last read (now {current}, changed "
        f"{updated_at.isoformat() if updated_at else 'at an unknown time'}, "
        "after this upload): Shopify's value kept; send a new count to override"
    )


def chunk_key(store: str, quantity_name: str, targets: Sequence[LevelTarget]) -> str:
    """The ``@idempotent`` key of one inventorySetQuantities call. Made from what the call
    writes (each level, its from and to values and the revision of our record of it), so
    retrying the same chunk reuses the key, while a later change of the same level, even
    back to an earlier value, gets a new one."""
    digest = hashlib.sha256()
    digest.update(f"{store}\0{quantity_name}".encode())
    for t in targets:
        digest.update(f"\0{t.item_id}|{t.location_id}|{t.known}|{t.quantity}|{t.revision}".encode())
    return f"fulfillbridge-inventory-{digest.hexdigest()[:40]}"
