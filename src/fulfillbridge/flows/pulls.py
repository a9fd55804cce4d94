"""Asking Shopify what an event is about: the pulls of fulfillment orders (reads only).

An inbox event is only a reason to look: each one is turned into a *pull* of the fulfillment
orders it concerns (a callback is a ping, docs/shopify.md "Fulfillment service"; webhook
bodies can be late, repeated or out of order). ``flows.apply`` then applies what was read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fulfillbridge.core.work import Mode
from fulfillbridge.flows.work_context import StoreContext, StoreNotReady
from fulfillbridge.shopify import ShopifyClient, operation
from fulfillbridge.shopify.gids import gid_from_webhook
from fulfillbridge.shopify.mapping import (
    MappingError,
    RemoteFulfillmentOrder,
    ids_in_payload,
    parse_time,
    to_remote,
)
from fulfillbridge.shopify.metafields import WorkMetafields, parse_work_metafields

PAGE_SIZE = 25  # fulfillment orders per page (each with up to 50 lines)
LISTING_PAGE_SIZE = 100  # ids and times per page of a first look
# nodes(ids:) is charged per id: 20 fulfillment orders stay well under Shopify's 1000-point
# ceiling for one query (docs/shopify.md "Rate limits").
IDS_PER_READ = 20
MAX_PAGES = 400
# In fulfillment-service mode these webhooks say what the callback says (a request reached
# our location): like the callback, they are answered by one pull of the assigned orders,
# so a burst of N requests costs a few pulls rather than N reads.
FULFILLMENT_SERVICE_TOPICS_PULLING_ASSIGNED = (
    "fulfillment_orders/fulfillment_request_submitted",
    "fulfillment_orders/cancellation_request_submitted",
)


async def with_metafields(
    client: ShopifyClient, ctx: StoreContext, remotes: Sequence[RemoteFulfillmentOrder]
) -> list[RemoteFulfillmentOrder]:
    """``remotes`` with the metafields the store asked for (one read per order), or as
    they are when it asked for none."""
    if not ctx.metafield_keys or not remotes:
        return list(remotes)
    keys = ctx.metafield_keys
    read: dict[str, WorkMetafields] = {}
    for order_id in dict.fromkeys(r.order_id for r in remotes):
        data = await client.execute(
            operation("WorkOrderMetafields"),
            {
                "id": order_id,
                "orderKeys": list(keys.get("order", ())),
                "productKeys": list(keys.get("product", ())),
                "variantKeys": list(keys.get("variant", ())),
            },
        )
        read[order_id] = parse_work_metafields(data)
    return [_attach(remote, read[remote.order_id]) for remote in remotes]


def _attach(remote: RemoteFulfillmentOrder, found: WorkMetafields) -> RemoteFulfillmentOrder:
    lines = tuple(
        replace(
            line,
            metafields={
                **(
                    {"product": found.products[line.product_id]}
                    if line.product_id in found.products
                    else {}
                ),
                **(
                    {"variant": found.variants[line.variant_id]}
                    if line.variant_id in found.variants
                    else {}
                ),
            },
        )
        for line in remote.work.lines
    )
    details = replace(
        remote.work.details,
        metafields=found.order,
        warnings=remote.work.details.warnings + tuple(found.warnings),
    )
    return replace(remote, work=replace(remote.work, lines=lines, details=details))


def read_variables(ctx: StoreContext, variables: dict[str, Any]) -> dict[str, Any]:
    """``variables`` plus what every read of work fulfillment orders takes."""
    return {**variables, "withCustomer": ctx.reads_customer}


async def read_all(
    client: ShopifyClient,
    name: str,
    variables: dict[str, Any],
    path: Sequence[str],
    *,
    page_size: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """Every node of a paged read (``variables`` already complete)."""
    nodes: list[dict[str, Any]] = []
    async for node in client.paginate(
        name, variables, path=path, page_size=page_size, max_pages=MAX_PAGES
    ):
        if node:
            nodes.append(node)
    return nodes


def map_nodes(
    ctx: StoreContext, nodes: Sequence[dict[str, Any] | None]
) -> list[RemoteFulfillmentOrder]:
    return [
        to_remote(node, store=ctx.store.name, mode=ctx.mode)
        for node in nodes
        if node and str(node.get("id", "")).startswith("gid://shopify/FulfillmentOrder/")
    ]


# Given a first look's {id: updatedAt}, the ids worth reading in full (flows.seen).
Fresh = Callable[[dict[str, datetime | None]], Awaitable[list[str]]]


async def pull_assigned(
    client: ShopifyClient, ctx: StoreContext, *, fresh: Fresh | None = None
) -> list[RemoteFulfillmentOrder]:
    """Requests waiting at our fulfillment-service location: new fulfillment requests and
    cancellation requests (what a callback ping means, docs/shopify.md "Fulfillment service").

    With ``fresh``, fulfillment requests are first listed by id and ``updatedAt`` only and
    just the ones ``fresh`` names are read in full: a request we already hold at that time
    has nothing new to tell, and re-reading every waiting request on every pull is what
    made a burst's pulls expensive. Cancellation requests (rare) are always read in full."""
    if ctx.location_id is None:
        raise StoreNotReady(
            f"store {ctx.store.name!r} has no fulfillment-service location yet: run "
            f"`fulfillbridge store setup {ctx.store.name}`"
        )
    found: list[RemoteFulfillmentOrder] = []
    for status in ("FULFILLMENT_REQUESTED", "CANCELLATION_REQUESTED"):
        variables = {"assignmentStatus": status, "locationIds": [ctx.location_id]}
        if fresh is not None and status == "FULFILLMENT_REQUESTED":
            listed = await read_all(
                client,
                "AssignedFulfillmentOrderChanges",
                variables,
                ("assignedFulfillmentOrders",),
                page_size=LISTING_PAGE_SIZE,
            )
            wanted = await fresh(stamps(listed))
            found += await pull_by_ids(client, ctx, wanted, metafields=False) if wanted else []
            continue
        nodes = await read_all(
            client,
            "AssignedFulfillmentOrders",
            read_variables(ctx, variables),
            ("assignedFulfillmentOrders",),
        )
        for remote in map_nodes(ctx, nodes):
            # Listed as CANCELLATION_REQUESTED: pending even if requestStatus reads otherwise.
            if status == "CANCELLATION_REQUESTED" and not remote.cancellation_pending:
                remote = replace(remote, cancellation_pending=True)
            found.append(remote)
    return await with_metafields(client, ctx, found)


def stamps(nodes: Sequence[dict[str, Any] | None]) -> dict[str, datetime | None]:
    """``{id: updatedAt}`` of the nodes of a listing by id and time."""
    return {
        str(node["id"]): parse_time(str(node.get("updatedAt") or ""))
        for node in nodes
        if node and node.get("id")
    }


async def pull_by_ids(
    client: ShopifyClient, ctx: StoreContext, ids: Sequence[str], *, metafields: bool = True
) -> list[RemoteFulfillmentOrder]:
    found: list[RemoteFulfillmentOrder] = []
    for start in range(0, len(ids), IDS_PER_READ):
        data = await client.execute(
            operation("FulfillmentOrdersByIds"),
            read_variables(ctx, {"ids": list(ids[start : start + IDS_PER_READ])}),
        )
        found += map_nodes(ctx, data.get("nodes") or [])
    return await with_metafields(client, ctx, found) if metafields else found


async def pull_order(
    client: ShopifyClient, ctx: StoreContext, order_id: str
) -> list[RemoteFulfillmentOrder]:
    """Every fulfillment order of one order (an unknown order has none)."""
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        data = await client.execute(
            operation("OrderFulfillmentOrders"),
            read_variables(ctx, {"id": order_id, "first": PAGE_SIZE, "after": after}),
        )
        order = data.get("order")
        if not order:
            return []
        connection = order.get("fulfillmentOrders") or {}
        nodes += [n for n in connection.get("nodes") or [] if n]
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage") or not page.get("endCursor"):
            break
        after = page["endCursor"]
    return await with_metafields(client, ctx, map_nodes(ctx, nodes))


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class PullPlan:
    """What an event amounts to once Shopify has been asked."""

    remotes: tuple[RemoteFulfillmentOrder, ...] = ()
    cancelled_orders: tuple[str, ...] = ()
    note: str = ""
    # When this plan is a pull of every assigned fulfillment order: the highest inbox id of
    # the store when that pull started (every event up to it is answered by the pull).
    assigned_pull_watermark: int | None = None


def _order_gid(payload: dict[str, Any]) -> str | None:
    edit = payload.get("order_edit")
    if isinstance(edit, dict):  # orders/edited names its order inside the edit
        return gid_from_webhook({"id": edit.get("order_id")}, "Order")
    return gid_from_webhook(payload, "Order")


async def plan_event(
    client: ShopifyClient,
    ctx: StoreContext,
    source: str,
    topic: str,
    payload: dict[str, Any],
    *,
    answered: bool = False,
    watermark: Callable[[], Awaitable[int]] | None = None,
    settled: Callable[[str], Awaitable[bool]] | None = None,
    fresh: Fresh | None = None,
) -> PullPlan:
    """Ask Shopify what an event is about (reads only). ``answered``: a pull of every
    assigned fulfillment order already covered this event; ``watermark`` reads the store's
    highest inbox id, taken just before such a pull; ``settled`` tells whether every local
    work order of an order is final; ``fresh`` picks which listed requests to read in full
    (``pull_assigned``)."""
    payload = payload if isinstance(payload, dict) else {}
    service = ctx.mode is Mode.FULFILLMENT_SERVICE
    if source == "callback" or (service and topic in FULFILLMENT_SERVICE_TOPICS_PULLING_ASSIGNED):
        if not service:
            return PullPlan(note="callback ignored: the store is in order management mode")
        if answered:
            return PullPlan(note="already answered by a later pull of the assigned orders")
        mark = await watermark() if watermark is not None else None
        remotes = tuple(await pull_assigned(client, ctx, fresh=fresh))
        return PullPlan(remotes=remotes, assigned_pull_watermark=mark)
    if topic == "orders/cancelled":
        order_id = _order_gid(payload)
        if order_id is None:
            raise MappingError("orders/cancelled body names no order id")
        if payload.get("cancelled_at") is not None or "cancelled_at" not in payload:
            return PullPlan(cancelled_orders=(order_id,))
        return PullPlan(remotes=tuple(await pull_order(client, ctx, order_id)))
    if topic in ("orders/create", "orders/paid") and ctx.mode is Mode.FULFILLMENT_SERVICE:
        # A new order's fulfillment orders reach a fulfillment service through requests
        # (callback, fulfillment_request_submitted) and reconciliation; reading them now
        # would only spend points on work nobody asked us for yet.
        return PullPlan(note=f"{topic}: a fulfillment service waits for the request")
    if topic.startswith("orders/"):
        order_id = _order_gid(payload)
        if order_id is None:
            raise MappingError(f"{topic} body names no order id")
        if service and settled is not None and await settled(order_id):
            # Mostly the echo of our own fulfillment: finished work has nothing to learn
            # from it, and new work would come to a fulfillment service as a request.
            return PullPlan(note=f"{topic}: the order's work here is finished")
        return PullPlan(remotes=tuple(await pull_order(client, ctx, order_id)))
    if topic.startswith("fulfillment_orders/"):
        fo_ids, order_ids = ids_in_payload(payload)
        remotes = await pull_by_ids(client, ctx, fo_ids) if fo_ids else []
        if not fo_ids:
            for order_id in order_ids:
                remotes += await pull_order(client, ctx, order_id)
        return PullPlan(remotes=tuple(remotes))
    return PullPlan(note=f"topic {topic} needs no processing")
