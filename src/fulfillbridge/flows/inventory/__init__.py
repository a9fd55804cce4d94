"""Inventory sync: the operation's stock levels into each store's Shopify inventory.

One module per role:

- ``mapping``: ``refresh_mapping`` reads every variant of a store (a bulk operation when
  there is more than one page) into the SKU -> inventory item mapping;
- ``catalogue``: ``apply_catalogue_event`` keeps that mapping fresh from the ``products/*``
  and ``inventory_items/*`` webhooks (the worker runs it);
- ``push``: ``push`` checks rows, resolves them to Shopify levels (``core.inventory``),
  keeps the changed ones and records what became of each row; ``status`` and
  ``fetch_stock`` read what it recorded;
- ``send``: ``inventorySetQuantities`` in chunks of 250, idempotent, compare-and-set, with
  refused rows split out and stale ones settled;
- ``lock``: one push per store at a time (``store_lock``), whichever process it comes from;
- ``base``: the errors, the call meter, where a store's counts go.

Warehouse -> location: the warehouse's first location in ``settings.warehouses``, else the
store's fulfillment-service location (``StoreRow.settings["location_id"]``); an empty
warehouse cell means the store's location. The quantity name set is the store's
``inventory_quantity_name`` ("available" or "on_hand"; default ``on_hand``, see
``core.inventory.DEFAULT_QUANTITY_NAME`` for why). ``flows.inventory_feed`` polls each
store's feed and pushes it the same way.
"""

from fulfillbridge.flows.inventory.base import (
    CallMeter,
    InventorySyncError,
    StoreBusy,
    quantity_name,
    store_levels,
)
from fulfillbridge.flows.inventory.catalogue import CATALOGUE_TOPICS, apply_catalogue_event
from fulfillbridge.flows.inventory.lock import store_lock
from fulfillbridge.flows.inventory.mapping import MappingReport, refresh_mapping
from fulfillbridge.flows.inventory.push import (
    PushReport,
    StoreResult,
    fetch_stock,
    push,
    status,
)
from fulfillbridge.flows.inventory.send import ChunkResult, send_chunk

__all__ = [
    "CATALOGUE_TOPICS",
    "CallMeter",
    "ChunkResult",
    "InventorySyncError",
    "MappingReport",
    "PushReport",
    "StoreBusy",
    "StoreResult",
    "apply_catalogue_event",
    "fetch_stock",
    "push",
    "quantity_name",
    "refresh_mapping",
    "send_chunk",
    "status",
    "store_levels",
    "store_lock",
]
