"""``store configure --inventory-feed`` and the feed line of ``inventory status``, through
the real CLI (the store added against the sandbox over HTTP)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN


@pytest.fixture
def store(cli, sandbox_url: str) -> str:
    added = cli(
        "store", "add", "demo", "--shop", DEFAULT_SHOP_DOMAIN, "--token", DEFAULT_ACCESS_TOKEN,
        "--api-url", sandbox_url,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    return "demo"


def _settings(home: Path) -> dict[str, Any]:
    with sqlite3.connect(home / "fulfillbridge.db") as conn:
        (raw,) = conn.execute("SELECT settings FROM stores WHERE name = 'demo'").fetchone()
    return json.loads(raw)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--inventory-feed", "ftp://user:pw@127.0.0.1/stock.csv"), "must start with http://"),
        (("--inventory-feed", "http:///stock.csv"), "names no host"),
        (("--inventory-feed", "https://127.0.0.1:70000/s.csv"), "is not a URL"),
        (
            ("--inventory-feed", "https://feed.example/s.csv", "--inventory-feed-interval", "30"),
            "interval 30 s is out of range",
        ),
        (("--inventory-feed", "http://127.0.0.1/s.csv"), "is a loopback address"),
        (("--inventory-feed", "http://2130706433/s.csv"), "is a loopback address"),
        (("--inventory-feed", "http://169.254.169.254/latest/"), "link-local"),
        (("--inventory-feed", "http://[::ffff:10.0.0.1]/s.csv"), "a private address"),
        (("--inventory-feed", "http://metadata.google.internal/x"), "cloud metadata"),
        (
            ("--inventory-feed", "http://10.0.0.5/s.csv", "--feed-allow-host", "10.0.0.0/33"),
            "not an IP address or CIDR range",
        ),
        (("--inventory-feed-interval", "600"), "has no inventory feed"),
        (
            ("--inventory-feed", "http://127.0.0.1/s.csv", "--no-inventory-feed"),
            "not both",
        ),
    ],
)
def test_bad_feed_settings_are_refused_and_nothing_written(
    cli, store: str, fb_home: Path, args: tuple[str, ...], problem: str
) -> None:
    before = _settings(fb_home)
    result = cli("store", "configure", store, *args)
    assert result.exit_code == 1
    assert problem in result.output
    assert "Traceback" not in result.output and "pw@" not in result.output
    assert _settings(fb_home) == before


def test_feed_is_set_shown_masked_and_cleared(cli, store: str, fb_home: Path) -> None:
    url = "https://ops:secret-pw@127.0.0.1:8443/stock.csv?key=secret-key"
    done = cli(
        "store", "configure", store, "--inventory-feed", url, "--inventory-feed-interval", "120",
        "--feed-allow-host", "127.0.0.1",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "https://***@127.0.0.1:8443/stock.csv?*** every 120 s" in done.output
    # At rest the settings hold the URL masked; the whole URL is sealed with the secrets.
    assert _settings(fb_home)["inventory_feed_url"] == "https://***@127.0.0.1:8443/stock.csv?***"
    assert _settings(fb_home)["inventory_feed_allow"] == ["127.0.0.1/32"]
    with sqlite3.connect(fb_home / "fulfillbridge.db") as conn:
        raw = "\n".join(conn.iterdump())
    assert "secret-pw" not in raw and "secret-key" not in raw
    assert _settings(fb_home)["inventory_feed_interval"] == 120

    status = cli("inventory", "status")
    assert status.exit_code == 0, status.output
    assert "demo feed https://***@127.0.0.1:8443/stock.csv?*** every 120 s" in status.output
    assert "not fetched yet" in status.output
    shown = cli("inventory", "status", "--json")
    assert json.loads(shown.output)[0]["feed"]["url"] == "https://***@127.0.0.1:8443/stock.csv?***"
    assert all("secret" not in r.output for r in (done, status, shown))

    cleared = cli("store", "configure", store, "--no-inventory-feed")
    assert cleared.exit_code == 0, cleared.output
    assert "inventory_feed_url" not in _settings(fb_home)
    assert "inventory_feed_interval" not in _settings(fb_home)
    assert "feed" not in cli("inventory", "status").output
