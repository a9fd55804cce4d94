"""Bulk query operations of a shop (``shop.part("bulk", BulkOperations)``) and the JSONL
they produce, plus the route that serves the files.

Shopify docs ("Perform bulk operations"): a bulk query names one top-level connection; the
result is a JSONL file, one object per line; objects of nested connections are separate
lines that carry ``__parentId`` (the id of the object they belong to) and follow their
parent. From 2026-01 a shop runs up to 5 bulk queries at once; results are kept 7 days.

Sandbox differences: the query runs at once, inside ``bulkOperationRunQuery`` (against the
state at that moment). The mutation answers ``CREATED``; every later read sees
``COMPLETED`` once ``run_seconds`` (default 0) of sandbox time have passed since creation,
``RUNNING`` before. The file is served by the sandbox at
``/__sandbox/bulk/{shop domain}/{operation id}.jsonl`` (``bulk_routes``); files do not expire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fulfillbridge.sandbox.state import gid

if TYPE_CHECKING:
    from fulfillbridge.sandbox.state import ShopState

MAX_CONCURRENT_QUERIES = 5  # NOTES.md (from 2026-01)


@dataclass
class BulkOperation:
    id: int
    app_id: str
    query: str
    created_at: str
    created_ts: float
    type: str = "QUERY"
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)
    root_object_count: int = 0
    error_code: str | None = None
    completed_at: str | None = None
    canceled: bool = False

    @property
    def gid(self) -> str:
        return gid("BulkOperation", self.id)

    def jsonl(self) -> bytes:
        return "".join(json.dumps(row) + "\n" for row in self.rows).encode()


class BulkOperations:
    """The shop's bulk operations, newest last."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.operations: dict[int, BulkOperation] = {}
        # Sandbox seconds an operation stays RUNNING (0: complete at the first read).
        self.run_seconds = 0.0

    def status(self, op: BulkOperation) -> str:
        if op.canceled:
            return "CANCELED"
        if op.error_code:
            return "FAILED"
        if self.shop.clock.time() - op.created_ts >= self.run_seconds and op.completed_at:
            return "COMPLETED"
        return "RUNNING"

    def running(self, app_id: str) -> list[BulkOperation]:
        return [
            op
            for op in self.operations.values()
            if op.app_id == app_id and op.type == "QUERY" and self.status(op) == "RUNNING"
        ]

    def create(self, app_id: str, query: str) -> BulkOperation:
        now = self.shop.clock
        op = BulkOperation(
            id=self.shop.next_id(),
            app_id=app_id,
            query=query,
            created_at=now.iso_now(),
            created_ts=now.time(),
        )
        self.operations[op.id] = op
        return op

    def complete(self, op: BulkOperation, rows: list[dict[str, Any]], roots: int) -> None:
        op.rows = rows
        op.root_object_count = roots
        finished = datetime.fromtimestamp(
            op.created_ts + self.run_seconds, tz=self.shop.clock.now().tzinfo
        )
        op.completed_at = finished.strftime("%Y-%m-%dT%H:%M:%SZ")

    def fail(self, op: BulkOperation, code: str) -> None:
        op.error_code = code

    def get(self, op_id: int, app_id: str | None = None) -> BulkOperation | None:
        op = self.operations.get(op_id)
        if op is None or (app_id is not None and op.app_id != app_id):
            return None
        return op

    def current(self, app_id: str, kind: str = "QUERY") -> BulkOperation | None:
        mine = [op for op in self.operations.values() if op.app_id == app_id and op.type == kind]
        return max(mine, key=lambda op: op.id) if mine else None

    def dump(self) -> list[dict[str, Any]]:
        return [
            {
                "id": op.gid,
                "status": self.status(op),
                "objectCount": len(op.rows),
                "query": op.query,
            }
            for op in self.operations.values()
        ]


def flatten(
    nodes: list[dict[str, Any]], connection_paths: list[tuple[str, ...]]
) -> list[dict[str, Any]]:
    """JSONL rows from the nodes of the top-level connection.

    ``connection_paths`` are the paths (response keys, from a top-level node) of nested
    connection fields; their nodes become rows of their own with ``__parentId``."""
    rows: list[dict[str, Any]] = []
    for node in nodes:
        _emit(node, None, connection_paths, rows)
    return rows


def _emit(
    node: dict[str, Any],
    parent_id: str | None,
    paths: list[tuple[str, ...]],
    rows: list[dict[str, Any]],
) -> None:
    row = dict(node)
    children: list[tuple[list[dict[str, Any]], list[tuple[str, ...]]]] = []
    for path in [p for p in paths if len(p) >= 1]:
        head = path[0]
        if len(path) == 1 and head in row:
            conn = row.pop(head) or {}
            items = conn.get("nodes")
            if items is None:
                items = [edge.get("node") for edge in conn.get("edges") or []]
            deeper = [p[1:] for p in paths if len(p) > 1 and p[0] == head]
            children.append(([i for i in items if i is not None], deeper))
    if parent_id is not None:
        row["__parentId"] = parent_id
    rows.append(row)
    own_id = node.get("id")
    for items, deeper in children:
        for item in items:
            _emit(item, own_id, deeper, rows)


def bulk_routes(sandbox: Any) -> list[Any]:
    """Starlette routes serving the result files; the app must mount them."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def bulk_file(request: Request) -> Response:
        domain = request.path_params["domain"]
        raw_id = request.path_params["op_id"]
        shop = sandbox.shops.get(domain)
        part = shop.state.parts.get("bulk") if shop is not None else None
        op = (
            part.get(int(raw_id)) if isinstance(part, BulkOperations) and raw_id.isdigit() else None
        )
        if op is None or part is None or part.status(op) != "COMPLETED":
            return JSONResponse({"error": "no such bulk operation result"}, status_code=404)
        return Response(op.jsonl(), media_type="application/jsonl")

    return [Route("/__sandbox/bulk/{domain}/{op_id}.jsonl", bulk_file, methods=["GET"])]
