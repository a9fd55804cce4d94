"""The console's pages (GET): overview at ``/``, the work list and a work page, the
exceptions queue, stores, inventory rejections, outgoing webhooks, and the paper (PDF).
Reads only; forms post to ``web.console.forms``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from fulfillbridge.core.work import WorkState
from fulfillbridge.flows import actions, deliveries, inventory, paper, returns, shipping, tracking
from fulfillbridge.flows import console as read
from fulfillbridge.flows import overview as read_model
from fulfillbridge.flows.work_commands import MOVABLE, SHIPPABLE
from fulfillbridge.flows.work_views import work_detail
from fulfillbridge.store.models import OutboxRow
from fulfillbridge.web.api import MAX_ID
from fulfillbridge.web.console import access, auth, charts, render
from fulfillbridge.web.dependencies import AppDatabase
from fulfillbridge.web.errors import http_status

router = APIRouter(include_in_schema=False)

REFRESH_SECONDS = 30
ADDRESS_FIELDS = (
    "name",
    "address1",
    "address2",
    "city",
    "province_code",
    "zip",
    "country_code",
    "phone",
)
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
ShortText = Annotated[str, Query(max_length=read.MAX_SEARCH)]


def _safe_url(url: Any) -> str | None:
    """A link or image address a page may show: http(s) only."""
    text = str(url or "")
    return text if text.startswith(("https://", "http://")) else None


@router.get("/")
async def overview(request: Request, database: AppDatabase) -> Response:
    viewer = await access.viewer_or_signin(request, database)
    if not isinstance(viewer, auth.Viewer):
        return viewer
    stores = viewer.stores
    async with database.transaction() as session:
        data = await read_model.overview(session, stores=stores, limit=15)
        due_page, _ = await actions.list_work(
            session,
            stores=stores,
            due_before=datetime.now(UTC) + timedelta(hours=48),
            sort="deadline",
            limit=15,
        )
        due = [actions.work_view(row, name) for row, name in due_page]
        held, _ = await actions.list_work(
            session, stores=stores, states=[WorkState.ON_HOLD], limit=15
        )
        due += [actions.work_view(row, name) for row, name in held if row.fulfill_by is None]
        figures = await read.activity(session, stores=stores)
        health = await read.stores_health(session, stores=stores)
    coming_back = await returns.list_returns(
        database, stores=stores, states=["expected", "received"], limit=25
    )
    labels = charts.hour_labels(figures.hours)
    graphs = {
        "orders": charts.grouped_bars(
            "Orders in and shipped per hour",
            labels,
            [("in", figures.received), ("shipped", figures.shipped)],
        ),
        "latency": charts.lines(
            "Median latency per hour",
            labels,
            [
                ("request to accepted", figures.accept_latency),
                ("shipment to fulfillment", figures.fulfil_latency),
            ],
        ),
        "backlog": charts.horizontal_bars("Open work by state", figures.backlog),
    }
    states = sorted({s for store in data.stores for s in store.states})
    return render.page(
        request,
        "overview.html",
        viewer=viewer,
        csrf=auth.csrf_token(database, viewer),
        refresh=REFRESH_SECONDS,
        data=data,
        states=states,
        due=due,
        graphs=graphs,
        health=health,
        coming_back=coming_back,
    )


def _state(value: str | None) -> WorkState | None:
    if not value:
        return None
    try:
        return WorkState(value)
    except ValueError:
        raise actions.ActionError(
            f"state {value!r} is not one of {', '.join(s.value for s in WorkState)}",
            status=actions.INVALID,
            field="state",
        ) from None


@router.get("/console/work")
async def work_list(
    request: Request,
    database: AppDatabase,
    store: Annotated[str, Query(max_length=64)] = "",
    state: Annotated[str, Query(max_length=32)] = "",
    stage: Annotated[str, Query(max_length=64)] = "",
    overdue: bool = False,
    exception: bool = False,
    q: ShortText = "",
    page: PageNumber = 1,
) -> Response:
    viewer = await access.viewer_or_signin(request, database)
    if not isinstance(viewer, auth.Viewer):
        return viewer
    filters = {
        "store": store,
        "state": state,
        "stage": stage,
        "overdue": "1" if overdue else "",
        "exception": "1" if exception else "",
        "q": q,
    }
    error = None
    status = 200
    async with database.transaction() as session:
        names = sorted(
            n
            for n in (await actions.store_names(session)).values()
            if viewer.stores is None or n in viewer.stores
        )
        try:
            wanted = read.WorkFilter(store or None, _state(state), stage, overdue, exception, q)
            found = await read.search_work(session, wanted, stores=viewer.stores, page=page)
        except actions.ActionError as exc:
            error, status = exc.message, http_status(exc)
            found = read.Page([], 1, 1, 0)
        views = [actions.work_view(row, name) for row, name in found.items]
    return render.page(
        request,
        "work_list.html",
        viewer=viewer,
        csrf=auth.csrf_token(database, viewer),
        status=status,
        refresh=REFRESH_SECONDS,
        error=error,
        views=views,
        found=found,
        filters=filters,
        stores=names,
        states=[s.value for s in WorkState],
        stages=request.app.state.settings.stages,
    )


def _available(view: dict[str, Any]) -> set[str]:
    """The forms that make sense for the work's state (the core still decides)."""
    state = WorkState(view["state"])
    shown: set[str] = set()
    if state in (WorkState.ACCEPTED, WorkState.IN_PROGRESS):
        shown.add("stage")
    if state in SHIPPABLE:
        shown.add("ship")
        if view["delivery"]["kind"] == "pickup":
            shown.add("ready")
    if state == WorkState.ON_HOLD:
        shown.add("release")
    elif state in actions.OPEN_WORK and state != WorkState.SCHEDULED:
        shown.add("hold")
    if state == WorkState.SHIPPED:
        shown.add("delivered")
    if state == WorkState.EXCEPTION:
        shown |= {"fix", "retry", "override"}
    if state in MOVABLE:
        shown.add("move")
    if state in actions.OPEN_WORK:
        shown |= {"give-up", "cancel"}
    return shown


@router.get("/console/work/{work_id:int}")
async def work_page(
    request: Request,
    database: AppDatabase,
    work_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Response:
    viewer = await access.viewer_or_signin(request, database)
    if not isinstance(viewer, auth.Viewer):
        return viewer
    async with database.transaction() as session:
        try:
            row, store = await actions.get_work(session, work_id, stores=viewer.stores)
        except actions.ActionError as exc:
            return render.page(
                request,
                "error.html",
                viewer=viewer,
                status=http_status(exc),
                message=exc.message,
            )
        view = await work_detail(session, row, store)
        writes = list(
            await session.scalars(
                select(OutboxRow)
                .where(OutboxRow.work_order_id == row.id)
                .order_by(OutboxRow.id.desc())
                .limit(50)
            )
        )
    settings = request.app.state.settings
    for line in view["lines"]:
        line["thumbnail"] = _safe_url(line["image_url"])
    for shipment in view["shipments"]:
        for package in shipment["packages"]:
            package["link"] = _safe_url(package.get("url"))
        shipment["events"] = await tracking.list_events(
            database, work_id, shipment["id"], stores=viewer.stores
        )
    labels = await shipping.list_labels(database, work_id, stores=viewer.stores)
    accounts = [
        a for a in await shipping.list_accounts(database) if a["store"] in (None, view["store"])
    ]
    return render.page(
        request,
        "work.html",
        viewer=viewer,
        csrf=auth.csrf_token(database, viewer),
        view=view,
        writes=writes,
        available=_available(view),
        stages=settings.stages,
        warehouses=[w.name for w in settings.warehouses],
        hold_reasons=actions.HOLD_REASONS,
        address_fields=ADDRESS_FIELDS,
        labels=labels,
        accounts=accounts,
        line_names={line["line_id"]: line["sku"] or line["title"] for line in view["lines"]},
    )


@router.get("/console/exceptions")
async def exceptions(request: Request, database: AppDatabase, page: PageNumber = 1) -> Response:
    viewer = await access.viewer_or_signin(request, database)
    if not isinstance(viewer, auth.Viewer):
        return viewer
    async with database.transaction() as session:
        found = await read.exceptions_queue(session, stores=viewer.stores, page=page)
    return render.page(
        request,
        "exceptions.html",
        viewer=viewer,
        csrf=auth.csrf_token(database, viewer),
        refresh=REFRESH_SECONDS,
        found=found,
    )


@router.get("/console/stores")
async def stores_page(request: Request, database: AppDatabase) -> Response:
    viewer = await access.viewer_or_signin(request, database)
    if not isinstance(viewer, auth.Viewer):
        return viewer
    async with database.transaction() as session:
        health = await read.stores_health(session, stores=viewer.stores)
    return render.page(
        request,
        "stores.html",
        viewer=viewer,
        csrf=auth.csrf_token(database, viewer),
        refresh=REFRESH_SECONDS,
        health=health,
    )


@router.get("/console/inventory")
async def inventory_page(request: Request, database: AppDatabase, page: PageNumber = 1) -> Response:
    viewer = await access.viewer_or_signin(request, database)
    if not isinstance(viewer, auth.Viewer):
        return viewer
    async with database.transaction() as session:
        found = await read.inventory_rejections(session, stores=viewer.stores, page=page)
    levels = await inventory.status(database, allowed_stores=viewer.stores)
    return render.page(
        request,
        "inventory.html",
        viewer=viewer,
        csrf=auth.csrf_token(database, viewer),
        found=found,
        levels=levels,
    )


@router.get("/console/deliveries")
async def deliveries_page(
    request: Request,
    database: AppDatabase,
    status: Annotated[str, Query(max_length=16)] = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    viewer = await access.viewer_or_signin(request, database)
    if not isinstance(viewer, auth.Viewer):
        return viewer
    error = None
    async with database.transaction() as session:
        try:
            items, next_before = await deliveries.list_deliveries(
                session, stores=viewer.stores, status=status or None, before_id=before, limit=50
            )
        except actions.ActionError as exc:
            error, items, next_before = exc.message, [], None
    return render.page(
        request,
        "deliveries.html",
        viewer=viewer,
        csrf=auth.csrf_token(database, viewer),
        status=400 if error else 200,
        refresh=REFRESH_SECONDS,
        error=error,
        items=items,
        next_before=next_before,
        wanted_status=status,
        statuses=deliveries.STATUSES,
    )


# --- paper -----------------------------------------------------------------------------------


async def _paper(request: Request, database: AppDatabase, ids: list[str], kind: str) -> Response:
    viewer = await access.viewer_or_signin(request, database)
    if not isinstance(viewer, auth.Viewer):
        return viewer
    try:
        wanted = paper.parse_ids(ids)
        async with database.transaction() as session:
            views = await paper.load_views(session, wanted, stores=viewer.stores)
    except actions.ActionError as exc:
        return render.page(
            request, "error.html", viewer=viewer, status=http_status(exc), message=exc.message
        )
    build = paper.pick_list if kind == "picklist" else paper.packing_slips
    return Response(
        build(views),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{kind}.pdf"'},
    )


@router.get("/console/work/picklist.pdf")
async def picklist_pdf(
    request: Request, database: AppDatabase, ids: Annotated[list[str], Query()]
) -> Response:
    return await _paper(request, database, ids, "picklist")


@router.get("/console/work/packing-slips.pdf")
async def packing_slips_pdf(
    request: Request, database: AppDatabase, ids: Annotated[list[str], Query()]
) -> Response:
    return await _paper(request, database, ids, "packing-slips")


@router.get("/console/work/{work_id:int}/packing-slip.pdf")
async def packing_slip_pdf(
    request: Request, database: AppDatabase, work_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Response:
    return await _paper(request, database, [str(work_id)], "packing-slips")
