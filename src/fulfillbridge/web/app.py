"""The bridge's HTTP app (FastAPI): health, metrics, and Shopify-facing endpoints.

Routes are thin: they read the request, call a flow, and answer. Errors a caller can fix
come back as 4xx with a message naming the problem; nothing here answers with a traceback.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from fulfillbridge import __version__
from fulfillbridge.config import ConfigError, Settings
from fulfillbridge.core.stores import StoreError, StoreNotFound
from fulfillbridge.flows import connect
from fulfillbridge.shopify import OAuthError, ShopifyError
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.store.database import Database
from fulfillbridge.web import (
    api,
    console,
    deliveries_routes,
    docs_pages,
    errors,
    inventory_routes,
    operations,
    paper_routes,
    returns_routes,
    shipping_routes,
    shopify_routes,
)
from fulfillbridge.web.headers import SecurityHeadersMiddleware
from fulfillbridge.web.limits import BodyLimitMiddleware

# One answer for every refused install callback: which shops or stores exist is not told
# to whoever calls the public callback URL (the log has the reason).
INSTALL_REFUSED = "the install could not be verified: open a fresh install link"

log = logging.getLogger("fulfillbridge.web")


def create_app(settings: Settings, *, database: Database | None = None) -> FastAPI:
    """The bridge's app. It opens the configured database (migrating it) unless one is given,
    and closes what it opened on shutdown."""
    owned = database is None
    database = database or Database.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            await database.close()

    app = FastAPI(
        title="fulfillbridge",
        version=__version__,
        description="Bridge between Shopify stores and the operations that fulfil their orders. "
        "The operation's API lives under /api/v1 (Bearer API keys, see `fulfillbridge apikey`).",
        lifespan=lifespan,
        # Served by docs_pages from the app itself: the default pages load from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.database = database
    registry = CollectorRegistry()
    installs = Counter(
        "fulfillbridge_oauth_installs",
        "OAuth install callbacks by outcome.",
        ["outcome"],
        registry=registry,
    )
    app.state.settings = settings
    app.state.metrics = registry

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=PlainTextResponse,
        responses={401: {"description": "metrics_token is set and was not sent as Bearer."}},
    )
    async def metrics(request: Request) -> Response:
        """Prometheus metrics; behind ``Authorization: Bearer <metrics_token>`` when the
        setting is given."""
        if settings.metrics_token is not None:
            expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(
                    "metrics need Authorization: Bearer <metrics_token>",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        # The backlog collector reads the database synchronously: off the event loop.
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get(connect.OAUTH_CALLBACK_PATH, tags=["shopify"], response_class=HTMLResponse)
    async def oauth_callback(request: Request) -> Response:
        """Shopify redirects the merchant here after approving the install."""
        query = dict(request.query_params)
        try:
            store = await connect.complete_install(settings, database, query)
        except StoreNotFound as exc:
            installs.labels("unknown_shop").inc()
            log.warning("oauth callback refused: %s", exc)
            return _problem(400, INSTALL_REFUSED)
        except (OAuthError, StoreError) as exc:
            installs.labels("refused").inc()
            log.warning("oauth callback refused: %s", exc)
            return _problem(400, INSTALL_REFUSED)
        except (ShopifyError, ConfigError) as exc:
            installs.labels("failed").inc()
            log.warning("oauth callback failed: %s", exc)
            return _problem(502, f"could not complete the install with Shopify: {exc}")
        installs.labels("installed").inc()
        log.info("store %s installed by oauth", store.name)
        return HTMLResponse(
            f"<h1>Installed</h1><p>fulfillbridge is connected to "
            f"{html.escape(store.shop_domain)} as store {html.escape(store.name)}.</p>"
        )

    errors.install(app)
    # Added last = run first: headers go on every answer, the 413s of the limit included.
    app.add_middleware(BodyLimitMiddleware, authenticate=_key_checker(database))
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(shopify_routes.router)
    app.include_router(paper_routes.router)  # before api: /work/picklist.pdf is no work id
    app.include_router(api.router)
    app.include_router(inventory_routes.router)
    app.include_router(returns_routes.router)
    app.include_router(deliveries_routes.router)
    app.include_router(shipping_routes.router)
    app.include_router(shipping_routes.carrier_hooks)
    console.install(app)  # the operator's console at / and its static files
    docs_pages.install(app)
    operations.install(app)  # /readyz and the database's figures in /metrics
    return app


def _key_checker(database: Database) -> Callable[[str], Awaitable[bool]]:
    async def live(key: str) -> bool:
        async with database.transaction() as session:
            return await ApiKeyRepository(session).authenticate(key) is not None

    return live


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
