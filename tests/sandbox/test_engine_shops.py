"""Shops files, several shops and apps, and the outbound dispatcher's lifespan hook."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import httpx
import pytest

from fulfillbridge.sandbox.app import SandboxConfig
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import Sandbox, ShopConfigError, load_shops_file

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sandbox-shops.example.toml"
GRAPHQL = "/admin/api/2026-07/graphql.json"


def test_example_shops_file_loads() -> None:
    sandbox = Sandbox(load_shops_file(EXAMPLE))
    assert list(sandbox.shops) == ["acme.myshopify.com", "second-store.myshopify.com"]
    acme = sandbox.shops["acme.myshopify.com"]
    assert acme.state.plan == "Advanced" and acme.state.currency_code == "EUR"
    reader = acme.app_by_client_id("acme-reader-id")
    assert reader is not None and reader.scopes == {"read_orders", "read_locations"}
    assert sandbox.app_secret("acme.myshopify.com", reader.app_id) == "acme-reader-secret"
    # Secrets stay out of reprs.
    assert "acme-reader-secret" not in repr(acme) and "shpat_acme_reader" not in repr(reader)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "defines no [[shops]]"),
        ("[[shops]]\ndomain = 'x'\nplan = 'Huge'\n", "unknown plan"),
        ("[[shops]\n", "not valid TOML"),
        ("[[shops]]\ndomain = 'a b'\n", "invalid shop domain"),
    ],
)
def test_bad_shops_files_name_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    file = tmp_path / "shops.toml"
    file.write_text(text)
    with pytest.raises(ShopConfigError, match=re.escape(problem)):
        Sandbox(load_shops_file(file))


def test_missing_shops_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ShopConfigError, match="cannot read shops file"):
        load_shops_file(tmp_path / "absent.toml")


def test_server_with_shops_file_serves_each_shop_and_app() -> None:
    with SandboxServer(SandboxConfig(shops_file=EXAMPLE)) as server:
        acme = server.url + "/shops/acme.myshopify.com" + GRAPHQL
        query = {"query": "{ shop { name } locations(first: 1) { nodes { id } } }"}
        full = httpx.post(acme, json=query, headers={"X-Shopify-Access-Token": "shpat_acme_local"})
        assert full.json()["data"]["shop"]["name"] == "Acme Prints"
        assert full.json()["extensions"]["cost"]["throttleStatus"]["restoreRate"] == 200
        # The reader app has its own bucket.
        reader = httpx.post(
            acme,
            json={"query": "{ shop { name } }"},
            headers={"X-Shopify-Access-Token": "shpat_acme_reader"},
        )
        assert reader.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 3999
        # A host that is not a shop domain reaches the first configured shop.
        plain = httpx.post(
            server.url + GRAPHQL,
            json={"query": "{ shop { name } }"},
            headers={"X-Shopify-Access-Token": "shpat_acme_local"},
        )
        assert plain.json()["data"]["shop"]["name"] == "Acme Prints"
        second = httpx.post(
            server.url + GRAPHQL,
            json={"query": "{ shop { name } }"},
            headers={
                "X-Shopify-Access-Token": "shpat_sandbox",
                "Host": "second-store.myshopify.com",
            },
        )
        assert second.json()["data"]["shop"]["name"] == "Second Store"


def test_outbound_dispatcher_starts_with_the_server(sandbox_server: SandboxServer) -> None:
    app = sandbox_server.app
    assert app is not None
    if importlib.util.find_spec("fulfillbridge.sandbox.outbound") is None:
        assert app.outbound is None
        return
    assert app.outbound is not None
    # Shops created after startup are attached too.
    httpx.post(sandbox_server.url + "/__sandbox/shops", json={"domain": "late"}).raise_for_status()
    late = sandbox_server.sandbox.shop("late.myshopify.com")
    assert late is not None and late.state.listeners
