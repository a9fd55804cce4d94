"""Returns through the operation's API: listing, receipts, dispositions and labels, their
outbox rows and notifications, Idempotency-Key, and bad input. Returns are stored the way
intake stores them (``flows.returns.apply_returns`` with what Shopify answered); what
reaches Shopify is tested end to end against the sandbox (tests/e2e)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from fulfillbridge.config import Settings
from fulfillbridge.core.returns import (
    RemoteReturn,
    RemoteReturnLine,
    RemoteReturnStatus,
)
from fulfillbridge.core.work import Mode, WorkLine, WorkOrder, WorkState
from fulfillbridge.flows.returns import apply_returns
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import OutboxRow, ReturnTransitionRow, ReturnWorkRow
from fulfillbridge.store.work import WorkRepository
from tests.api.conftest import World
from tests.api.seeding import ADDRESS

ORDER = "gid://shopify/Order/501"
HOOK = "http://127.0.0.1:9/operation-hook"


async def _shipped_work(database: Database, store_id: int) -> int:
    order = WorkOrder(
        store="acme",
        remote_id="gid://shopify/FulfillmentOrder/501",
        order_name="#1501",
        mode=Mode.FULFILLMENT_SERVICE,
        lines=(
            WorkLine("gid://shopify/FulfillmentOrderLineItem/1", "TEE-M", 3, shipped=3),
            WorkLine("gid://shopify/FulfillmentOrderLineItem/2", "MUG", 1, shipped=1),
        ),
        state=WorkState.SHIPPED,
        warehouse="main",
        shipping_address=ADDRESS,
    )
    async with database.transaction() as session:
        row = await WorkRepository(session).create(
            store_id, order, order_remote_id=ORDER, location_remote_id=None, actor="intake"
        )
        return row.id


def _news(status: RemoteReturnStatus, *, order: str = ORDER, number: int = 1) -> RemoteReturn:
    return RemoteReturn(
        remote_id=f"gid://shopify/Return/{number}",
        name=f"#1501-R{number}",
        order_remote_id=order,
        order_name="#1501",
        status=status,
        lines=(
            RemoteReturnLine(
                "gid://shopify/ReverseFulfillmentOrderLineItem/11",
                "gid://shopify/ReverseFulfillmentOrder/1",
                "TEE-M",
                2,
                title="Tee",
                reason="Size too small",
                inventory_item_id="gid://shopify/InventoryItem/7",
            ),
            RemoteReturnLine(
                "gid://shopify/ReverseFulfillmentOrderLineItem/12",
                "gid://shopify/ReverseFulfillmentOrder/1",
                "MUG",
                1,
                title="Mug",
            ),
        ),
    )


async def _intake(database: Database, settings: Settings, news: RemoteReturn) -> str:
    async with database.stores() as stores:
        store = await stores.get("acme")
    async with database.transaction() as session:
        applied = await apply_returns(session, settings, store, [news])
    return applied.note


@pytest.fixture
async def returned(world: World, settings: Settings) -> int:
    """An approved return of two of the three tees and the mug the operation shipped."""
    async with world.database.stores() as stores:
        await stores.update_settings(
            "acme",
            {
                "returns": True,
                "location_id": "gid://shopify/Location/1",
                "operation_webhook_url": HOOK,
            },
        )
    await _shipped_work(world.database, world.acme_id)
    await _intake(world.database, settings, _news(RemoteReturnStatus.OPEN))
    async with world.database.transaction() as session:
        return int(await session.scalar(select(ReturnWorkRow.id)))


async def _rows(database: Database, target: str) -> list[tuple[str, dict]]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(OutboxRow).where(OutboxRow.target == target).order_by(OutboxRow.id)
        )
        return [(row.kind, row.payload) for row in rows]


async def test_expected_returns_are_listed_for_the_keys_stores_only(
    world: World, returned: int
) -> None:
    async with world.client() as api:
        listed = (await api.get("/api/v1/returns", params={"state": "expected"})).json()
        (view,) = listed["returns"]
        assert view["id"] == returned and view["state"] == "expected"
        assert [(line["sku"], line["expected"]) for line in view["lines"]] == [
            ("TEE-M", 2),
            ("MUG", 1),
        ]
        assert view["lines"][0]["reason"] == "Size too small"
        assert view["lines"][0]["warehouse"] == "main"  # where it was shipped from
        assert view["age_hours"] is not None
        assert (await api.get(f"/api/v1/returns/{returned}")).json()["name"] == "#1501-R1"
        assert (await api.get("/api/v1/returns", params={"state": "received"})).json() == {
            "returns": []
        }
        bad_state = await api.get("/api/v1/returns", params={"state": "lost"})
        assert bad_state.status_code == 422
        unknown_param = await api.get("/api/v1/returns", params={"status": "expected"})
        assert unknown_param.status_code == 422 and "status" in unknown_param.text
    async with world.client(world.globex_key) as other:
        assert (await other.get("/api/v1/returns")).json() == {"returns": []}
        assert (await other.get(f"/api/v1/returns/{returned}")).status_code == 404
        assert (await other.get("/api/v1/returns", params={"store": "acme"})).status_code == 403
    # The operation was told the return is coming.
    assert [kind for kind, _ in await _rows(world.database, "operation")] == ["return_expected"]


async def test_receive_counts_units_once_per_idempotency_key(world: World, returned: int) -> None:
    body = {"lines": [{"line": "TEE-M", "quantity": 2, "condition": "good"}]}
    headers = {"Idempotency-Key": "receipt-1"}
    async with world.client() as api:
        first = await api.post(f"/api/v1/returns/{returned}/receive", json=body, headers=headers)
        again = await api.post(f"/api/v1/returns/{returned}/receive", json=body, headers=headers)
        assert first.status_code == again.status_code == 200
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first.json()
        view = (await api.get(f"/api/v1/returns/{returned}")).json()
        assert view["state"] == "received"
        assert view["lines"][0]["received"] == 2  # not 4
        assert view["lines"][0]["conditions"] == {"good": 2}
        # The same key for another body is refused.
        other = {"lines": [{"line": "MUG", "quantity": 1}]}
        reused = await api.post(f"/api/v1/returns/{returned}/receive", json=other, headers=headers)
        assert reused.status_code == 422
    assert [k for k, _ in await _rows(world.database, "operation")] == [
        "return_expected",
        "return_received",
    ]
    assert await _rows(world.database, "shopify") == []  # a receipt is the operation's own


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (
            {"lines": [{"line": "TEE-M", "quantity": 3}]},
            422,
            "expects 2 more unit(s); this receipt asks for 3",
        ),
        ({"lines": [{"line": "HAT", "quantity": 1}]}, 422, "has no line HAT"),
        ({"lines": [{"line": "TEE-M", "quantity": 0}]}, 422, "greater than or equal to 1"),
        ({"lines": []}, 422, "at least 1"),
        ({"lines": [{"line": "TEE-M", "quantity": 1, "colour": "red"}]}, 422, "colour"),
        ({"lines": [{"line": "TEE-M", "quantity": 1, "condition": ""}]}, 422, "condition"),
    ],
)
async def test_bad_receipts_are_refused_and_change_nothing(
    world: World, returned: int, body: dict, status: int, fragment: str
) -> None:
    async with world.client() as api:
        answer = await api.post(f"/api/v1/returns/{returned}/receive", json=body)
        assert answer.status_code == status, answer.text
        assert fragment in answer.text
        view = (await api.get(f"/api/v1/returns/{returned}")).json()
    assert view["state"] == "expected"
    assert all(line["received"] == 0 for line in view["lines"])
    async with world.database.transaction() as session:
        history = list(await session.scalars(select(ReturnTransitionRow)))
    assert len(history) == 1  # only its arrival from Shopify


async def test_unknown_return_ids_are_404_and_bad_ids_422(world: World) -> None:
    async with world.client() as api:
        body = {"lines": [{"line": "TEE-M", "quantity": 1}]}
        assert (await api.post("/api/v1/returns/999/receive", json=body)).status_code == 404
        assert (await api.get("/api/v1/returns/0")).status_code == 422
        assert (await api.get("/api/v1/returns/99999999999")).status_code == 422


async def test_dispose_queues_one_shopify_write_with_the_restock_location(
    world: World, returned: int
) -> None:
    async with world.client() as api:
        received = {"lines": [{"line": "TEE-M", "quantity": 2}]}
        assert (await api.post(f"/api/v1/returns/{returned}/receive", json=received)).is_success
        unknown_warehouse = {
            "lines": [
                {"line": "TEE-M", "disposition": "restocked", "quantity": 1, "warehouse": "attic"}
            ]
        }
        refused = await api.post(f"/api/v1/returns/{returned}/dispose", json=unknown_warehouse)
        assert refused.status_code == 422 and "unknown warehouse 'attic'" in refused.text
        too_many = {"lines": [{"line": "TEE-M", "disposition": "restocked", "quantity": 3}]}
        refused = await api.post(f"/api/v1/returns/{returned}/dispose", json=too_many)
        assert refused.status_code == 422 and "has 2 received unit(s)" in refused.text
        bad_kind = {"lines": [{"line": "TEE-M", "disposition": "burned", "quantity": 1}]}
        assert (
            await api.post(f"/api/v1/returns/{returned}/dispose", json=bad_kind)
        ).status_code == 422
        decision = {
            "lines": [
                {"line": "TEE-M", "disposition": "restocked", "quantity": 1},
                {"line": "TEE-M", "disposition": "not_restocked", "quantity": 1},
                {"line": "MUG", "disposition": "missing", "quantity": 1},
            ]
        }
        answer = await api.post(
            f"/api/v1/returns/{returned}/dispose",
            json=decision,
            headers={"Idempotency-Key": "dispose-1"},
        )
        assert answer.status_code == 200, answer.text
        assert [q["kind"] for q in answer.json()["queued"]] == ["return_dispose"]
        assert answer.json()["return"]["state"] == "disposed"
        replay = await api.post(
            f"/api/v1/returns/{returned}/dispose",
            json=decision,
            headers={"Idempotency-Key": "dispose-1"},
        )
        assert replay.headers.get("Idempotent-Replayed") == "true"
        # Everything is accounted for: nothing more can be decided.
        late = await api.post(
            f"/api/v1/returns/{returned}/dispose",
            json={"lines": [{"line": "MUG", "disposition": "missing", "quantity": 1}]},
        )
        assert late.status_code == 409 and "it is disposed" in late.text
    writes = await _rows(world.database, "shopify")
    assert [kind for kind, _ in writes] == ["return_dispose"]  # once, despite the replay
    items = writes[0][1]["items"]
    assert [(i["sku"], i["kind"], i["quantity"]) for i in items] == [
        ("TEE-M", "restocked", 1),
        ("TEE-M", "not_restocked", 1),
        ("MUG", "missing", 1),
    ]
    # "main" has no locations of its own: restocked units go to the store's location.
    assert items[0]["location_id"] == "gid://shopify/Location/1"
    assert "location_id" not in items[2]
    assert [k for k, _ in await _rows(world.database, "operation")][-1] == "return_disposed"


async def test_a_warehouse_with_a_location_restocks_there(world: World, returned: int) -> None:
    async with world.client() as api:
        received = {"lines": [{"line": "TEE-M", "quantity": 1}]}
        assert (await api.post(f"/api/v1/returns/{returned}/receive", json=received)).is_success
        decision = {
            "lines": [
                {"line": "TEE-M", "disposition": "restocked", "quantity": 1, "warehouse": "berlin"}
            ]
        }
        answer = await api.post(f"/api/v1/returns/{returned}/dispose", json=decision)
        assert answer.status_code == 200, answer.text
        assert answer.json()["return"]["state"] == "received"  # the rest is still to come
    ((_kind, payload),) = await _rows(world.database, "shopify")
    assert payload["items"][0]["location_id"] == "gid://shopify/Location/2"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"carrier": "UPS"}, "tracking_number or label_url"),
        ({"tracking_number": "1Z1", "label_url": "ftp://labels/1.pdf"}, "http(s) URL"),
        ({"tracking_number": "1Z1", "insured": True}, "insured"),
    ],
)
async def test_bad_labels_are_refused(
    world: World, returned: int, body: dict, fragment: str
) -> None:
    async with world.client() as api:
        answer = await api.post(f"/api/v1/returns/{returned}/label", json=body)
    assert answer.status_code == 422 and fragment in answer.text
    assert await _rows(world.database, "shopify") == []


async def test_a_label_is_queued_for_what_is_still_to_come(world: World, returned: int) -> None:
    async with world.client() as api:
        body = {
            "carrier": "UPS",
            "tracking_number": "1Z999",
            "label_url": "https://labels.example.com/1.pdf",
        }
        answer = await api.post(f"/api/v1/returns/{returned}/label", json=body)
        assert answer.status_code == 200, answer.text
    ((kind, payload),) = await _rows(world.database, "shopify")
    assert kind == "return_label"
    assert payload["reverse_order_id"] == "gid://shopify/ReverseFulfillmentOrder/1"
    assert payload["number"] == "1Z999"
    assert {line["quantity"] for line in payload["lines"]} == {2, 1}


async def test_declined_and_foreign_returns(world: World, settings: Settings) -> None:
    async with world.database.stores() as stores:
        await stores.update_settings("acme", {"returns": True, "operation_webhook_url": HOOK})
    await _shipped_work(world.database, world.acme_id)
    await _intake(world.database, settings, _news(RemoteReturnStatus.REQUESTED, number=2))
    await _intake(world.database, settings, _news(RemoteReturnStatus.DECLINED, number=2))
    # A return of an order the bridge never handled is left alone, and said so.
    note = await _intake(
        world.database,
        settings,
        _news(RemoteReturnStatus.OPEN, order="gid://shopify/Order/999", number=3),
    )
    assert "not for work the operation shipped" in note and "#1501-R3" in note
    async with world.client() as api:
        (view,) = (await api.get("/api/v1/returns")).json()["returns"]
        assert view["state"] == "declined"
        answer = await api.post(
            f"/api/v1/returns/{view['id']}/receive",
            json={"lines": [{"line": "TEE-M", "quantity": 1}]},
        )
        assert answer.status_code == 409 and "it is declined" in answer.text
    # Requested is not yet the operation's business; the decline of what it never
    # expected is still worth knowing.
    assert [k for k, _ in await _rows(world.database, "operation")] == ["return_declined"]


async def test_openapi_documents_the_return_routes(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.url) as plain:
        paths = (await plain.get("/openapi.json")).json()["paths"]
    assert {
        "/api/v1/returns",
        "/api/v1/returns/{return_id}",
        "/api/v1/returns/{return_id}/receive",
        "/api/v1/returns/{return_id}/dispose",
        "/api/v1/returns/{return_id}/label",
    } <= set(paths)


async def test_the_dashboard_lists_returns_on_their_way_with_their_age(
    world: World, returned: int
) -> None:
    async with httpx.AsyncClient(base_url=world.url, auth=("ops", world.acme_key)) as browser:
        page = (await browser.get("/")).text
    section = page.split("Returns expected and received", 1)[1].split("<h2>", 1)[0]
    assert "#1501-R1" in section and "expected" in section and " h<" in section
    async with httpx.AsyncClient(base_url=world.url, auth=("ops", world.globex_key)) as other:
        page = (await other.get("/")).text
    assert "#1501-R1" not in page
