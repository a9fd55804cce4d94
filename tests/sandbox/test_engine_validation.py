"""Documents Shopify would refuse, refused in graphql-ruby's words (Executor, in process)."""

from __future__ import annotations

import pytest

from fulfillbridge.sandbox.graphql import Executor


@pytest.fixture(scope="module")
def executor() -> Executor:
    return Executor()


@pytest.mark.parametrize(
    ("document", "message", "code"),
    [
        (
            "query Q($x: Foo) { shop { name } }",
            "Foo isn't a defined input type (on $x)",
            "variableRequiresValidType",
        ),
        (
            "query Q { order(id: $id) { id } }",
            "Variable $id is used by Q but not declared",
            "variableNotDefined",
        ),
        (
            "query Q($id: String) { order(id: $id) { id } }",
            "Type mismatch on variable $id and argument id (String / ID!)",
            "variableMismatch",
        ),
        (
            "query Q($id: ID) { order(id: $id) { id } }",
            "Nullability mismatch on variable $id and argument id (ID / ID!)",
            "variableMismatch",
        ),
        (
            "query Q($x: Int) { shop { name } }",
            "Variable $x is declared by Q but not used",
            "variableNotUsed",
        ),
        (
            '{ order(idd: "gid://shopify/Order/1") { id } }',
            "Field 'order' doesn't accept argument 'idd'",
            "argumentNotAccepted",
        ),
        (
            "{ order { id } }",
            "Field 'order' is missing required arguments: id",
            "missingRequiredArguments",
        ),
    ],
)
def test_static_errors(executor: Executor, document: str, message: str, code: str) -> None:
    prepared = executor.prepare(document)
    assert prepared.errors is not None
    assert prepared.errors[0]["message"] == message
    assert prepared.errors[0]["extensions"]["code"] == code


def test_null_literal_for_required_argument(executor: Executor) -> None:
    # Capture 2026-04_webhooks_webhook-subscription-conformance.json, nullUpdateInput.
    document = (
        "mutation NullUpdateWebhookInput {\n  webhookSubscriptionUpdate("
        'id: "gid://shopify/WebhookSubscription/1", webhookSubscription: null) { userErrors '
        "{ message } }\n}"
    )
    [error] = executor.prepare(document).errors or []
    assert error == {
        "message": "Argument 'webhookSubscription' on Field 'webhookSubscriptionUpdate' has an "
        "invalid value (null). Expected type 'WebhookSubscriptionInput!'.",
        "locations": [{"line": 2, "column": 3}],
        "path": [
            "mutation NullUpdateWebhookInput",
            "webhookSubscriptionUpdate",
            "webhookSubscription",
        ],
        "extensions": {
            "code": "argumentLiteralsIncompatible",
            "typeName": "Field",
            "argumentName": "webhookSubscription",
        },
    }


def test_variable_problems_name_the_path(executor: Executor) -> None:
    document = (
        "mutation S($input: InventorySetQuantitiesInput!) {"
        ' inventorySetQuantities(input: $input) @idempotent(key: "k") { userErrors { message } } }'
    )
    prepared = executor.prepare(document)
    operation = prepared.operation(None)
    assert not isinstance(operation, dict)
    value = {
        "name": "available",
        "reason": "correction",
        "ignoreCompareQuantity": True,
        "quantities": [],
    }
    [error] = executor.variable_errors(operation, {"input": value})
    # Capture 2026-04_products_inventory-quantity-contracts-2026-04.json, legacySetShape.
    assert error["message"] == (
        "Variable $input of type InventorySetQuantitiesInput! was provided invalid value for "
        "ignoreCompareQuantity (Field is not defined on InventorySetQuantitiesInput)"
    )
    assert error["extensions"]["problems"] == [
        {
            "path": ["ignoreCompareQuantity"],
            "explanation": "Field is not defined on InventorySetQuantitiesInput",
        }
    ]


def test_documents_are_prepared_once(executor: Executor) -> None:
    assert executor.prepare("{ shop { name } }") is executor.prepare("{ shop { name } }")


def test_invalid_enum_variable_matches_capture(executor: Executor) -> None:
    import json
    from pathlib import Path

    capture = json.loads(
        (
            Path(__file__).resolve().parents[1]
            / "fixtures"
            / "captures"
            / "2026-04_shipping-fulfillments_fulfillment-event-create-validation.json"
        ).read_text()
    )["invalidStatusVariable"]
    prepared = executor.prepare(capture["query"])
    operation = prepared.operation(None)
    assert not isinstance(operation, dict)
    [error] = executor.variable_errors(operation, capture["variables"])
    [expected] = capture["response"]["errors"]
    assert error["message"] == expected["message"]
    assert error["extensions"] == expected["extensions"]
    assert error["locations"] == expected["locations"]
