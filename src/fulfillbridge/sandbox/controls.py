"""Test controls of the sandbox, all under ``/__sandbox/`` (never part of Shopify's API).

- ``POST /__sandbox/reset``: back to the configured shops, real time, no faults.
- ``GET /__sandbox/shops``; ``POST /__sandbox/shops`` with ``{"domain", "plan", "scopes",
  "access_token", "client_id", "client_secret", "title"}`` (or ``"apps": [...]``, the shops-file
  shape) adds a shop and answers it (201; secrets are never echoed).
- ``POST /__sandbox/shops/{domain}/bucket`` ``{"available": n, "app_id"?: "1"}``: set the bucket.
- ``GET /__sandbox/shops/{domain}/requests``: the shop's API request log.
- ``GET|POST /__sandbox/clock``: ``{"advance": seconds}`` | ``{"freeze": iso8601|null}``
  (null freezes now) | ``{"unfreeze": true}``.
- ``GET|POST /__sandbox/faults``: the fault settings (``sandbox.faults``; ``{}`` clears).
- ``GET /__sandbox/state?shop=domain``: a JSON dump of the shop (domain parts with ``dump()``).
- ``POST /__sandbox/seed?shop=domain``: ``sandbox.seed.seed_shop(shop, **body)`` when that
  module exists, else 501 (options: products, orders, seed, variety, stock_at
  "merchant"|"service"|"both", service_location_id; bad options answer 400).
- ``GET|POST /__sandbox/shops/{domain}/settings``: the shop's merchant settings
  (``sandbox.domain.orders.settings``; sandbox controls, not Shopify fields), e.g.
  ``{"auto_submit_fulfillment_requests": true}``; answers ``{"settings": {...}}``.
- ``POST /__sandbox/shops/{domain}/merchant``: ``{"action": "submit_fulfillment_request" |
  "submit_cancellation_request" | "cancel_order" | "create_orders", ...}`` run as the merchant
  through the mutations' own domain code (``sandbox.merchant_actions``): 400 for bad input,
  404 for unknown ids, 409 when the resource's state refuses (the mutation's userErrors).

- ``GET /__sandbox/``: this list (``CONTROLS``) as JSON, or as a page when the request
  asks for text/html.

Controls that change a shop run under the shop's mutation lock, like Admin API mutations.
"""

from __future__ import annotations

import html
import importlib
import json
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from fulfillbridge.sandbox.domain.bulk import bulk_routes
from fulfillbridge.sandbox.domain.orders.details import has_watched_schedules, open_due_in_shop
from fulfillbridge.sandbox.domain.orders.settings import (
    MerchantSettingsError,
    merchant_settings_of,
)
from fulfillbridge.sandbox.faults import FaultSettings, FaultSettingsError
from fulfillbridge.sandbox.merchant_actions import MerchantActionError, run_merchant_action
from fulfillbridge.sandbox.shops import SandboxShop, ShopConfigError, normalise_domain

if TYPE_CHECKING:
    from fulfillbridge.sandbox.app import SandboxASGI


# What ``GET /__sandbox/`` lists: method, path, what it does.
CONTROLS: tuple[tuple[str, str, str], ...] = (
    ("GET", "/__sandbox/", "this list (JSON; a page for a browser)"),
    ("POST", "/__sandbox/reset", "back to the configured shops, real time, no faults"),
    ("GET", "/__sandbox/shops", "the shops and their apps (never their secrets)"),
    ("POST", "/__sandbox/shops", "add a shop: {domain, plan, scopes, access_token, ...}"),
    ("POST", "/__sandbox/shops/{domain}/bucket", "set the rate-limit bucket: {available}"),
    ("GET", "/__sandbox/shops/{domain}/requests", "the shop's Admin API request log"),
    (
        "GET|POST",
        "/__sandbox/shops/{domain}/settings",
        "merchant settings, e.g. {auto_submit_fulfillment_requests: true}",
    ),
    (
        "POST",
        "/__sandbox/shops/{domain}/merchant",
        "act as the merchant: {action: create_orders | submit_fulfillment_request | "
        "submit_cancellation_request | cancel_order | hold_fulfillment_order | release_hold "
        "| move_fulfillment_order | split_fulfillment_order | edit_order | "
        "update_shipping_address | request_return | approve_return | decline_return | "
        "close_return, ...}",
    ),
    (
        "POST",
        "/__sandbox/seed?shop={domain}",
        "products, stock and orders: {products, orders, "
        "seed, variety, stock_at: merchant | service | both}",
    ),
    (
        "GET|POST",
        "/__sandbox/clock",
        "the clock: {advance: s} | {freeze: iso|null} | {unfreeze: true}",
    ),
    ("GET|POST", "/__sandbox/faults", "injected faults (an empty object clears them)"),
    ("GET", "/__sandbox/state?shop={domain}", "everything the shop holds, as JSON"),
)


def _controls_page(shops: list[str]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(method)}</td><td><code>{html.escape(path)}</code></td>"
        f"<td>{html.escape(what)}</td></tr>"
        for method, path, what in CONTROLS
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>sandbox controls</title>"
        "</head><body><h1>fulfillbridge sandbox: test controls</h1>"
        f"<p>Shops: {html.escape(', '.join(shops))}. Admin GraphQL at "
        "<code>/admin/api/2026-07/graphql.json</code>.</p>"
        f"<table><tr><th>method</th><th>path</th><th>does</th></tr>{rows}</table>"
        "</body></html>"
    )


# A hundred years: enough for any deadline or token expiry a test wants to pass, small
# enough that the clock stays a valid datetime.
MAX_ADVANCE_SECONDS = 100 * 366 * 24 * 3600


class _BadInput(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _fail(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request, *, default: Any = None) -> Any:
    raw = await request.body()
    if not raw.strip():
        if default is not None:
            return default
        raise _BadInput("a JSON body is required")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _BadInput(f"the body is not valid JSON ({exc})") from exc


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _BadInput("the body must be a JSON object")
    return value


def _jsonable(value: Any) -> Any:
    """Best-effort JSON form of domain state (dataclasses, sets, datetimes...)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return _jsonable(asdict(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def _public_state(part: Any) -> dict[str, Any]:
    """A domain part without a ``dump()`` of its own (the orders: orders, fulfillment orders,
    fulfillments, keyed by id): its public collections and plain values. The back-reference
    to the shop and private bookkeeping are left out."""
    found: dict[str, Any] = {}
    for name, value in vars(part).items():
        if name.startswith("_") or name == "shop":
            continue
        if isinstance(value, dict | list | tuple | str | int | float | bool) or value is None:
            found[name] = _jsonable(value)
    return found


def build_controls_app(owner: SandboxASGI) -> Starlette:
    sandbox = owner.sandbox

    def shop_or_404(domain: str | None) -> SandboxShop:
        if not domain:
            if len(sandbox.shops) == 1:
                return next(iter(sandbox.shops.values()))
            raise _BadInput("name the shop (?shop=domain): the sandbox has several", 400)
        try:
            normalised = normalise_domain(domain)
        except ShopConfigError as exc:
            raise _BadInput(str(exc)) from exc
        shop = sandbox.shop(normalised)
        if shop is None:
            raise _BadInput(f"no shop {normalised} in the sandbox", 404)
        return shop

    async def reset(_request: Request) -> Response:
        sandbox.reset()
        return JSONResponse({"ok": True, "shops": [s.public() for s in sandbox.all_shops()]})

    async def shops(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"shops": [s.public() for s in sandbox.all_shops()]})
        body = _object(await _json_body(request))
        try:
            shop = sandbox.add_shop(body)
        except ShopConfigError as exc:
            raise _BadInput(str(exc)) from exc
        return JSONResponse(shop.public(), status_code=201)

    async def bucket(request: Request) -> Response:
        shop = shop_or_404(request.path_params["domain"])
        body = _object(await _json_body(request))
        available = body.get("available")
        if isinstance(available, bool) or not isinstance(available, int | float) or available < 0:
            raise _BadInput("available must be a non-negative number")
        app_ids = [str(body["app_id"])] if "app_id" in body else list(shop.apps)
        unknown = [a for a in app_ids if a not in shop.apps]
        if unknown:
            raise _BadInput(f"no app {unknown[0]} on {shop.domain}", 404)
        for app_id in app_ids:
            shop.bucket(app_id).set_available(available)
        return JSONResponse(
            {"buckets": {app_id: shop.bucket(app_id).status() for app_id in app_ids}}
        )

    async def requests_log(request: Request) -> Response:
        shop = shop_or_404(request.path_params["domain"])
        return JSONResponse({"requests": [entry.to_dict() for entry in shop.request_log]})

    def clock_state() -> dict[str, Any]:
        clock = sandbox.clock
        return {
            "now": clock.now().isoformat(),
            "time": clock.time(),
            "frozen": clock.frozen,
        }

    async def clock(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(clock_state())
        body = _object(await _json_body(request))
        if "advance" in body:
            seconds = body["advance"]
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not 0 <= seconds <= MAX_ADVANCE_SECONDS  # also refuses NaN and infinity
            ):
                raise _BadInput(
                    f"advance must be a number of seconds from 0 to {MAX_ADVANCE_SECONDS}"
                )
            sandbox.clock.advance(float(seconds))
        elif "freeze" in body:
            at = body["freeze"]
            if at is None:
                sandbox.clock.freeze()
            else:
                try:
                    moment = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
                except ValueError as exc:
                    raise _BadInput(f"freeze must be an ISO 8601 time or null, got {at!r}") from exc
                if moment.tzinfo is None:
                    raise _BadInput("freeze needs a time zone (e.g. 2026-01-01T00:00:00Z)")
                sandbox.clock.freeze(moment)
        elif body.get("unfreeze") is True:
            sandbox.clock.unfreeze()
        else:
            raise _BadInput('use {"advance": s}, {"freeze": iso|null} or {"unfreeze": true}')
        # Scheduled fulfillment orders whose time has now come open at once (and say so).
        for shop in sandbox.all_shops():
            if has_watched_schedules(shop.state):
                async with shop.mutation_lock:
                    open_due_in_shop(shop.state)
        return JSONResponse(clock_state())

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request, default={})
            try:
                sandbox.faults = FaultSettings.from_dict(body)
            except FaultSettingsError as exc:
                raise _BadInput(str(exc)) from exc
        return JSONResponse(sandbox.faults.to_dict())

    async def state(request: Request) -> Response:
        shop = shop_or_404(request.query_params.get("shop"))
        parts: dict[str, Any] = {}
        for name, part in shop.state.parts.items():
            dump = getattr(part, "dump", None)
            parts[name] = _jsonable(dump()) if callable(dump) else _public_state(part)
        return JSONResponse(
            {
                "shop": shop.public(),
                "locations": [_jsonable(loc) for loc in shop.state.locations.values()],
                "parts": parts,
                "clock": clock_state(),
            }
        )

    async def seed(request: Request) -> Response:
        shop = shop_or_404(request.query_params.get("shop"))
        try:
            module = importlib.import_module("fulfillbridge.sandbox.seed")
        except ModuleNotFoundError as exc:
            if exc.name != "fulfillbridge.sandbox.seed":
                raise
            return _fail(
                "seeding is not available: module fulfillbridge.sandbox.seed is missing", 501
            )
        seed_shop = getattr(module, "seed_shop", None)
        if seed_shop is None:
            return _fail(
                "seeding is not available: fulfillbridge.sandbox.seed has no seed_shop()", 501
            )
        body = _object(await _json_body(request, default={}))
        try:
            async with shop.mutation_lock:
                result = seed_shop(shop.state, **body)
        except (TypeError, ValueError) as exc:
            raise _BadInput(f"seed options not understood: {exc}") from exc
        return JSONResponse({"ok": True, "result": _jsonable(result)})

    async def settings(request: Request) -> Response:
        shop = shop_or_404(request.path_params["domain"])
        current = merchant_settings_of(shop.state)
        if request.method == "POST":
            body = _object(await _json_body(request))
            try:
                async with shop.mutation_lock:
                    current.update(body)
            except MerchantSettingsError as exc:
                raise _BadInput(str(exc)) from exc
        return JSONResponse({"settings": current.to_dict()})

    async def merchant(request: Request) -> Response:
        shop = shop_or_404(request.path_params["domain"])
        body = await _json_body(request)
        try:
            async with shop.mutation_lock:
                result = run_merchant_action(shop.state, body)
        except MerchantActionError as exc:
            answer: dict[str, Any] = {"error": exc.message}
            if exc.user_errors is not None:
                answer["userErrors"] = exc.user_errors
            return JSONResponse(answer, status_code=exc.status)
        return JSONResponse({"ok": True, **_jsonable(result)})

    async def index(request: Request) -> Response:
        shops = [shop.domain for shop in sandbox.all_shops()]
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(_controls_page(shops))
        return JSONResponse(
            {
                "shops": shops,
                "graphql": "/admin/api/2026-07/graphql.json",
                "controls": [
                    {"method": method, "path": path, "does": what}
                    for method, path, what in CONTROLS
                ],
            }
        )

    async def not_found(request: Request) -> Response:
        return _fail(f"no sandbox control at {request.url.path}", 404)

    async def bad_input(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _BadInput)
        return _fail(exc.message, exc.status)

    return Starlette(
        routes=[
            Route("/__sandbox/", index, methods=["GET"]),
            Route("/__sandbox", index, methods=["GET"]),
            Route("/__sandbox/reset", reset, methods=["POST"]),
            Route("/__sandbox/shops", shops, methods=["GET", "POST"]),
            Route("/__sandbox/shops/{domain}/bucket", bucket, methods=["POST"]),
            Route("/__sandbox/shops/{domain}/requests", requests_log, methods=["GET"]),
            Route("/__sandbox/shops/{domain}/settings", settings, methods=["GET", "POST"]),
            Route("/__sandbox/shops/{domain}/merchant", merchant, methods=["POST"]),
            Route("/__sandbox/clock", clock, methods=["GET", "POST"]),
            Route("/__sandbox/faults", faults, methods=["GET", "POST"]),
            Route("/__sandbox/state", state, methods=["GET"]),
            Route("/__sandbox/seed", seed, methods=["POST"]),
            *bulk_routes(owner.sandbox),
            Route("/{rest:path}", not_found),
        ],
        exception_handlers={_BadInput: bad_input},
    )
