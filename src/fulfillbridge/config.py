"""Configuration: environment variables (``FULFILLBRIDGE_*``) over an optional TOML file.

Precedence, highest first: keyword arguments, environment, the TOML file named by
``FULFILLBRIDGE_CONFIG_FILE`` (default ``<home>/config.toml`` when it exists), defaults.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from fulfillbridge.core.errors import ConfigErrorCode, FulfillbridgeError

DEFAULT_HOME = Path(".fulfillbridge")


class ConfigError(FulfillbridgeError):
    """The configuration cannot be used; the message names the problem and the fix."""

    default_code = ConfigErrorCode.INVALID


class WarehouseSettings(BaseModel):
    """A warehouse or production line (see core.routing)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    priority: int = 100
    # Shopify location ids it works for; empty means every location.
    locations: list[str] = Field(default_factory=list)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FULFILLBRIDGE_", extra="forbid")

    home: Path = Field(DEFAULT_HOME, description="Directory for the SQLite file and key file.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file under home."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key(s) encrypting secrets at rest, comma-separated, newest first. "
        "Default: a key file under home, created on first run with 0600 permissions.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL where Shopify reaches this bridge (callbacks, webhooks).",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: str = Field("text", pattern="^(text|json)$")
    reconcile_interval_seconds: float = Field(60.0, gt=0)
    worker_poll_seconds: float = Field(1.0, gt=0, description="How often idle workers look again.")
    # Claims (a store's queues, outbox rows) last this long unless their worker renews them;
    # a live worker renews them every worker_heartbeat_seconds, so a dead one's claims are
    # free again at most this long after its last beat (docs/architecture.md "Workers").
    worker_lease_seconds: float = Field(15.0, ge=1, le=600)
    worker_heartbeat_seconds: float = Field(3.0, gt=0, le=60)
    # Stores whose queues one worker works at once, and per store: inbox events per round,
    # outbox rows claimed per claim and sent at once.
    worker_stores: int = Field(8, ge=1, le=256)
    worker_inbox_batch: int = Field(25, ge=1, le=1000)
    worker_outbox_batch: int = Field(4, ge=1, le=100)
    worker_outbox_concurrency: int = Field(4, ge=1, le=32)
    # A mutation whose outcome is unknown is checked in Shopify after 1 s, 2 s, 4 s ... at
    # most this long apart; one that got no answer at all and whose late arrival could
    # double it (a partial fulfillment that could fit twice, a delivery event, a tracking
    # change: core.resend) is not sent again before unknown_settle_seconds, longer than
    # Shopify keeps a request running.
    outbox_verify_first_seconds: float = Field(1.0, gt=0, le=60)
    outbox_verify_max_seconds: float = Field(30.0, gt=0, le=600)
    unknown_settle_seconds: float = Field(60.0, ge=0, le=600)
    # Reconciliation runs every reconcile_interval_seconds at the latest, and sooner once a
    # store has been quiet this long after news (a lost webhook's order is then late by
    # about this much) or after an event failed.
    reconcile_quiet_seconds: float = Field(20.0, gt=0, le=3600)
    # How long an Idempotency-Key is honoured, and how long processed webhooks are kept to
    # recognise a late repeat (Shopify retries a delivery for up to two days).
    idempotency_key_days: float = Field(7.0, ge=1, le=365)
    inbox_retention_days: float = Field(14.0, ge=3, le=3650)
    # The operation's production stages, in order (reported to Shopify as progress).
    stages: list[str] = Field(default_factory=lambda: ["picking", "packing"], min_length=1)
    # A merchant's cancellation request is accepted until work reaches this stage.
    cancel_cutoff_stage: str | None = "packing"
    warehouses: list[WarehouseSettings] = Field(
        default_factory=lambda: [WarehouseSettings(name="main", priority=1)], min_length=1
    )
    # The operation is told (deadline_approaching) when open work's deadline is this near.
    deadline_warning_hours: float = Field(24.0, gt=0, le=24 * 90)
    # Where new work and cancellations are announced to the operation (signed), if anywhere.
    operation_webhook_url: str | None = None
    operation_webhook_secret: SecretStr | None = None
    # /metrics answers only requests with `Authorization: Bearer <metrics_token>` when set.
    metrics_token: SecretStr | None = None
    # A webhook whose X-Shopify-Triggered-At is older than this is refused (a stale replay).
    # Shopify retries a failed delivery with its original trigger time, 8 times over about
    # 4 hours (before September 2024: 19 times over 48 hours); 72 hours covers both, with
    # room for clock differences, so a genuine retry is never refused.
    webhook_max_age_hours: float = Field(72.0, ge=5, le=24 * 30)
    # Asking carriers where a labelled parcel is (docs/shipping.md, "Tracking to the door"):
    # first this long after shipping (and at this pace while out for delivery), then every
    # tracking_poll_seconds, backing off to tracking_poll_max_seconds while nothing changes.
    # Real carriers need no more; the demo shortens them to seconds.
    tracking_poll_first_seconds: float = Field(1800.0, gt=0, le=86400)
    tracking_poll_seconds: float = Field(7200.0, gt=0, le=86400)
    tracking_poll_max_seconds: float = Field(43200.0, gt=0, le=7 * 86400)

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _cutoff_is_a_stage(self) -> Settings:
        if self.cancel_cutoff_stage is not None and self.cancel_cutoff_stage not in self.stages:
            raise ValueError(
                f"cancel_cutoff_stage {self.cancel_cutoff_stage!r} is not one of the stages "
                f"{self.stages}"
            )
        if self.tracking_poll_max_seconds < self.tracking_poll_seconds:
            raise ValueError(
                f"tracking_poll_max_seconds ({self.tracking_poll_max_seconds}) must be at least "
                f"tracking_poll_seconds ({self.tracking_poll_seconds})"
            )
        names = [w.name for w in self.warehouses]
        if len(set(names)) != len(names):
            raise ValueError(f"warehouse names must be unique: {names}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.home / 'fulfillbridge.db').as_posix()}"

    @property
    def key_file(self) -> Path:
        return self.home / "secret.key"

    def masked(self) -> dict[str, Any]:
        """The effective configuration with every secret masked (for ``config show``)."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, list):
                shown[name] = [v.model_dump() if isinstance(v, BaseModel) else v for v in value]
            elif isinstance(value, SecretStr):
                shown[name] = "********" if value.get_secret_value() else ""
            elif value is None:
                shown[name] = None
            else:
                shown[name] = str(value) if isinstance(value, Path) else value
            if isinstance(shown[name], str) and "://" in shown[name]:
                shown[name] = mask_url(shown[name])
        shown["database_url"] = mask_url(self.effective_database_url)
        shown["secret_key"] = self.secret_key_source()
        return shown

    def secret_key_source(self) -> str:
        """Where the key that seals stored secrets comes from, never the key itself."""
        if self.secret_key is None:
            state = "exists" if self.key_file.exists() else "created on first use"
            return f"key file {self.key_file} ({state})"
        count = len([k for k in self.secret_key.get_secret_value().split(",") if k.strip()])
        where = (
            "environment FULFILLBRIDGE_SECRET_KEY"
            if os.environ.get("FULFILLBRIDGE_SECRET_KEY")
            else f"config file {config_file_path() or 'settings'}"
        )
        return f"******** ({count} key(s), from {where})"


def mask_url(url: str) -> str:
    """A URL safe to print: the password of its userinfo (a lone user name too) and every
    query value replaced by ``***`` (where tokens travel); scheme, host and path kept."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unreadable URL)"
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        creds, _, host = netloc.rpartition("@")
        user, colon, _password = creds.partition(":")
        # A user alone is often a token (https://TOKEN@host/): hidden too.
        netloc = f"{user}:***@{host}" if colon else f"***@{host}"
    query = "&".join(
        f"{name}=***" if value or "=" in pair else name
        for pair in parts.query.split("&")
        if pair
        for name, _, value in [pair.partition("=")]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def config_file_path() -> Path | None:
    explicit = os.environ.get("FULFILLBRIDGE_CONFIG_FILE")
    if explicit:
        return Path(explicit)
    home = Path(os.environ.get("FULFILLBRIDGE_HOME", DEFAULT_HOME))
    candidate = home / "config.toml"
    return candidate if candidate.exists() else None


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the optional TOML file; a corrupt or unreadable file is a ConfigError."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data = self._load()

    @staticmethod
    def _load() -> dict[str, Any]:
        path = config_file_path()
        if path is None:
            return {}
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(
                f"config file {path} does not exist: create it or unset FULFILLBRIDGE_CONFIG_FILE"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML ({exc}): fix it") from None
        except OSError as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
        # Settings live at the top level or under [fulfillbridge].
        section = data.get("fulfillbridge", data)
        if not isinstance(section, dict):
            raise ConfigError(f"config file {path}: [fulfillbridge] must be a table")
        return section

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {key: value for key, value in self._data.items() if value is not None}


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and config file, or a ConfigError naming the problem."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
