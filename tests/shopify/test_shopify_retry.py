import pytest

from fulfillbridge.shopify import RetryPolicy, backoff_delay
from fulfillbridge.shopify._retry import Decision, Failure, decide


def test_backoff_is_bounded_and_grows():
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert policy.backoff(1, rand=lambda: 1.0) == 0.5
    assert policy.backoff(2, rand=lambda: 1.0) == 1.0
    assert policy.backoff(3, rand=lambda: 1.0) == 2.0
    assert policy.backoff(10, rand=lambda: 1.0) == 4.0
    assert policy.backoff(3, rand=lambda: 0.0) == 0.0
    for attempt in range(1, 30):
        assert 0.0 <= policy.backoff(attempt) <= 4.0


def test_may_retry_respects_attempts_and_total_time():
    policy = RetryPolicy(max_attempts=3, max_retry_seconds=10)
    assert policy.may_retry(1, 0, 1)
    assert policy.may_retry(2, 8, 2)
    assert not policy.may_retry(3, 0, 0)
    assert not policy.may_retry(2, 9, 2)


def test_invalid_policy_rejected():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(max_retry_seconds=-1)


@pytest.mark.parametrize(
    ("failure", "query", "mutation"),
    [
        (Failure.NOT_SENT, Decision.RETRY, Decision.RETRY),
        (Failure.THROTTLED, Decision.RETRY, Decision.RETRY),
        (Failure.NO_ANSWER, Decision.RETRY, Decision.OUTCOME_UNKNOWN),
        (Failure.SERVER_ERROR, Decision.RETRY, Decision.OUTCOME_UNKNOWN),
        (Failure.FINAL, Decision.GIVE_UP, Decision.GIVE_UP),
    ],
)
def test_retry_rule(failure, query, mutation):
    assert decide(failure, is_mutation=False) is query
    assert decide(failure, is_mutation=True) is mutation


def test_backoff_delay_jitter_is_a_share_of_the_ceiling():
    def delay(attempt: int, jitter: float, r: float) -> float:
        return backoff_delay(attempt, base=2.0, cap=600.0, jitter=jitter, rand=lambda: r)

    assert [delay(n, 0.0, 0.3) for n in (1, 2, 3, 10, 11)] == [2.0, 4.0, 8.0, 600.0, 600.0]
    assert (delay(3, 1.0, 0.0), delay(3, 1.0, 0.25), delay(3, 1.0, 1.0)) == (0.0, 2.0, 8.0)
    assert (delay(3, 0.5, 0.0), delay(3, 0.5, 0.5), delay(3, 0.5, 1.0)) == (4.0, 6.0, 8.0)
    assert backoff_delay(0, base=2.0, cap=600.0, jitter=0.0) == 2.0  # before any failure
    with pytest.raises(ValueError, match="jitter"):
        backoff_delay(1, base=1.0, cap=1.0, jitter=1.5)
