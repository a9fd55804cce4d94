"""The dashboard at ``/``: stores, work by state, exceptions with retry, sync health and
the event log. Sign in with HTTP Basic and an API key as the password; a key sees only its
own stores (the same rule as the API)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fulfillbridge.core.work import WorkState
from fulfillbridge.flows import actions, deliveries, inventory, returns
from fulfillbridge.flows import overview as read_model
from fulfillbridge.store.api_keys import ApiKey, ApiKeyRepository
from fulfillbridge.store.database import Database
from fulfillbridge.store.inventory import StoreInventoryStatus
from fulfillbridge.web import csrf
from fulfillbridge.web.api import MAX_ID
from fulfillbridge.web.csrf import CSRF_FIELD
from fulfillbridge.web.dependencies import AppDatabase
from fulfillbridge.web.errors import http_status

router = APIRouter(include_in_schema=False)

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;font-size:.9rem}
th{background:#f3f3f3} .bad{color:#b00020} .muted{color:#777}
form{display:inline}
"""


def _challenge() -> Response:
    return Response(
        "sign in with an API key as the password (create one: fulfillbridge apikey create)",
        status_code=401,
        headers={"WWW-Authenticate": 'Basic realm="fulfillbridge"'},
    )


async def _viewer(request: Request, database: Database) -> ApiKey | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        _, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    async with database.transaction() as session:
        return await ApiKeyRepository(session).authenticate(password)


# The dashboard's pages load nothing from elsewhere and run no script.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def _session_id(viewer: ApiKey) -> str:
    """What identifies a signed-in session: with HTTP Basic, the API key itself."""
    return f"apikey:{viewer.id}:{viewer.prefix}"


def _csrf_secret(database: Database) -> bytes:
    return database.box.derive("dashboard-csrf")


async def _forged(request: Request, database: Database, viewer: ApiKey) -> Response | None:
    """A 403 for a cross-site or token-less form post, else None."""
    reason = csrf.refusal(
        request.headers,
        await request.body(),
        secret=_csrf_secret(database),
        session_id=_session_id(viewer),
        host=request.headers.get("host"),
        public_url=request.app.state.settings.public_url,
    )
    if reason is None:
        return None
    return HTMLResponse(f"<p>{escape(reason)}</p><a href='/'>back</a>", 403)


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _when(moment: datetime | None) -> str:
    return escape(moment.strftime("%Y-%m-%d %H:%M:%S")) if moment else "never"


def _inventory_rows(levels: list[StoreInventoryStatus]) -> list[list[str]]:
    rows = []
    for s in levels:
        # Levels Shopify holds refused, then the rows the last upload could not use.
        rejected = s.rejected_levels + s.last_rejections
        reasons = "<br>".join(
            escape(f"{r.get('sku') or '?'}: {r.get('reason', '')}") for r in rejected[:3]
        )
        if len(rejected) > 3:
            reasons += f"<br>… {len(rejected) - 3} more"
        feed = s.feed or {}
        feed_text = escape(str(feed.get("url", ""))) if feed else "none"
        if feed.get("error"):
            feed_text += f'<br><span class="bad">{escape(str(feed["error"]))}</span>'
        rows.append(
            [
                escape(s.store),
                str(s.mapped_skus),
                _when(s.last_sync_at),
                str(s.in_sync),
                str(s.pending),
                f'<span class="bad">{len(rejected)}</span><br>{reasons}' if rejected else "0",
                feed_text,
            ]
        )
    return rows


def _work_rows(views: list[dict]) -> list[list[str]]:
    rows = []
    for v in views:
        due = _when(v["fulfill_by"]) if v["fulfill_by"] else ""
        if v["overdue"]:
            due = f'<span class="bad">{due} overdue</span>'
        hold = ""
        if v["state"] == "on_hold":
            hold = escape(f"{v['hold_reason'] or ''} (held by {v['held_by'] or '?'})")
        delivery = v.get("delivery") or {}
        method = escape(delivery.get("presented_name") or delivery.get("shipping_title") or "")
        if delivery.get("carrier"):
            method += escape(f" → {delivery['carrier']} {delivery.get('carrier_service') or ''}")
        personal = sum(len(line["properties"]) for line in v["lines"])
        rows.append(
            [
                escape(v["store"]),
                escape(v["order_name"]),
                escape(v["state"]),
                due,
                method,
                hold or "<br>".join(escape(f) for f in v["flags"]),
                str(personal) if personal else "",
            ]
        )
    return rows


def _csrf_field(token: str) -> str:
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'


def _delivery_rows(items: list[dict], csrf: str = "") -> list[list[str]]:
    return [
        [
            str(d["id"]),
            escape(d["store"]),
            escape(d["event"]),
            escape(d["status"])
            if d["status"] == "done"
            else f'<span class="bad">{escape(d["status"])}</span>',
            str(d["attempts"]),
            escape(d["last_error"] or ""),
            f'<form method="post" action="/dashboard/deliveries/{d["id"]}/redeliver">'
            f"{_csrf_field(csrf)}<button>send again</button></form>",
        ]
        for d in items
    ]


def _return_rows(views: list[dict]) -> list[list[str]]:
    return [
        [
            escape(v["store"]),
            escape(v["name"]),
            escape(v["order_name"]),
            escape(v["state"]),
            str(sum(line["expected"] for line in v["lines"])),
            str(sum(line["received"] for line in v["lines"])),
            "" if v["age_hours"] is None else escape(f"{v['age_hours']} h"),
        ]
        for v in views
    ]


def render(
    data: read_model.Overview,
    levels: list[StoreInventoryStatus] | None = None,
    due: list[dict] | None = None,
    deliveries_page: list[dict] | None = None,
    returns_page: list[dict] | None = None,
    csrf: str = "",
) -> str:
    states = sorted({s for store in data.stores for s in store.states})
    store_rows = [
        [escape(s.name), escape(s.shop_domain), escape(s.mode)]
        + [str(s.states.get(state, 0)) for state in states]
        for s in data.stores
    ]
    exceptions = [
        [
            escape(e.store),
            escape(e.order_name),
            "<br>".join(escape(p) for p in e.problems),
            f'<form method="post" action="/dashboard/work/{e.work_id}/retry">'
            f"{_csrf_field(csrf)}<button>retry</button></form>",
        ]
        for e in data.exceptions
    ]
    events = [
        [
            escape(e.at.strftime("%Y-%m-%d %H:%M:%S")),
            escape(e.store),
            escape(e.order_name),
            escape(f"{e.from_state or '-'} → {e.to_state}"),
            escape(e.stage or ""),
            escape(e.actor),
        ]
        for e in data.events
    ]
    outbox = ", ".join(f"{escape(k)}: {v}" for k, v in sorted(data.outbox.items())) or "empty"
    problems = [
        [
            str(p.id),
            escape(p.store),
            escape(p.kind),
            f'<span class="bad">{escape(p.status)}</span>',
            str(p.attempts),
            escape(p.last_error or ""),
        ]
        for p in data.outbox_problems
    ]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>fulfillbridge</title>
<style>{_STYLE}</style></head><body>
<h1>fulfillbridge</h1>
<h2>Stores and work by state</h2>
{_table(["store", "shop", "mode", *states], store_rows, "no stores yet")}
<h2>Needs attention: due soon, overdue, held in Shopify</h2>
{
        _table(
            ["store", "order", "state", "deadline", "delivery", "held / flags", "personalised"],
            _work_rows(due or []),
            "nothing due in the next 48 hours, nothing held",
        )
    }
<h2>Exceptions</h2>
{_table(["store", "order", "problems", ""], exceptions, "no exceptions")}
<h2>Sync health</h2>
<p>Inbox waiting: {data.inbox_backlog}. Outbox: {outbox}.</p>
{_table(["id", "store", "write", "status", "attempts", "error"], problems, "no failed writes")}
<h2>Inventory</h2>
{
        _table(
            ["store", "mapped SKUs", "last sync", "in sync", "pending", "rejected", "feed"],
            _inventory_rows(levels or []),
            "no inventory pushed yet",
        )
    }
<h2>Returns expected and received</h2>
{
        _table(
            ["store", "return", "order", "state", "units", "received", "age"],
            _return_rows(returns_page or []),
            "no returns on their way",
        )
    }
<h2>Webhooks to the operation</h2>
{
        _table(
            ["id", "store", "event", "status", "attempts", "error", ""],
            _delivery_rows(deliveries_page or [], csrf),
            "no deliveries yet",
        )
    }
<h2>Recent events</h2>
{_table(["time", "store", "order", "state", "stage", "by"], events, "nothing yet")}
<p class="muted"><a href="/docs">API documentation</a> · <a href="/metrics">metrics</a></p>
</body></html>"""


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, database: AppDatabase) -> Response:
    viewer = await _viewer(request, database)
    if viewer is None:
        return _challenge()
    async with database.transaction() as session:
        data = await read_model.overview(session, stores=viewer.allowed())
        page, _ = await actions.list_work(
            session,
            stores=viewer.allowed(),
            due_before=datetime.now(UTC) + timedelta(hours=48),
            sort="deadline",
            limit=25,
        )
        due = [actions.work_view(row, name) for row, name in page]
        held, _ = await actions.list_work(
            session, stores=viewer.allowed(), states=[WorkState.ON_HOLD], limit=25
        )
        due += [actions.work_view(row, name) for row, name in held if row.fulfill_by is None]
        sent, _ = await deliveries.list_deliveries(session, stores=viewer.allowed(), limit=15)
    levels = await inventory.status(database, allowed_stores=viewer.allowed())
    coming_back = await returns.list_returns(
        database, stores=viewer.allowed(), states=["expected", "received"], limit=25
    )
    token = csrf.session_token(_csrf_secret(database), _session_id(viewer))
    return HTMLResponse(
        render(data, levels, due, sent, coming_back, csrf=token),
        headers={"Content-Security-Policy": PAGE_POLICY},
    )


@router.post("/dashboard/deliveries/{delivery_id}/redeliver")
async def redeliver(
    delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request, database: AppDatabase
) -> Response:
    viewer = await _viewer(request, database)
    if viewer is None:
        return _challenge()
    if (forged := await _forged(request, database, viewer)) is not None:
        return forged
    try:
        async with database.transaction() as session:
            await deliveries.redeliver(session, delivery_id, stores=viewer.allowed())
    except actions.ActionError as exc:
        return HTMLResponse(f"<p>{escape(str(exc))}</p><a href='/'>back</a>", http_status(exc))
    database.ring()
    return RedirectResponse("/", status_code=303)


@router.post("/dashboard/work/{work_id}/retry")
async def retry_exception(
    # Bounded like the API's ids: a number past the database's integers is a 422, not a 500.
    work_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    database: AppDatabase,
) -> Response:
    from fulfillbridge.flows.actions import ActionError, RetryException, run_action

    viewer = await _viewer(request, database)
    if viewer is None:
        return _challenge()
    if (forged := await _forged(request, database, viewer)) is not None:
        return forged
    try:
        await run_action(
            database,
            request.app.state.settings,
            str(work_id),
            RetryException(),
            actor=f"dashboard:{viewer.name}",
            stores=viewer.allowed(),
        )
    except ActionError as exc:
        return HTMLResponse(f"<p>{escape(str(exc))}</p><a href='/'>back</a>", http_status(exc))
    return RedirectResponse("/", status_code=303)
