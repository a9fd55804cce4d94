"""Error conversion, fed with real response bodies from the captures."""

import json
from pathlib import Path

import pytest

from fulfillbridge.shopify import (
    AccessDenied,
    AuthenticationError,
    BadRequest,
    ForbiddenError,
    GraphQLErrors,
    InternalError,
    MaxCostExceeded,
    NotFoundError,
    QueryInvalid,
    ResourceNotFound,
    ServerError,
    Throttled,
    TooManyRequests,
    UserErrors,
)
from fulfillbridge.shopify._errors import (
    error_from_response,
    find_user_errors,
    redact,
    user_errors_exception,
)

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"


def _load(name):
    return json.loads((CAPTURES / name).read_text())


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _bodies_with_code(capture, code):
    for node in _walk(_load(capture)):
        errors = node.get("errors")
        if isinstance(errors, list) and any(
            isinstance(e, dict) and (e.get("extensions") or {}).get("code") == code for e in errors
        ):
            yield node


def _first_body(capture, code):
    found = next(_bodies_with_code(capture, code), None)
    assert found is not None, f"{capture} has no body with {code}"
    return found


def test_access_denied_from_capture_keeps_partial_data_and_required_scope():
    body = _first_body(
        "2026-04_shipping-fulfillments_fulfillment-order-lifecycle.json", "ACCESS_DENIED"
    )
    err = error_from_response(200, body, shop="x.myshopify.com", operation="Hold")
    assert isinstance(err, AccessDenied)
    assert err.data is not None  # Shopify still returned the rest of the data
    assert any("read_apps" in r for r in err.required_access)
    assert "heldByApp" in str(err)
    assert err.errors[0].path[-1] == "heldByApp"
    assert "Hold" in str(err) and "x.myshopify.com" in str(err)


def test_resource_not_found_from_capture():
    body = _first_body(
        "2026-04_shipping-fulfillments_fulfillment-order-lifecycle.json", "RESOURCE_NOT_FOUND"
    )
    err = error_from_response(200, body)
    assert isinstance(err, ResourceNotFound)
    assert "Invalid id: gid://shopify/FulfillmentOrder/0" in str(err)
    assert err.codes == ("RESOURCE_NOT_FOUND",)


def test_internal_server_error_inside_200_from_capture():
    body = _first_body(
        "2026-04_shipping-fulfillments_fulfillment-order-lifecycle.json", "INTERNAL_SERVER_ERROR"
    )
    assert isinstance(error_from_response(200, body), InternalError)


def test_invalid_variable_from_capture_is_query_invalid():
    body = _first_body(
        "2026-04_products_inventory-quantity-contracts-2026-04.json", "INVALID_VARIABLE"
    )
    assert isinstance(error_from_response(200, body), QueryInvalid)


def test_schema_validation_codes_from_capture_are_query_invalid():
    capture = _load("2026-04_webhooks_webhook-subscription-conformance.json")
    for case in capture["graphqlValidation"].values():
        err = error_from_response(case["response"]["status"], case["response"]["payload"])
        assert isinstance(err, QueryInvalid), case


def test_bad_request_code_is_generic_graphql_error():
    body = _first_body("2026-04_products_inventory-quantity-contracts-2026-04.json", "BAD_REQUEST")
    err = error_from_response(200, body)
    assert type(err) is GraphQLErrors
    assert err.codes == ("BAD_REQUEST",)


def test_successful_capture_bodies_are_not_errors():
    body = None
    for node in _walk(_load("2026-04_orders_fulfillment-create-preconditions.json")):
        if "data" in node and "errors" not in node and "extensions" in node:
            body = node
            break
    assert body is not None
    assert error_from_response(200, body) is None


def test_throttled_in_200_and_429():
    body = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 10,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 2000,
                    "currentlyAvailable": 3,
                    "restoreRate": 100,
                },
            }
        },
    }
    assert isinstance(error_from_response(200, body), Throttled)
    assert isinstance(error_from_response(429, body), Throttled)
    plain = error_from_response(429, "Too many requests", retry_after=2.0)
    assert isinstance(plain, TooManyRequests) and plain.retry_after == 2.0


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, AuthenticationError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (422, BadRequest),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
def test_http_statuses(status, cls):
    err = error_from_response(status, {"errors": "[API] Invalid API key or access token"})
    assert isinstance(err, cls)
    assert err.status_code == status
    assert f"HTTP {status}" in str(err)


def test_messages_never_carry_secrets():
    token = "shpat_0123456789abcdef"
    err = error_from_response(401, {"errors": f"token {token} refused"}, secrets=[token])
    assert token not in str(err)
    assert "[redacted]" in str(err)
    assert redact("a-b-c", ["b", None, ""]) == "a-[redacted]-c"


def test_user_errors_from_capture():
    capture = _load("2026-04_shipping-fulfillments_fulfillment-service-lifecycle.json")
    blank = next(
        i for i in capture["interactions"] if i["name"] == "create-blank-name-callback-blocked"
    )
    data = blank["response"]["body"]["data"]
    found = find_user_errors(data)
    assert [(e.field, e.message) for e in found] == [
        (("name",), "Name can't be blank"),
        (("callbackUrl",), "Callback url is not allowed"),
    ]
    err = user_errors_exception(found, data, operation="CreateBlank")
    assert isinstance(err, UserErrors)
    assert "name: Name can't be blank" in str(err)
    assert err.user_errors[1].field == ("callbackUrl",)


def test_user_errors_with_codes_and_prefixed_keys():
    data = {
        "inventorySetQuantities": {
            "userErrors": [{"field": ["input"], "message": "Bad", "code": "INVALID_NAME"}]
        },
        "locationActivate": {"locationActivateUserErrors": [{"field": None, "message": "No"}]},
    }
    found = find_user_errors(data)
    assert found[0].code == "INVALID_NAME"
    assert found[1].field is None and found[1].message == "No"
    assert find_user_errors({"x": {"userErrors": []}}) == []


def test_max_cost_exceeded_shape_from_shopify_docs():
    body = {
        "errors": [
            {
                "message": "Query cost is 1102, which exceeds the single query max cost "
                "limit (1000).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 1102, "maxCost": 1000},
            }
        ]
    }
    err = error_from_response(200, body, operation="Huge")
    assert isinstance(err, MaxCostExceeded)
    assert "1102" in str(err)


def test_non_json_success_is_invalid_response():
    from fulfillbridge.shopify import InvalidResponse

    err = error_from_response(200, "<html>maintenance</html>", operation="ShopInfo")
    assert isinstance(err, InvalidResponse)
    assert "without a JSON object" in str(err)
