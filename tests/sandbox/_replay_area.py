"""Runs the conformance scenarios of one area as pytest cases (one per capture file)."""

from __future__ import annotations

from tests.sandbox import conformance_scenarios  # noqa: F401  (registers the scenarios)
from tests.sandbox.conformance import SCENARIOS, run_scenario

from fulfillbridge.sandbox.server import SandboxServer


def captures_of(*prefixes: str) -> list[str]:
    chosen = sorted(c for c in SCENARIOS if c.startswith(prefixes))
    assert chosen, prefixes
    return chosen


async def assert_capture_matches(server: SandboxServer, capture: str) -> None:
    tally = await run_scenario(server.url, capture)
    assert tally.failure is None, tally.failure
    assert tally.differences == [], "\n".join(tally.differences)
    assert tally.compared > 0 and tally.matched == tally.compared
