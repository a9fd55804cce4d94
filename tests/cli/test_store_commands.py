"""`fulfillbridge store ...` end to end against the sandbox over HTTP."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fulfillbridge.shopify import features_for
from tests.helpers import add_shop

FULL = "demo-shop.myshopify.com"


def _store_rows(home: Path) -> list[tuple]:
    db = home / "fulfillbridge.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT name, shop_domain FROM stores").fetchall()


def test_add_list_check_remove_with_full_scopes(cli, sandbox_url, fb_home) -> None:
    result = cli(
        "store",
        "add",
        "demo",
        "--shop",
        FULL,
        "--token",
        "-",
        "--api-url",
        sandbox_url,
        input="shpat_sandbox\n",
    )
    assert result.exit_code == 0, result.output
    assert "added store demo" in result.output
    assert "shpat_sandbox" not in result.output

    listed = cli("store", "list")
    assert listed.exit_code == 0
    assert "demo-shop.myshopify.com" in listed.output

    checked = cli("store", "check", "demo")
    assert checked.exit_code == 0, checked.output
    assert "Demo Shop" in checked.output
    assert "2026-07" in checked.output
    assert checked.output.count("│ ok ") == len(features_for())
    assert "│ missing" not in checked.output
    for feature in ("fulfillment_service", "inventory_sync"):
        assert feature in checked.output
    # A store audits only what it uses: returns and the merchant's own locations appear once
    # they are turned on.
    assert "returns" not in checked.output and "merchant_managed" not in checked.output
    configured = cli(
        "store", "configure", "demo", "--returns", "--mode", "order_management",
        "--location", "gid://shopify/Location/1",
    )  # fmt: skip
    assert configured.exit_code == 0, configured.output
    checked = cli("store", "check", "demo")
    assert checked.exit_code == 0, checked.output
    assert "returns" in checked.output and "merchant_managed_fulfillment" in checked.output
    assert "fulfil_assigned_orders" not in checked.output

    removed = cli("store", "remove", "demo", "--yes")
    assert removed.exit_code == 0
    assert _store_rows(fb_home) == []


def test_check_with_partial_scopes_names_missing_scope_and_fails(cli, sandbox_url) -> None:
    base = add_shop(
        sandbox_url,
        "partial.myshopify.com",
        access_token="shpat_partial",
        scopes=["read_orders", "read_locations", "write_fulfillments"],
    )
    result = cli(
        "store",
        "add",
        "partial",
        "--shop",
        "partial",
        "--token",
        "shpat_partial",
        "--api-url",
        base,
    )
    assert result.exit_code == 3, result.output
    assert "write_inventory" in result.output  # inventory sync needs it
    assert "write_assigned_fulfillment_orders" in result.output
    assert "ok" in result.output  # the features that are covered still say so
    again = cli("store", "check", "partial")
    assert again.exit_code == 3
    assert "Missing access scopes" in again.output


def test_client_credentials_store(cli, sandbox_url) -> None:
    result = cli(
        "store",
        "add",
        "cc",
        "--shop",
        FULL,
        "--client-id",
        "sandbox-client-id",
        "--client-secret",
        "sandbox-client-secret",
        "--api-url",
        sandbox_url,
    )
    assert result.exit_code == 0, result.output
    assert "sandbox-client-secret" not in result.output
    assert cli("store", "check", "cc").exit_code == 0


def test_wrong_token_is_one_clear_line_and_nothing_written(cli, sandbox_url, fb_home) -> None:
    result = cli(
        "store", "add", "demo", "--shop", FULL, "--token", "shpat_wrong", "--api-url", sandbox_url
    )
    assert result.exit_code == 1
    assert "401" in result.output or "token" in result.output.lower()
    assert "shpat_wrong" not in result.output
    assert "Traceback" not in result.output
    assert _store_rows(fb_home) == []


def test_malformed_shop_domain(cli, sandbox_url, fb_home) -> None:
    result = cli(
        "store", "add", "x", "--shop", "not a shop!", "--token", "t", "--api-url", sandbox_url
    )
    assert result.exit_code == 1
    assert "error:" in result.output and "shop" in result.output.lower()
    assert _store_rows(fb_home) == []


def test_unreachable_host(cli, fb_home) -> None:
    # Port 9 on loopback: nothing listens there, so the connection is refused at once.
    result = cli(
        "store", "add", "x", "--shop", FULL, "--token", "t", "--api-url", "http://127.0.0.1:9"
    )
    assert result.exit_code == 1
    assert "error:" in result.output
    assert "Traceback" not in result.output
    assert _store_rows(fb_home) == []


def test_no_credentials_and_conflicting_credentials(cli) -> None:
    none = cli("store", "add", "x", "--shop", FULL)
    assert none.exit_code == 1 and "no credentials" in none.output
    both = cli("store", "add", "x", "--shop", FULL, "--token", "t", "--client-id", "c")
    assert both.exit_code == 1 and "not both" in both.output


def test_bad_store_name_and_unknown_store(cli, sandbox_url) -> None:
    bad = cli(
        "store",
        "add",
        "Bad Name",
        "--shop",
        FULL,
        "--token",
        "shpat_sandbox",
        "--api-url",
        sandbox_url,
    )
    assert bad.exit_code == 1 and "not valid" in bad.output
    assert cli("store", "check", "nope").exit_code == 1
    assert "no store named 'nope'" in cli("store", "remove", "nope").output


def test_duplicate_store(cli, sandbox_url) -> None:
    args = (
        "store",
        "add",
        "demo",
        "--shop",
        FULL,
        "--token",
        "shpat_sandbox",
        "--api-url",
        sandbox_url,
    )
    assert cli(*args).exit_code == 0
    again = cli(*args)
    assert again.exit_code == 1 and "already exists" in again.output


def test_oauth_install_link(cli, sandbox_url) -> None:
    result = cli(
        "store",
        "add",
        "oa",
        "--shop",
        FULL,
        "--client-id",
        "sandbox-client-id",
        "--client-secret",
        "sandbox-client-secret",
        "--oauth",
        "--api-url",
        sandbox_url,
    )
    assert result.exit_code == 0, result.output
    assert "/admin/oauth/authorize?" in result.output
    assert "sandbox-client-secret" not in result.output
    check = cli("store", "check", "oa")
    assert check.exit_code == 1 and "not installed yet" in check.output


def test_webhook_secret_is_sealed_and_only_for_token_stores(cli, sandbox_url, fb_home) -> None:
    result = cli(
        "store",
        "add",
        "demo",
        "--shop",
        FULL,
        "--token",
        "shpat_sandbox",
        "--webhook-secret",
        "-",
        "--api-url",
        sandbox_url,
        input="whsec-value\n",
    )
    assert result.exit_code == 0, result.output
    raw = (fb_home / "fulfillbridge.db").read_bytes()
    assert b"whsec-value" not in raw
    wrong = cli(
        "store",
        "add",
        "cc",
        "--shop",
        "other",
        "--client-id",
        "c",
        "--client-secret",
        "s",
        "--webhook-secret",
        "x",
        "--api-url",
        sandbox_url,
    )
    assert wrong.exit_code == 1 and "goes with --token" in wrong.output


# The scope list a fulfilment integrator's onboarding guide asks merchants to grant: it has
# read_returns but not write_returns, and both kinds of fulfillment-order scopes.
PUBLISHED_INTEGRATOR_SCOPES = [
    "write_assigned_fulfillment_orders", "read_assigned_fulfillment_orders", "read_customers",
    "write_fulfillments", "read_fulfillments", "write_inventory", "read_inventory",
    "write_locations", "read_locations", "write_merchant_managed_fulfillment_orders",
    "read_merchant_managed_fulfillment_orders", "write_metaobject_definitions",
    "read_metaobject_definitions", "write_metaobjects", "read_metaobjects", "read_orders",
    "write_inventory_shipments_received_items", "read_inventory_shipments_received_items",
    "write_custom_fulfillment_services", "read_custom_fulfillment_services",
    "write_third_party_fulfillment_orders", "read_third_party_fulfillment_orders",
    "write_shipping", "read_shipping", "read_returns", "read_products",
    "write_inventory_transfers", "read_inventory_transfers",
]  # fmt: skip


def test_store_without_returns_passes_check_with_a_published_scope_list(cli, sandbox_url):
    base = add_shop(
        sandbox_url,
        "integrator.myshopify.com",
        access_token="shpat_integrator",
        scopes=PUBLISHED_INTEGRATOR_SCOPES,
    )
    added = cli(
        "store", "add", "int", "--shop", "integrator", "--token", "shpat_integrator",
        "--api-url", base,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    for mode in ("fulfillment_service", "order_management"):
        where = ["--location", "gid://shopify/Location/1"] if mode == "order_management" else []
        assert cli("store", "configure", "int", "--mode", mode, *where).exit_code == 0
        checked = cli("store", "check", "int")
        assert checked.exit_code == 0, checked.output
        assert "write_returns" not in checked.output
    # Turning returns on asks for what processing them needs, and says so.
    assert cli("store", "configure", "int", "--returns").exit_code == 0
    checked = cli("store", "check", "int")
    assert checked.exit_code == 3
    assert "write_returns" in checked.output and "Missing access scopes" in checked.output


def test_fulfillment_service_store_is_not_told_it_lacks_merchant_scopes(cli, sandbox_url):
    service_scopes = [
        "read_orders", "read_locations", "write_fulfillments", "read_fulfillments",
        "read_assigned_fulfillment_orders", "write_assigned_fulfillment_orders",
        "write_inventory", "read_products", "read_customers",
    ]  # fmt: skip
    base = add_shop(
        sandbox_url, "service.myshopify.com", access_token="shpat_service", scopes=service_scopes
    )
    added = cli(
        "store", "add", "svc", "--shop", "service", "--token", "shpat_service", "--api-url", base
    )
    assert added.exit_code == 0, added.output
    assert "merchant_managed" not in added.output
    configured = cli(
        "store", "configure", "svc", "--mode", "order_management",
        "--location", "gid://shopify/Location/1",
    )  # fmt: skip
    assert configured.exit_code == 0, configured.output
    checked = cli("store", "check", "svc")
    assert checked.exit_code == 3
    assert "write_merchant_managed_fulfillment_orders" in checked.output
