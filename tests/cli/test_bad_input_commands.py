"""Broken input on the commands that no other test tries it on. Each must exit non-zero with
one clear line naming the problem (or Click's usage error for a malformed option), never a
traceback, and write nothing."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN


def _database_rows(home: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the embedded database ({} when there is none)."""
    path = home / "fulfillbridge.db"
    if not path.exists():
        return {}
    with sqlite3.connect(path) as conn:
        tables = [
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {t: conn.execute(f'SELECT * FROM "{t}"').fetchall() for t in sorted(tables)}


def _one_clear_line(result, *words: str) -> None:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: "), result.output
    for word in words:
        assert word in lines[0], (word, result.output)


def _usage_error(result, option: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"Invalid value for '{option}'" in result.output, result.output


@pytest.fixture
def fulfillbridge_logger() -> Iterator[None]:
    """`serve` and `worker` configure the ``fulfillbridge`` logger before they fail; put it
    back so later tests' log capture still works."""
    logger = logging.getLogger("fulfillbridge")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture
def demo_store(cli, sandbox_url: str, fb_home: Path) -> dict[str, list[tuple]]:
    """Store `demo` on the sandbox's shop; answers the database as it is then."""
    added = cli(
        "store",
        "add",
        "demo",
        "--shop",
        DEFAULT_SHOP_DOMAIN,
        "--token",
        DEFAULT_ACCESS_TOKEN,
        "--api-url",
        sandbox_url,
        "--no-check",
    )
    assert added.exit_code == 0, added.output
    return _database_rows(fb_home)


# --- store configure and store setup -----------------------------------------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--mode", "teleport"], ["unknown mode 'teleport'", "fulfillment_service"]),
        (["--location", "nope"], ["location 'nope' is not a Shopify location id"]),
        (
            ["--mode", "order_management", "--location", "gid://shopify/Location/abc"],
            ["gid://shopify/Location/abc", "is not a Shopify location id"],
        ),
        (["--mode", "order_management"], ["needs the merchant locations", "--location"]),
        (["--inventory-quantity", "lots"], ["unknown inventory quantity 'lots'", "on_hand"]),
        (["--catalogue", "{binary}"], ["catalogue file", "cannot be read"]),
        (["--catalogue", "{spaced}"], ["line 2: SKU 'MUG RED' has spaces"]),
        (["--catalogue", "{empty}"], ["holds no SKU"]),
        (["--catalogue", "{spaced}", "--no-catalogue"], ["not both"]),
        (["--shipping-rules", "{binary}"], ["shipping rules file", "cannot be read"]),
        (["--shipping-rules", "{spaced}"], ["shipping rules file", "is not JSON"]),
        (["--shipping-rules", "{no_carrier}"], ["rule 1 names no carrier"]),
        (["--shipping-rules", "{bad_kind}"], ["delivery 'teleport' is not one of"]),
        (["--shipping-rules", "{unknown_key}"], ["rule 1 has unknown keys: speed"]),
        (["--shipping-rules", "{spaced}", "--no-shipping-rules"], ["not both"]),
        (["--metafield", "custom.recipe"], ["must be OWNER:namespace.key"]),
        (["--metafield", "customer:custom.x"], ["OWNER one of order, product, variant"]),
        (["--metafield", "order:recipe"], ["the key must be namespace.key"]),
        (["--operation-webhook-url", "ftp://ops.example/in"], ["must be an http(s) URL"]),
        (
            ["--operation-webhook-url", "https://x.example", "--no-operation-webhook-url"],
            ["not both"],
        ),
    ],
)
def test_store_configure_refuses_bad_options_and_writes_nothing(
    cli, demo_store, fb_home: Path, tmp_path: Path, options: list[str], words: list[str]
) -> None:
    files = {
        "missing": tmp_path / "missing.txt",
        "binary": tmp_path / "binary.txt",
        "spaced": tmp_path / "spaced.txt",
        "empty": tmp_path / "empty.txt",
        "directory": tmp_path,
    }
    files["no_carrier"] = tmp_path / "no_carrier.json"
    files["no_carrier"].write_text('{"rules": [{"name_contains": "express"}]}')
    files["bad_kind"] = tmp_path / "bad_kind.json"
    files["bad_kind"].write_text('{"rules": [{"delivery": "teleport", "carrier": "UPS"}]}')
    files["unknown_key"] = tmp_path / "unknown_key.json"
    files["unknown_key"].write_text('{"rules": [{"speed": "fast", "carrier": "UPS"}]}')
    files["binary"].write_bytes(b"\xff\xfe\x00MUG\n")
    files["spaced"].write_text("TEE-L\nMUG RED\n")
    files["empty"].write_text("\n\n")
    args = [value.format(**{k: str(v) for k, v in files.items()}) for value in options]
    result = cli("store", "configure", "demo", *args)
    _one_clear_line(result, *words)
    assert _database_rows(fb_home) == demo_store


@pytest.mark.parametrize("option", ["--catalogue", "--shipping-rules"])
def test_store_configure_with_a_file_that_is_not_there_is_a_usage_error(
    cli, demo_store, fb_home: Path, tmp_path: Path, option: str
) -> None:
    # The file is the user's own argument: a wrong name is a wrong command line (exit 2).
    missing = cli("store", "configure", "demo", option, str(tmp_path / "missing.txt"))
    _usage_error(missing, option)
    assert "does not exist" in missing.output
    directory = cli("store", "configure", "demo", option, str(tmp_path))
    _usage_error(directory, option)
    assert "is a directory" in directory.output
    assert _database_rows(fb_home) == demo_store


def test_store_configure_refuses_an_empty_secret_and_an_unknown_store(
    cli, demo_store, fb_home: Path
) -> None:
    empty = cli("store", "configure", "demo", "--webhook-secret", "-", input="\n")
    _one_clear_line(empty, "no webhook secret on standard input")
    unknown = cli("store", "configure", "nope", "--mode", "fulfillment_service")
    _one_clear_line(unknown, "no store named 'nope'")
    assert _database_rows(fb_home) == demo_store


def test_store_setup_of_an_unknown_store_registers_nothing(
    cli, demo_store, fb_home: Path, sandbox_url: str
) -> None:
    log = f"{sandbox_url}/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}/requests"
    before = httpx.get(log, timeout=10).json()["requests"]
    result = cli("store", "setup", "nope")
    _one_clear_line(result, "no store named 'nope'", "store list")
    assert _database_rows(fb_home) == demo_store
    assert httpx.get(log, timeout=10).json()["requests"] == before  # no call reached Shopify


# --- serving commands ----------------------------------------------------------------------


@pytest.mark.parametrize("port", ["0", "65536", "99999", "-1"])
def test_serve_and_sandbox_serve_refuse_ports_out_of_range(cli, fb_home: Path, port: str) -> None:
    _usage_error(cli("serve", "--port", port), "--port")
    _usage_error(cli("sandbox", "serve", "--port", port), "--port")
    assert not fb_home.exists() or _database_rows(fb_home) == {}


def test_sandbox_serve_names_a_missing_or_broken_shops_file(cli, tmp_path: Path) -> None:
    missing = cli("sandbox", "serve", "--shops", str(tmp_path / "nope.toml"), "--port", "9")
    _one_clear_line(missing, "cannot read shops file", "nope.toml")
    broken = tmp_path / "shops.toml"
    broken.write_text("[[shops]\ndomain = \n")
    result = cli("sandbox", "serve", "--shops", str(broken), "--port", "9")
    _one_clear_line(result, "shops.toml is not valid TOML")


@pytest.mark.parametrize("command", [["serve", "--no-worker"], ["worker", "--once"]])
def test_serve_and_worker_name_an_unsupported_database(
    cli, fb_home: Path, monkeypatch, fulfillbridge_logger, command: list[str]
) -> None:
    monkeypatch.setenv("FULFILLBRIDGE_DATABASE_URL", "nosuchdb://user:hunter2@db.local/fb")
    result = cli(*command)
    _one_clear_line(result, "unsupported database 'nosuchdb'")
    assert "hunter2" not in result.output
    # The home may get its generated secret.key; no database of any kind appears.
    assert not fb_home.exists() or {p.name for p in fb_home.iterdir()} <= {"secret.key"}


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["worker", "--once"],
        ["store", "list"],
        ["store", "setup", "demo"],
        ["store", "configure", "demo", "--mode", "fulfillment_service"],
        ["apikey", "list"],
        ["orders", "list"],
        ["orders", "export"],
        ["inventory", "status"],
        ["inventory", "map", "demo"],
        ["db", "upgrade"],
    ],
)
def test_every_command_names_a_corrupt_config_file(
    cli, fb_home: Path, fulfillbridge_logger, command: list[str]
) -> None:
    fb_home.mkdir(parents=True)
    (fb_home / "config.toml").write_text("port = [unclosed\n")
    result = cli(*command)
    _one_clear_line(result, "not valid TOML")
    assert sorted(p.name for p in fb_home.iterdir()) == ["config.toml"]


# --- demo, orders export, inventory ------------------------------------------------------


@pytest.mark.parametrize("orders", ["0", "201", "many"])
def test_demo_refuses_order_counts_out_of_range(cli, fb_home: Path, orders: str) -> None:
    _usage_error(cli("demo", "--orders", orders), "--orders")
    assert not fb_home.exists() or _database_rows(fb_home) == {}


def test_orders_export_names_an_unknown_store_a_bad_state_and_an_unwritable_output(
    cli, fb_home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "pick.csv"
    unknown = cli("orders", "export", "--store", "nope", "--output", str(target))
    _one_clear_line(unknown, "no store named 'nope'")
    _usage_error(cli("orders", "export", "--state", "flying", "--output", str(target)), "--state")
    assert not target.exists()
    nowhere = tmp_path / "no-such-dir" / "pick.csv"
    missing_dir = cli("orders", "export", "--output", str(nowhere))
    _one_clear_line(missing_dir, "No such file or directory", "pick.csv")
    directory = cli("orders", "export", "--output", str(tmp_path))
    _one_clear_line(directory, "Is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_inventory_status_names_an_unknown_store(cli, fb_home: Path) -> None:
    result = cli("inventory", "status", "--store", "nope")
    _one_clear_line(result, "no store named 'nope'", "store list")


def test_inventory_push_names_a_missing_binary_or_directory_file(
    cli, demo_store, fb_home: Path, tmp_path: Path
) -> None:
    # A file name the user typed that does not exist, or a directory: a usage error (2).
    missing = cli("inventory", "push", str(tmp_path / "levels.csv"), "--store", "demo")
    assert missing.exit_code == 2 and "levels.csv" in missing.output
    assert "does not exist" in missing.output
    binary = tmp_path / "levels.bin"
    binary.write_bytes(b"\xff\xfe\x00\x01store,sku\n")
    _one_clear_line(cli("inventory", "push", str(binary)), "levels.bin is not UTF-8 text")
    directory = cli("inventory", "push", str(tmp_path))
    assert directory.exit_code == 2 and "is a directory" in directory.output
    header_only = tmp_path / "empty.csv"
    header_only.write_text("")
    empty = cli("inventory", "push", str(header_only), "--store", "demo")
    _one_clear_line(empty, "empty.csv: the CSV is empty", "expected a header")
    assert _database_rows(fb_home) == demo_store
