"""Shop domains: the one accepted spelling is ``<name>.myshopify.com``."""

from __future__ import annotations

import re

from fulfillbridge.shopify._errors import InvalidShopDomain

_SUFFIX = ".myshopify.com"
# Shopify docs: a store handle is lowercase letters, digits and hyphens, starting with a
# letter or digit (the same check Shopify's app libraries apply to the ``shop`` parameter).
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")


def normalize_shop_domain(value: str) -> str:
    """``name.myshopify.com`` from "name", "name.myshopify.com" or
    "https://name.myshopify.com/"; anything else raises :class:`InvalidShopDomain`."""
    if not isinstance(value, str):
        raise InvalidShopDomain(f"shop domain must be text, got {type(value).__name__}")
    text = value.strip().lower()
    original = value.strip()
    if "://" in text:
        scheme, _, text = text.partition("://")
        text = text[:-1] if text.endswith("/") else text
        if scheme != "https" or "/" in text or not text.endswith(_SUFFIX):
            raise InvalidShopDomain(
                f"{original!r} is not a shop address: expected https://<name>{_SUFFIX}/"
            )
    if text.endswith(_SUFFIX):
        name = text[: -len(_SUFFIX)]
    elif "." in text or "/" in text or ":" in text:
        raise InvalidShopDomain(
            f"{original!r} is not a shop domain: expected <name>{_SUFFIX} "
            "(custom domains are not accepted; use the store's myshopify.com name)"
        )
    else:
        name = text
    if not _NAME.fullmatch(name):
        raise InvalidShopDomain(
            f"{original!r} is not a valid shop name: use lowercase letters, digits and "
            f"hyphens, as in my-store{_SUFFIX}"
        )
    return name + _SUFFIX


def is_valid_shop_domain(value: str) -> bool:
    try:
        normalize_shop_domain(value)
    except InvalidShopDomain:
        return False
    return True
