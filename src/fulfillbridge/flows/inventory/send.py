"""Writing levels to Shopify with ``inventorySetQuantities``, in chunks of up to 250:

- each call carries ``@idempotent(key)`` made from the chunk's content
  (``core.inventory.chunk_key``): a retry of the same chunk (lost answer, crash and rerun)
  reuses the key, and Shopify answers the first result without applying it again;
- ``changeFromQuantity`` is the last level we know (null when we never read it), so a change
  made in Shopify meanwhile is detected, not overwritten; on CHANGE_FROM_QUANTITY_STALE the
  item is read again and ``core.inventory.decide_stale`` decides;
- Shopify applies a call all or nothing: rows it refuses are split out, reported with
  Shopify's message, and the rest of the chunk is sent again (a new key: new content).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fulfillbridge.core.inventory import (
    CHUNK_SIZE,
    LevelTarget,
    StaleDecision,
    chunk_key,
    chunks,
    decide_stale,
    kept_shopify_reason,
)
from fulfillbridge.flows.inventory.base import CallMeter, log
from fulfillbridge.shopify import OutcomeUnknown, ShopifyClient
from fulfillbridge.shopify.inventory import (
    level_quantities,
    set_quantities_input,
    sort_set_quantities_errors,
)

_SEND_ATTEMPTS = 3  # same chunk, same key, after a lost answer
_SPLIT_PASSES = 5  # resends of a chunk after refused rows were split out

Progress = Callable[[int, int], None]  # (levels done, levels to send)


@dataclass
class ChunkResult:
    """What one chunk came to: applied targets, refused ones with reasons, stale ones."""

    applied: list[LevelTarget] = field(default_factory=list)
    refused: list[tuple[LevelTarget, str]] = field(default_factory=list)
    stale: list[LevelTarget] = field(default_factory=list)


async def _set_quantities(
    client: ShopifyClient, meter: CallMeter, variables: dict[str, Any]
) -> dict[str, Any]:
    for attempt in range(_SEND_ATTEMPTS):
        try:
            data = await meter.execute(client, "InventorySetQuantities", variables)
            return data["inventorySetQuantities"] or {}
        except OutcomeUnknown:
            if attempt == _SEND_ATTEMPTS - 1:
                raise
            log.warning("inventory chunk answer lost; retrying with the same key")
    raise AssertionError("unreachable: the last attempt returns or raises")


async def send_chunk(
    client: ShopifyClient,
    meter: CallMeter,
    store: str,
    name: str,
    targets: Sequence[LevelTarget],
) -> ChunkResult:
    """Write one chunk (at most 250 levels). Refused rows are split out and the rest is sent
    again until it goes through or nothing is left. A lost answer (OutcomeUnknown) is
    retried with the same key, which Shopify answers without applying twice."""
    result = ChunkResult()
    remaining = list(targets)
    for _ in range(_SPLIT_PASSES):
        if not remaining:
            break
        key = chunk_key(store, name, remaining)
        variables = {"input": set_quantities_input(name, remaining), "key": key}
        payload = await _set_quantities(client, meter, variables)
        errors = sort_set_quantities_errors(payload.get("userErrors") or [], len(remaining))
        if errors.batch is not None:
            # Not about one row (e.g. the reason or name): every row is refused with it.
            result.refused += [(t, f"Shopify refused the batch: {errors.batch}") for t in remaining]
            return result
        if not errors.refused and not errors.stale:
            result.applied += remaining
            return result
        result.refused += [
            (remaining[i], f"Shopify refused the row: {message}")
            for i, message in sorted(errors.refused.items())
        ]
        result.stale += [remaining[i] for i in sorted(errors.stale)]
        remaining = [
            t for i, t in enumerate(remaining) if i not in errors.refused and i not in errors.stale
        ]
    for target in remaining:  # bounded: give the rest back as refused rather than loop
        result.refused.append((target, "not applied: Shopify kept refusing this batch"))
    return result


async def _reread(
    client: ShopifyClient, meter: CallMeter, name: str, targets: Sequence[LevelTarget]
) -> dict[tuple[str, str], tuple[int, datetime | None]]:
    """Current (quantity, updatedAt) of the targets' levels."""
    found: dict[tuple[str, str], tuple[int, datetime | None]] = {}
    ids = sorted({t.item_id for t in targets})
    for part in chunks(ids, CHUNK_SIZE):
        data = await meter.execute(client, "InventoryLevelsReread", {"ids": part})
        found.update(level_quantities(data, name))
    return found


@dataclass
class SendOutcome:
    applied: list[LevelTarget] = field(default_factory=list)
    in_sync: list[tuple[LevelTarget, int]] = field(default_factory=list)  # with Shopify's value
    refused: list[tuple[LevelTarget, str, int | None]] = field(default_factory=list)


async def _settle_stale(
    client: ShopifyClient,
    meter: CallMeter,
    store: str,
    name: str,
    stale: Sequence[LevelTarget],
    received_at: datetime,
    outcome: SendOutcome,
) -> None:
    """Read stale levels again and apply the rule of ``core.inventory.decide_stale``."""
    pending = list(stale)
    retried = False
    for _ in range(2):
        if not pending:
            return
        current = await _reread(client, meter, name, pending)
        retry: list[LevelTarget] = []
        for target in pending:
            quantity, updated_at = current.get(target.key, (None, None))
            if quantity is None:
                outcome.refused.append((target, "the level vanished from Shopify", None))
                continue
            decision = decide_stale(
                wanted=target.quantity,
                current=quantity,
                current_updated_at=updated_at,
                received_at=received_at,
                already_retried=retried,
            )
            if decision is StaleDecision.IN_SYNC:
                outcome.in_sync.append((target, quantity))
            elif decision is StaleDecision.KEEP_SHOPIFY:
                outcome.refused.append(
                    (target, kept_shopify_reason(quantity, updated_at), quantity)
                )
            else:
                retry.append(
                    LevelTarget(
                        target.item_id,
                        target.location_id,
                        target.quantity,
                        quantity,
                        target.revision,
                        target.line,
                        target.sku,
                    )
                )
        retried = True
        pending = []
        for part in chunks(retry):
            result = await send_chunk(client, meter, store, name, part)
            outcome.applied += result.applied
            outcome.refused += [(t, reason, None) for t, reason in result.refused]
            pending += result.stale


async def send_all(
    client: ShopifyClient,
    meter: CallMeter,
    store: str,
    name: str,
    targets: Sequence[LevelTarget],
    received_at: datetime,
    progress: Progress | None,
) -> SendOutcome:
    """Write every target, chunk by chunk, then settle the stale ones."""
    outcome = SendOutcome()
    stale: list[LevelTarget] = []
    done = 0
    for part in chunks(targets):
        result = await send_chunk(client, meter, store, name, part)
        outcome.applied += result.applied
        outcome.refused += [(t, reason, None) for t, reason in result.refused]
        stale += result.stale
        done += len(part)
        if progress is not None:
            progress(done, len(targets))
    await _settle_stale(client, meter, store, name, stale, received_at, outcome)
    return outcome
