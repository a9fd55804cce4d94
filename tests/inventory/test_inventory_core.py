"""The pure parts: CSV reading, row checks, diffing, chunking, keys and the stale rule."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from fulfillbridge.core.inventory import (
    InventoryInputError,
    LevelRow,
    LevelTarget,
    RawRow,
    StaleDecision,
    StoreLevels,
    changed_levels,
    check_rows,
    chunk_key,
    chunks,
    decide_stale,
    parse_csv,
    resolve_rows,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_csv_rows_keep_line_numbers_and_unreadable_rows_are_rejected() -> None:
    text = 'sku,warehouse,quantity\nMUG,main,1\n\nTEE,main\n"SCARF\nRED",berlin,3\nHAT,,4\n'
    rows, rejected = parse_csv(text, default_store="acme")
    assert [(r.line, r.sku, r.store) for r in rows] == [
        (2, "MUG", "acme"),
        (6, "SCARF\nRED", "acme"),
        (7, "HAT", "acme"),
    ]
    assert [(r.line, r.reason) for r in rejected] == [(4, "expected 3 cells, found 2")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("sku,count\nA,1\n", "header must name"),
        ("sku,sku,quantity\n", "header must name"),
        ("sku,quantity\nA,1\n", "no store column"),
    ],
)
def test_unusable_csv_is_refused_as_a_whole(text: str, problem: str) -> None:
    with pytest.raises(InventoryInputError, match=problem):
        parse_csv(text)


def test_row_checks_name_each_problem() -> None:
    raw = [
        RawRow(2, "acme", "A", "main", "5"),
        RawRow(3, "acme", "B", "main", -1),
        RawRow(4, "acme", "C", "main", 1_000_000_001),
        RawRow(5, "acme", "D", "main", 1_000_000_000),
        RawRow(6, "acme", "E", "main", 2.5),
        RawRow(7, "acme", "", "main", 1),
        RawRow(8, "", "F", "main", 1),
        RawRow(9, "acme", "G", "main", True),
        RawRow(10, "acme", "A", "", 6),  # another warehouse (the default): not a duplicate
        RawRow(11, "acme", "H", "main", 1),
        RawRow(12, "acme", "H", "main", 2),
        RawRow(13, "acme", "h", "main", 2),  # case-sensitive: another SKU
    ]
    good, rejected = check_rows(raw)
    assert [(r.line, r.quantity) for r in good] == [(2, 5), (5, 1_000_000_000), (10, 6), (13, 2)]
    reasons = {r.line: r.reason for r in rejected}
    assert reasons == {
        3: "quantity -1 is negative",
        4: "quantity 1000000001 is above Shopify's limit of 1,000,000,000",
        6: "quantity 2.5 is not a whole number",
        7: "sku is missing",
        8: "store is missing",
        9: "quantity must be a whole number",
        11: "duplicate row for this SKU and warehouse (also on line 12); "
        "send one row per SKU and warehouse",
        12: "duplicate row for this SKU and warehouse (also on line 11); "
        "send one row per SKU and warehouse",
    }


def _target(quantity: int, known: int | None, revision: int = 0) -> LevelTarget:
    return LevelTarget(
        "gid://shopify/InventoryItem/1", "gid://shopify/Location/1", quantity, known, revision
    )


def test_only_changed_levels_are_sent_and_chunks_are_at_most_250() -> None:
    send, same = changed_levels([_target(5, 5), _target(6, 5), _target(0, None)])
    assert [t.quantity for t in send] == [6, 0] and [t.quantity for t in same] == [5]
    assert [len(c) for c in chunks(list(range(501)))] == [250, 250, 1]
    with pytest.raises(ValueError):
        list(chunks([1], 0))


def test_chunk_key_is_stable_for_the_same_chunk_and_new_for_any_change() -> None:
    key = chunk_key("acme", "on_hand", [_target(5, 3)])
    assert key == chunk_key("acme", "on_hand", [_target(5, 3)])
    others = {
        chunk_key("acme", "on_hand", [_target(5, 3, revision=1)]),  # same values, later
        chunk_key("acme", "on_hand", [_target(5, 4)]),
        chunk_key("acme", "available", [_target(5, 3)]),
        chunk_key("globex", "on_hand", [_target(5, 3)]),
    }
    assert key not in others and len(others) == 4


def test_stale_rule() -> None:
    def decide(current: int, changed: datetime | None, retried: bool = False) -> StaleDecision:
        return decide_stale(
            wanted=10,
            current=current,
            current_updated_at=changed,
            received_at=NOW,
            already_retried=retried,
        )

    assert decide(10, NOW + timedelta(hours=1)) is StaleDecision.IN_SYNC
    assert decide(7, NOW + timedelta(seconds=1)) is StaleDecision.KEEP_SHOPIFY
    assert decide(7, NOW - timedelta(seconds=1)) is StaleDecision.RETRY
    assert decide(7, None) is StaleDecision.RETRY
    assert decide(7, NOW - timedelta(seconds=1), retried=True) is StaleDecision.KEEP_SHOPIFY


# --- rows to Shopify levels (core.inventory.resolve_rows) ---------------------------------------

ITEM = "gid://shopify/InventoryItem/1"
OTHER_ITEM = "gid://shopify/InventoryItem/2"
HOME = "gid://shopify/Location/10"
BERLIN = "gid://shopify/Location/20"


@dataclass(frozen=True)
class _Sku:
    item_ids: tuple[str, ...]
    tracked: bool = True
    levels: dict[str, dict[str, int]] = field(default_factory=dict)


PLACE = StoreLevels(
    store="acme",
    quantity_name="on_hand",
    default_location=HOME,
    warehouse_locations={"main": (), "berlin": (BERLIN,), "annex": (BERLIN,)},
)
MAPPING = {
    "MUG": _Sku((ITEM,), levels={HOME: {"on_hand": 3, "available": 1}, BERLIN: {"on_hand": 9}}),
    "TWIN": _Sku((ITEM, OTHER_ITEM)),
    "LOOSE": _Sku((OTHER_ITEM,), tracked=False),
}


@pytest.mark.parametrize(
    ("sku", "warehouse", "place", "expected"),
    [
        ("MUG", "", PLACE, (ITEM, HOME, 3)),  # empty cell: the store's own location
        ("MUG", "main", PLACE, (ITEM, HOME, 3)),  # a warehouse without locations: the same
        ("MUG", "berlin", PLACE, (ITEM, BERLIN, 9)),  # its first location
        ("MUG", "", replace(PLACE, quantity_name="available"), (ITEM, HOME, 1)),
        ("mug", "", PLACE, "unknown SKU 'mug' in store acme (SKUs are case-sensitive"),
        ("TWIN", "", PLACE, "belongs to 2 variants in store acme"),
        ("LOOSE", "", PLACE, "is not tracked in Shopify"),
        ("MUG", "paris", PLACE, "warehouse 'paris' is not configured (known: main, berlin"),
        ("MUG", "", replace(PLACE, default_location=None), "has no Shopify location"),
    ],
)
def test_each_row_resolves_to_one_level_or_a_reason(
    sku: str, warehouse: str, place: StoreLevels, expected: tuple | str
) -> None:
    row = LevelRow(2, "acme", sku, warehouse, 5)
    resolved, rejected = resolve_rows(place, [row], MAPPING)
    if isinstance(expected, tuple):
        assert rejected == []
        assert [(r.item_id, r.location_id, r.seen) for r in resolved] == [expected]
    else:
        assert resolved == []
        (rejection,) = rejected
        assert expected in rejection.reason
        assert (rejection.line, rejection.store, rejection.sku) == (2, "acme", sku)


def test_two_rows_for_one_level_are_both_refused() -> None:
    rows = [
        LevelRow(2, "acme", "MUG", "berlin", 5),
        LevelRow(3, "acme", "MUG", "annex", 6),  # another warehouse, the same location
        LevelRow(4, "acme", "MUG", "", 7),
    ]
    resolved, rejected = resolve_rows(PLACE, rows, MAPPING)
    assert [r.row.line for r in resolved] == [4]
    assert [(r.line, r.reason) for r in rejected] == [
        (2, "another row (line 3) sets the same SKU at the same Shopify location"),
        (3, "another row (line 2) sets the same SKU at the same Shopify location"),
    ]
