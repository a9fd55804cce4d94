"""The order, fulfillment and fulfillment-service captures replayed against the sandbox over
real HTTP (the replay and its comparison live in ``conformance``; the scenarios, one per
capture, in ``conformance_scenarios``)."""

from __future__ import annotations

import pytest
from tests.sandbox._replay_area import assert_capture_matches, captures_of

from fulfillbridge.sandbox.server import SandboxServer


@pytest.mark.parametrize("capture", captures_of("2025-01_orders_", "2026-04_orders_",
                                                "2026-04_shipping-fulfillments_"))  # fmt: skip
async def test_capture_matches(sandbox_server: SandboxServer, capture: str) -> None:
    await assert_capture_matches(sandbox_server, capture)
