"""docs/prometheus-alerts.yml and docs/grafana-dashboard.json only name metrics the app
really exposes (its /metrics text, parsed), and both files load."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import yaml

from fulfillbridge.config import load_settings
from fulfillbridge.web.app import create_app

DOCS = Path(__file__).resolve().parents[2] / "docs"
NAME = re.compile(r"\bfulfillbridge_[a-z0-9_]+")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("",), "gauge": ("",)}


async def _exposed_names() -> set[str]:
    """Every series name the app's /metrics can show, from its # TYPE lines (a labelled
    counter with no samples yet still has its TYPE line)."""
    app = create_app(load_settings())
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bridge"
        ) as client:
            response = await client.get("/metrics")
    finally:
        await app.state.database.close()
    assert response.status_code == 200
    names = set()
    for line in response.text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names.update(name + suffix for suffix in SUFFIXES.get(kind, ("",)))
    return names


def _alert_rules() -> list[dict]:
    document = yaml.safe_load((DOCS / "prometheus-alerts.yml").read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert rules
    return rules


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_the_alert_rules_load_and_each_says_what_is_wrong() -> None:
    for rule in _alert_rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["alert"].startswith("Fulfillbridge")
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        assert rule["annotations"]["summary"]
        assert NAME.search(rule["expr"]), rule["alert"]
    names = [rule["alert"] for rule in _alert_rules()]
    assert len(names) == len(set(names))


async def test_every_metric_named_in_the_alerts_and_the_dashboard_is_exposed(fb_home) -> None:
    exposed = await _exposed_names()
    referenced = {
        name
        for expr in [r["expr"] for r in _alert_rules()] + _dashboard_exprs()
        for name in NAME.findall(expr)
    }
    assert referenced, "no metric referenced"
    assert referenced - exposed == set(), sorted(referenced - exposed)
    # Names are compared exactly: a near miss is not taken for the real one.
    assert "fulfillbridge_shopify_throttled_total" in exposed
    assert "fulfillbridge_shopify_throttle_total" not in exposed
    # And the dashboard shows the figures an operator alerts on.
    for needed in (
        "fulfillbridge_inbox_oldest_due_age_seconds",
        "fulfillbridge_outbox_oldest_due_age_seconds",
        "fulfillbridge_request_to_accepted_seconds_bucket",
        "fulfillbridge_shipment_to_fulfillment_seconds_bucket",
        "fulfillbridge_throttle_available_points",
    ):
        assert any(needed in expr for expr in _dashboard_exprs()), needed
