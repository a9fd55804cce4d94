"""Bucket arithmetic and the local bucket's waiting, on a fake clock (no real sleeping)."""

import asyncio

import pytest

from fulfillbridge.shopify import LocalThrottleBucket, ThrottleBucket, ThrottleStatus, parse_cost
from fulfillbridge.shopify._throttle import available_at, seconds_until_available

STATUS = ThrottleStatus(maximum_available=2000, currently_available=100, restore_rate=100)


class FakeTime:
    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self):
        return self.now

    async def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def test_parse_cost_from_capture_shape():
    body = {
        "data": {},
        "extensions": {
            "cost": {
                "requestedQueryCost": 58,
                "actualQueryCost": 16,
                "throttleStatus": {
                    "maximumAvailable": 2000,
                    "currentlyAvailable": 1984,
                    "restoreRate": 100,
                },
            }
        },
    }
    cost = parse_cost(body)
    assert cost.requested == 58 and cost.actual == 16
    assert cost.throttle_status == ThrottleStatus(2000, 1984, 100)
    assert parse_cost({"data": {}}) is None
    assert parse_cost("not json") is None
    throttled = parse_cost(
        {"extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": None}}}
    )
    assert throttled.actual is None and throttled.throttle_status is None


def test_available_refills_linearly_and_caps_at_maximum():
    assert available_at(STATUS, 10.0, 10.0) == 100
    assert available_at(STATUS, 10.0, 12.5) == 350
    assert available_at(STATUS, 10.0, 100.0) == 2000
    assert available_at(STATUS, 10.0, 5.0) == 100  # a clock going backwards adds nothing


def test_seconds_until_available():
    assert seconds_until_available(STATUS, 0.0, 0.0, 50) == 0
    assert seconds_until_available(STATUS, 0.0, 0.0, 300) == pytest.approx(2.0)
    assert seconds_until_available(STATUS, 0.0, 1.0, 300) == pytest.approx(1.0)
    # never more than a full bucket is needed
    assert seconds_until_available(STATUS, 0.0, 0.0, 5000) == pytest.approx(19.0)
    stuck = ThrottleStatus(100, 0, 0)
    assert seconds_until_available(stuck, 0, 0, 10) == float("inf")


def test_local_bucket_satisfies_protocol():
    assert isinstance(LocalThrottleBucket(), ThrottleBucket)


async def test_first_request_probes_alone_then_waits_for_refill():
    t = FakeTime()
    bucket = LocalThrottleBucket(clock=t.clock, sleep=t.sleep)
    await bucket.acquire(10)  # unknown bucket: the probe goes at once
    second = asyncio.create_task(bucket.acquire(10))
    await asyncio.sleep(0)
    assert not second.done()  # waits for the probe's reading
    await bucket.update(ThrottleStatus(2000, 5, 100), released=10)
    await asyncio.wait_for(second, 1)
    # 5 available, 10 wanted: a refill of 0.05 s at 100/s was needed
    assert sum(t.sleeps) >= 0.05
    assert bucket.available() < 2  # the 10 points are now reserved


async def test_reservations_make_concurrent_callers_wait_their_turn():
    t = FakeTime()
    bucket = LocalThrottleBucket(clock=t.clock, sleep=t.sleep)
    await bucket.acquire(1)
    await bucket.update(ThrottleStatus(1000, 100, 50), released=1)
    start = t.now
    # five callers of 40 points share 100 points restoring at 50/s
    await asyncio.gather(*(bucket.acquire(40) for _ in range(5)))
    # 200 points reserved beyond the 100 available: at least 2 s of refill
    assert t.now - start >= 2.0 - 1e-9
    assert bucket.available() >= -1e-6  # never promised more than the bucket holds


async def test_cost_above_bucket_size_is_capped_and_wait_is_bounded():
    t = FakeTime()
    bucket = LocalThrottleBucket(clock=t.clock, sleep=t.sleep, max_wait_seconds=3)
    await bucket.acquire(1)
    await bucket.update(ThrottleStatus(100, 0, 0), released=1)  # never refills
    await asyncio.wait_for(bucket.acquire(10), 1)
    assert sum(t.sleeps) <= 3 + 1e-9


async def test_update_without_status_releases_the_probe():
    t = FakeTime()
    bucket = LocalThrottleBucket(clock=t.clock, sleep=t.sleep)
    await bucket.acquire(10)
    await bucket.update(None, released=10)  # e.g. the probe hit a connection error
    await asyncio.wait_for(bucket.acquire(10), 1)  # the next caller probes instead
    assert bucket.status is None
