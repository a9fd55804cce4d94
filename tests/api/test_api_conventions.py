"""Conventions every /api/v1 route keeps, over the real app: a shipment without tracking is
asked for on purpose, unknown query parameters are refused, every time carries its zone,
and every operation has a summary and a description written for people."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest

from fulfillbridge.core.work import Effect
from fulfillbridge.store.models import InventorySyncRow
from fulfillbridge.store.work import WorkRepository
from tests.api.seeding import add_work, counts

ISO_WITH_ZONE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _times(data: object) -> list[str]:
    """Every string in ``data`` that looks like a time."""
    if isinstance(data, dict):
        return [t for value in data.values() for t in _times(value)]
    if isinstance(data, list):
        return [t for value in data for t in _times(value)]
    return [data] if isinstance(data, str) and LOOKS_LIKE_TIME.match(data) else []


async def test_an_empty_package_list_needs_no_tracking_said_out_loud(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    url = f"/api/v1/work/{work_id}/shipments"
    before = await counts(world.database, work_id)
    async with world.client() as http:
        for body in ({}, {"packages": []}, {"lines": [{"sku": "MUG-RED", "quantity": 1}]}):
            refused = await http.post(url, json=body)
            assert refused.status_code == 422, refused.text
            assert "no_tracking" in refused.text and "packages is empty" in refused.text
        both = await http.post(
            url, json={"packages": [{"company": "UPS", "number": "1Z"}], "no_tracking": True}
        )
        assert both.status_code == 422
        assert "no_tracking" in both.text
        assert await counts(world.database, work_id) == before

        shipped = await http.post(url, json={"no_tracking": True})
    assert shipped.status_code == 201, shipped.text
    assert shipped.json()["work"]["state"] == "shipped"
    assert shipped.json()["shipment"]["packages"] == []


@pytest.mark.parametrize(
    "path",
    ["/api/v1/work", "/api/v1/deliveries", "/api/v1/inventory/status", "/api/v1/work/{work}"],
)
async def test_unknown_query_parameters_are_refused(world, path: str) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    url = path.format(work=work_id)
    async with world.client() as http:
        assert (await http.get(url)).status_code == 200
        refused = await http.get(url, params={"order_name": "#1001"})
        also = await http.get(url, params={"limit": 5, "sotr": "deadline"})
    assert refused.status_code == 422
    assert "order_name" in refused.json()["detail"]
    if path == "/api/v1/work":
        assert also.status_code == 422 and "sotr" in also.json()["detail"]
        assert "sort" in also.json()["detail"]  # the known names are listed


async def test_the_known_filters_still_work(world) -> None:
    await add_work(world.database, world.acme_id, "acme")
    async with world.client() as http:
        listed = await http.get("/api/v1/work", params={"state": "accepted", "limit": 5})
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 1


async def test_every_time_in_an_answer_has_a_zone(world) -> None:
    work_id = await add_work(world.database, world.acme_id, "acme")
    async with world.database.transaction() as session:
        WorkRepository(session).queue(
            world.acme_id, work_id, Effect("new_work", {"id": work_id}), target="operation"
        )
        session.add(
            InventorySyncRow(
                store_id=world.acme_id,
                started_at=datetime(2026, 5, 1, 12, 0),
                finished_at=datetime(2026, 5, 1, 12, 1),
            )
        )
    async with world.client() as http:
        answers = [
            await http.get("/api/v1/work"),
            await http.get(f"/api/v1/work/{work_id}"),
            await http.post(f"/api/v1/work/{work_id}/stage", json={"stage": "printing"}),
            await http.get("/api/v1/deliveries"),
            await http.get("/api/v1/inventory/status"),
        ]
    seen = []
    for answer in answers:
        assert answer.status_code == 200, answer.text
        seen += _times(answer.json())
    assert len(seen) >= 8
    assert [t for t in seen if not ISO_WITH_ZONE.match(t)] == []
    status = answers[-1].json()["stores"][0]
    assert status["last_sync_at"] == "2026-05-01T12:01:00Z" or status["last_sync_at"].endswith(
        "+00:00"
    )


async def test_every_operation_has_a_written_summary_and_description(server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        document = (await http.get("/openapi.json")).json()
    checked = 0
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in operations.items():
            summary = operation.get("summary", "")
            generated = operation["operationId"].split("_api_v1")[0].replace("_", " ").title()
            assert summary and summary != generated, (method, path, summary)
            assert operation.get("description"), (method, path)
            checked += 1
    assert checked >= 17
