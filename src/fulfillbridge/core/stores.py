"""Stores in the domain's terms: a connected shop, how it authenticates, what it was granted."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fulfillbridge.core.errors import FulfillbridgeError, StoreErrorCode


class AuthKind(StrEnum):
    TOKEN = "token"  # an existing custom app's non-expiring token
    CLIENT_CREDENTIALS = "client_credentials"  # a Dev Dashboard app on an owned store
    OAUTH = "oauth"  # the authorization-code install flow


class StoreError(FulfillbridgeError):
    """A store request that cannot be carried out; the message says why."""

    default_code = StoreErrorCode.INVALID


class StoreNotFound(StoreError):
    default_code = StoreErrorCode.NOT_FOUND


class StoreExists(StoreError):
    default_code = StoreErrorCode.EXISTS


_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def validate_store_name(name: str) -> str:
    if not _NAME.match(name):
        raise StoreError(
            f"store name {name!r} is not valid: use 1-63 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


# Which secrets each kind of credential needs (the rest of the store row is not secret).
REQUIRED_SECRETS: dict[AuthKind, tuple[str, ...]] = {
    AuthKind.TOKEN: ("access_token",),
    AuthKind.CLIENT_CREDENTIALS: ("client_secret",),
    AuthKind.OAUTH: ("client_secret",),
}


@dataclass(frozen=True)
class Store:
    id: int
    name: str
    shop_domain: str
    auth_kind: AuthKind
    api_base_url: str | None = None
    client_id: str | None = None
    granted_scopes: tuple[str, ...] = ()
    shop_name: str | None = None
    plan_name: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.api_base_url or f"https://{self.shop_domain}"
