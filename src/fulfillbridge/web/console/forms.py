"""The console's forms (POST): every action of the API on one work order, bulk actions on
a selection, sending a webhook again, and sign-in and sign-out. Each post is checked for
forgery (``web.csrf``), turned into the same command the API builds, applied by
``flows.actions`` (the console is one more front end, with no rules of its own), and
answered with a redirect to the page it came from carrying a one-line result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from fulfillbridge.core.work import Tracking
from fulfillbridge.flows import actions, deliveries
from fulfillbridge.flows.work_commands import NOT_FOUND
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.web import csrf
from fulfillbridge.web.api import MAX_ID
from fulfillbridge.web.console import access, auth, render
from fulfillbridge.web.console.access import field
from fulfillbridge.web.dependencies import AppDatabase

router = APIRouter(include_in_schema=False)

WorkId = Annotated[int, Path(ge=1, le=MAX_ID)]
Fields = dict[str, list[str]]


def _packages(fields: Fields) -> tuple[Tracking, ...]:
    number = field(fields, "number")
    company = field(fields, "company")
    if not number and not company:
        return ()
    return (Tracking(company, number, field(fields, "url") or None),)


def _ship(fields: Fields) -> actions.Command:
    lines = []
    for name, values in fields.items():
        if not name.startswith("qty:"):
            continue
        text = values[0].strip() if values else ""
        if not text:
            continue
        if not text.isdigit():
            raise actions.ActionError(
                f"quantity {text!r} is not a whole number", status=actions.INVALID, field=name
            )
        if int(text):
            lines.append(actions.ShipLine(int(text), line_id=name[4:]))
    if not lines:
        raise actions.ActionError(
            "nothing to ship: give a quantity for at least one line", status=actions.INVALID
        )
    return actions.Ship(tuple(lines), _packages(fields), bool(field(fields, "notify")))


def _tracking(fields: Fields) -> actions.Command:
    shipment = field(fields, "shipment_id")
    if not shipment.isdigit() or not 0 < int(shipment) <= MAX_ID:
        raise actions.ActionError("no shipment chosen", status=actions.INVALID)
    return actions.UpdateTracking(int(shipment), _packages(fields), bool(field(fields, "notify")))


def _fix(fields: Fields) -> actions.Command:
    address = {
        name[5:]: values[0].strip()
        for name, values in fields.items()
        if name.startswith("ship:") and values
    }
    skus = {
        name[4:]: values[0].strip()
        for name, values in fields.items()
        if name.startswith("sku:") and values and values[0].strip()
    }
    return actions.FixException(shipping_address=address or None, skus=skus)


def _move(fields: Fields) -> actions.Command:
    location = field(fields, "location_id")
    if location:
        return actions.MoveLocation(location)
    return actions.MoveWarehouse(field(fields, "warehouse"))


COMMANDS: dict[str, tuple[Callable[[Fields], actions.Command], str]] = {
    "stage": (lambda f: actions.StartStage(field(f, "stage")), "stage reported"),
    "hold": (lambda f: actions.Hold(field(f, "reason"), field(f, "notes")), "put on hold"),
    "release": (lambda f: actions.Release(), "hold released"),
    "ship": (_ship, "shipment recorded"),
    "tracking": (_tracking, "tracking replaced"),
    "delivered": (lambda f: actions.Deliver(), "marked delivered"),
    "ready": (lambda f: actions.ReadyForPickup(), "marked ready for pickup"),
    "fix": (_fix, "corrected and validated again"),
    "retry": (lambda f: actions.RetryException(), "validated again"),
    "override": (lambda f: actions.OverrideException(field(f, "reason")), "accepted anyway"),
    "move": (_move, "moved"),
    "give-up": (lambda f: actions.GiveUp(field(f, "reason")), "given up"),
    # As in the API: only the merchant cancels an order; the operation gives up its part.
    "cancel": (lambda f: actions.GiveUp(field(f, "reason")), "cancelled (given up)"),
}


async def _run(
    request: Request, database: AppDatabase, work_id: int, action: str, fallback: str
) -> Response:
    checked = await access.form_viewer(request, database)
    if isinstance(checked, Response):
        return checked
    viewer, fields = checked
    back = access.back_to(request, fallback)
    if action not in COMMANDS:
        return access.refused(f"unknown action {action!r}", 404)
    build, said = COMMANDS[action]
    try:
        command = build(fields)
        result = await actions.run_action(
            database,
            request.app.state.settings,
            str(work_id),
            command,
            actor=viewer.actor,
            stores=viewer.stores,
        )
    except actions.ActionError as exc:
        if exc.code == NOT_FOUND:
            return render.page(
                request, "error.html", viewer=viewer, status=404, message=exc.message
            )
        return access.redirect(back, "error", f"{action}: {exc.message}")
    row = result.row
    message = f"{row.order_name}: {said}; now {row.state}"
    if result.queued:
        message += f" ({len(result.queued)} write(s) to Shopify queued)"
    return access.redirect(back, "ok", message)


@router.post("/console/work/{work_id}/{action}")
async def work_action(
    work_id: WorkId,
    action: Annotated[str, Path(max_length=20)],
    request: Request,
    database: AppDatabase,
) -> Response:
    return await _run(request, database, work_id, action, f"/console/work/{work_id}")


@router.post("/dashboard/work/{work_id}/retry")
async def retry_exception(work_id: WorkId, request: Request, database: AppDatabase) -> Response:
    """The dashboard's earlier address of the retry button, kept for scripts."""
    return await _run(request, database, work_id, "retry", "/")


@router.post("/console/work/bulk")
async def bulk(request: Request, database: AppDatabase) -> Response:
    """On the selected work: report a stage (each its own transaction, so one refusal
    does not undo the rest), or open the pick list or the packing slips."""
    checked = await access.form_viewer(request, database)
    if isinstance(checked, Response):
        return checked
    viewer, fields = checked
    back = access.back_to(request, "/console/work")
    ids = [value for value in fields.get("ids", []) if value.strip()]
    if not ids:
        return access.redirect(back, "error", "select at least one order first")
    do = field(fields, "do")
    if do in ("picklist", "slips"):
        target = "picklist" if do == "picklist" else "packing-slips"
        return RedirectResponse(
            f"/console/work/{target}.pdf?{urlencode({'ids': ','.join(ids)})}", status_code=303
        )
    if do != "stage":
        return access.redirect(back, "error", f"unknown bulk action {do!r}")
    stage = field(fields, "stage")
    done, failed = [], []
    for ref in ids:
        if not ref.isdigit():
            failed.append(f"{ref!r} is not a work id")
            continue
        try:
            result = await actions.run_action(
                database,
                request.app.state.settings,
                ref,
                actions.StartStage(stage),
                actor=viewer.actor,
                stores=viewer.stores,
            )
            done.append(result.row.order_name)
        except actions.ActionError as exc:
            failed.append(f"{ref}: {exc.message}")
    message = f"stage {stage}: {len(done)} done" + (f" ({', '.join(done)})" if done else "")
    if failed:
        return access.redirect(back, "error", message + "; refused: " + "; ".join(failed))
    return access.redirect(back, "ok", message)


async def _redeliver(
    request: Request, database: AppDatabase, delivery_id: int, fallback: str
) -> Response:
    checked = await access.form_viewer(request, database)
    if isinstance(checked, Response):
        return checked
    viewer, _ = checked
    try:
        async with database.transaction() as session:
            await deliveries.redeliver(session, delivery_id, stores=viewer.stores)
    except actions.ActionError as exc:
        if exc.code == NOT_FOUND:
            return render.page(
                request, "error.html", viewer=viewer, status=404, message=exc.message
            )
        return access.redirect(access.back_to(request, fallback), "error", exc.message)
    database.ring()
    return access.redirect(
        access.back_to(request, fallback), "ok", f"delivery {delivery_id} queued to send again"
    )


@router.post("/console/deliveries/{delivery_id}/redeliver")
async def redeliver(delivery_id: WorkId, request: Request, database: AppDatabase) -> Response:
    return await _redeliver(request, database, delivery_id, "/console/deliveries")


@router.post("/dashboard/deliveries/{delivery_id}/redeliver")
async def redeliver_earlier(
    delivery_id: WorkId, request: Request, database: AppDatabase
) -> Response:
    return await _redeliver(request, database, delivery_id, "/")


# --- sign-in ---------------------------------------------------------------------------------


def _next(value: str) -> str:
    """Only a path of this site (no scheme, no //host) may be where sign-in leads."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/signin")
async def signin_form(request: Request, database: AppDatabase) -> Response:
    target = _next(request.query_params.get("next", "/"))
    return render.page(request, "signin.html", viewer=None, target=target)


@router.post("/signin")
async def signin(request: Request, database: AppDatabase) -> Response:
    # No session yet, so no token: the same-origin rule alone keeps other sites from
    # signing a browser in with their own key.
    if not csrf.same_origin(
        request.headers,
        host=request.headers.get("host"),
        public_url=request.app.state.settings.public_url,
    ):
        return access.refused("refused: the sign-in did not come from this bridge's own page")
    body = await request.body()
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        fields = {}
    target = _next(field(fields, "next", "/"))
    plain = field(fields, "key")
    async with database.transaction() as session:
        key = await ApiKeyRepository(session).authenticate(plain) if plain else None
    if key is None:
        return render.page(
            request,
            "signin.html",
            viewer=None,
            status=401,
            target=target,
            error="that API key is not valid (or was revoked): create one with "
            "fulfillbridge apikey create",
        )
    response = RedirectResponse(target, status_code=303)
    auth.set_session(response, request, database, key)
    return response


@router.post("/signout")
async def signout(request: Request, database: AppDatabase) -> Response:
    checked = await access.form_viewer(request, database)
    if isinstance(checked, Response):
        return checked
    response = access.redirect("/signin", "ok", "signed out")
    auth.end_session(response, request)
    return response
