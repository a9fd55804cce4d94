"""Catalogue over real HTTP: productCreate, productSet, productVariantsBulkCreate/Update,
product and variant reads with Shopify's search syntax, bulk query operations."""

from __future__ import annotations

import json
from typing import Any

import httpx

from fulfillbridge.sandbox.server import SandboxServer

GRAPHQL = "/admin/api/2026-07/graphql.json"
BULK_PRODUCTS = (
    "{ products { edges { node { id title variants { edges { node { id sku } } } } } } }"
)
TOKEN = {"X-Shopify-Access-Token": "shpat_sandbox"}

PRODUCT_SET = """
mutation Set($input: ProductSetInput!) {
  productSet(input: $input) {
    product {
      id title handle totalInventory tracksInventory
      options { name values }
      variants(first: 10) {
        nodes {
          id sku title price inventoryQuantity
          selectedOptions { name value }
          inventoryItem { id sku tracked requiresShipping measurement { weight { unit value } } }
        }
      }
    }
    userErrors { field message code }
  }
}
"""


def gql(server: SandboxServer, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        server.url + GRAPHQL,
        json={"query": query, "variables": variables or {}},
        headers=TOKEN,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def primary_location(server: SandboxServer) -> str:
    body = gql(server, "{ locations(first: 5) { nodes { id name } } }")
    return body["data"]["locations"]["nodes"][0]["id"]


def set_tee(server: SandboxServer, location: str) -> dict[str, Any]:
    variables = {
        "input": {
            "title": "Classic Tee",
            "productOptions": [
                {"name": "Size", "values": [{"name": "M"}, {"name": "L"}]},
            ],
            "variants": [
                {
                    "optionValues": [{"optionName": "Size", "name": "M"}],
                    "price": "19.00",
                    "inventoryItem": {
                        "sku": "FB-TEE-BLK-M",
                        "measurement": {"weight": {"value": 0.2, "unit": "KILOGRAMS"}},
                    },
                    "inventoryQuantities": [
                        {"locationId": location, "name": "available", "quantity": 7}
                    ],
                },
                {
                    "optionValues": [{"optionName": "Size", "name": "L"}],
                    "price": "21.00",
                    "inventoryItem": {"sku": "FB-TEE-BLK-L", "tracked": True},
                },
            ],
        }
    }
    body = gql(server, PRODUCT_SET, variables)
    assert "errors" not in body, body
    assert body["data"]["productSet"]["userErrors"] == []
    return body["data"]["productSet"]["product"]


def test_product_set_creates_variants_skus_and_stock(sandbox_server: SandboxServer) -> None:
    location = primary_location(sandbox_server)
    product = set_tee(sandbox_server, location)
    assert product["title"] == "Classic Tee"
    assert product["handle"] == "classic-tee"
    assert product["options"] == [{"name": "Size", "values": ["M", "L"]}]
    medium, large = product["variants"]["nodes"]
    assert medium["sku"] == "FB-TEE-BLK-M" and medium["title"] == "M"
    assert medium["price"] == "19.00"
    assert medium["inventoryQuantity"] == 7
    assert medium["selectedOptions"] == [{"name": "Size", "value": "M"}]
    assert medium["inventoryItem"]["tracked"] is True
    assert medium["inventoryItem"]["measurement"]["weight"] == {"unit": "KILOGRAMS", "value": 0.2}
    assert large["inventoryItem"]["sku"] == "FB-TEE-BLK-L"
    assert product["totalInventory"] == 7
    assert product["tracksInventory"] is True


def test_product_create_makes_default_untracked_variant(sandbox_server: SandboxServer) -> None:
    # Shape from capture 2026-04_products_inventory-quantity-contracts-2026-04.json (setup).
    body = gql(
        sandbox_server,
        """mutation { productCreate(product: {title: "Sticker", status: DRAFT}) {
             product { id title status variants(first: 5) { nodes { id inventoryQuantity
               inventoryItem { id tracked requiresShipping
                 inventoryLevels(first: 5) { nodes { location { name }
                   quantities(names: ["available", "on_hand"]) { name quantity } } } } } } }
             userErrors { field message } } }""",
    )
    payload = body["data"]["productCreate"]
    assert payload["userErrors"] == []
    [variant] = payload["product"]["variants"]["nodes"]
    assert variant["inventoryQuantity"] == 0
    item = variant["inventoryItem"]
    assert item["tracked"] is False and item["requiresShipping"] is True
    [level] = item["inventoryLevels"]["nodes"]
    assert level["location"]["name"] == "Shop location"
    assert level["quantities"] == [
        {"name": "available", "quantity": 0},
        {"name": "on_hand", "quantity": 0},
    ]
    blank = gql(
        sandbox_server,
        'mutation { productCreate(product: {title: ""}) { product { id } '
        "userErrors { field message } } }",
    )
    assert blank["data"]["productCreate"] == {
        "product": None,
        "userErrors": [{"field": ["title"], "message": "Title can't be blank"}],
    }


def test_variant_search_by_sku_and_pagination(sandbox_server: SandboxServer) -> None:
    location = primary_location(sandbox_server)
    set_tee(sandbox_server, location)
    query = """query($q: String, $after: String) { productVariants(first: 1, query: $q,
                 after: $after) { nodes { sku } pageInfo { hasNextPage endCursor } } }"""
    found = gql(sandbox_server, query, {"q": "sku:FB-TEE-BLK-M"})["data"]["productVariants"]
    assert found["nodes"] == [{"sku": "FB-TEE-BLK-M"}]
    assert found["pageInfo"]["hasNextPage"] is False
    # Exact term match: a prefix is not enough without the trailing wildcard.
    none = gql(sandbox_server, query, {"q": "sku:FB-TEE"})["data"]["productVariants"]
    assert none["nodes"] == []
    first = gql(sandbox_server, query, {"q": "sku:FB-TEE*"})["data"]["productVariants"]
    assert first["nodes"] == [{"sku": "FB-TEE-BLK-M"}] and first["pageInfo"]["hasNextPage"]
    second = gql(
        sandbox_server, query, {"q": "sku:FB-TEE*", "after": first["pageInfo"]["endCursor"]}
    )["data"]["productVariants"]
    assert second["nodes"] == [{"sku": "FB-TEE-BLK-L"}]
    products = gql(
        sandbox_server, "{ products(first: 5, query: \"title:'Classic Tee'\") { nodes { title } } }"
    )
    assert products["data"]["products"]["nodes"] == [{"title": "Classic Tee"}]


def test_shared_sku_returns_every_variant(sandbox_server: SandboxServer) -> None:
    location = primary_location(sandbox_server)
    set_tee(sandbox_server, location)
    body = gql(
        sandbox_server,
        """mutation { productSet(input: {title: "Tee Bundle", productOptions: [{name: "Title",
             values: [{name: "Default Title"}]}], variants: [{optionValues: [{optionName:
             "Title", name: "Default Title"}], inventoryItem: {sku: "FB-TEE-BLK-M"}}]}) {
             product { id } userErrors { field message } } }""",
    )
    assert body["data"]["productSet"]["userErrors"] == []
    found = gql(
        sandbox_server,
        '{ productVariants(first: 10, query: "sku:FB-TEE-BLK-M") '
        "{ nodes { sku product { title } } } }",
    )
    titles = sorted(n["product"]["title"] for n in found["data"]["productVariants"]["nodes"])
    assert titles == ["Classic Tee", "Tee Bundle"]


def test_variants_bulk_create_replaces_default_variant(sandbox_server: SandboxServer) -> None:
    created = gql(
        sandbox_server, 'mutation { productCreate(product: {title: "Mug"}) { product { id } } }'
    )
    product_id = created["data"]["productCreate"]["product"]["id"]
    body = gql(
        sandbox_server,
        """mutation($id: ID!) { productVariantsBulkCreate(productId: $id, variants: [
             {optionValues: [{optionName: "Color", name: "Red"}], price: "12.50",
              inventoryItem: {sku: "FB-MUG-RED", tracked: true}},
             {optionValues: [{optionName: "Color", name: "White"}], price: "12.50",
              inventoryItem: {sku: "FB-MUG-WHT"}}]) {
             product { variants(first: 5) { nodes { sku title } } }
             productVariants { sku } userErrors { field message } } }""",
        {"id": product_id},
    )
    payload = body["data"]["productVariantsBulkCreate"]
    assert payload["userErrors"] == []
    assert payload["productVariants"] == [{"sku": "FB-MUG-RED"}, {"sku": "FB-MUG-WHT"}]
    assert payload["product"]["variants"]["nodes"] == [
        {"sku": "FB-MUG-RED", "title": "Red"},
        {"sku": "FB-MUG-WHT", "title": "White"},
    ]


def test_product_read_and_delete(sandbox_server: SandboxServer) -> None:
    product = set_tee(sandbox_server, primary_location(sandbox_server))
    read = gql(
        sandbox_server,
        "query($id: ID!) { product(id: $id) { title } "
        "node(id: $id) { ... on Product { handle } } }",
        {"id": product["id"]},
    )
    assert read["data"] == {"product": {"title": "Classic Tee"}, "node": {"handle": "classic-tee"}}
    deleted = gql(
        sandbox_server,
        "mutation($id: ID!) { productDelete(input: {id: $id}) "
        "{ deletedProductId userErrors { field message } } }",
        {"id": product["id"]},
    )
    assert deleted["data"]["productDelete"] == {"deletedProductId": product["id"], "userErrors": []}
    gone = gql(sandbox_server, "query($id: ID!) { product(id: $id) { id } }", {"id": product["id"]})
    assert gone["data"] == {"product": None}


def test_catalog_needs_products_scope(sandbox_server: SandboxServer) -> None:
    httpx.post(
        sandbox_server.url + "/__sandbox/shops",
        json={"domain": "no-products", "access_token": "shpat_np", "scopes": ["read_orders"]},
        timeout=10,
    ).raise_for_status()
    response = httpx.post(
        sandbox_server.url + "/shops/no-products.myshopify.com" + GRAPHQL,
        json={"query": "{ products(first: 1) { nodes { id } } }"},
        headers={"X-Shopify-Access-Token": "shpat_np"},
        timeout=10,
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "read_products" in body["errors"][0]["message"]


def test_bulk_query_writes_jsonl_with_parent_ids(sandbox_server: SandboxServer) -> None:
    set_tee(sandbox_server, primary_location(sandbox_server))
    run = gql(
        sandbox_server,
        """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
             bulkOperation { id status } userErrors { field message code } } }""",
        {"q": BULK_PRODUCTS},
    )
    payload = run["data"]["bulkOperationRunQuery"]
    assert payload["userErrors"] == []
    assert payload["bulkOperation"]["status"] == "CREATED"
    current = gql(
        sandbox_server,
        "{ currentBulkOperation { id status objectCount rootObjectCount url partialDataUrl } }",
    )["data"]["currentBulkOperation"]
    assert current["id"] == payload["bulkOperation"]["id"]
    assert current["status"] == "COMPLETED"
    assert current["objectCount"] == "3" and current["rootObjectCount"] == "1"
    assert current["partialDataUrl"] is None
    assert current["url"].startswith(sandbox_server.url + "/__sandbox/bulk/")
    assert current["url"].endswith(".jsonl")
    # The result file, downloaded over HTTP from the URL the sandbox handed out.
    response = httpx.get(current["url"], timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jsonl")
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert rows[0]["title"] == "Classic Tee" and "__parentId" not in rows[0]
    assert [r["sku"] for r in rows[1:]] == ["FB-TEE-BLK-M", "FB-TEE-BLK-L"]
    assert all(r["__parentId"] == rows[0]["id"] for r in rows[1:])


def test_bulk_query_refuses_non_connection_and_caps_concurrency(
    sandbox_server: SandboxServer,
) -> None:
    mutation = """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
                    bulkOperation { id } userErrors { field message code } } }"""
    bad = gql(sandbox_server, mutation, {"q": "{ shop { id } }"})["data"]["bulkOperationRunQuery"]
    assert bad["bulkOperation"] is None
    assert bad["userErrors"][0]["field"] == ["query"]
    assert bad["userErrors"][0]["code"] == "INVALID"
    # Keep operations RUNNING (sandbox time) to reach the limit of 5 per shop
    # (docs/shopify.md#bulk-operations).
    state = sandbox_server.sandbox.shops["demo-shop.myshopify.com"].state
    from fulfillbridge.sandbox.resolvers.bulk import bulk_of

    bulk_of(state).run_seconds = 3600
    for _ in range(5):
        ok = gql(sandbox_server, mutation, {"q": "{ products { nodes { id } } }"})
        assert ok["data"]["bulkOperationRunQuery"]["userErrors"] == []
    refused = gql(sandbox_server, mutation, {"q": "{ products { nodes { id } } }"})
    (error,) = refused["data"]["bulkOperationRunQuery"]["userErrors"]
    assert error["code"] == "OPERATION_IN_PROGRESS"
    current = gql(sandbox_server, "{ currentBulkOperation { status url } }")
    assert current["data"]["currentBulkOperation"] == {"status": "RUNNING", "url": None}


def test_product_set_updates_by_id_and_drops_omitted_variants(
    sandbox_server: SandboxServer,
) -> None:
    product = set_tee(sandbox_server, primary_location(sandbox_server))
    medium = product["variants"]["nodes"][0]
    body = gql(
        sandbox_server,
        """mutation($id: ID!, $input: ProductSetInput!) {
             productSet(identifier: {id: $id}, input: $input) { product { id title
               variants(first: 5) { nodes { id sku price } } } userErrors { field message } } }""",
        {
            "id": product["id"],
            "input": {
                "title": "Classic Tee (2026)",
                "productOptions": [{"name": "Size", "values": [{"name": "M"}]}],
                "variants": [
                    {
                        "id": medium["id"],
                        "optionValues": [{"optionName": "Size", "name": "M"}],
                        "price": "17.00",
                    }
                ],
            },
        },
    )["data"]["productSet"]
    assert body["userErrors"] == []
    assert body["product"]["id"] == product["id"]
    assert body["product"]["title"] == "Classic Tee (2026)"
    assert body["product"]["variants"]["nodes"] == [
        {"id": medium["id"], "sku": "FB-TEE-BLK-M", "price": "17.00"}
    ]
    missing = gql(
        sandbox_server,
        """mutation { productSet(identifier: {id: "gid://shopify/Product/1"},
             input: {title: "x"}) { product { id } userErrors { field message code } } }""",
    )["data"]["productSet"]
    assert missing["product"] is None
    assert missing["userErrors"][0]["code"] == "PRODUCT_DOES_NOT_EXIST"
