"""Bulk query operations: start one, wait for it, download its JSONL result.

Shopify runs a bulk query in the background (Shopify docs "Perform bulk operations"):
``bulkOperationRunQuery`` answers at once with the operation's id, the app polls
``bulkOperation(id:)`` until it is COMPLETED, then downloads the result file from the
pre-signed ``url``: one JSON object a line, child rows after their parent with
``__parentId``. A shop runs at most five bulk queries of one app at a time (from 2026-01);
a sixth is refused with ``OPERATION_IN_PROGRESS``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from fulfillbridge.shopify._client import ShopifyClient
from fulfillbridge.shopify._errors import ShopifyError
from fulfillbridge.shopify._operations import operation
from fulfillbridge.shopify._throttle import QueryCost

ENDED = frozenset({"FAILED", "CANCELED", "CANCELING", "EXPIRED"})
DOWNLOAD_TIMEOUT = 120.0

CallCounter = Callable[[QueryCost | None], None]


class BulkOperationFailed(ShopifyError):
    """A bulk query was refused, ended FAILED, CANCELED or EXPIRED, vanished, or did not
    finish in time; the message says which."""


async def _call(
    client: ShopifyClient, name: str, variables: dict[str, Any], on_call: CallCounter | None
) -> dict[str, Any]:
    try:
        return await client.execute(operation(name), variables, raise_user_errors=False)
    finally:
        if on_call is not None:
            on_call(client.last_cost)


async def run_bulk_query(
    client: ShopifyClient,
    query: str,
    *,
    poll_seconds: float,
    timeout: float,
    on_call: CallCounter | None = None,
) -> list[dict[str, Any]]:
    """Run ``query`` (a GraphQL document) as a bulk operation and return the rows of its
    result file, in file order, ``__parentId`` kept (an empty list when nothing matched).

    ``on_call`` is told the cost of every GraphQL call made (start and polls), for callers
    that count what a job spent. Raises :class:`BulkOperationFailed`."""
    started = (await _call(client, "BulkQueryRun", {"query": query}, on_call))[
        "bulkOperationRunQuery"
    ] or {}
    if started.get("userErrors") or not started.get("bulkOperation"):
        # e.g. OPERATION_IN_PROGRESS: the app's bulk queries on this shop are all in use.
        raise BulkOperationFailed(
            f"bulk query refused: {started.get('userErrors')}", shop=client.shop
        )
    bulk_id = started["bulkOperation"]["id"]
    deadline = time.monotonic() + timeout
    while True:
        status = (await _call(client, "BulkOperationById", {"id": bulk_id}, on_call))[
            "bulkOperation"
        ]
        if status is None:
            raise BulkOperationFailed(f"bulk operation {bulk_id} vanished", shop=client.shop)
        if status["status"] == "COMPLETED":
            break
        if status["status"] in ENDED:
            raise BulkOperationFailed(
                f"bulk operation {bulk_id} ended {status['status']} "
                f"({status.get('errorCode') or 'no error code'})",
                shop=client.shop,
            )
        if time.monotonic() > deadline:
            raise BulkOperationFailed(
                f"bulk operation {bulk_id} did not finish in {timeout:.0f} s", shop=client.shop
            )
        await asyncio.sleep(poll_seconds)
    url = status.get("url")
    if not url:
        return []  # Shopify gives no file when nothing matched
    return await _download(client.shop, url)


async def _download(shop: str, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    # The result URL is pre-signed: no Shopify credentials go with the download.
    async with (
        httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True) as http,
        http.stream("GET", url) as response,
    ):
        if response.status_code != 200:
            raise BulkOperationFailed(
                f"bulk result download answered HTTP {response.status_code}", shop=shop
            )
        async for line in response.aiter_lines():
            if line.strip():
                rows.append(json.loads(line))
    return rows
