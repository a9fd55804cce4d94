"""The sandbox's ASGI application: Shopify's Admin GraphQL endpoint, OAuth and test controls.

Routes (a ``/shops/{shop-domain}`` prefix may precede every ``/admin`` path, so tests on
127.0.0.1 can address several shops; otherwise a ``Host`` of ``{shop}.myshopify.com`` picks
the shop, and any other host (127.0.0.1, localhost) reaches the first configured shop):

- ``POST /admin/api/{version}/graphql.json``  Admin GraphQL (``sandbox.graphql``)
- ``POST /admin/oauth/access_token``, ``GET /admin/oauth/authorize``,
  ``GET /admin/oauth/access_scopes.json``  (``sandbox.oauth``)
- ``/__sandbox/...``  test controls (``sandbox.controls``)

The GraphQL path is plain ASGI (no framework on the hot path); the rest uses Starlette.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fulfillbridge.sandbox import controls, oauth
from fulfillbridge.sandbox.cost import MAX_SINGLE_QUERY_COST, CostCalculator
from fulfillbridge.sandbox.domain.orders.details import has_watched_schedules, open_due_in_shop
from fulfillbridge.sandbox.graphql import Executor, PreparedDocument, format_errors, is_mutation
from fulfillbridge.sandbox.registry import Context
from fulfillbridge.sandbox.shops import (
    RequestLogEntry,
    Sandbox,
    SandboxApp,
    SandboxShop,
    load_shops_file,
)

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# Largest request body accepted (2 MiB). Shopify does not publish its limit; GraphQL
# documents and variables of this project stay far below it (input arrays max 250 items).
MAX_BODY_BYTES = 2 * 1024 * 1024

# Shopify: quarterly versions, each supported at least 12 months; a retired version falls
# forward to the oldest supported one (docs/shopify.md#versions).
SUPPORTED_VERSIONS = ("2026-01", "2026-04", "2026-07", "2026-10")
_VERSION_PATTERN = re.compile(r"^\d{4}-(01|04|07|10)$")

INVALID_TOKEN_BODY = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
NOT_FOUND_BODY = {"errors": "Not Found"}
_GRAPHQL_PATH = re.compile(r"^/admin/api/([^/]+)/graphql\.json$")


@dataclass
class SandboxConfig:
    """How to build a sandbox: a shops file (TOML), shop definitions, or the default shop."""

    shops_file: str | Path | None = None
    shops: list[dict[str, Any]] | None = None
    max_body_bytes: int = MAX_BODY_BYTES

    def shop_specs(self) -> list[dict[str, Any]] | None:
        if self.shops is not None:
            return self.shops
        if self.shops_file is not None:
            return load_shops_file(self.shops_file)
        return None


def resolve_version(requested: str) -> str | None:
    """The version a request is served with, or None (404) for a version that never was."""
    if requested == "unstable" or requested in SUPPORTED_VERSIONS:
        return requested
    if _VERSION_PATTERN.match(requested) and requested < SUPPORTED_VERSIONS[0]:
        return SUPPORTED_VERSIONS[0]
    return None


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def send_json(
    send: Send, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = _json_bytes(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


class SandboxASGI:
    """The sandbox application (see the module docstring)."""

    def __init__(self, sandbox: Sandbox, config: SandboxConfig) -> None:
        self.sandbox = sandbox
        self.config = config
        self.executor = Executor()
        self.controls = controls.build_controls_app(self)
        self.oauth = oauth.build_oauth_app(self)
        self.outbound: Any = None

    # -- ASGI entry -------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        path: str = scope["path"]
        if path.startswith("/__sandbox/") or path == "/__sandbox":
            await self.controls(scope, receive, send)
            return
        headers = _headers(scope)
        shop_domain: str | None
        if path.startswith("/shops/"):
            _, _, rest = path.partition("/shops/")
            shop_domain, slash, tail = rest.partition("/")
            path = slash + tail
        else:
            shop_domain = headers.get("host", "").split(":", 1)[0] or None
        match = _GRAPHQL_PATH.match(path)
        if match is None and not path.startswith("/admin/oauth/"):
            await send_json(send, 404, NOT_FOUND_BODY)
            return
        shop = self.sandbox.find_shop(shop_domain)
        if shop is None:
            # Shopify answers an unknown shop domain with 404.
            await send_json(send, 404, NOT_FOUND_BODY)
            return
        if match is None:
            scope = dict(scope, path=path, state={"sandbox_shop": shop})
            await self.oauth(scope, receive, send)
            return
        try:
            await self._graphql(scope, receive, send, shop, match.group(1), headers)
        except Exception:
            # Never a stack trace to the client: log it here, answer like Shopify's edge.
            logger.exception("sandbox GraphQL request failed")
            try:
                await send_json(send, 500, {"errors": "Internal Server Error"})
            except Exception:  # the answer had already started
                logger.debug("could not send the 500 answer", exc_info=True)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start_outbound()
                except Exception as exc:  # report, do not hide, a failing dispatcher
                    logger.exception("sandbox outbound dispatcher failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.sandbox.stop_background_work()
                await self.stop_outbound()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start_outbound(self) -> None:
        """Start ``sandbox.outbound.OutboundDispatcher`` when that module exists."""
        if self.outbound is not None:
            return
        try:
            module = importlib.import_module("fulfillbridge.sandbox.outbound")
        except ModuleNotFoundError as exc:
            if exc.name != "fulfillbridge.sandbox.outbound":
                raise
            return
        dispatcher_class = getattr(module, "OutboundDispatcher", None)
        if dispatcher_class is None:
            return
        dispatcher = dispatcher_class(self.sandbox)
        await dispatcher.start()
        self.outbound = dispatcher
        attach = getattr(dispatcher, "attach", None)
        if callable(attach):
            # Shops added later (control API, reset) are attached as they appear.
            self.sandbox.shop_listeners.append(lambda shop: attach(shop.state))

    async def stop_outbound(self) -> None:
        dispatcher, self.outbound = self.outbound, None
        if dispatcher is not None:
            await dispatcher.stop()

    # -- GraphQL ----------------------------------------------------------------------------
    def _authenticate(
        self, shop: SandboxShop, token: str | None
    ) -> tuple[SandboxApp, frozenset[str]] | None:
        if not token:
            return None
        for app in shop.apps.values():
            if app.access_token is not None and app.access_token == token:
                return app, app.scopes
        issued = shop.tokens.get(token)
        if issued is None:
            return None
        if issued.expires_at is not None and self.sandbox.clock.time() >= issued.expires_at:
            return None
        app = shop.apps.get(issued.app_id)
        return (app, issued.scopes) if app is not None else None

    async def _graphql(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        shop: SandboxShop,
        requested_version: str,
        headers: dict[str, str],
    ) -> None:
        version = resolve_version(requested_version)
        if version is None:
            await send_json(send, 404, NOT_FOUND_BODY)
            return
        version_header = [(b"x-shopify-api-version", version.encode())]
        if scope["method"] != "POST":
            await send_json(send, 405, {"errors": "GraphQL requests must use POST"}, version_header)
            return
        # Shopify refuses a token sent as "Authorization: Bearer ..."
        # (docs/shopify.md#custom-apps-static-tokens).
        auth = self._authenticate(shop, headers.get("x-shopify-access-token"))
        if auth is None:
            await send_json(send, 401, INVALID_TOKEN_BODY, version_header)
            return
        app, scopes = auth
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.config.max_body_bytes:
            await self._too_large(send, version_header)
            return
        try:
            raw = await _read_body(receive, self.config.max_body_bytes)
        except _BodyTooLarge:
            await self._too_large(send, version_header)
            return
        parsed = _parse_request(headers.get("content-type", ""), raw)
        if isinstance(parsed[0], int):
            status, error_body = parsed  # type: ignore[misc]
            await send_json(send, status, error_body, version_header)
            return
        query, variables, operation_name = parsed  # type: ignore[misc]

        prepared = self.executor.prepare(query)
        fault = self.sandbox.faults.draw_api_fault(mutation=_mutates(prepared, operation_name))
        bucket = shop.bucket(app.app_id)
        if fault is not None and await self._inflict(
            fault, send, shop, app, bucket, version_header
        ):
            return
        if prepared.errors is not None:
            self._log(shop, app, None, None, None, False, bucket, 200, fault)
            await send_json(send, 200, {"errors": prepared.errors}, version_header)
            return
        operation = prepared.operation(operation_name)
        if isinstance(operation, dict):
            self._log(shop, app, operation_name, None, None, False, bucket, 200, fault)
            await send_json(send, 200, {"errors": [operation]}, version_header)
            return
        op_name = operation.name.value if operation.name else None
        variable_errors = self.executor.variable_errors(operation, variables)
        if variable_errors:
            self._log(shop, app, op_name, None, None, False, bucket, 200, fault)
            await send_json(send, 200, {"errors": variable_errors}, version_header)
            return

        calculator = CostCalculator(self.executor.schema, prepared.fragments, variables)
        requested = calculator.requested(operation)
        if requested > MAX_SINGLE_QUERY_COST:
            self._log(shop, app, op_name, requested, None, False, bucket, 200, fault)
            await send_json(send, 200, _max_cost_body(requested, bucket.status()), version_header)
            return
        if not bucket.try_charge(requested):
            self._log(shop, app, op_name, requested, None, True, bucket, 200, fault)
            await send_json(send, 200, throttled_body(requested, bucket.status()), version_header)
            return

        if has_watched_schedules(shop.state):
            async with shop.mutation_lock:
                open_due_in_shop(shop.state)
        context = Context(
            shop=shop.state,
            app_id=app.app_id,
            granted_scopes=scopes,
            extra={
                "sandbox": self.sandbox,
                "sandbox_shop": shop,
                "api_version": version,
                "client_id": app.client_id,
                "app_title": app.title,
                # Where this request reached the sandbox, for URLs it hands out (bulk files).
                "base_url": f"{scope.get('scheme', 'http')}://{headers.get('host', '')}",
            },
        )
        if is_mutation(operation):
            async with shop.mutation_lock:
                result = await self._execute(prepared, operation, variables, context)
        else:
            result = await self._execute(prepared, operation, variables, context)
        actual = calculator.actual(operation, result.data)
        actual = min(actual, requested)
        bucket.refund(requested - actual)
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = format_errors(result.errors)
        payload["data"] = result.data
        payload["extensions"] = {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": bucket.status(),
            }
        }
        if fault == "lost":
            # It ran (the shop has changed); the caller never learns how it went.
            await self._lose_answer(send, shop, app, op_name, requested, actual, bucket)
            return
        self._log(shop, app, op_name, requested, actual, False, bucket, 200, fault)
        await send_json(send, 200, payload, version_header)

    async def _execute(
        self,
        prepared: PreparedDocument,
        operation: Any,
        variables: dict[str, Any],
        context: Context,
    ) -> Any:
        result = self.executor.run(prepared, operation, variables, context)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _inflict(
        self,
        fault: str,
        send: Send,
        shop: SandboxShop,
        app: SandboxApp,
        bucket: Any,
        headers: list[tuple[bytes, bytes]],
    ) -> bool:
        """Apply an injected fault; True when the request ends here."""
        fault_header = [*headers, (b"x-sandbox-fault", fault.encode())]
        if fault == "slow":
            await asyncio.sleep(self.sandbox.faults.api.slow_seconds)
            return False
        if fault == "lost":
            return False  # runs first: see _lose_answer
        if fault == "server_error":
            self._log(shop, app, None, None, None, False, bucket, 500, fault)
            await send_json(send, 500, {"errors": "Internal Server Error"}, fault_header)
            return True
        if fault == "throttle":
            self._log(shop, app, None, None, None, True, bucket, 429, fault)
            await send_json(
                send,
                429,
                throttled_body(0, bucket.status()),
                [*fault_header, (b"retry-after", b"1.0")],
            )
            return True
        self._log(shop, app, None, None, None, False, bucket, 0, fault)
        await _cut_off(send)
        return True

    async def _lose_answer(
        self,
        send: Send,
        shop: SandboxShop,
        app: SandboxApp,
        op_name: str | None,
        requested: int,
        actual: int,
        bucket: Any,
    ) -> None:
        """The "lost" fault, after the request ran: a dropped connection or a 502."""
        if self.sandbox.faults.api.lost_as == "bad_gateway":
            self._log(shop, app, op_name, requested, actual, False, bucket, 502, "lost")
            await send_json(send, 502, {"errors": "Bad Gateway"}, [(b"x-sandbox-fault", b"lost")])
            return
        self._log(shop, app, op_name, requested, actual, False, bucket, 0, "lost")
        await _cut_off(send)

    async def _too_large(self, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        await send_json(
            send,
            413,
            {"errors": f"Request body too large: the limit is {self.config.max_body_bytes} bytes"},
            headers,
        )

    def _log(
        self,
        shop: SandboxShop,
        app: SandboxApp,
        operation: str | None,
        requested: int | None,
        actual: int | None,
        throttled: bool,
        bucket: Any,
        status: int,
        fault: str | None,
    ) -> None:
        shop.request_log.append(
            RequestLogEntry(
                at=self.sandbox.clock.iso_now(),
                app_id=app.app_id,
                operation=operation,
                requested=requested,
                actual=actual,
                throttled=throttled,
                available_after=round(bucket.available, 3),
                status=status,
                fault=fault,
            )
        )


async def _cut_off(send: Send) -> None:
    """Promise a body, send part of it, and end the exchange; uvicorn then closes the
    connection and the client sees a transport error (incomplete message)."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"data":', "more_body": True})


def _mutates(prepared: PreparedDocument, operation_name: str | None) -> bool:
    """Whether the request is a mutation (False when it does not even parse)."""
    if prepared.errors is not None:
        return False
    operation = prepared.operation(operation_name)
    return not isinstance(operation, dict) and is_mutation(operation)


def throttled_body(requested: int, status: dict[str, Any]) -> dict[str, Any]:
    """Shopify's THROTTLED answer (docs/shopify.md#throttled-answers)."""
    return {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": None,
                "throttleStatus": status,
            }
        },
    }


def _max_cost_body(requested: int, status: dict[str, Any]) -> dict[str, Any]:
    # Shopify docs: a single query may not exceed 1000 points; it answers MAX_COST_EXCEEDED.
    return {
        "errors": [
            {
                "message": f"Query cost is {requested}, which exceeds the single query max cost "
                f"limit ({MAX_SINGLE_QUERY_COST}).\n\nSee "
                "https://shopify.dev/concepts/about-apis/rate-limits for more information on how "
                "the cost of a query is calculated.\n\nTo query larger amounts of data with "
                "fewer limits, bulk operations should be used instead.",
                "extensions": {
                    "code": "MAX_COST_EXCEEDED",
                    "cost": requested,
                    "maxCost": MAX_SINGLE_QUERY_COST,
                },
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": None,
                "throttleStatus": status,
            }
        },
    }


_MISSING_QUERY = (400, {"errors": {"query": "Required parameter missing or invalid"}})


def _parse_request(
    content_type: str, raw: bytes
) -> tuple[str, dict[str, Any], str | None] | tuple[int, dict[str, Any]]:
    """(query, variables, operationName) or (status, Shopify-shaped error body)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/graphql":
        try:
            query = raw.decode("utf-8")
        except UnicodeDecodeError:
            return 400, {"errors": "Bad Request: the body is not UTF-8 text"}
        return (query, {}, None) if query.strip() else _MISSING_QUERY
    if media != "application/json":
        # Shopify's Admin API accepts JSON and GraphQL bodies only (415 otherwise).
        shown = media or "none"
        return 415, {
            "errors": f"Unsupported Content-Type {shown!r}: send application/json or "
            "application/graphql"
        }
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return 400, {"errors": f"Bad Request: the body is not valid JSON ({exc})"}
    if not isinstance(body, dict):
        return 400, {"errors": "Bad Request: the JSON body must be an object"}
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        return _MISSING_QUERY
    variables = body.get("variables")
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        return 400, {"errors": {"variables": "must be a JSON object"}}
    operation_name = body.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        return 400, {"errors": {"operationName": "must be a string"}}
    return query, variables, operation_name or None


def create_app(config: SandboxConfig | None = None, sandbox: Sandbox | None = None) -> SandboxASGI:
    """The sandbox as an ASGI app; ``app.sandbox`` is its in-memory state."""
    config = config or SandboxConfig()
    return SandboxASGI(sandbox or Sandbox(config.shop_specs()), config)
