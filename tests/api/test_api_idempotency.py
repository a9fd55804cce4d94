"""Idempotency-Key on POSTs: a repeat replays the first answer and writes nothing; the same
key with another body is refused; concurrent repeats still ship once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from fulfillbridge.store.models import IdempotencyRecordRow
from tests.api.seeding import add_work, counts, outbox

SHIPMENT = {
    "lines": [{"sku": "MUG-RED", "quantity": 1}],
    "packages": [{"company": "UPS", "number": "1Z1"}],
}


async def _records(world) -> int:
    async with world.database.transaction() as session:
        return await session.scalar(select(func.count()).select_from(IdempotencyRecordRow))


async def test_repeated_shipment_is_replayed_and_fulfilled_once(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    url = f"/api/v1/work/{work_id}/shipments"
    async with world.client() as http:
        first = await http.post(url, json=SHIPMENT, headers={"Idempotency-Key": "ship-1"})
        assert first.status_code == 201, first.text
        assert "idempotent-replayed" not in first.headers
        after_first = await counts(world.database, work_id)
        second = await http.post(url, json=SHIPMENT, headers={"Idempotency-Key": "ship-1"})
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert await counts(world.database, work_id) == after_first
    kinds = [kind for kind, _ in await outbox(world.database, work_id)]
    assert kinds == ["create_fulfillment"]
    assert await _records(world) == 1


async def test_same_key_with_another_body_is_refused(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    url = f"/api/v1/work/{work_id}/shipments"
    async with world.client() as http:
        await http.post(url, json=SHIPMENT, headers={"Idempotency-Key": "k"})
        before = await counts(world.database, work_id)
        other = {**SHIPMENT, "lines": [{"sku": "TEE-L", "quantity": 1}]}
        response = await http.post(url, json=other, headers={"Idempotency-Key": "k"})
        assert response.status_code == 422
        assert "Idempotency-Key 'k' was already used" in response.json()["detail"]
        assert "different body" in response.json()["detail"]
        elsewhere = await http.post(
            f"/api/v1/work/{work_id}/stage",
            json={"stage": "printing"},
            headers={"Idempotency-Key": "k"},
        )
        assert elsewhere.status_code == 422
        assert f"POST /api/v1/work/{work_id}/shipments" in elsewhere.json()["detail"]
    assert await counts(world.database, work_id) == before


async def test_keys_are_per_api_key_and_failures_are_not_stored(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    url = f"/api/v1/work/{work_id}/stage"
    async with world.client() as http:
        failed = await http.post(url, json={"stage": "packing-x"}, headers={"Idempotency-Key": "s"})
        assert failed.status_code == 422
        assert await _records(world) == 0
        ok = await http.post(url, json={"stage": "printing"}, headers={"Idempotency-Key": "s"})
        assert ok.status_code == 200
    async with world.client(world.all_key) as http:
        # another API key's "s" is its own
        other = await http.post(url, json={"stage": "packing"}, headers={"Idempotency-Key": "s"})
        assert other.status_code == 200
        assert other.json()["work"]["stage"] == "packing"
    assert await _records(world) == 2


async def test_empty_body_posts_replay_too(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    async with world.client() as http:
        await http.post(f"/api/v1/work/{work_id}/hold", json={"reason": "OTHER"})
        first = await http.post(f"/api/v1/work/{work_id}/release", headers={"Idempotency-Key": "r"})
        second = await http.post(
            f"/api/v1/work/{work_id}/release", headers={"Idempotency-Key": "r"}
        )
        third = await http.post(f"/api/v1/work/{work_id}/release")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert third.status_code == 409  # without the key it is a new request
    assert [k for k, _ in await outbox(world.database, work_id)] == ["hold", "release_hold"]


async def test_concurrent_repeats_create_one_fulfillment(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    url = f"/api/v1/work/{work_id}/shipments"
    async with world.client() as http:
        responses = await asyncio.gather(
            *(http.post(url, json=SHIPMENT, headers={"Idempotency-Key": "race"}) for _ in range(4))
        )
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert len({r.json()["shipment"]["id"] for r in responses}) == 1
    kinds = [kind for kind, _ in await outbox(world.database, work_id)]
    assert kinds == ["create_fulfillment"]
    assert await _records(world) == 1


async def test_overlong_key_is_refused(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    async with world.client() as http:
        response = await http.post(
            f"/api/v1/work/{work_id}/release", headers={"Idempotency-Key": "x" * 256}
        )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_a_repeated_hold_is_replayed_and_held_once(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    url = f"/api/v1/work/{work_id}/hold"
    body = {"reason": "OTHER", "notes": "waiting for the customer's artwork"}
    async with world.client() as http:
        first = await http.post(url, json=body, headers={"Idempotency-Key": "hold-1"})
        assert first.status_code == 200, first.text
        second = await http.post(url, json=body, headers={"Idempotency-Key": "hold-1"})
        changed = await http.post(
            url, json={**body, "notes": "another reason"}, headers={"Idempotency-Key": "hold-1"}
        )
    assert second.status_code == 200 and second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json() and first.json()["work"]["state"] == "on_hold"
    assert changed.status_code == 422 and "hold-1" in changed.json()["detail"]
    assert [k for k, _ in await outbox(world.database, work_id)] == ["hold"]
    assert await _records(world) == 1


async def test_every_route_taking_the_key_checks_it_the_same_way(world) -> None:
    async with world.client() as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
        taking = sorted(
            path
            for path, operations in paths.items()
            if any(
                p["name"] == "Idempotency-Key"
                for p in operations.get("post", {}).get("parameters", [])
            )
        )
        # The work actions and the returns' actions all take it.
        assert "/api/v1/work/{work_id}/hold" in taking
        assert "/api/v1/returns/{return_id}/dispose" in taking
        assert len(taking) >= 15
        for path in taking:
            url = path.format(work_id=1, return_id=1, shipment_id=1)
            response = await http.post(url, json={}, headers={"Idempotency-Key": "x" * 256})
            assert response.status_code == 422, (path, response.text)
            locations = [error["loc"] for error in response.json()["detail"]]
            assert ["header", "Idempotency-Key"] in locations, (path, locations)
