"""Bulk query operations run in the background, as on Shopify: the mutation answers CREATED
at once, reads show RUNNING with growing counts, then COMPLETED with the file; a sixth run
while five are in progress is refused; cancel, reset, the sandbox clock and the
bulk_operations/finish webhook; the in-process (ASGITransport) form of the sandbox."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.app import SandboxASGI
from fulfillbridge.sandbox.domain.bulk import BulkOperations
from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import DEFAULT_SHOP_DOMAIN
from fulfillbridge.sandbox.state import ShopState, parse_gid

GRAPHQL = "/admin/api/2026-07/graphql.json"
TOKEN = {"X-Shopify-Access-Token": "shpat_sandbox"}
VARIANTS = "{ productVariants { edges { node { id sku product { id } } } } }"
RUN = """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
  bulkOperation { id status objectCount url } userErrors { field message code } } }"""
READ = """query($id: ID!) { bulkOperation(id: $id) {
  id status errorCode objectCount rootObjectCount fileSize url completedAt createdAt } }"""
CANCEL = """mutation($id: ID!) { bulkOperationCancel(id: $id) {
  bulkOperation { id status } userErrors { field message } } }"""
WAIT_SECONDS = 20.0


def gql(url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = {"query": query, "variables": variables or {}}
    response = httpx.post(url + GRAPHQL, json=body, headers=TOKEN, timeout=30)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert "errors" not in answer, answer
    return answer["data"]


def seed_variants(state: ShopState, count: int) -> None:
    """``count`` products of one variant each, through the sandbox's domain API."""
    catalog: Catalog = state.part("catalog", Catalog)
    for n in range(count):
        product = catalog.create_product(f"Bulk product {n}", default_variant=False)
        catalog.add_variant(product.id, sku=f"BG-{n:04d}", tracked=True)


def bulk_part(server: SandboxServer) -> BulkOperations:
    return server.sandbox.shops[DEFAULT_SHOP_DOMAIN].state.part("bulk", BulkOperations)


def wait_for(url: str, op_id: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        op = gql(url, READ, {"id": op_id})["bulkOperation"]
        if op["status"] in statuses:
            return op
        assert time.monotonic() < deadline, f"still {op['status']} after {WAIT_SECONDS} s"
        time.sleep(0.05)


def paged_rows(url: str) -> list[dict[str, Any]]:
    """The rows the bulk query must give, read with ordinary paged queries."""
    rows: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        page = gql(
            url,
            """query($after: String) { productVariants(first: 250, after: $after) {
                 nodes { id sku product { id } } pageInfo { hasNextPage endCursor } } }""",
            {"after": after},
        )["productVariants"]
        rows += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return rows
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("more than 100 pages")


@pytest.fixture
def paused(sandbox_server: SandboxServer) -> Iterator[BulkOperations]:
    part = bulk_part(sandbox_server)
    part.paused = True
    try:
        yield part
    finally:
        part.paused = False


def test_run_is_created_then_running_with_counts_then_completed(
    sandbox_server: SandboxServer, paused: BulkOperations
) -> None:
    url = sandbox_server.url
    seed_variants(sandbox_server.sandbox.shops[DEFAULT_SHOP_DOMAIN].state, 600)  # 3 pages
    started = gql(url, RUN, {"q": VARIANTS})["bulkOperationRunQuery"]
    assert started["userErrors"] == []
    assert started["bulkOperation"]["status"] == "CREATED"
    assert started["bulkOperation"]["objectCount"] == "0"
    assert started["bulkOperation"]["url"] is None
    op_id = started["bulkOperation"]["id"]

    # Held after its first page: RUNNING, counting what it has read, no file yet.
    running = gql(url, READ, {"id": op_id})["bulkOperation"]
    assert running["status"] == "RUNNING"
    assert running["objectCount"] == "250" and running["rootObjectCount"] == "250"
    assert running["url"] is None and running["fileSize"] is None
    assert running["completedAt"] is None
    current = gql(url, "{ currentBulkOperation { id status } }")["currentBulkOperation"]
    assert current == {"id": op_id, "status": "RUNNING"}
    # The server answers other requests meanwhile.
    assert gql(url, "{ shop { name } }")["shop"]["name"]

    paused.paused = False
    done = wait_for(url, op_id, {"COMPLETED", "FAILED"})
    assert done["status"] == "COMPLETED" and done["errorCode"] is None
    assert done["objectCount"] == "600" and done["rootObjectCount"] == "600"
    assert done["completedAt"] is not None and done["completedAt"] >= done["createdAt"]
    download = httpx.get(done["url"], timeout=30)
    assert download.status_code == 200
    assert done["fileSize"] == str(len(download.content))
    rows = [json.loads(line) for line in download.text.splitlines()]
    assert rows == paged_rows(url)


def test_a_sixth_run_is_refused_while_five_are_in_progress_and_cancel(
    sandbox_server: SandboxServer, paused: BulkOperations
) -> None:
    url = sandbox_server.url
    seed_variants(sandbox_server.sandbox.shops[DEFAULT_SHOP_DOMAIN].state, 300)  # 2 pages
    ids = []
    for _ in range(5):
        payload = gql(url, RUN, {"q": VARIANTS})["bulkOperationRunQuery"]
        assert payload["userErrors"] == []
        ids.append(payload["bulkOperation"]["id"])
    refused = gql(url, RUN, {"q": VARIANTS})["bulkOperationRunQuery"]
    assert refused["bulkOperation"] is None
    assert refused["userErrors"] == [
        {
            "field": None,
            "message": "A bulk query operation for this app and shop is already in progress: "
            + ", ".join(ids)
            + ".",
            "code": "OPERATION_IN_PROGRESS",
        }
    ]

    # Cancel: CANCELING at once, CANCELED when the step under way is over; it frees a slot.
    canceled = gql(url, CANCEL, {"id": ids[0]})["bulkOperationCancel"]
    assert canceled["userErrors"] == []
    assert canceled["bulkOperation"] == {"id": ids[0], "status": "CANCELING"}
    assert wait_for(url, ids[0], {"CANCELED"})["url"] is None
    again = gql(url, RUN, {"q": VARIANTS})["bulkOperationRunQuery"]
    assert again["userErrors"] == []

    paused.paused = False
    for op_id in [*ids[1:], again["bulkOperation"]["id"]]:
        assert wait_for(url, op_id, {"COMPLETED", "FAILED"})["status"] == "COMPLETED"
    late = gql(url, CANCEL, {"id": ids[1]})["bulkOperationCancel"]
    assert late["userErrors"] == [
        {"field": None, "message": "A bulk operation cannot be canceled when it is completed"}
    ]
    assert late["bulkOperation"]["status"] == "COMPLETED"


def test_reset_stops_running_work(sandbox_server: SandboxServer, paused: BulkOperations) -> None:
    url = sandbox_server.url
    seed_variants(sandbox_server.sandbox.shops[DEFAULT_SHOP_DOMAIN].state, 300)
    op_id = gql(url, RUN, {"q": VARIANTS})["bulkOperationRunQuery"]["bulkOperation"]["id"]
    number = parse_gid(op_id, "BulkOperation")
    assert number is not None
    op = paused.get(number)
    assert op is not None and op.in_background
    httpx.post(f"{url}/__sandbox/reset", timeout=10).raise_for_status()
    deadline = time.monotonic() + WAIT_SECONDS
    while op.in_background:
        assert time.monotonic() < deadline, "the bulk task outlived the reset"
        time.sleep(0.02)
    assert gql(url, "{ currentBulkOperation { id } }")["currentBulkOperation"] is None


def test_completion_follows_the_sandbox_clock(sandbox_server: SandboxServer) -> None:
    url = sandbox_server.url
    clock = f"{url}/__sandbox/clock"
    httpx.post(clock, json={"freeze": "2026-11-02T10:00:00Z"}, timeout=10).raise_for_status()
    bulk_part(sandbox_server).run_seconds = 90
    op_id = gql(url, RUN, {"q": "{ products { nodes { id } } }"})["bulkOperationRunQuery"][
        "bulkOperation"
    ]["id"]
    held = gql(url, READ, {"id": op_id})["bulkOperation"]
    assert held["status"] == "RUNNING" and held["createdAt"] == "2026-11-02T10:00:00Z"
    httpx.post(clock, json={"advance": 90}, timeout=10).raise_for_status()
    done = gql(url, READ, {"id": op_id})["bulkOperation"]
    assert done["status"] == "COMPLETED"
    assert done["completedAt"] == "2026-11-02T10:01:30Z"


class _Receiver:
    """A loopback HTTP server recording the webhooks POSTed to it."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bulk"


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    found = _Receiver()
    found.thread.start()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


def test_finish_webhook_is_sent_to_the_app(
    sandbox_server: SandboxServer, receiver: _Receiver
) -> None:
    url = sandbox_server.url
    created = gql(
        url,
        """mutation($uri: String!) { webhookSubscriptionCreate(topic: BULK_OPERATIONS_FINISH,
             webhookSubscription: {uri: $uri}) { webhookSubscription { topic }
             userErrors { field message } } }""",
        {"uri": receiver.url},
    )["webhookSubscriptionCreate"]
    assert created["userErrors"] == []
    op_id = gql(url, RUN, {"q": "{ products { nodes { id } } }"})["bulkOperationRunQuery"][
        "bulkOperation"
    ]["id"]
    done = wait_for(url, op_id, {"COMPLETED"})
    deadline = time.monotonic() + WAIT_SECONDS
    while not receiver.posts:
        assert time.monotonic() < deadline, "no bulk_operations/finish delivery"
        time.sleep(0.02)
    headers, body = receiver.posts[0]
    assert headers["X-Shopify-Topic"] == "bulk_operations/finish"
    payload = json.loads(body)
    assert payload == {
        "admin_graphql_api_id": op_id,
        "completed_at": done["completedAt"].replace("Z", "+00:00"),
        "created_at": done["createdAt"].replace("Z", "+00:00"),
        "error_code": None,
        "status": "completed",
        "type": "query",
    }


async def test_in_process_app_runs_the_work_on_the_callers_loop(sandbox_app: SandboxASGI) -> None:
    seed_variants(sandbox_app.sandbox.shops[DEFAULT_SHOP_DOMAIN].state, 600)
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:

        async def ask(query: str, variables: dict[str, Any]) -> Any:
            answer = await client.post(
                GRAPHQL, json={"query": query, "variables": variables}, headers=TOKEN
            )
            return answer.json()["data"]

        started = (await ask(RUN, {"q": VARIANTS}))["bulkOperationRunQuery"]["bulkOperation"]
        assert started["status"] == "CREATED"
        deadline = time.monotonic() + WAIT_SECONDS
        while (op := (await ask(READ, {"id": started["id"]}))["bulkOperation"])[
            "status"
        ] != "COMPLETED":
            assert op["status"] == "RUNNING"
            assert time.monotonic() < deadline, "the in-process bulk run did not finish"
            await asyncio.sleep(0.02)
        assert op["objectCount"] == "600"
        download = await client.get(op["url"].replace("http://sandbox", ""))
        assert len(download.text.splitlines()) == 600


def test_work_left_by_a_closed_event_loop_is_finished_by_the_next_read(
    sandbox_app: SandboxASGI,
) -> None:
    """Each request in its own event loop (asyncio.run): the task started by the mutation
    dies with its loop; the next read finishes the operation."""
    state = sandbox_app.sandbox.shops[DEFAULT_SHOP_DOMAIN].state
    seed_variants(state, 600)
    # Held after its first page, so the task is certainly cut short by the loop's end.
    state.part("bulk", BulkOperations).paused = True

    async def ask(query: str, variables: dict[str, Any]) -> Any:
        transport = httpx.ASGITransport(app=sandbox_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            answer = await client.post(
                GRAPHQL, json={"query": query, "variables": variables}, headers=TOKEN
            )
            return answer.json()["data"]

    started = asyncio.run(ask(RUN, {"q": VARIANTS}))["bulkOperationRunQuery"]["bulkOperation"]
    done = asyncio.run(ask(READ, {"id": started["id"]}))["bulkOperation"]
    assert done["status"] == "COMPLETED" and done["objectCount"] == "600"
