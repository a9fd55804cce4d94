"""Connecting stores: add (with a verified connection), list, check scopes, remove.

Nothing is written for a store whose credentials do not work: the connection is verified
first, and the row is added in the same transaction that records what the check found.
"""

from __future__ import annotations

import secrets as _secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind, Store, StoreError
from fulfillbridge.core.work import Mode
from fulfillbridge.metrics import ThrottleCountingTransport
from fulfillbridge.shopify import (
    API_VERSION,
    AccessToken,
    ClientCredentials,
    Credentials,
    ExpiringOfflineToken,
    Feature,
    FeatureAudit,
    OAuthError,
    OAuthInstall,
    ShopifyClient,
    StaticToken,
    all_needed_scopes,
    audit_scopes,
    features_for,
    how_to_grant,
    normalize_shop_domain,
    operation,
)
from fulfillbridge.store.database import Database
from fulfillbridge.store.throttle import SharedThrottleBucket

OAUTH_CALLBACK_PATH = "/shopify/oauth/callback"
OAUTH_STATE_TTL = timedelta(minutes=15)


@dataclass(frozen=True)
class CheckReport:
    shop_domain: str
    shop_name: str
    plan_name: str
    api_version: str
    granted: tuple[str, ...]
    features: Sequence[FeatureAudit]

    @property
    def ok(self) -> bool:
        return all(row.required_ok for row in self.features)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(sorted({s for row in self.features if not row.optional for s in row.missing}))

    @property
    def optional_missing(self) -> tuple[str, ...]:
        return tuple(sorted({s for row in self.features if row.optional for s in row.missing}))

    @property
    def fix_hint(self) -> str:
        return f"{self.shop_domain}: {how_to_grant(self.missing)}"


@dataclass(frozen=True)
class AddResult:
    store: Store
    install_url: str | None = None


def _validate_api_url(api_url: str | None) -> str | None:
    if api_url is None:
        return None
    if not api_url.startswith(("http://", "https://")) or " " in api_url:
        raise StoreError(f"--api-url {api_url!r} is not an http(s) URL")
    return api_url.rstrip("/")


def _token_from_secrets(secrets: dict[str, str]) -> AccessToken:
    def number(key: str) -> float | None:
        value = secrets.get(key)
        return float(value) if value else None

    return AccessToken(
        access_token=secrets["access_token"],
        expires_at=number("expires_at"),
        refresh_token=secrets.get("refresh_token") or None,
        refresh_token_expires_at=number("refresh_token_expires_at"),
    )


def _token_secrets(token: AccessToken) -> dict[str, str]:
    return {
        "access_token": token.access_token,
        "expires_at": "" if token.expires_at is None else repr(token.expires_at),
        "refresh_token": token.refresh_token or "",
        "refresh_token_expires_at": (
            "" if token.refresh_token_expires_at is None else repr(token.refresh_token_expires_at)
        ),
    }


def store_features(store: Store) -> tuple[Feature, ...]:
    """What ``store`` uses, by its mode and whether it has returns on: its scope audit checks
    these and its install link asks for their scopes, nothing more."""
    options = store.settings or {}
    return features_for(
        str(options.get("mode") or Mode.FULFILLMENT_SERVICE.value),
        returns=bool(options.get("returns", False)),
    )


def _install_for(settings: Settings, store: Store, client_secret: str) -> OAuthInstall:
    return OAuthInstall(
        client_id=store.client_id or "",
        client_secret=client_secret,
        scopes=all_needed_scopes(store_features(store)),
        redirect_uri=settings.public_url + OAUTH_CALLBACK_PATH,
    )


def _credentials(
    store: Store,
    secrets: dict[str, str],
    *,
    settings: Settings | None = None,
    database: Database | None = None,
) -> Credentials:
    """The credentials ``store``'s kind uses. For OAuth stores with an expiring token,
    refreshed tokens are saved through ``database``."""
    if store.auth_kind is AuthKind.TOKEN:
        return StaticToken(secrets["access_token"])
    if store.auth_kind is AuthKind.CLIENT_CREDENTIALS:
        return ClientCredentials(store.client_id or "", secrets["client_secret"])
    token = _token_from_secrets(secrets)
    if token.refresh_token and settings is not None and database is not None:
        install = _install_for(settings, store, secrets["client_secret"])

        async def save(_shop: str, fresh: AccessToken) -> None:
            async with database.stores() as stores:
                await stores.update_secrets(store.name, _token_secrets(fresh))

        return ExpiringOfflineToken(store.shop_domain, token, install, on_refresh=save)
    return StaticToken(token.access_token)


def store_client(
    database: Database,
    settings: Settings,
    store: Store,
    secrets: dict[str, str],
) -> ShopifyClient:
    """The client for every Shopify call of a stored store. It draws from the store's
    shared throttle bucket (``store.throttle``): Shopify keeps one bucket per app and
    store, so every process, and every job in it (processing, outbox, inventory, set-up,
    reconciliation), spends the same points through one estimate."""
    credentials = _credentials(store, secrets, settings=settings, database=database)
    return ShopifyClient(
        store.shop_domain,
        credentials,
        api_base_url=store.base_url,
        bucket=SharedThrottleBucket(database, store.id),
        transport=ThrottleCountingTransport(store.name),
    )


async def open_store_client(
    database: Database, settings: Settings, name: str
) -> tuple[Store, ShopifyClient]:
    """The stored store called ``name`` and its :func:`store_client`."""
    async with database.stores() as stores:
        store = await stores.get(name)
        secrets = await stores.secrets(name)
    return store, store_client(database, settings, store, secrets)


def client_for(
    store: Store,
    secrets: dict[str, str],
    *,
    settings: Settings | None = None,
    database: Database | None = None,
) -> ShopifyClient:
    """A client with a throttle bucket of its own, for a store that is not stored yet (the
    probe of `store add`, before the row exists): a stored store's calls go through
    :func:`store_client`."""
    credentials = _credentials(store, secrets, settings=settings, database=database)
    return ShopifyClient(store.shop_domain, credentials, api_base_url=store.base_url)


async def _probe(client: ShopifyClient) -> tuple[dict, list[str]]:
    data = await client.execute(operation("ShopInfo"))
    scopes = await client.execute(operation("AccessScopes"))
    handles = [s["handle"] for s in scopes["currentAppInstallation"]["accessScopes"]]
    return data["shop"], handles


def _report(store: Store, shop: dict, granted: list[str]) -> CheckReport:
    plan = shop.get("plan") or {}
    return CheckReport(
        shop_domain=store.shop_domain,
        shop_name=shop.get("name") or "",
        plan_name=plan.get("publicDisplayName") or "",
        api_version=API_VERSION,
        granted=tuple(sorted(granted)),
        features=audit_scopes(granted, store_features(store)),
    )


async def add_store(
    settings: Settings,
    *,
    name: str,
    shop: str,
    kind: AuthKind,
    token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    webhook_secret: str | None = None,
    api_url: str | None = None,
    probe: bool = True,
) -> AddResult:
    """Write a store; with ``probe`` (the default) only once Shopify answered with these
    credentials. ``probe=False`` (``store add --no-check``) contacts nobody."""
    domain = normalize_shop_domain(shop)
    base_url = _validate_api_url(api_url)
    database = Database.from_settings(settings)
    try:
        draft = Store(
            id=0,
            name=name,
            shop_domain=domain,
            auth_kind=kind,
            api_base_url=base_url,
            client_id=client_id,
        )
        if kind is AuthKind.OAUTH:
            return await _add_for_install(settings, database, draft, client_secret or "")
        if kind is AuthKind.TOKEN:
            secrets = {"access_token": token or ""}
            if webhook_secret:
                secrets["webhook_secret"] = webhook_secret
        else:
            secrets = {"client_secret": client_secret or ""}
        if not probe:
            async with database.stores() as stores:
                added = await stores.add(
                    name=name,
                    shop_domain=domain,
                    auth_kind=kind,
                    secrets=secrets,
                    client_id=client_id,
                    api_base_url=base_url,
                )
            return AddResult(added)
        # Verify before writing anything: a wrong token or an unreachable host stores nothing.
        # The store has no id yet, so no shared bucket: the probe keeps a bucket of its own.
        async with client_for(draft, secrets) as client:
            shop_data, granted = await _probe(client)
        report = _report(draft, shop_data, granted)
        async with database.stores() as stores:
            added = await stores.add(
                name=name,
                shop_domain=domain,
                auth_kind=kind,
                secrets=secrets,
                client_id=client_id,
                api_base_url=base_url,
            )
            added = await stores.record_check(
                name, shop_name=report.shop_name, plan_name=report.plan_name, scopes=granted
            )
        return AddResult(added)
    finally:
        await database.close()


async def update_store(
    settings: Settings,
    name: str,
    *,
    token: str | None = None,
    client_secret: str | None = None,
    webhook_secret: str | None = None,
    api_url: str | None = None,
) -> CheckReport:
    """Replace a store's credentials or Admin API address in place (a rotated token or
    client secret, a moved sandbox), keeping its work and history. Like ``add_store``,
    nothing is written until the shop answered with the new credentials at the new address,
    and answered as the same shop; the scope audit of that answer is recorded and returned.
    A replaced webhook or client secret stays accepted for webhooks signed with it, as in a
    rotation Shopify still signs some deliveries with the old one."""
    if token is None and client_secret is None and webhook_secret is None and api_url is None:
        raise StoreError(
            "nothing to update: give --token, --client-secret, --webhook-secret or --api-url"
        )
    for what, value in (
        ("token", token),
        ("client secret", client_secret),
        ("webhook secret", webhook_secret),
    ):
        if value is not None and not value.strip():
            raise StoreError(f"the {what} is empty")
    base_url = _validate_api_url(api_url)
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            store = await stores.get(name)
            current = await stores.secrets(name)
        changes: dict[str, str] = {}
        if token is not None:
            if store.auth_kind is not AuthKind.TOKEN:
                raise StoreError(
                    f"store {name!r} connects by {store.auth_kind.value}, not a token: "
                    "give --client-secret"
                )
            changes["access_token"] = token.strip()
        if client_secret is not None:
            if store.auth_kind is AuthKind.TOKEN:
                raise StoreError(
                    f"store {name!r} connects by a custom app's token: give --token (and its "
                    "API secret key with --webhook-secret)"
                )
            changes["client_secret"] = client_secret.strip()
            old = current.get("client_secret") or ""
            if old and old != changes["client_secret"]:
                changes["previous_client_secret"] = old
        if webhook_secret is not None:
            changes["webhook_secret"] = webhook_secret.strip()
            old = current.get("webhook_secret") or ""
            if old and old != changes["webhook_secret"]:
                changes["previous_webhook_secret"] = old
        draft = replace(store, api_base_url=base_url) if api_url is not None else store
        secrets = current | changes
        if store.auth_kind is AuthKind.OAUTH and not secrets.get("access_token"):
            raise StoreError(
                f"store {name!r} is not installed yet: open the install link printed by "
                "`store add --oauth` first"
            )
        # Verify before writing anything: the old credentials keep working until the new
        # ones are known to reach the same shop.
        async with client_for(draft, secrets) as client:
            shop_data, granted = await _probe(client)
        answered = str(shop_data.get("myshopifyDomain") or "").lower()
        if answered and answered != store.shop_domain:
            raise StoreError(
                f"these credentials reach {answered}, not {store.shop_domain}: "
                f"nothing was changed for store {name!r}"
            )
        report = _report(draft, shop_data, granted)
        async with database.stores() as stores:
            await stores.replace_connection(
                name, secrets=changes, api_base_url=base_url, set_api_base_url=api_url is not None
            )
            await stores.record_check(
                name, shop_name=report.shop_name, plan_name=report.plan_name, scopes=granted
            )
        return report
    finally:
        await database.close()


async def _add_for_install(
    settings: Settings, database: Database, draft: Store, client_secret: str
) -> AddResult:
    if not draft.client_id or not client_secret:
        raise StoreError("--oauth needs --client-id and --client-secret of the app")
    install = _install_for(settings, draft, client_secret)
    state = _secrets.token_urlsafe(24)
    async with database.stores() as stores:
        added = await stores.add(
            name=draft.name,
            shop_domain=draft.shop_domain,
            auth_kind=AuthKind.OAUTH,
            secrets={"client_secret": client_secret},
            client_id=draft.client_id,
            api_base_url=draft.api_base_url,
            settings={"oauth_state": state, "oauth_state_expires": _expiry()},
        )
    link = install.authorize_url(draft.shop_domain, state=state, base_url=draft.base_url)
    return AddResult(added, install_url=link.url)


def _expiry() -> str:
    return (datetime.now(UTC) + OAUTH_STATE_TTL).isoformat()


async def list_stores(settings: Settings) -> Sequence[Store]:
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            return await stores.list()
    finally:
        await database.close()


async def remove_store(settings: Settings, name: str) -> None:
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            await stores.remove(name)
    finally:
        await database.close()


async def check_store(settings: Settings, name: str) -> CheckReport:
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            store = await stores.get(name)
            secrets = await stores.secrets(name)
        if store.auth_kind is AuthKind.OAUTH and not secrets.get("access_token"):
            raise StoreError(
                f"store {name!r} is not installed yet: open the install link printed by "
                "`store add --oauth` (the bridge must be running to receive the callback)"
            )
        async with store_client(database, settings, store, secrets) as client:
            shop_data, granted = await _probe(client)
        report = _report(store, shop_data, granted)
        async with database.stores() as stores:
            await stores.record_check(
                name, shop_name=report.shop_name, plan_name=report.plan_name, scopes=granted
            )
        return report
    finally:
        await database.close()


async def complete_install(settings: Settings, database: Database, query: dict[str, str]) -> Store:
    """Finish the OAuth install: verify the callback (hmac, state, shop), exchange the code,
    store the token in ``database`` (the app's own: a callback opens nothing). Raises
    OAuthError or StoreError naming what is wrong."""
    try:
        shop = normalize_shop_domain(query.get("shop", ""))
    except ValueError as exc:
        raise OAuthError(f"OAuth callback shop is invalid: {exc}") from None
    async with database.stores() as stores:
        store = await stores.get_by_domain(shop)
        secrets = await stores.secrets(store.name)
    if store.auth_kind is not AuthKind.OAUTH:
        raise StoreError(f"store {store.name!r} was not added for an OAuth install")
    expected = str(store.settings.get("oauth_state") or "")
    expires = str(store.settings.get("oauth_state_expires") or "")
    if not expected or (expires and datetime.fromisoformat(expires) < datetime.now(UTC)):
        raise OAuthError(
            "no install is pending for this shop (or its link expired): run "
            "`fulfillbridge store add --oauth` again for a new link"
        )
    install = _install_for(settings, store, secrets["client_secret"])
    params = install.verify_callback(query, expected_state=expected)
    async with client_for(store, {"access_token": "pending"}) as client:
        token = await install.exchange_code(
            params.shop, params.code, http=client.http, base_url=store.base_url
        )
    async with database.stores() as stores:
        await stores.update_secrets(store.name, _token_secrets(token))
        await stores.update_settings(
            store.name,
            {"oauth_state": None, "oauth_state_expires": None, "installed_at": time.time()},
        )
        return await stores.get(store.name)
