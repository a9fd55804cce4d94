"""The sandbox's shops, the apps installed on them, their tokens and API buckets.

Without a shops file the sandbox has one shop, ``demo-shop.myshopify.com`` (Standard plan),
with one custom app holding every scope in ``ALL_SCOPES`` and these *local-only* credentials:
access token ``shpat_sandbox``, client id ``sandbox-client-id``, client secret
``sandbox-client-secret``. They mean nothing outside the sandbox.

A shops file (TOML, ``fulfillbridge sandbox serve --shops FILE``) defines several shops::

    [[shops]]
    domain = "acme.myshopify.com"       # required; ".myshopify.com" is added when missing
    name = "Acme"                       # optional (default: derived from the domain)
    plan = "Advanced"                   # one of state.PLANS (default "Standard")
    email = "ops@acme.example"          # optional
    currency = "EUR"                    # optional (default "USD")

    [[shops.apps]]                      # one or more apps installed on the shop
    title = "fulfillbridge"             # optional
    access_token = "shpat_acme"         # optional: a non-expiring custom-app token
    client_id = "acme-client"           # required
    client_secret = "acme-secret"       # required
    scopes = ["read_orders", "write_fulfillments"]   # default: every scope (ALL_SCOPES)

A shop without ``[[shops.apps]]`` gets one app with the default credentials above.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import tomllib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fulfillbridge.sandbox.clock import SandboxClock
from fulfillbridge.sandbox.faults import FaultSettings
from fulfillbridge.sandbox.state import PLANS, Location, ShopState
from fulfillbridge.sandbox.throttle import LeakyBucket

DEFAULT_SHOP_DOMAIN = "demo-shop.myshopify.com"
DEFAULT_ACCESS_TOKEN = "shpat_sandbox"
DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"  # local-only, documented above

# Shopify access scopes this project touches (Shopify docs: "Access scopes"). read_all_orders
# has no write twin. read_apps is left out: ordinary apps cannot hold it (the captured
# development-store app was refused `heldByApp` for lack of it).
_READ_WRITE = (
    "orders",
    "products",
    "inventory",
    "locations",
    "fulfillments",
    "assigned_fulfillment_orders",
    "merchant_managed_fulfillment_orders",
    "third_party_fulfillment_orders",
    "customers",
    "shipping",
    "returns",
    "order_edits",
    "draft_orders",
    "publications",
    "files",
    "metaobjects",
    "metaobject_definitions",
)
ALL_SCOPES: tuple[str, ...] = (
    *(f"{kind}_{area}" for area in _READ_WRITE for kind in ("read", "write")),
    "read_all_orders",
)

SCOPE_DESCRIPTIONS: dict[str, str] = {
    scope: f"{'Read' if scope.startswith('read_') else 'Modify'} "
    f"{scope.split('_', 1)[1].replace('_', ' ')}"
    for scope in ALL_SCOPES
}
SCOPE_DESCRIPTIONS["read_all_orders"] = "Read all orders, not only the last 60 days"

REQUEST_LOG_LIMIT = 5000  # entries kept per shop; older ones are dropped


class ShopConfigError(ValueError):
    """A shop or app definition that cannot be used (bad domain, plan, scope...)."""


@dataclass
class SandboxApp:
    """One app installed on one shop."""

    app_id: str
    title: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: frozenset[str]
    access_token: str | None = field(default=None, repr=False)

    def public(self) -> dict[str, Any]:
        """What the control API shows: never the secret."""
        return {
            "app_id": self.app_id,
            "title": self.title,
            "client_id": self.client_id,
            "scopes": sorted(self.scopes),
            "has_access_token": self.access_token is not None,
        }


@dataclass
class IssuedToken:
    """A token issued by one of the OAuth grants (expiring unless expires_at is None)."""

    app_id: str
    scopes: frozenset[str]
    expires_at: float | None  # sandbox clock seconds
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: float | None = None


@dataclass
class RequestLogEntry:
    at: str
    app_id: str
    operation: str | None
    requested: int | None
    actual: int | None
    throttled: bool
    available_after: float
    status: int
    fault: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "app_id": self.app_id,
            "operation": self.operation,
            "requested": self.requested,
            "actual": self.actual,
            "throttled": self.throttled,
            "available_after": self.available_after,
            "status": self.status,
            "fault": self.fault,
        }


@dataclass
class SandboxShop:
    """A shop with everything the engine keeps beside its domain state."""

    state: ShopState
    apps: dict[str, SandboxApp]
    tokens: dict[str, IssuedToken] = field(default_factory=dict, repr=False)
    auth_codes: dict[str, tuple[str, frozenset[str], float]] = field(
        default_factory=dict, repr=False
    )
    buckets: dict[str, LeakyBucket] = field(default_factory=dict)
    request_log: deque[RequestLogEntry] = field(
        default_factory=lambda: deque(maxlen=REQUEST_LOG_LIMIT)
    )
    mutation_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def domain(self) -> str:
        return self.state.domain

    def __getattr__(self, name: str) -> Any:
        # Lets code written against ShopState (emit, listeners, parts...) take either object.
        if name.startswith("__") or name == "state":
            raise AttributeError(name)
        return getattr(self.state, name)

    def bucket(self, app_id: str) -> LeakyBucket:
        found = self.buckets.get(app_id)
        if found is None:
            size, rate = PLANS[self.state.plan]
            found = self.buckets[app_id] = LeakyBucket(size, rate, self.state.clock.monotonic)
        return found

    def app_by_client_id(self, client_id: str) -> SandboxApp | None:
        for app in self.apps.values():
            if secrets.compare_digest(app.client_id.encode(), client_id.encode()):
                return app
        return None

    def public(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "name": self.state.name,
            "plan": self.state.plan,
            "apps": [app.public() for app in self.apps.values()],
        }


def normalise_domain(domain: Any) -> str:
    if not isinstance(domain, str) or not domain.strip():
        raise ShopConfigError("shop domain must be a non-empty string")
    value = domain.strip().lower()
    if not value.endswith(".myshopify.com"):
        value += ".myshopify.com"
    handle = value[: -len(".myshopify.com")]
    if not handle or not all(c.isalnum() or c == "-" for c in handle):
        raise ShopConfigError(f"invalid shop domain {domain!r}: use letters, digits and '-'")
    return value


def _scopes(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset(ALL_SCOPES)
    if isinstance(value, str):
        value = [s for s in value.replace(" ", "").split(",") if s]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ShopConfigError(f"{where}: scopes must be a list of strings")
    return frozenset(value)


def _text(spec: dict[str, Any], key: str, default: str | None, where: str) -> str | None:
    value = spec.get(key, default)
    if value is not None and (not isinstance(value, str) or not value):
        raise ShopConfigError(f"{where}: {key} must be a non-empty string")
    return value


class Sandbox:
    """Everything the running sandbox holds: shops, clock, faults, outbound listeners."""

    def __init__(self, shop_specs: list[dict[str, Any]] | None = None) -> None:
        self.clock = SandboxClock()
        self.faults = FaultSettings()
        self.shops: dict[str, SandboxShop] = {}
        self._shop_specs = shop_specs
        self._app_ids = itertools.count(1)
        # Called with each shop added (at start, on reset, at runtime): outbound attaches here.
        self.shop_listeners: list[Callable[[SandboxShop], None]] = []
        self._load_shops()

    # -- shops ----------------------------------------------------------------------------
    def _load_shops(self) -> None:
        for spec in self._shop_specs or [{"domain": DEFAULT_SHOP_DOMAIN}]:
            self.add_shop(spec)

    def add_shop(self, spec: dict[str, Any]) -> SandboxShop:
        """Create a shop from a definition (the shops-file / control-API shape)."""
        if not isinstance(spec, dict):
            raise ShopConfigError("a shop definition must be an object")
        domain = normalise_domain(spec.get("domain"))
        if domain in self.shops:
            raise ShopConfigError(f"shop {domain} already exists")
        plan = spec.get("plan", "Standard")
        if plan not in PLANS:
            raise ShopConfigError(f"unknown plan {plan!r}; choose one of {', '.join(PLANS)}")
        where = f"shop {domain}"
        handle = domain[: -len(".myshopify.com")]
        state = ShopState(
            domain=domain,
            name=_text(spec, "name", handle.replace("-", " ").title(), where) or handle,
            plan=plan,
            clock=self.clock,
            email=_text(spec, "email", f"owner@{handle}.example", where) or "",
            currency_code=_text(spec, "currency", "USD", where) or "USD",
        )
        state.shop_id = state.next_id()
        self._add_default_location(state)
        app_specs = spec.get("apps")
        if app_specs is None:
            # The control API also accepts the app fields flat on the shop.
            flat = {
                k: spec[k]
                for k in ("access_token", "client_id", "client_secret", "scopes", "title")
                if k in spec
            }
            app_specs = [flat]
        if not isinstance(app_specs, list) or not app_specs:
            raise ShopConfigError(f"{where}: apps must be a non-empty list")
        apps = [self._make_app(app_spec, where) for app_spec in app_specs]
        shop = SandboxShop(state=state, apps={app.app_id: app for app in apps})
        self.shops[domain] = shop
        for listener in list(self.shop_listeners):
            listener(shop)
        return shop

    def _make_app(self, spec: Any, where: str) -> SandboxApp:
        if not isinstance(spec, dict):
            raise ShopConfigError(f"{where}: an app definition must be an object")
        return SandboxApp(
            app_id=str(next(self._app_ids)),
            title=_text(spec, "title", "fulfillbridge", where) or "fulfillbridge",
            client_id=_text(spec, "client_id", DEFAULT_CLIENT_ID, where) or "",
            client_secret=_text(spec, "client_secret", DEFAULT_CLIENT_SECRET, where) or "",
            scopes=_scopes(spec.get("scopes"), where),
            access_token=_text(
                spec,
                "access_token",
                DEFAULT_ACCESS_TOKEN if "client_id" not in spec else None,
                where,
            ),
        )

    @staticmethod
    def _add_default_location(state: ShopState) -> None:
        # Every Shopify shop has at least one location; new shops start with this one.
        location_id = state.next_id()
        state.locations[location_id] = Location(
            id=location_id, name="Shop location", created_at=state.clock.iso_now()
        )

    def shop(self, domain: str) -> SandboxShop | None:
        return self.shops.get(domain)

    def find_shop(self, host_domain: str | None) -> SandboxShop | None:
        """The shop a request addresses. A ``*.myshopify.com`` host must name a shop (else
        None: 404 like Shopify); any other host (127.0.0.1, localhost...) reaches the first
        configured shop, so with one shop every host reaches it."""
        host = (host_domain or "").lower()
        found = self.shops.get(host)
        if found is not None:
            return found
        if host.endswith(".myshopify.com") or not self.shops:
            return None
        return next(iter(self.shops.values()))

    def reset(self) -> None:
        """Back to the configured shops, real time, no faults."""
        self.stop_background_work()
        self.clock.reset()
        self.faults = FaultSettings()
        self.shops = {}
        self._app_ids = itertools.count(1)
        self._load_shops()

    def stop_background_work(self) -> None:
        """Stop the work shops run in the background (bulk operations): every part with a
        ``stop_background_work`` method is asked to."""
        for shop in self.shops.values():
            for part in list(shop.state.parts.values()):
                stop = getattr(part, "stop_background_work", None)
                if callable(stop):
                    stop()

    # -- secrets --------------------------------------------------------------------------
    def app_secret(self, shop_domain: str, app_id: str) -> str:
        """The client secret that signs webhooks and callbacks of ``app_id`` on the shop."""
        shop = self.shops.get(shop_domain)
        if shop is None or app_id not in shop.apps:
            raise KeyError(f"no app {app_id} on shop {shop_domain}")
        return shop.apps[app_id].client_secret

    def all_shops(self) -> Iterable[SandboxShop]:
        return list(self.shops.values())


def load_shops_file(path: str | Path) -> list[dict[str, Any]]:
    """Shop definitions from a TOML shops file (format in the module docstring)."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ShopConfigError(f"cannot read shops file {file}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ShopConfigError(f"shops file {file} is not valid TOML: {exc}") from exc
    shops = data.get("shops")
    if not isinstance(shops, list) or not shops:
        raise ShopConfigError(f"shops file {file} defines no [[shops]]")
    return shops
