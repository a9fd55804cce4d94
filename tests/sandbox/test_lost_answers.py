"""The "lost" API fault (the request runs, then its answer is lost) and the state dump's
orders, fulfillment orders and fulfillments, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from fulfillbridge.sandbox.server import SandboxServer

GRAPHQL = "/admin/api/2026-07/graphql.json"
TOKEN = {"X-Shopify-Access-Token": "shpat_sandbox"}
SHOP = "demo-shop.myshopify.com"

CREATE_ORDER = """mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) {
  order { id fulfillmentOrders(first: 5) { nodes { id } } } userErrors { field message } } }"""
FULFIL = """mutation($fo: ID!) { fulfillmentCreate(fulfillment: {
  lineItemsByFulfillmentOrder: [{fulfillmentOrderId: $fo}],
  trackingInfo: {company: "UPS", number: "1ZLOST"} }) {
  fulfillment { id status } userErrors { field message } } }"""


def _variant(client: httpx.Client) -> str:
    data = client.post(GRAPHQL, json={"query": "{ productVariants(first: 1) { nodes { id } } }"})
    return data.json()["data"]["productVariants"]["nodes"][0]["id"]


def _order_input(variant: str) -> dict:
    return {
        "lineItems": [{"variantId": variant, "quantity": 1, "requiresShipping": True}],
        "financialStatus": "PAID",
    }


def _state(base: str) -> dict:
    response = httpx.get(f"{base}/__sandbox/state", params={"shop": SHOP})
    assert response.status_code == 200
    # The orders part exists once the shop has had an order.
    return response.json()["parts"].get("orders") or {"orders": {}}


@pytest.mark.parametrize("lost_as", ["drop", "bad_gateway"])
def test_a_lost_answer_means_the_mutation_ran(sandbox_server: SandboxServer, lost_as: str) -> None:
    base = sandbox_server.url
    httpx.post(
        f"{base}/__sandbox/seed?shop={SHOP}", json={"products": 1, "orders": 0, "seed": 5}
    ).raise_for_status()
    faults = {"seed": 3, "api": {"lost": 1.0, "lost_as": lost_as, "mutations_only": True}}
    httpx.post(f"{base}/__sandbox/faults", json=faults).raise_for_status()
    before = len(_state(base)["orders"])
    with httpx.Client(base_url=base, headers=TOKEN, timeout=10) as client:
        variant = _variant(client)  # a query: not faulted with mutations_only
        body = {"query": CREATE_ORDER, "variables": {"order": _order_input(variant)}}
        if lost_as == "drop":
            with pytest.raises(httpx.TransportError):
                client.post(GRAPHQL, json=body)
        else:
            response = client.post(GRAPHQL, json=body)
            assert response.status_code == 502
            assert response.headers["x-sandbox-fault"] == "lost"
    # The caller learnt nothing, yet the order exists.
    orders = _state(base)["orders"]
    assert len(orders) == before + 1
    log = httpx.get(f"{base}/__sandbox/shops/{SHOP}/requests").json()["requests"]
    [lost] = [e for e in log if e["fault"] == "lost"]
    assert lost["actual"] is not None  # it ran and was charged
    assert lost["status"] == (0 if lost_as == "drop" else 502)
    httpx.post(f"{base}/__sandbox/faults", json={}).raise_for_status()


def test_the_state_dump_lists_orders_fulfillment_orders_and_fulfillments(
    sandbox_server: SandboxServer,
) -> None:
    base = sandbox_server.url
    httpx.post(
        f"{base}/__sandbox/seed?shop={SHOP}", json={"products": 1, "orders": 0, "seed": 5}
    ).raise_for_status()
    with httpx.Client(base_url=base, headers=TOKEN, timeout=10) as client:
        variant = _variant(client)
        created = client.post(
            GRAPHQL, json={"query": CREATE_ORDER, "variables": {"order": _order_input(variant)}}
        ).json()["data"]["orderCreate"]
        fo = created["order"]["fulfillmentOrders"]["nodes"][0]["id"]
        done = client.post(GRAPHQL, json={"query": FULFIL, "variables": {"fo": fo}}).json()
        assert done["data"]["fulfillmentCreate"]["userErrors"] == [], done
    state = _state(base)
    order_id = created["order"]["id"].rsplit("/", 1)[1]
    fo_id = fo.rsplit("/", 1)[1]
    assert state["orders"][order_id]["id"] == int(order_id)
    assert state["fulfillment_orders"][fo_id]["status"] == "CLOSED"
    [fulfillment] = [f for f in state["fulfillments"].values() if f["status"] == "SUCCESS"]
    assert "1ZLOST" in str(fulfillment)


def test_bad_lost_fault_settings_are_400(sandbox_server: SandboxServer) -> None:
    base = sandbox_server.url
    for api, named in (
        ({"lost": 0.5, "lost_as": "vanish"}, "api.lost_as"),
        ({"lost": 2}, "api.lost"),
        ({"mutations_only": "yes"}, "api.mutations_only"),
        ({"lost": 0.6, "drop": 0.6}, "more than 1"),
    ):
        response = httpx.post(f"{base}/__sandbox/faults", json={"api": api})
        assert response.status_code == 400, api
        assert named in response.json()["error"]
