"""Fault injection settings for the sandbox (set with ``POST /__sandbox/faults``).

JSON form (every key optional; ``{}`` clears all faults)::

    {"seed": 7,
     "api": {"server_error": 0.1, "throttle": 0.05, "slow": 0.1, "slow_seconds": 2.0,
             "drop": 0.02, "lost": 0.05, "lost_as": "drop", "mutations_only": false,
             "first": ["drop", "server_error"]},
     "webhooks": {"drop": 0.1, "duplicate": 0.1, "delay_seconds": 0.5, "reorder": 0.2}}

Shares are probabilities in [0, 1]. API faults are drawn once per Admin API request, in the
order drop, server error, throttle, slow, lost (their shares add up; the sum may not exceed
1). ``drop``, ``server_error`` and ``throttle`` end the request before it runs; ``lost`` runs
it (a mutation changes the shop) and then loses the answer: the connection is dropped
(``lost_as: "drop"``) or a 502 comes back (``lost_as: "bad_gateway"``), as when a proxy
between the caller and Shopify fails after Shopify did the work. With ``mutations_only``,
queries are never faulted (a test can aim at the writes). ``first`` lists faults inflicted,
in that order, on the next requests eligible for a fault before any draw, so a short run is
sure to meet each kind at least once.
Webhook faults are read by the outbound dispatcher. One seeded ``random.Random`` makes runs
repeatable.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ApiFault = Literal["drop", "server_error", "throttle", "slow", "lost"]
LostAs = Literal["drop", "bad_gateway"]


class FaultSettingsError(ValueError):
    """Fault settings that make no sense (a share outside [0, 1], an unknown key...)."""


def _share(section: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultSettingsError(f"{section}.{name} must be a number between 0 and 1")
    if not 0.0 <= float(value) <= 1.0:
        raise FaultSettingsError(f"{section}.{name} must be between 0 and 1, got {value}")
    return float(value)


def _seconds(section: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultSettingsError(f"{section}.{name} must be a non-negative number of seconds")
    if value > 60:
        raise FaultSettingsError(f"{section}.{name} may be at most 60 seconds")
    return float(value)


@dataclass
class ApiFaults:
    server_error: float = 0.0  # share answered 5xx with Shopify's internal-error body
    throttle: float = 0.0  # share answered 429 THROTTLED whatever the bucket says
    slow: float = 0.0  # share answered only after ``slow_seconds``
    slow_seconds: float = 0.0
    drop: float = 0.0  # share whose connection is closed without an answer
    lost: float = 0.0  # share run to the end whose answer is then lost
    lost_as: LostAs = "drop"
    mutations_only: bool = False  # fault mutations only, never queries
    first: list[ApiFault] = field(default_factory=list)  # inflicted in order before any draw

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiFaults:
        _no_unknown_keys("api", data, cls)
        lost_as = data.get("lost_as", "drop")
        if lost_as not in ("drop", "bad_gateway"):
            raise FaultSettingsError('api.lost_as must be "drop" or "bad_gateway"')
        mutations_only = data.get("mutations_only", False)
        if not isinstance(mutations_only, bool):
            raise FaultSettingsError("api.mutations_only must be true or false")
        first = data.get("first", [])
        kinds = ("drop", "server_error", "throttle", "slow", "lost")
        if not isinstance(first, list) or not all(kind in kinds for kind in first):
            raise FaultSettingsError(f"api.first must be a list of: {', '.join(kinds)}")
        faults = cls(
            server_error=_share("api", "server_error", data.get("server_error", 0.0)),
            throttle=_share("api", "throttle", data.get("throttle", 0.0)),
            slow=_share("api", "slow", data.get("slow", 0.0)),
            slow_seconds=_seconds("api", "slow_seconds", data.get("slow_seconds", 0.0)),
            drop=_share("api", "drop", data.get("drop", 0.0)),
            lost=_share("api", "lost", data.get("lost", 0.0)),
            lost_as=lost_as,
            mutations_only=mutations_only,
            first=list(first),
        )
        if faults.first and "slow" in faults.first and not faults.slow_seconds:
            raise FaultSettingsError("api.first names slow: give api.slow_seconds")
        total = faults.server_error + faults.throttle + faults.slow + faults.drop + faults.lost
        if total > 1.0 + 1e-9:
            raise FaultSettingsError("api shares add up to more than 1")
        return faults

    @property
    def active(self) -> bool:
        return bool(
            self.server_error or self.throttle or self.slow or self.drop or self.lost or self.first
        )


@dataclass
class WebhookFaults:
    drop: float = 0.0  # share of deliveries never sent
    duplicate: float = 0.0  # share of deliveries sent twice
    delay_seconds: float = 0.0  # extra wait before each delivery
    reorder: float = 0.0  # share of deliveries held back behind the next one

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WebhookFaults:
        _no_unknown_keys("webhooks", data, cls)
        return cls(
            drop=_share("webhooks", "drop", data.get("drop", 0.0)),
            duplicate=_share("webhooks", "duplicate", data.get("duplicate", 0.0)),
            delay_seconds=_seconds("webhooks", "delay_seconds", data.get("delay_seconds", 0.0)),
            reorder=_share("webhooks", "reorder", data.get("reorder", 0.0)),
        )


def _no_unknown_keys(section: str, data: Any, cls: type) -> None:
    if not isinstance(data, dict):
        raise FaultSettingsError(f"{section} must be a JSON object")
    unknown = set(data) - set(cls.__dataclass_fields__)
    if unknown:
        raise FaultSettingsError(
            f"unknown {section} fault setting(s): {', '.join(sorted(unknown))}"
        )


@dataclass
class FaultSettings:
    api: ApiFaults = field(default_factory=ApiFaults)
    webhooks: WebhookFaults = field(default_factory=WebhookFaults)
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any) -> FaultSettings:
        if not isinstance(data, dict):
            raise FaultSettingsError("fault settings must be a JSON object")
        unknown = set(data) - {"api", "webhooks", "seed"}
        if unknown:
            raise FaultSettingsError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultSettingsError("seed must be an integer")
        return cls(
            api=ApiFaults.from_dict(data.get("api") or {}),
            webhooks=WebhookFaults.from_dict(data.get("webhooks") or {}),
            seed=seed,
            rng=random.Random(seed),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "api": asdict(self.api), "webhooks": asdict(self.webhooks)}

    def draw_api_fault(self, *, mutation: bool = True) -> ApiFault | None:
        """The fault (if any) to inflict on one API request (``mutation``: whether it is
        one, for ``mutations_only``)."""
        api = self.api
        if not api.active or (api.mutations_only and not mutation):
            return None
        if api.first:
            return api.first.pop(0)
        roll = self.rng.random()
        for name, share in (
            ("drop", api.drop),
            ("server_error", api.server_error),
            ("throttle", api.throttle),
            ("slow", api.slow),
            ("lost", api.lost),
        ):
            if roll < share:
                return name  # type: ignore[return-value]
            roll -= share
        return None

    def chance(self, share: float) -> bool:
        """True with probability ``share`` (for webhook faults), from the seeded generator."""
        return share > 0 and self.rng.random() < share
