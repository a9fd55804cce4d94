"""`config show`, `db upgrade` and configuration errors."""

from __future__ import annotations

import json


def test_config_show_masks_secrets(cli, monkeypatch) -> None:
    monkeypatch.setenv("FULFILLBRIDGE_SECRET_KEY", "c2VjcmV0LWtleS12YWx1ZS10aGF0LWlzLWxvbmc=")
    monkeypatch.setenv("FULFILLBRIDGE_DATABASE_URL", "postgresql://fb:hunter2@db.local/fb")
    result = cli("config", "show", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["secret_key"] == "******** (1 key(s), from environment FULFILLBRIDGE_SECRET_KEY)"
    assert "hunter2" not in result.output
    assert "c2VjcmV0" not in result.output
    assert shown["database_url"] == "postgresql://fb:***@db.local/fb"


def test_config_show_says_where_the_secret_key_comes_from(cli, fb_home, monkeypatch) -> None:
    monkeypatch.delenv("FULFILLBRIDGE_SECRET_KEY", raising=False)
    shown = json.loads(cli("config", "show", "--json").output)
    key_file = fb_home / "secret.key"
    assert shown["secret_key"] == f"key file {key_file} (created on first use)"
    fb_home.mkdir(parents=True, exist_ok=True)
    key_file.write_text("not shown")
    table = cli("config", "show")
    assert "secret.key (exists)" in table.output and "not shown" not in table.output


def test_config_show_masks_every_url_setting(cli, monkeypatch) -> None:
    monkeypatch.setenv(
        "FULFILLBRIDGE_OPERATION_WEBHOOK_URL",
        "https://hook:hook-pass@ops.example/in?token=query-tok&team=7",
    )
    monkeypatch.setenv("FULFILLBRIDGE_PUBLIC_URL", "https://tok3n@bridge.example")
    monkeypatch.setenv("FULFILLBRIDGE_METRICS_TOKEN", "metrics-tok")
    result = cli("config", "show", "--json")
    assert result.exit_code == 0, result.output
    for secret in ("hook-pass", "query-tok", "tok3n", "metrics-tok"):
        assert secret not in result.output
    shown = json.loads(result.output)
    assert shown["operation_webhook_url"] == "https://hook:***@ops.example/in?token=***&team=***"
    assert shown["public_url"] == "https://***@bridge.example"
    assert shown["metrics_token"] == "********"
    assert shown["webhook_max_age_hours"] == 72.0
    table = cli("config", "show")
    assert "hook-pass" not in table.output and "query-tok" not in table.output


def test_toml_file_is_read_and_env_wins(cli, fb_home, monkeypatch) -> None:
    fb_home.mkdir(parents=True)
    (fb_home / "config.toml").write_text('public_url = "https://bridge.example"\nport = 9000\n')
    monkeypatch.setenv("FULFILLBRIDGE_PORT", "9100")
    shown = json.loads(cli("config", "show", "--json").output)
    assert shown["public_url"] == "https://bridge.example"
    assert shown["port"] == 9100


def test_corrupt_config_file(cli, fb_home) -> None:
    fb_home.mkdir(parents=True)
    (fb_home / "config.toml").write_text("public_url = [unclosed\n")
    result = cli("config", "show")
    assert result.exit_code == 1
    assert "not valid TOML" in result.output
    assert "Traceback" not in result.output


def test_invalid_value_and_unknown_key(cli, fb_home, monkeypatch) -> None:
    monkeypatch.setenv("FULFILLBRIDGE_PORT", "not-a-number")
    result = cli("config", "show")
    assert result.exit_code == 1 and "port" in result.output
    monkeypatch.delenv("FULFILLBRIDGE_PORT")
    fb_home.mkdir(parents=True)
    (fb_home / "config.toml").write_text('colour = "blue"\n')
    result = cli("config", "show")
    assert result.exit_code == 1 and "colour" in result.output


def test_tracking_poll_settings_must_make_sense(cli, monkeypatch) -> None:
    monkeypatch.setenv("FULFILLBRIDGE_TRACKING_POLL_SECONDS", "600")
    monkeypatch.setenv("FULFILLBRIDGE_TRACKING_POLL_MAX_SECONDS", "60")
    result = cli("config", "show", "--json")
    assert result.exit_code == 1
    assert "tracking_poll_max_seconds (60.0) must be at least tracking_poll_seconds" in (
        result.output
    )
    monkeypatch.setenv("FULFILLBRIDGE_TRACKING_POLL_MAX_SECONDS", "600")
    monkeypatch.setenv("FULFILLBRIDGE_TRACKING_POLL_FIRST_SECONDS", "0")
    result = cli("config", "show", "--json")
    assert result.exit_code == 1 and "tracking_poll_first_seconds" in result.output
    monkeypatch.setenv("FULFILLBRIDGE_TRACKING_POLL_FIRST_SECONDS", "5")
    shown = json.loads(cli("config", "show", "--json").output)
    assert shown["tracking_poll_first_seconds"] == 5.0 and shown["tracking_poll_seconds"] == 600


def test_missing_explicit_config_file(cli, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("FULFILLBRIDGE_CONFIG_FILE", str(tmp_path / "nope.toml"))
    result = cli("config", "show")
    assert result.exit_code == 1 and "does not exist" in result.output


def test_db_upgrade(cli, fb_home) -> None:
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "revision" in result.output
    assert (fb_home / "fulfillbridge.db").exists()
    assert cli("db", "upgrade").exit_code == 0


def test_bad_database_url(cli, monkeypatch) -> None:
    monkeypatch.setenv("FULFILLBRIDGE_DATABASE_URL", "mysql://x@y/z")
    result = cli("db", "upgrade")
    assert result.exit_code == 1 and "unsupported database" in result.output
