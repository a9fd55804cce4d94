"""A shop of the real sandbox server addressed over HTTP, for the order-details tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from fulfillbridge.sandbox.shops import ALL_SCOPES, DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN

API = "/admin/api/2026-07/graphql.json"
CALLBACK = "http://127.0.0.1:8999/shopify"


@dataclass
class ShopClient:
    base_url: str
    domain: str = DEFAULT_SHOP_DOMAIN
    token: str = DEFAULT_ACCESS_TOKEN

    def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole answer (data, errors, extensions)."""
        response = httpx.post(
            f"{self.base_url}/shops/{self.domain}{API}",
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": self.token},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of an answer that must have no errors."""
        body = self.raw(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def control(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        response = httpx.post(f"{self.base_url}{path}", json=body, timeout=30)
        assert response.status_code == status, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def seed(self, **options: Any) -> dict[str, Any]:
        return self.control(f"/__sandbox/seed?shop={self.domain}", options)["result"]

    def merchant(self, status: int = 200, **body: Any) -> dict[str, Any]:
        return self.control(f"/__sandbox/shops/{self.domain}/merchant", body, status)

    def advance_clock(self, seconds: float) -> None:
        self.control("/__sandbox/clock", {"advance": seconds})


def add_shop(base_url: str, domain: str, scopes: list[str]) -> ShopClient:
    token = "shpat_" + domain.split(".")[0].replace("-", "")
    response = httpx.post(
        f"{base_url}/__sandbox/shops",
        json={"domain": domain, "scopes": scopes, "access_token": token},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return ShopClient(base_url, domain, token)


def scopes_without(*left_out: str) -> list[str]:
    return [s for s in ALL_SCOPES if s not in left_out]


def create_service(shop: ShopClient) -> str:
    """A fulfillment service of the shop's app; returns its location id."""
    created = shop(
        """mutation($url: URL) { fulfillmentServiceCreate(name: "Print Partner",
             callbackUrl: $url, trackingSupport: true, inventoryManagement: true) {
             fulfillmentService { location { id } } userErrors { field message } } }""",
        {"url": CALLBACK},
    )
    location: str = created["fulfillmentServiceCreate"]["fulfillmentService"]["location"]["id"]
    return location
