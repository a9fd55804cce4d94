"""Per-store settings of the work itself (``store configure``): the shipping-method mapping
to the operation's carriers, whether unpaid orders may become work, and where the store's
webhooks to the operation go. Checked here; written with the rest of the store's settings
in one transaction (``flows.configure.configure_store``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fulfillbridge.core.shipping import ShippingRuleError, parse_rules, rules_to_json
from fulfillbridge.flows.configure import SetupError
from fulfillbridge.shopify.metafields import MAX_KEYS_PER_OWNER, check_key

MAX_RULES_FILE = 1_000_000  # bytes


def read_shipping_rules(path: Path) -> dict[str, Any]:
    """The rule table in a JSON file, checked, in the form stored."""
    try:
        if path.stat().st_size > MAX_RULES_FILE:
            raise SetupError(f"shipping rules file {path} is larger than {MAX_RULES_FILE} bytes")
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise SetupError(f"shipping rules file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"shipping rules file {path} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SetupError(f"shipping rules file {path} is not JSON: {exc}") from None
    try:
        return rules_to_json(parse_rules(raw))
    except ShippingRuleError as exc:
        raise SetupError(f"shipping rules file {path}: {exc}") from None


def check_webhook_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise SetupError(
            "the operation webhook URL must be an http(s) URL of at most 2000 characters"
        )
    return url


def work_setting_changes(
    *,
    shipping_rules: Path | None = None,
    clear_shipping_rules: bool = False,
    allow_payment_pending: bool | None = None,
    returns: bool | None = None,
    operation_webhook_url: str | None = None,
    clear_operation_webhook_url: bool = False,
    metafields: Sequence[str] | None = None,
    clear_metafields: bool = False,
) -> dict[str, Any]:
    if shipping_rules is not None and clear_shipping_rules:
        raise SetupError("give either --shipping-rules FILE or --no-shipping-rules, not both")
    if operation_webhook_url is not None and clear_operation_webhook_url:
        raise SetupError(
            "give either --operation-webhook-url URL or --no-operation-webhook-url, not both"
        )
    changes: dict[str, Any] = {}
    if shipping_rules is not None:
        changes["shipping_rules"] = read_shipping_rules(shipping_rules)
    if clear_shipping_rules:
        changes["shipping_rules"] = None
    if allow_payment_pending is not None:
        changes["allow_payment_pending"] = allow_payment_pending
    if returns is not None:
        changes["returns"] = returns
    if operation_webhook_url is not None:
        changes["operation_webhook_url"] = check_webhook_url(operation_webhook_url)
    if clear_operation_webhook_url:
        changes["operation_webhook_url"] = None
    if metafields and clear_metafields:
        raise SetupError("give either --metafield or --no-metafields, not both")
    if metafields:
        chosen: dict[str, list[str]] = {}
        for value in metafields:
            try:
                owner, key = check_key(value)
            except ValueError as exc:
                raise SetupError(str(exc)) from None
            keys = chosen.setdefault(owner, [])
            if key not in keys:
                keys.append(key)
            if len(keys) > MAX_KEYS_PER_OWNER:
                raise SetupError(f"at most {MAX_KEYS_PER_OWNER} {owner} metafields can be read")
        changes["metafields"] = chosen
    if clear_metafields:
        changes["metafields"] = None
    return changes
