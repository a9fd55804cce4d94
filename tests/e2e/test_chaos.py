"""The chaos suite's small form (bench/chaos.py): real processes killed with SIGKILL in the
middle of writes to Shopify and while holding claims, Shopify answering 5xx, 429, dropping
connections and losing answers after the write ran, webhooks dropped, repeated and
reordered, the HTTP app down for a while; on SQLite, or on PostgreSQL when
FULFILLBRIDGE_TEST_POSTGRES_URL names a server. Nothing may be lost, doubled or stuck."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import REPO_ROOT

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(420)]


def _chaos_module():
    spec = importlib.util.spec_from_file_location("bench_chaos", REPO_ROOT / "bench" / "chaos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_chaos"] = module
    spec.loader.exec_module(module)
    return module


async def test_nothing_is_lost_doubled_or_stuck_through_chaos(
    fb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chaos = _chaos_module()
    # The run points these at its own home and sandbox schedule: restored afterwards.
    monkeypatch.setenv("FULFILLBRIDGE_SANDBOX_WEBHOOK_BACKOFF", "1")
    options = chaos.Options(
        orders=4,
        workers=2,
        postgres=os.environ.get("FULFILLBRIDGE_TEST_POSTGRES_URL"),
        time_limit=300.0,
    )
    report = await chaos.run_chaos(options, tmp_path)
    print(report.text())

    assert report.ok, report.text()
    assert len(report.created) == 2 + 4 * 4
    # Every injection happened.
    kills = " ".join(report.kills)
    assert "accept_request was at Shopify" in kills, kills
    assert "create_fulfillment was at Shopify" in kills, kills
    assert "holding claims" in kills and "blackout" in kills, kills
    for fault in ("slow", "server_error", "throttle", "drop", "lost"):
        assert report.faults[fault] > 0, report.faults
    # Every order was timed both ways.
    assert len(report.request_to_accepted) == len(report.created)
    assert len(report.shipment_to_fulfillment) == len(report.created)
    # What monitoring saw: unknown outcomes verified, THROTTLED answers counted, nothing
    # left in the queues.
    assert report.metrics["fulfillbridge_verifications_total"] >= 1, report.metrics
    assert report.metrics["fulfillbridge_shopify_throttled_total"] >= 1, report.metrics
    assert report.metrics.get("fulfillbridge_outbox_backlog", 0) == 0
    assert report.metrics.get("fulfillbridge_inbox_backlog", 0) == 0
