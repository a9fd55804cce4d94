"""``make sandbox-conformance``'s function: every capture has a scenario and every compared
point matches; and the scorer itself notices a difference."""

from __future__ import annotations

import httpx
from tests.sandbox.conformance import CAPTURES, Replay, Tally, run_all, table

from fulfillbridge.sandbox.server import SandboxServer


async def test_every_capture_matches(sandbox_server: SandboxServer) -> None:
    tallies = await run_all(sandbox_server.url)
    assert sorted(t.scenario for t in tallies) == sorted(p.name for p in CAPTURES.glob("*.json"))
    assert [t.scenario for t in tallies if not t.ok] == [], table(tallies)
    assert sum(t.compared for t in tallies) > 5000  # the captures hold thousands of points
    assert table(tallies).splitlines()[-1].endswith("| yes")


async def test_the_scorer_counts_and_reports_differences() -> None:
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as client:
        replay = Replay(client, Tally("unit"))
    recorded = {
        "data": {
            "order": {
                "id": "gid://shopify/Order/111111",
                "name": "#1001",
                "createdAt": "2026-01-01T00:00:00Z",
                "lines": [{"id": "gid://shopify/LineItem/222222", "quantity": 2}],
            },
            "again": {"id": "gid://shopify/Order/111111"},
        }
    }
    answer = {
        "data": {
            "order": {
                "id": "gid://shopify/Order/5",
                "name": "#1",
                "createdAt": "2026-12-04T10:00:00Z",
                "lines": [{"id": "gid://shopify/LineItem/6", "quantity": 3}],
            },
            "again": {"id": "gid://shopify/Order/7"},  # not the order paired above
        }
    }
    replay.compare_body(recorded, answer, label="unit")
    tally = replay.tally
    # errors presence; data key set, order key set, id, name, createdAt, lines length,
    # line key set, line id, quantity, again key set, again id.
    assert tally.compared == 12
    assert tally.matched == 10
    assert [d.split(":")[0] for d in tally.differences] == [
        "unit.data.order.lines.0.quantity",
        "unit.data.again.id",
    ]
    assert not tally.ok
