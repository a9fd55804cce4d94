"""Bulk query operations of a shop (``shop.part("bulk", BulkOperations)``) and the JSONL
they produce, plus the route that serves the files.

Shopify docs ("Perform bulk operations", BulkOperation object): ``bulkOperationRunQuery``
answers at once with an operation in status ``CREATED``; the query then runs in the
background (``RUNNING``, ``objectCount`` growing) and ends ``COMPLETED`` with ``url``,
``fileSize``, ``objectCount``, ``rootObjectCount`` and ``completedAt``, or ``FAILED`` (with
``errorCode``), or, after ``bulkOperationCancel``, ``CANCELING`` then ``CANCELED``. The
result is a JSONL file, one object per line; objects of nested connections are separate
lines that carry ``__parentId`` and follow their parent. From 2026-01 an app runs up to 5
bulk queries at once per shop (docs/shopify.md#bulk-operations).
Finished operations are announced on the ``bulk_operations/finish`` webhook topic to the
app that ran them (payload shape from Shopify's webhook reference).

How the sandbox runs one: the work is a generator of steps (one page of the top-level
connection each, see ``resolvers.bulk``). The first step runs inside the mutation, so a
result of one page is ready at the first read; the others run in an asyncio task on the
server's event loop that yields between steps, so the server keeps answering while a large
query runs. Reads finish the work themselves when that task is gone without finishing (its
event loop closed, as between the requests of a test that runs each request in its own
loop), so an operation always ends. ``run_seconds`` (default 0) of sandbox-clock time must
also pass after creation before an operation is ``COMPLETED``, and ``paused`` holds the
background steps (tests use both to look at running operations). ``/__sandbox/reset`` stops
running work (``stop_background_work``).

A run that fails part-way (TIMEOUT after ``MAX_STEPS`` pages, INTERNAL_SERVER_ERROR,
ACCESS_DENIED) keeps the rows of the pages it finished: ``url`` stays null and
``partialDataUrl`` points at those rows (Shopify docs, BulkOperation.partialDataUrl: the
partial or incomplete JSONL of a failed operation, null when there is no data). ``fail_after``
makes the next runs fail with a given code once that many pages are done, so tests can see a
part-way failure without a catalogue of 250,000 objects.

Sandbox differences: the files are served by the sandbox at
``/__sandbox/bulk/{shop domain}/{operation id}.jsonl`` and, for a failed run,
``.../{operation id}.partial.jsonl`` (``bulk_routes``); they do not expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fulfillbridge.sandbox.domain.webhooks import ONLY_APP_KEY
from fulfillbridge.sandbox.state import gid

if TYPE_CHECKING:
    from fulfillbridge.sandbox.state import ShopState

logger = logging.getLogger(__name__)

MAX_CONCURRENT_QUERIES = 5  # docs/shopify.md#bulk-operations (from 2026-01)
FINISH_TOPIC = "bulk_operations/finish"
MAX_STEPS = 1000  # pages of 250 top-level objects; more and the operation fails (TIMEOUT)
# Statuses in which an operation still counts against the concurrency limit.
IN_PROGRESS = frozenset({"CREATED", "RUNNING", "CANCELING"})
FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELED"})
# Real seconds between checks of the sandbox clock while a finished run waits for
# ``run_seconds`` to pass (the clock can be advanced through the control API).
_CLOCK_POLL_SECONDS = 0.05

# The work of a run, one page per step; a step raises StepFailed(BulkOperationErrorCode).
Steps = Iterator[None]


class StepFailed(Exception):
    def __init__(self, error_code: str) -> None:
        super().__init__(error_code)
        self.error_code = error_code


@dataclass
class BulkOperation:
    id: int
    app_id: str
    query: str
    created_at: str
    created_ts: float
    type: str = "QUERY"
    status: str = "CREATED"
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)
    root_object_count: int = 0
    error_code: str | None = None
    completed_at: str | None = None
    # Set when the steps are exhausted (sandbox clock), before run_seconds may have passed.
    work_done_ts: float | None = None
    cancel_requested: bool = False
    steps_done: int = 0
    _steps: Steps | None = field(default=None, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _file: bytes | None = field(default=None, repr=False)

    @property
    def gid(self) -> str:
        return gid("BulkOperation", self.id)

    @property
    def has_partial_data(self) -> bool:
        """A failed run that read something before it failed."""
        return self.status == "FAILED" and bool(self.rows)

    @property
    def in_background(self) -> bool:
        """Whether a task on an event loop is still running this operation's work."""
        return self._task is not None and not self._task.done()

    def jsonl(self) -> bytes:
        if self._file is None:
            data = "".join(json.dumps(row) + "\n" for row in self.rows).encode()
            if self.status not in {"COMPLETED", "FAILED"}:
                return data
            self._file = data  # final: kept for the reads and downloads that follow
        return self._file


class BulkOperations:
    """The shop's bulk operations, newest last."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.operations: dict[int, BulkOperation] = {}
        # Sandbox seconds an operation stays RUNNING at least (0: as soon as its work ends).
        self.run_seconds = 0.0
        # While True, background steps wait (tests hold a run part-way to look at it).
        self.paused = False
        # (pages, BulkOperationErrorCode): runs fail with that code once that many pages
        # are done (tests look at a part-way failure and its partialDataUrl).
        self.fail_after: tuple[int, str] | None = None

    # -- lifecycle ------------------------------------------------------------------------
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

    def start(self, op: BulkOperation, steps: Steps) -> None:
        """Run the first step now and the rest in a task on the running event loop (all of
        them now when there is no running loop)."""
        op._steps = steps
        op.status = "RUNNING"
        if not self._step(op):
            self.settle(op)
            if op.status in FINISHED:
                return
        # Steps left, or the work is done but run_seconds have not passed yet.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._run_rest(op)
            self.settle(op)
            return
        op._task = loop.create_task(self._drive(op), name=f"sandbox-bulk-{op.id}")

    def cancel(self, op: BulkOperation) -> None:
        """Ask a running operation to stop: CANCELING now, CANCELED once its current step
        is over."""
        op.cancel_requested = True
        op.status = "CANCELING"
        self.settle(op)

    def settle(self, op: BulkOperation) -> None:
        """Bring ``op`` up to date; every read calls it first. Runs the rest of the work
        here when the task that ran it is gone (its event loop closed before it ended)."""
        if op.status in FINISHED:
            return
        if op._steps is not None:
            if not _driver_gone(op):
                return  # still working; a cancel is seen by the task at its next step
            op._task = None
            self._run_rest(op)
            if op.status in FINISHED:
                return
        if op.cancel_requested:
            self._end(op, "CANCELED")
            return
        if op.work_done_ts is not None:
            ready_at = op.created_ts + self.run_seconds
            if self.shop.clock.time() >= ready_at:
                op.completed_at = _iso(max(op.work_done_ts, ready_at))
                self._end(op, "COMPLETED")

    def stop_background_work(self) -> None:
        """Stop every running task (``/__sandbox/reset``, server shutdown); may be called
        from another thread than the loop's."""
        for op in self.operations.values():
            task, op._task = op._task, None
            op._steps = None
            if task is None or task.done():
                continue
            loop = task.get_loop()
            if loop.is_closed():
                continue
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                loop.call_soon_threadsafe(task.cancel)

    # -- reads ----------------------------------------------------------------------------
    def status(self, op: BulkOperation) -> str:
        self.settle(op)
        return op.status

    def running(self, app_id: str) -> list[BulkOperation]:
        return [
            op
            for op in sorted(self.operations.values(), key=lambda o: o.id)
            if op.app_id == app_id and op.type == "QUERY" and self.status(op) in IN_PROGRESS
        ]

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

    # -- running --------------------------------------------------------------------------
    async def _drive(self, op: BulkOperation) -> None:
        # Yield between steps so the server answers other requests while a query runs.
        while True:
            while self.paused and op._steps is not None and not op.cancel_requested:
                await asyncio.sleep(_CLOCK_POLL_SECONDS)
            if not self._step(op):
                break
            await asyncio.sleep(0)
        self.settle(op)
        while op.status == "RUNNING":  # work done, waiting for run_seconds of sandbox time
            await asyncio.sleep(_CLOCK_POLL_SECONDS)
            self.settle(op)

    def _step(self, op: BulkOperation) -> bool:
        """One step of the work; False once there is nothing left to do."""
        if op._steps is None:
            return False
        if op.cancel_requested:
            op._steps = None
            return False
        try:
            if self.fail_after is not None and op.steps_done >= self.fail_after[0]:
                raise StepFailed(self.fail_after[1])
            next(op._steps)
            op.steps_done += 1
        except StopIteration:
            op._steps = None
            op.work_done_ts = self.shop.clock.time()
            return False
        except StepFailed as exc:
            op._steps = None
            op.error_code = exc.error_code
            self._end(op, "FAILED")
            return False
        except Exception:  # a sandbox bug: the operation fails as Shopify's would
            logger.exception("sandbox bulk operation %s failed", op.id)
            op._steps = None
            op.error_code = "INTERNAL_SERVER_ERROR"
            self._end(op, "FAILED")
            return False
        return True

    def _run_rest(self, op: BulkOperation) -> None:
        for _ in range(MAX_STEPS):
            if not self._step(op):
                return
        op._steps = None
        op.error_code = "TIMEOUT"
        self._end(op, "FAILED")

    def _end(self, op: BulkOperation, status: str) -> None:
        op.status = status
        if status != "COMPLETED":
            op.completed_at = None
        self.shop.emit(
            FINISH_TOPIC,
            {
                "admin_graphql_api_id": op.gid,
                "completed_at": _iso_offset(op.completed_at),
                "created_at": _iso_offset(op.created_at),
                "error_code": op.error_code.lower() if op.error_code else None,
                "status": status.lower(),
                "type": op.type.lower(),
                ONLY_APP_KEY: op.app_id,
            },
        )


def _driver_gone(op: BulkOperation) -> bool:
    task = op._task
    return task is None or task.done() or task.get_loop().is_closed()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_offset(value: str | None) -> str | None:
    """Webhook payloads carry timestamps with an offset (Shopify's webhook reference)."""
    if value is None:
        return None
    return value[:-1] + "+00:00" if value.endswith("Z") else value


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
        partial = request.path_params.get("kind") == "partial"
        if op is None or part is None:
            return JSONResponse({"error": "no such bulk operation result"}, status_code=404)
        status = part.status(op)
        ready = op.has_partial_data if partial else status == "COMPLETED"
        if not ready:
            return JSONResponse({"error": "no such bulk operation result"}, status_code=404)
        return Response(op.jsonl(), media_type="application/jsonl")

    async def partial_file(request: Request) -> Response:
        request.path_params["kind"] = "partial"
        return await bulk_file(request)

    # The partial route first: "{op_id}.jsonl" would also match "<id>.partial.jsonl".
    return [
        Route("/__sandbox/bulk/{domain}/{op_id}.partial.jsonl", partial_file, methods=["GET"]),
        Route("/__sandbox/bulk/{domain}/{op_id}.jsonl", bulk_file, methods=["GET"]),
    ]
