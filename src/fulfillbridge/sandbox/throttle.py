"""Shopify's leaky bucket for the GraphQL Admin API, one per shop and app.

Shopify docs ("GraphQL Admin API rate limits"): each app/store pair has a bucket whose size
and restore rate follow the store's plan (``state.PLANS``). A request is charged its
requested cost up front and refunded the difference once its actual cost is known; a request
that needs more than is available is refused with THROTTLED and charged nothing.
Time comes from the sandbox clock's ``monotonic()`` so tests can advance it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class LeakyBucket:
    maximum: int
    restore_rate: int  # points per second
    now: Callable[[], float]
    _available: float = -1.0
    _updated_at: float = 0.0

    def __post_init__(self) -> None:
        if self._available < 0:
            self._available = float(self.maximum)
        self._updated_at = self.now()

    def _refill(self) -> None:
        moment = self.now()
        elapsed = moment - self._updated_at
        if elapsed > 0:
            self._available = min(self.maximum, self._available + elapsed * self.restore_rate)
        # A clock moved backwards (reset, freeze in the past) just restarts the count.
        self._updated_at = moment

    @property
    def available(self) -> float:
        self._refill()
        return self._available

    def try_charge(self, cost: int) -> bool:
        """Take ``cost`` points if they are there; False (nothing taken) when short."""
        self._refill()
        if cost > self._available:
            return False
        self._available -= cost
        return True

    def refund(self, points: int) -> None:
        if points > 0:
            self._refill()
            self._available = min(self.maximum, self._available + points)

    def set_available(self, points: float) -> None:
        self._refill()
        self._available = max(0.0, min(float(self.maximum), float(points)))

    def status(self) -> dict[str, int]:
        """``throttleStatus`` as Shopify reports it (currentlyAvailable is a whole number)."""
        return {
            # Whole numbers, as every captured response shows them.
            "maximumAvailable": self.maximum,
            "currentlyAvailable": int(round(self.available, 3)),
            "restoreRate": self.restore_rate,
        }
