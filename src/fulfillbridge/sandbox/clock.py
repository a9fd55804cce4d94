"""The sandbox's controllable clock: real time plus an offset, or frozen at an instant."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen: float | None = None
        # Monotonic time keeps its own offset and frozen value: freezing wall time at some
        # instant must not make monotonic time jump (that would refill every bucket).
        self._mono_offset = 0.0
        self._mono_frozen: float | None = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def time(self) -> float:
        """Seconds since the epoch, as the sandbox sees them."""
        if self._frozen is not None:
            return self._frozen
        return time.time() + self._offset

    def monotonic(self) -> float:
        """Monotonic seconds that also move when the clock is advanced (for buckets)."""
        if self._mono_frozen is not None:
            return self._mono_frozen
        return time.monotonic() + self._mono_offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def iso_now(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def advance(self, seconds: float) -> None:
        if self._frozen is not None:
            self._frozen += seconds
        else:
            self._offset += seconds
        if self._mono_frozen is not None:
            self._mono_frozen += seconds
        else:
            self._mono_offset += seconds

    def freeze(self, at: datetime | None = None) -> None:
        self._frozen = (at or self.now()).timestamp()
        if self._mono_frozen is None:
            self._mono_frozen = self.monotonic()

    def unfreeze(self) -> None:
        if self._frozen is not None:
            self._offset = self._frozen - time.time()
            self._frozen = None
        if self._mono_frozen is not None:
            self._mono_offset = self._mono_frozen - time.monotonic()
            self._mono_frozen = None

    def reset(self) -> None:
        self._offset = self._mono_offset = 0.0
        self._frozen = self._mono_frozen = None

    def later(self, **delta: float) -> datetime:
        return self.now() + timedelta(**delta)
