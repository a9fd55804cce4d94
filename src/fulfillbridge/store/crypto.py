"""Encryption of secrets at rest (tokens, client secrets, refresh tokens).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``. Keys come from
``FULFILLBRIDGE_SECRET_KEY`` (comma-separated, newest first, so an old key still decrypts
during a rotation) or from a key file created on first run with 0600 permissions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from fulfillbridge.config import ConfigError, Settings
from fulfillbridge.store.db import private_dir


class SecretBox:
    """Encrypts and decrypts small JSON documents of secrets. Its repr shows no key."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ConfigError("no encryption key configured")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError):
            raise ConfigError(
                "FULFILLBRIDGE_SECRET_KEY is not a valid key: generate one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`"
            ) from None

        # Keys for other purposes (the dashboard's CSRF tokens) derive from the newest key.
        self._derive_from = keys[0]

    def __repr__(self) -> str:
        return "SecretBox(<keys hidden>)"

    def derive(self, purpose: str) -> bytes:
        """A key for ``purpose``, derived from the newest secret key (HMAC-SHA256); it
        changes when that key is rotated."""
        return hmac.new(self._derive_from, b"derive:" + purpose.encode(), hashlib.sha256).digest()

    def seal(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def open(self, sealed: str) -> dict[str, str]:
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise ConfigError(
                "stored secrets cannot be decrypted with the configured key: restore the key "
                "they were written with (FULFILLBRIDGE_SECRET_KEY or the key file)"
            ) from None


def load_secret_box(settings: Settings) -> SecretBox:
    if settings.secret_key is not None:
        raw = settings.secret_key.get_secret_value()
        keys = [part.strip().encode() for part in raw.split(",") if part.strip()]
        return SecretBox(keys)
    return SecretBox([_key_from_file(settings.key_file)])


def _key_from_file(path: Path) -> bytes:
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"key file {path} is readable by others (mode {mode:o}): run chmod 600 {path}"
            )
        return path.read_bytes().strip()
    private_dir(path.parent)  # the home: readable by its owner only
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once must not both write a key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
