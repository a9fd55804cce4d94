"""The /__sandbox/ controls and fault injection, over real HTTP."""

from __future__ import annotations

import importlib.util
from collections import Counter

import httpx
import pytest

from fulfillbridge.sandbox.faults import FaultSettings, FaultSettingsError
from fulfillbridge.sandbox.server import SandboxServer

GRAPHQL = "/admin/api/2026-07/graphql.json"
TOKEN = {"X-Shopify-Access-Token": "shpat_sandbox"}


def test_reset_drops_added_shops_and_clock_changes(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.url
    httpx.post(f"{base}/__sandbox/shops", json={"domain": "extra"}).raise_for_status()
    httpx.post(f"{base}/__sandbox/clock", json={"advance": 3600}).raise_for_status()
    assert len(httpx.get(f"{base}/__sandbox/shops").json()["shops"]) == 2
    reset = httpx.post(f"{base}/__sandbox/reset")
    assert reset.status_code == 200
    assert [s["domain"] for s in reset.json()["shops"]] == ["demo-shop.myshopify.com"]
    assert sandbox_server.sandbox.clock._offset == 0


def test_adding_a_shop_validates_its_definition(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.url
    for body, fragment in (
        ({"domain": "bad domain!"}, "invalid shop domain"),
        ({"domain": "ok", "plan": "Gold"}, "unknown plan"),
        ({"domain": "demo-shop"}, "already exists"),
        ({"domain": "ok", "scopes": "read_orders,,"}, None),
    ):
        response = httpx.post(f"{base}/__sandbox/shops", json=body)
        if fragment is None:
            assert response.status_code == 201
        else:
            assert response.status_code == 400, body
            assert fragment in response.json()["error"]
    broken = httpx.post(
        f"{base}/__sandbox/shops", content=b"{", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]


def test_clock_controls(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.url
    frozen = httpx.post(f"{base}/__sandbox/clock", json={"freeze": "2026-03-01T12:00:00Z"}).json()
    assert frozen["frozen"] is True and frozen["now"].startswith("2026-03-01T12:00:00")
    moved = httpx.post(f"{base}/__sandbox/clock", json={"advance": 90}).json()
    assert moved["now"].startswith("2026-03-01T12:01:30")
    assert httpx.get(f"{base}/__sandbox/clock").json()["now"] == moved["now"]
    assert httpx.post(f"{base}/__sandbox/clock", json={"unfreeze": True}).json()["frozen"] is False
    bad = httpx.post(f"{base}/__sandbox/clock", json={"freeze": "yesterday"})
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["error"]
    assert httpx.post(f"{base}/__sandbox/clock", json={"advance": -1}).status_code == 400


def test_fault_settings_validate() -> None:
    assert FaultSettings.from_dict({}).api.active is False
    with pytest.raises(FaultSettingsError, match="between 0 and 1"):
        FaultSettings.from_dict({"api": {"server_error": 2}})
    with pytest.raises(FaultSettingsError, match="unknown api"):
        FaultSettings.from_dict({"api": {"explode": 0.1}})
    with pytest.raises(FaultSettingsError, match="more than 1"):
        FaultSettings.from_dict({"api": {"server_error": 0.6, "drop": 0.6}})


def test_faults_hit_roughly_their_share_with_a_fixed_seed(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.url
    settings = {"seed": 42, "api": {"server_error": 0.2, "throttle": 0.2, "drop": 0.1}}
    answer = httpx.post(f"{base}/__sandbox/faults", json=settings)
    assert answer.status_code == 200 and answer.json()["api"]["server_error"] == 0.2
    outcomes: Counter[str] = Counter()
    with httpx.Client(base_url=base, headers=TOKEN, timeout=10) as client:
        for _ in range(200):
            try:
                response = client.post(GRAPHQL, json={"query": "{ shop { name } }"})
            except httpx.TransportError:
                outcomes["dropped"] += 1
                continue
            if response.status_code == 500:
                assert response.json() == {"errors": "Internal Server Error"}
                outcomes["5xx"] += 1
            elif response.status_code == 429:
                assert response.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
                outcomes["429"] += 1
            else:
                assert response.json()["data"]["shop"]["name"] == "Demo Shop"
                outcomes["ok"] += 1
    assert sum(outcomes.values()) == 200
    assert 20 <= outcomes["5xx"] <= 60, outcomes
    assert 20 <= outcomes["429"] <= 60, outcomes
    assert 8 <= outcomes["dropped"] <= 35, outcomes
    assert 70 <= outcomes["ok"] <= 130, outcomes
    # The request log records what was inflicted.
    log = httpx.get(f"{base}/__sandbox/shops/demo-shop.myshopify.com/requests").json()["requests"]
    assert Counter(e["fault"] for e in log)["drop"] == outcomes["dropped"]
    # {} clears every fault.
    httpx.post(f"{base}/__sandbox/faults", json={}).raise_for_status()
    for _ in range(20):
        ok = httpx.post(base + GRAPHQL, json={"query": "{ shop { name } }"}, headers=TOKEN)
        assert ok.status_code == 200


def test_slow_fault_delays_the_answer(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.url
    httpx.post(
        f"{base}/__sandbox/faults", json={"seed": 1, "api": {"slow": 1.0, "slow_seconds": 0.3}}
    ).raise_for_status()
    response = httpx.post(base + GRAPHQL, json={"query": "{ shop { name } }"}, headers=TOKEN)
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.3


def test_bad_fault_settings_are_400(sandbox_server: SandboxServer) -> None:
    response = httpx.post(f"{sandbox_server.url}/__sandbox/faults", json={"api": {"drop": 5}})
    assert response.status_code == 400 and "api.drop" in response.json()["error"]


def test_state_dump_and_unknown_controls(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.url
    state = httpx.get(f"{base}/__sandbox/state", params={"shop": "demo-shop.myshopify.com"})
    assert state.status_code == 200
    body = state.json()
    assert body["shop"]["domain"] == "demo-shop.myshopify.com"
    assert body["locations"][0]["name"] == "Shop location"
    assert "sandbox-client-secret" not in state.text and "shpat_sandbox" not in state.text
    assert httpx.get(f"{base}/__sandbox/state", params={"shop": "nope"}).status_code == 404
    assert httpx.get(f"{base}/__sandbox/nothing").status_code == 404
    log = httpx.get(f"{base}/__sandbox/shops/nope.myshopify.com/requests")
    assert log.status_code == 404


def test_seed_calls_the_seed_module_or_says_it_is_missing(sandbox_server: SandboxServer) -> None:
    response = httpx.post(f"{sandbox_server.url}/__sandbox/seed", json={})
    if importlib.util.find_spec("fulfillbridge.sandbox.seed") is None:
        assert response.status_code == 501
        assert "fulfillbridge.sandbox.seed" in response.json()["error"]
    else:
        assert response.status_code in (200, 400), response.text


def test_first_faults_come_in_order_before_any_draw(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.url
    httpx.post(
        f"{base}/__sandbox/faults", json={"api": {"first": ["throttle", "server_error"]}}
    ).raise_for_status()
    statuses = [
        httpx.post(base + GRAPHQL, json={"query": "{ shop { name } }"}, headers=TOKEN).status_code
        for _ in range(4)
    ]
    assert statuses == [429, 500, 200, 200]
    for bad, said in (
        ({"first": ["explode"]}, "api.first must be a list of"),
        ({"first": "drop"}, "api.first must be a list of"),
        ({"first": ["slow"]}, "give api.slow_seconds"),
    ):
        answer = httpx.post(f"{base}/__sandbox/faults", json={"api": bad})
        assert answer.status_code == 400 and said in answer.json()["error"], answer.text
