"""`fulfillbridge store ...` end to end against the sandbox over HTTP."""

from __future__ import annotations

import json
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


def _sealed(home: Path, name: str) -> tuple:
    with sqlite3.connect(home / "fulfillbridge.db") as conn:
        return conn.execute(
            "SELECT id, sealed_secrets, api_base_url FROM stores WHERE name = ?", (name,)
        ).fetchone()


def _secrets(name: str) -> dict[str, str]:
    import asyncio

    from fulfillbridge.config import load_settings
    from fulfillbridge.store.database import Database

    async def read() -> dict[str, str]:
        database = Database.from_settings(load_settings())
        try:
            async with database.stores() as stores:
                return await stores.secrets(name)
        finally:
            await database.close()

    return asyncio.run(read())


def test_update_replaces_credentials_in_place_after_checking_them(
    cli, sandbox_url, fb_home
) -> None:
    shop = "rotate.myshopify.com"
    apps = [
        {"access_token": "shpat_old", "client_id": "rot-a", "client_secret": "rot-a-secret"},
        {"access_token": "shpat_new", "client_id": "rot-b", "client_secret": "rot-b-secret"},
        {
            "access_token": "shpat_narrow",
            "client_id": "rot-c",
            "client_secret": "rot-c-secret",
            "scopes": ["read_orders", "read_locations"],
        },
    ]
    base = add_shop(sandbox_url, shop, apps=apps)
    added = cli(
        "store", "add", "rot", "--shop", shop, "--token", "shpat_old",
        "--webhook-secret", "whsec-old", "--api-url", base,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    before = _sealed(fb_home, "rot")

    refusals = [
        (("--token", "shpat_wrong"), "401"),
        # Another shop's credentials: refused, whatever they are worth.
        (("--token", "shpat_sandbox", "--api-url", sandbox_url), f"not {shop}"),
        (("--api-url", "http://127.0.0.1:9"), "127.0.0.1:9"),
        (("--api-url", "ftp://x"), "is not an http(s) URL"),
        (("--client-secret", "s"), "give --token"),
        (("--token", " "), "the token is empty"),
        ((), "nothing to update"),
    ]
    for options, words in refusals:
        result = cli("store", "update", "rot", *options)
        assert result.exit_code == 1, (options, result.output)
        assert words in result.output and "Traceback" not in result.output, (options, result.output)
        assert "shpat_wrong" not in result.output
        assert _sealed(fb_home, "rot") == before, options
    unknown = cli("store", "update", "nope", "--token", "x")
    assert unknown.exit_code == 1 and "no store named 'nope'" in unknown.output

    rotated = cli(
        "store", "update", "rot", "--token", "-", "--webhook-secret", "-",
        input="shpat_new\nwhsec-new\n",
    )  # fmt: skip
    assert rotated.exit_code == 0, rotated.output
    assert "updated store rot: token, webhook secret" in rotated.output
    assert "shpat_new" not in rotated.output and "whsec-new" not in rotated.output
    raw = (fb_home / "fulfillbridge.db").read_bytes()
    assert b"shpat_new" not in raw and b"whsec-new" not in raw
    after = _sealed(fb_home, "rot")
    assert after[0] == before[0] and after[2] == before[2]  # the same store, kept in place
    secrets = _secrets("rot")
    assert secrets["access_token"] == "shpat_new"
    # Webhooks Shopify signed with the old secret before the rotation are still accepted.
    assert (secrets["webhook_secret"], secrets["previous_webhook_secret"]) == (
        "whsec-new",
        "whsec-old",
    )
    assert cli("store", "check", "rot").exit_code == 0

    # A token with scopes missing is stored, like `store add`, and the audit says so (3).
    narrow = cli("store", "update", "rot", "--token", "shpat_narrow")
    assert narrow.exit_code == 3, narrow.output
    assert "missing" in narrow.output and "write_fulfillments" in narrow.output


def test_update_of_a_client_credentials_store(cli, sandbox_url, fb_home) -> None:
    added = cli(
        "store", "add", "cc", "--shop", FULL, "--client-id", "sandbox-client-id",
        "--client-secret", "sandbox-client-secret", "--api-url", sandbox_url,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    before = _sealed(fb_home, "cc")
    token = cli("store", "update", "cc", "--token", "shpat_x")
    assert token.exit_code == 1 and "give --client-secret" in token.output
    wrong = cli("store", "update", "cc", "--client-secret", "not-the-secret")
    assert wrong.exit_code == 1 and "not-the-secret" not in wrong.output
    assert _sealed(fb_home, "cc") == before
    elsewhere = f"{sandbox_url}/shops/{FULL}"
    moved = cli("store", "update", "cc", "--api-url", f"{elsewhere}/", "--json")
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.stdout)["updated"] == ["api url"]
    assert _sealed(fb_home, "cc")[2] == elsewhere
    assert cli("store", "check", "cc").exit_code == 0
