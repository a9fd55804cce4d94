"""Secrets at rest: key file permissions, rotation, and keys never shown."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from fulfillbridge.config import ConfigError, load_settings
from fulfillbridge.store.crypto import SecretBox, load_secret_box


def test_key_file_created_with_0600(fb_home: Path) -> None:
    box = load_secret_box(load_settings())
    key_file = fb_home / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = box.seal({"access_token": "shpat_x"})
    # A second load reads the same key back.
    assert load_secret_box(load_settings()).open(sealed) == {"access_token": "shpat_x"}


def test_key_file_readable_by_others_is_refused(fb_home: Path) -> None:
    load_secret_box(load_settings())
    (fb_home / "secret.key").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_secret_box(load_settings())


def test_rotation_new_key_first_still_opens_old(monkeypatch: pytest.MonkeyPatch, fb_home) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox([old.encode()]).seal({"client_secret": "s"})
    monkeypatch.setenv("FULFILLBRIDGE_SECRET_KEY", f"{new},{old}")
    assert load_secret_box(load_settings()).open(sealed) == {"client_secret": "s"}


def test_invalid_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, fb_home) -> None:
    monkeypatch.setenv("FULFILLBRIDGE_SECRET_KEY", "not-a-key")
    with pytest.raises(ConfigError, match="not a valid key"):
        load_secret_box(load_settings())


def test_repr_hides_keys() -> None:
    key = Fernet.generate_key()
    assert key.decode() not in repr(SecretBox([key]))
    assert "hidden" in repr(SecretBox([key]))
