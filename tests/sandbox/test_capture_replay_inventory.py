"""The inventory captures replayed against the sandbox over real HTTP: quantity names and
bounds of inventorySetQuantities, and the contracts of set, adjust, on_hand and move
(idempotency keys, changeFromQuantity, unknown ids, the read after them). The replay and its
comparison live in ``conformance``; the scenarios in ``conformance_scenarios``."""

from __future__ import annotations

import pytest
from tests.sandbox._replay_area import assert_capture_matches, captures_of

from fulfillbridge.sandbox.server import SandboxServer


@pytest.mark.parametrize("capture", captures_of("2026-04_products_"))
async def test_capture_matches(sandbox_server: SandboxServer, capture: str) -> None:
    await assert_capture_matches(sandbox_server, capture)
