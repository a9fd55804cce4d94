"""Throttling and retries against the sandbox's real bucket and injected faults."""

import asyncio
import logging
import time

import pytest

from fulfillbridge.shopify import (
    LocalThrottleBucket,
    Operation,
    OutcomeUnknown,
    RequestTimeout,
    RetryPolicy,
    ServerError,
    Throttled,
    operation,
)

from .conftest import SHOP

# A read that requests a noticeable cost (a connection of 20 locations).
LOCATIONS = operation("Locations")
CREATE_SERVICE = Operation.from_document(
    "mutation CreateSvc($name: String!) { fulfillmentServiceCreate(name: $name) "
    "{ fulfillmentService { id } userErrors { field message } } }"
)


async def test_nearly_empty_bucket_sequential_and_concurrent(sandbox, make_client, caplog):
    caplog.set_level(logging.INFO, logger="fulfillbridge.shopify")
    sandbox.set_bucket(15)
    client = make_client()  # knows nothing yet: neither the bucket nor the costs
    started_wall = time.time()
    started = time.monotonic()
    for _ in range(4):
        await client.execute(LOCATIONS, {"first": 20})
    await asyncio.gather(
        *(client.execute(LOCATIONS, {"first": 20}) for _ in range(6)),
        *(client.execute("ShopInfo") for _ in range(6)),
    )
    elapsed = time.monotonic() - started

    log = sandbox.requests()
    executed = [e for e in log if not e["throttled"]]
    assert len(executed) == 16  # none failed
    # Only the very first request went out blind; after it the client read the bucket on
    # every answer and waited instead of being refused.
    assert len([e for e in log if e["throttled"]]) <= 1
    assert all(e["available_after"] >= 0 for e in log)
    # Shopify charges the requested cost and refunds the difference to the actual cost:
    # the points spent never exceed what the bucket held plus what it restored meanwhile,
    # and every request found its requested cost available when it was charged.
    spent = sum(e["actual"] for e in executed)
    assert spent <= 15 + 100 * elapsed
    assert all(e["requested"] <= 2000 for e in executed)
    # The same at every moment: by the time each answer arrived, the points spent so far
    # fit in what the bucket held at the start plus its refill until then.
    spent_so_far = 0
    for record in caplog.records:
        if getattr(record, "shopify_cost_actual", None) is None:
            continue
        spent_so_far += record.shopify_cost_actual
        assert spent_so_far <= 15 + 100 * (record.created - started_wall) + 1
    assert spent_so_far == spent
    # ... and the client really had to wait for the refill.
    assert spent > 15
    assert elapsed >= (spent - 15) / 100 * 0.9


async def test_two_clients_share_one_bucket(sandbox, make_client):
    sandbox.set_bucket(10)
    bucket = LocalThrottleBucket()
    first, second = make_client(bucket=bucket), make_client(bucket=bucket)
    await asyncio.gather(
        *(c.execute(LOCATIONS, {"first": 20}) for c in (first, second) for _ in range(4))
    )
    log = sandbox.requests()
    assert len([e for e in log if e["throttled"]]) <= 1
    assert len([e for e in log if not e["throttled"]]) == 8


async def test_external_drain_costs_at_most_one_refused_wave(sandbox, make_client):
    # Something else emptied the bucket after the client's last reading: requests already
    # sent on the stale reading are refused once, then retried after the refill.
    client = make_client()
    await client.execute(LOCATIONS, {"first": 20})
    sandbox.set_bucket(0)
    await asyncio.gather(*(client.execute(LOCATIONS, {"first": 20}) for _ in range(3)))
    log = sandbox.requests()
    assert len([e for e in log if e["throttled"]]) <= 3
    assert len([e for e in log if not e["throttled"]]) == 4


async def test_server_errors_and_drops_are_retried_for_queries(sandbox, make_client):
    sandbox.faults({"seed": 11, "api": {"server_error": 0.3, "drop": 0.2}})
    client = make_client()
    for _ in range(12):
        data = await client.execute("ShopInfo")
        assert data["shop"]["myshopifyDomain"] == SHOP
    faults = [e["fault"] for e in sandbox.requests() if e["fault"]]
    assert "server_error" in faults and "drop" in faults  # the faults really happened


async def test_429_throttle_faults_are_retried(sandbox, make_client):
    sandbox.faults({"seed": 1, "api": {"throttle": 0.3}})
    client = make_client()
    for _ in range(6):
        await client.execute("ShopInfo")
    log = sandbox.requests()
    assert any(e["status"] == 429 for e in log)
    assert len([e for e in log if e["status"] == 200 and not e["throttled"]]) == 6


async def test_persistent_server_errors_end_in_server_error(sandbox, make_client):
    sandbox.faults({"api": {"server_error": 1.0}})
    client = make_client(retry_policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02))
    with pytest.raises(ServerError):
        await client.execute("ShopInfo")
    assert len(sandbox.requests()) == 3  # bounded


async def test_mutation_with_unknown_outcome_is_not_retried(sandbox, make_client):
    client = make_client()
    for kind in ("server_error", "drop"):
        sandbox.faults({"api": {kind: 1.0}})
        before = len(sandbox.requests())
        with pytest.raises(OutcomeUnknown, match="may or may not have run"):
            await client.execute(CREATE_SERVICE, {"name": "Once"})
        assert len(sandbox.requests()) == before + 1  # sent exactly once


async def test_throttled_mutation_is_retried_then_gives_up(sandbox, make_client):
    # THROTTLED means Shopify did not run it, so even a mutation is sent again.
    sandbox.faults({"api": {"throttle": 1.0}})
    client = make_client(retry_policy=RetryPolicy(max_attempts=2, base_delay=0.01))
    with pytest.raises(Throttled):
        await client.execute(CREATE_SERVICE, {"name": "Later"})
    assert len(sandbox.requests()) == 2


async def test_timeouts(sandbox, make_client):
    sandbox.faults({"api": {"slow": 1.0, "slow_seconds": 1.0}})
    client = make_client(timeout=0.2, retry_policy=RetryPolicy(max_attempts=2, base_delay=0.01))
    with pytest.raises(RequestTimeout):
        await client.execute("ShopInfo")
    with pytest.raises(OutcomeUnknown):
        await client.execute(CREATE_SERVICE, {"name": "Slow"})


async def test_a_hung_read_is_sent_again_with_a_longer_wait(sandbox, make_client):
    """A read first waits ``first_read_timeout`` and twice as long after each timeout, so a
    hung answer costs a short wait, not the whole read timeout."""
    # Two hung answers of 0.45 s: the first attempt (0.3 s) gives up, the second (0.6 s)
    # waits long enough. Without the doubling a third attempt would be sent.
    sandbox.faults({"api": {"first": ["slow", "slow"], "slow_seconds": 0.45}})
    client = make_client(timeout=10.0, retry_policy=RetryPolicy(max_attempts=4, base_delay=0.01))
    client.first_read_timeout = 0.3
    data = await client.execute("ShopInfo")
    assert data["shop"]
    # The hung attempt is logged when the sandbox finally answers it.
    deadline = time.monotonic() + 3.0
    while len(sandbox.requests()) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # a third attempt, if one was sent, is logged by now
    assert [r["operation"] for r in sandbox.requests()] == ["ShopInfo", "ShopInfo"]
    waits = [client._timeout(operation("ShopInfo"), timed_out) for timed_out in (0, 1, 2, 6)]
    assert waits == [0.3, 0.6, 1.2, 10.0]  # doubling, capped at the read timeout
    # A mutation's wait does not grow: its outcome is unknown after the first timeout.
    assert client._timeout(CREATE_SERVICE, 2) == client.mutation_timeout
