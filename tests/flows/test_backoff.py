"""The outbox and the inbox wait by the one backoff formula, each with its own numbers."""

from __future__ import annotations

from fulfillbridge.flows.outbox import OutboxPolicy
from fulfillbridge.flows.processing import retry_delay


def test_the_outbox_waits_between_half_and_all_of_its_ceiling() -> None:
    policy = OutboxPolicy()  # 2 s doubling to 10 minutes
    for attempt, ceiling in ((1, 2.0), (2, 4.0), (5, 32.0), (9, 512.0), (10, 600.0), (30, 600.0)):
        for _ in range(20):
            assert ceiling / 2 <= policy.backoff(attempt) <= ceiling


def test_the_inbox_waits_without_jitter() -> None:
    # Every process counts the same schedule from an event's reception time.
    assert [retry_delay(n) for n in range(0, 9)] == [0.0, 5, 10, 20, 40, 80, 160, 320, 600]
