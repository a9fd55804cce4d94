"""Webhook signatures: base64 HMAC-SHA256 of the raw body with the app's client secret.

Shopify docs: the signature arrives in ``X-Shopify-Hmac-Sha256``; during a secret rotation
deliveries may still be signed with the previous secret, so any listed secret is accepted.
Fulfillment-service callbacks are signed the same way (docs/shopify.md#signatures).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def sign_webhook(raw_body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify would send for ``raw_body``."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_webhook(raw_body: bytes, hmac_header: str | None, secrets: Iterable[str]) -> bool:
    """True when ``hmac_header`` signs ``raw_body`` with one of ``secrets``.

    Compares in constant time and checks every secret (no early exit that would reveal
    which one matched). Empty headers and empty secrets never match.
    """
    if not hmac_header:
        return False
    given = hmac_header.strip().encode("ascii", errors="replace")
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = sign_webhook(raw_body, secret).encode("ascii")
        matched |= hmac.compare_digest(expected, given)
    return matched
