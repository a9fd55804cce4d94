"""The catalogue webhooks the sandbox sends as Shopify does: products/* for product changes and
inventory_items/create|update|delete when a variant (and so its item) is created, when an
item's SKU, tracking or other reported field changes, and when a variant is deleted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.app import SandboxASGI
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN

GRAPHQL = "/admin/api/2026-07/graphql.json"
HEADERS = {"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN}
ITEM_FIELDS = {
    "id",
    "sku",
    "created_at",
    "updated_at",
    "requires_shipping",
    "cost",
    "country_code_of_origin",
    "province_code_of_origin",
    "harmonized_system_code",
    "tracked",
    "country_harmonized_system_codes",
    "admin_graphql_api_id",
}
CATALOGUE = ("products", "inventory_items")
VARIANTS = "variants(first: 10) { nodes { id sku inventoryItem { id } } }"
PRODUCT_SET = f"""mutation($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {{
  productSet(input: $input, identifier: $identifier, synchronous: true) {{
    product {{ id {VARIANTS} }} userErrors {{ field message code }} }} }}"""


class Api:
    def __init__(self, client: httpx.AsyncClient, app: SandboxASGI) -> None:
        self.client = client
        self.events: list[tuple[str, dict[str, Any]]] = []
        state = app.sandbox.shops[DEFAULT_SHOP_DOMAIN].state
        state.listeners.append(lambda topic, payload: self.events.append((topic, payload)))

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.client.post(
            GRAPHQL, json={"query": query, "variables": variables or {}}, headers=HEADERS
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        """The catalogue events since the last call (levels moving are not looked at here)."""
        taken = [(t, p) for t, p in self.events if t.split("/")[0] in CATALOGUE]
        self.events.clear()
        return taken

    async def create(self, title: str) -> dict[str, Any]:
        data = await self(
            f"""mutation($title: String) {{ productCreate(product: {{title: $title}}) {{
                 product {{ id {VARIANTS} }} }} }}""",
            {"title": title},
        )
        return data["productCreate"]["product"]

    async def location(self) -> str:
        data = await self("{ locations(first: 1) { nodes { id } } }")
        return data["locations"]["nodes"][0]["id"]


@pytest.fixture
async def api(sandbox_app: SandboxASGI) -> Any:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"https://{DEFAULT_SHOP_DOMAIN}"
    ) as client:
        yield Api(client, sandbox_app)


def _number(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1].split("?", 1)[0])


def _tee(location: str, *sizes: str) -> dict[str, Any]:
    return {
        "title": "Tee",
        "productOptions": [{"name": "Size", "values": [{"name": s} for s in sizes]}],
        "variants": [
            {
                "optionValues": [{"optionName": "Size", "name": s}],
                "sku": f"TEE-{s}",
                "inventoryQuantities": [{"locationId": location, "name": "on_hand", "quantity": 3}],
            }
            for s in sizes
        ],
    }


async def test_product_create_announces_its_default_item(api: Api) -> None:
    product = await api.create("Mug")
    item_gid = product["variants"]["nodes"][0]["inventoryItem"]["id"]
    events = api.take()
    assert [t for t, _ in events] == ["products/create", "inventory_items/create"]
    item = events[1][1]
    assert set(item) == ITEM_FIELDS
    assert item["id"] == _number(item_gid) and item["admin_graphql_api_id"] == item_gid
    # productCreate's variant has no SKU and is not tracked (capture: quantity contracts).
    assert item["sku"] == "" and item["tracked"] is False
    assert item["requires_shipping"] is True and item["cost"] is None
    assert item["created_at"] and item["updated_at"]
    variant = events[0][1]["variants"][0]
    assert variant["inventory_item_id"] == item["id"] and variant["sku"] == ""


async def test_product_set_items_created_changed_and_deleted(api: Api) -> None:
    location = await api.location()
    created = (await api(PRODUCT_SET, {"input": _tee(location, "S", "M")}))["productSet"]
    assert created["userErrors"] == []
    product = created["product"]
    by_sku = {v["sku"]: v for v in product["variants"]["nodes"]}
    events = api.take()
    assert [t for t, _ in events] == ["products/create"] + ["inventory_items/create"] * 2
    # One create per item, with the state the mutation left (SKU set, tracked by quantities).
    items = {p["sku"]: p for t, p in events if t == "inventory_items/create"}
    assert set(items) == {"TEE-S", "TEE-M"}
    assert all(p["tracked"] is True for p in items.values())
    assert items["TEE-S"]["admin_graphql_api_id"] == by_sku["TEE-S"]["inventoryItem"]["id"]
    listed = {v["sku"]: v["inventory_item_id"] for v in events[0][1]["variants"]}
    assert listed == {sku: p["id"] for sku, p in items.items()}

    # M's SKU changes and S is left out: S's item is deleted with its variant.
    update = _tee(location, "M")
    update["variants"][0]["id"] = by_sku["TEE-M"]["id"]
    update["variants"][0]["sku"] = "TEE-M2"
    result = await api(PRODUCT_SET, {"input": update, "identifier": {"id": product["id"]}})
    assert result["productSet"]["userErrors"] == []
    events = api.take()
    topics = sorted(t for t, _ in events)
    assert topics == ["inventory_items/delete", "inventory_items/update", "products/update"]
    deleted = next(p for t, p in events if t == "inventory_items/delete")
    assert deleted["admin_graphql_api_id"] == by_sku["TEE-S"]["inventoryItem"]["id"]
    assert "sku" not in deleted  # Shopify's delete body carries the id, not the item
    changed = next(p for t, p in events if t == "inventory_items/update")
    assert changed["sku"] == "TEE-M2"
    assert changed["admin_graphql_api_id"] == by_sku["TEE-M"]["inventoryItem"]["id"]
    (variant,) = next(p for t, p in events if t == "products/update")["variants"]
    assert variant["sku"] == "TEE-M2" and variant["inventory_item_id"] == changed["id"]

    # The same input again changes nothing on the item: no inventory_items/update.
    await api(PRODUCT_SET, {"input": update, "identifier": {"id": product["id"]}})
    assert [t for t, _ in api.take()] == ["products/update"]


async def test_inventory_item_update_announces_real_changes_only(api: Api) -> None:
    product = await api.create("Cap")
    item = product["variants"]["nodes"][0]["inventoryItem"]["id"]
    api.take()
    update = """mutation($id: ID!, $input: InventoryItemInput!) {
      inventoryItemUpdate(id: $id, input: $input) {
        inventoryItem { id sku tracked } userErrors { message } } }"""
    await api(update, {"id": item, "input": {"sku": "CAP-1", "tracked": True}})
    ((topic, payload),) = api.take()
    assert topic == "inventory_items/update"
    assert (payload["sku"], payload["tracked"], payload["admin_graphql_api_id"]) == (
        "CAP-1",
        True,
        item,
    )
    await api(update, {"id": item, "input": {"sku": "CAP-1"}})
    assert api.take() == []


async def test_variants_bulk_create_update_and_product_delete(api: Api) -> None:
    product = await api.create("Bag")
    standalone = product["variants"]["nodes"][0]["inventoryItem"]["id"]
    api.take()
    created = await api(
        """mutation($id: ID!, $variants: [ProductVariantsBulkInput!]!) {
          productVariantsBulkCreate(productId: $id, variants: $variants) {
            productVariants { id inventoryItem { id } } userErrors { message } } }""",
        {
            "id": product["id"],
            "variants": [
                {
                    "optionValues": [{"optionName": "Color", "name": "Red"}],
                    "inventoryItem": {"sku": "BAG-RED"},
                }
            ],
        },
    )
    (new,) = created["productVariantsBulkCreate"]["productVariants"]
    events = api.take()
    assert sorted(t for t, _ in events) == [
        "inventory_items/create",
        "inventory_items/delete",
        "products/update",
    ]
    made = next(p for t, p in events if t == "inventory_items/create")
    assert (made["sku"], made["admin_graphql_api_id"]) == ("BAG-RED", new["inventoryItem"]["id"])
    gone = next(p for t, p in events if t == "inventory_items/delete")
    assert gone["admin_graphql_api_id"] == standalone  # the "Default Title" variant went

    await api(
        """mutation($id: ID!, $variants: [ProductVariantsBulkInput!]!) {
          productVariantsBulkUpdate(productId: $id, variants: $variants) {
            userErrors { message } } }""",
        {"id": product["id"], "variants": [{"id": new["id"], "inventoryItem": {"sku": "BAG-R"}}]},
    )
    events = api.take()
    assert sorted(t for t, _ in events) == ["inventory_items/update", "products/update"]
    assert next(p for t, p in events if t == "inventory_items/update")["sku"] == "BAG-R"

    await api(
        """mutation($id: ID!) { productDelete(input: {id: $id}) { deletedProductId } }""",
        {"id": product["id"]},
    )
    events = api.take()
    assert [t for t, _ in events] == ["products/delete", "inventory_items/delete"]
    assert events[0][1] == {"id": _number(product["id"])}
    assert events[1][1]["admin_graphql_api_id"] == new["inventoryItem"]["id"]
