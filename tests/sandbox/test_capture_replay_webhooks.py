"""The webhook-subscription capture replayed against the sandbox over real HTTP: reads, the
create/update/delete lifecycle, filters, address validation and GraphQL validation. The
replay and its comparison live in ``conformance``; the scenario in
``conformance_scenarios``."""

from __future__ import annotations

import pytest
from tests.sandbox._replay_area import assert_capture_matches, captures_of

from fulfillbridge.sandbox.server import SandboxServer


@pytest.mark.parametrize("capture", captures_of("2026-04_webhooks_"))
async def test_capture_matches(sandbox_server: SandboxServer, capture: str) -> None:
    await assert_capture_matches(sandbox_server, capture)
