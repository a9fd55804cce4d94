"""When to send a request again, and how long to wait first.

The rule, per failure and operation kind:

================================  =========  ==========================================
failure                           query      mutation
================================  =========  ==========================================
connect error / connect timeout   retry      retry (the request never left us)
pool timeout                      retry      retry (no connection was ever used)
THROTTLED (HTTP 200 or 429)       retry      retry (Shopify did not execute it; its
                                             actualQueryCost is null)
read timeout, dropped connection  retry      OutcomeUnknown: it may have run
HTTP 5xx                          retry      OutcomeUnknown: it may have run
INTERNAL_SERVER_ERROR in a 200    retry      OutcomeUnknown (see the fulfillment-order
                                             lifecycle capture: data null, state unclear)
401 with renewable credentials    once       once (the token was refused, nothing ran)
other 4xx (400/401/402/403/404/   never      never (sending it again fails again)
422/423), GraphQL errors
================================  =========  ==========================================

Retries are bounded by a number of attempts and by total elapsed time; the delay is
exponential with full jitter, or what the server asked for (Retry-After / bucket refill).

``backoff_delay`` is the bridge's one backoff formula: the client uses it here, and the
outbox and the inbox (``flows``) use it with their own numbers.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass


class Failure(enum.Enum):
    NOT_SENT = "not_sent"  # connect error, connect or pool timeout
    THROTTLED = "throttled"
    NO_ANSWER = "no_answer"  # read/write timeout, connection dropped after sending
    SERVER_ERROR = "server_error"  # 5xx, or INTERNAL_SERVER_ERROR inside a 200
    FINAL = "final"  # anything sending again cannot fix


class Decision(enum.Enum):
    RETRY = "retry"
    GIVE_UP = "give_up"
    OUTCOME_UNKNOWN = "outcome_unknown"


def decide(failure: Failure, *, is_mutation: bool) -> Decision:
    """What to do about ``failure`` if attempts and time remain (the table above)."""
    if failure in (Failure.NOT_SENT, Failure.THROTTLED):
        return Decision.RETRY
    if failure in (Failure.NO_ANSWER, Failure.SERVER_ERROR):
        return Decision.OUTCOME_UNKNOWN if is_mutation else Decision.RETRY
    return Decision.GIVE_UP


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    jitter: float = 1.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): the ceiling
    ``min(cap, base * 2**(attempt-1))``, of which the last ``jitter`` share is random, so
    that clients failing together do not retry together. ``jitter`` 1 gives a delay
    anywhere in [0, ceiling] (full jitter), 0.5 one in [ceiling/2, ceiling], 0 the ceiling."""
    if not 0.0 <= jitter <= 1.0:
        raise ValueError("jitter is a share of the delay, from 0 to 1")
    ceiling: float = min(cap, base * 2.0 ** max(0, attempt - 1))
    if not jitter:
        return ceiling
    return float(ceiling * (1.0 - jitter + jitter * rand()))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for retrying one call: attempts (the first included) and seconds in all."""

    max_attempts: int = 5
    max_retry_seconds: float = 60.0
    base_delay: float = 0.25
    max_delay: float = 8.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_retry_seconds < 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retry delays and bounds must not be negative")

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Delay after failed attempt number ``attempt`` (1-based): full jitter in
        [0, min(max_delay, base_delay * 2**(attempt-1))]."""
        return backoff_delay(attempt, base=self.base_delay, cap=self.max_delay, rand=rand)

    def may_retry(self, attempt: int, elapsed: float, delay: float) -> bool:
        """Whether another attempt fits after ``attempt`` attempts and ``elapsed`` s
        when the next one would start after ``delay`` more seconds."""
        return attempt < self.max_attempts and elapsed + delay <= self.max_retry_seconds
