"""A bulk query that fails part-way keeps what it read: url stays null, partialDataUrl serves
the rows of the pages done (Shopify's BulkOperation.partialDataUrl), and a failure before any
row has no partial data."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from tests.sandbox.test_bulk_background import VARIANTS, gql, seed_variants, wait_for

from fulfillbridge.sandbox.domain.bulk import BulkOperations
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import DEFAULT_SHOP_DOMAIN

RUN = """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
  bulkOperation { id status } userErrors { field message code } } }"""
READ = """query($id: ID!) { bulkOperation(id: $id) {
  status errorCode objectCount url fileSize partialDataUrl } }"""


@pytest.fixture
def bulk(sandbox_server: SandboxServer) -> Iterator[BulkOperations]:
    part: BulkOperations = sandbox_server.sandbox.shops[DEFAULT_SHOP_DOMAIN].state.part(
        "bulk", BulkOperations
    )
    try:
        yield part
    finally:
        part.fail_after = None


def _run(url: str) -> str:
    started = gql(url, RUN, {"q": VARIANTS})["bulkOperationRunQuery"]
    assert started["userErrors"] == []
    op_id: str = started["bulkOperation"]["id"]
    return op_id


def test_failure_part_way_serves_the_rows_read(
    sandbox_server: SandboxServer, bulk: BulkOperations
) -> None:
    url = sandbox_server.url
    seed_variants(sandbox_server.sandbox.shops[DEFAULT_SHOP_DOMAIN].state, 600)  # 3 pages
    bulk.fail_after = (2, "TIMEOUT")
    op_id = _run(url)
    wait_for(url, op_id, {"FAILED", "COMPLETED"})
    failed = gql(url, READ, {"id": op_id})["bulkOperation"]
    assert failed["status"] == "FAILED" and failed["errorCode"] == "TIMEOUT"
    assert failed["url"] is None and failed["fileSize"] is None
    assert failed["objectCount"] == "500"
    assert failed["partialDataUrl"] is not None
    download = httpx.get(failed["partialDataUrl"], timeout=30)
    assert download.status_code == 200
    rows = [json.loads(line) for line in download.text.splitlines()]
    assert len(rows) == 500 and len({r["id"] for r in rows}) == 500
    assert rows[0]["sku"] == "BG-0000"
    # The complete file does not exist for a failed run.
    complete = failed["partialDataUrl"].replace(".partial.jsonl", ".jsonl")
    assert httpx.get(complete, timeout=30).status_code == 404


def test_failure_before_any_row_has_no_partial_data(
    sandbox_server: SandboxServer, bulk: BulkOperations
) -> None:
    url = sandbox_server.url
    seed_variants(sandbox_server.sandbox.shops[DEFAULT_SHOP_DOMAIN].state, 3)
    bulk.fail_after = (0, "INTERNAL_SERVER_ERROR")
    op_id = _run(url)
    failed = wait_for(url, op_id, {"FAILED", "COMPLETED"})
    read = gql(url, READ, {"id": op_id})["bulkOperation"]
    assert failed["status"] == "FAILED"
    assert read["errorCode"] == "INTERNAL_SERVER_ERROR" and read["partialDataUrl"] is None
    partial = f"{url}/__sandbox/bulk/{DEFAULT_SHOP_DOMAIN}/{op_id.rsplit('/', 1)[1]}"
    assert httpx.get(partial + ".partial.jsonl", timeout=30).status_code == 404
    assert httpx.get(partial + "x.partial.jsonl", timeout=30).status_code == 404


def test_completed_run_has_no_partial_data(
    sandbox_server: SandboxServer, bulk: BulkOperations
) -> None:
    url = sandbox_server.url
    seed_variants(sandbox_server.sandbox.shops[DEFAULT_SHOP_DOMAIN].state, 3)
    op_id = _run(url)
    wait_for(url, op_id, {"COMPLETED", "FAILED"})
    read = gql(url, READ, {"id": op_id})["bulkOperation"]
    assert read["status"] == "COMPLETED" and read["url"] and read["partialDataUrl"] is None
