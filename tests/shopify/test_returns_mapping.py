"""Shopify's returns in our words, and our return writes in Shopify's (pure functions)."""

from __future__ import annotations

from fulfillbridge.core.returns import RemoteReturnStatus, ReturnTracking
from fulfillbridge.shopify.returns import (
    dispose_inputs,
    dispose_took_effect,
    ids_in_webhook,
    label_present,
    label_variables,
    line_disposed_totals,
    remote_return,
)

FLI = "gid://shopify/FulfillmentLineItem/"
RFO_LINE = "gid://shopify/ReverseFulfillmentOrderLineItem/"


def _return_node(status: str = "OPEN") -> dict:
    """A ``ReturnWork`` fragment as Shopify answers it."""
    return {
        "id": "gid://shopify/Return/5",
        "name": "#1001-R1",
        "status": status,
        "decline": None,
        "order": {"id": "gid://shopify/Order/1", "name": "#1001"},
        "returnLineItems": {
            "nodes": [
                {
                    "id": "gid://shopify/ReturnLineItem/1",
                    "quantity": 2,
                    "customerNote": "too tight",
                    "returnReasonNote": "",
                    "returnReasonDefinition": {
                        "handle": "size-too-small",
                        "name": "Size too small",
                    },
                    "fulfillmentLineItem": {"id": FLI + "1"},
                }
            ]
        },
        "exchangeLineItems": {"nodes": [{"id": "gid://shopify/ExchangeLineItem/1", "quantity": 1}]},
        "reverseFulfillmentOrders": {
            "nodes": [
                {
                    "id": "gid://shopify/ReverseFulfillmentOrder/9",
                    "status": "OPEN",
                    "lineItems": {
                        "nodes": [
                            {
                                "id": RFO_LINE + "1",
                                "totalQuantity": 2,
                                "dispositions": [
                                    {"id": "d1", "quantity": 1, "type": "RESTOCKED"},
                                    {"id": "d2", "quantity": 1, "type": "MISSING"},
                                ],
                                "fulfillmentLineItem": {
                                    "id": FLI + "1",
                                    "lineItem": {
                                        "id": "gid://shopify/LineItem/3",
                                        "sku": "TEE-M",
                                        "title": "Tee",
                                        "variant": {
                                            "inventoryItem": {"id": "gid://shopify/InventoryItem/4"}
                                        },
                                    },
                                },
                            }
                        ]
                    },
                    "reverseDeliveries": {
                        "nodes": [
                            {
                                "id": "gid://shopify/ReverseDelivery/2",
                                "deliverable": {
                                    "tracking": {
                                        "carrierName": "UPS",
                                        "number": "1Z1",
                                        "url": None,
                                    },
                                    "label": {"publicFileUrl": "https://cdn.example/l.pdf"},
                                },
                            },
                            {"id": "gid://shopify/ReverseDelivery/3", "deliverable": None},
                        ]
                    },
                }
            ]
        },
    }


def test_a_return_maps_to_lines_with_sku_reason_and_dispositions() -> None:
    remote = remote_return(_return_node())
    assert remote.status is RemoteReturnStatus.OPEN
    assert (remote.order_remote_id, remote.order_name) == ("gid://shopify/Order/1", "#1001")
    (line,) = remote.lines
    assert line.line_id == RFO_LINE + "1"
    assert line.reverse_order_id == "gid://shopify/ReverseFulfillmentOrder/9"
    assert (line.sku, line.quantity, line.title) == ("TEE-M", 2, "Tee")
    assert line.reason == "Size too small" and line.customer_note == "too tight"
    assert line.inventory_item_id == "gid://shopify/InventoryItem/4"
    assert line.dispositions == (("missing", 1), ("restocked", 1))
    assert remote.tracking == (ReturnTracking("UPS", "1Z1", None, "https://cdn.example/l.pdf"),)
    assert remote.exchange_items == 1


def test_a_reason_given_only_as_the_older_enum_is_read_too() -> None:
    node = _return_node()
    item = node["returnLineItems"]["nodes"][0]
    item.update(returnReasonDefinition=None, returnReason="SIZE_TOO_SMALL", returnReasonNote="")
    assert remote_return(node).lines[0].reason == "Size too small"
    item.update(returnReason="UNWANTED", returnReasonNote="changed my mind")
    assert remote_return(node).lines[0].reason == "Unwanted: changed my mind"
    item.update(returnReason="UNKNOWN", returnReasonNote="")
    assert remote_return(node).lines[0].reason == ""
    # The definition wins when both are given.
    item.update(
        returnReason="OTHER", returnReasonDefinition={"handle": "too-big", "name": "Too big"}
    )
    assert remote_return(node).lines[0].reason == "Too big"


def test_shopify_statuses_map_to_ours() -> None:
    for shopify, ours in [
        ("REQUESTED", RemoteReturnStatus.REQUESTED),
        ("DECLINED", RemoteReturnStatus.DECLINED),
        ("CANCELED", RemoteReturnStatus.CANCELLED),
        ("CLOSED", RemoteReturnStatus.CLOSED),
    ]:
        assert remote_return(_return_node(shopify)).status is ours


def test_webhook_bodies_name_what_to_read() -> None:
    assert ids_in_webhook({"id": 5, "admin_graphql_api_id": "gid://shopify/Return/5"}) == {
        "Return": "gid://shopify/Return/5"
    }
    delivery = {
        "admin_graphql_api_id": "gid://shopify/ReverseDelivery/2",
        "return": {"admin_graphql_api_id": "gid://shopify/Return/5?x=1"},
    }
    assert ids_in_webhook(delivery)["Return"] == "gid://shopify/Return/5"
    disposed = {"admin_graphql_api_id": "gid://shopify/ReverseFulfillmentOrder/9", "order_id": 77}
    assert ids_in_webhook(disposed) == {
        "ReverseFulfillmentOrder": "gid://shopify/ReverseFulfillmentOrder/9",
        "Order": "gid://shopify/Order/77",
    }
    assert ids_in_webhook({"note": "nothing here", "order_id": True}) == {}


def test_dispose_inputs_and_their_check() -> None:
    items = [
        {
            "line_id": RFO_LINE + "1",
            "kind": "restocked",
            "quantity": 2,
            "location_id": "gid://shopify/Location/1",
            "disposed_before": 0,
        },
        {"line_id": RFO_LINE + "1", "kind": "missing", "quantity": 1, "disposed_before": 2},
    ]
    assert dispose_inputs(items) == [
        {
            "reverseFulfillmentOrderLineItemId": RFO_LINE + "1",
            "quantity": 2,
            "dispositionType": "RESTOCKED",
            "locationId": "gid://shopify/Location/1",
        },
        {
            "reverseFulfillmentOrderLineItemId": RFO_LINE + "1",
            "quantity": 1,
            "dispositionType": "MISSING",
        },
    ]
    rfo = _return_node()["reverseFulfillmentOrders"]["nodes"][0]
    totals = line_disposed_totals(rfo)
    assert totals == {RFO_LINE + "1": 2}
    assert not dispose_took_effect(items, totals)  # the missing unit is not there yet
    assert dispose_took_effect(items, {RFO_LINE + "1": 3})
    assert dispose_took_effect(items[:1], totals)


def test_label_variables_and_their_check() -> None:
    data = {
        "reverse_order_id": "gid://shopify/ReverseFulfillmentOrder/9",
        "lines": [{"line_id": RFO_LINE + "1", "quantity": 2}],
        "carrier": "UPS",
        "number": "1Z1",
        "url": None,
        "label_url": "https://labels.example/1.pdf",
    }
    variables = label_variables(data)
    assert variables["reverseDeliveryLineItems"] == [
        {"reverseFulfillmentOrderLineItemId": RFO_LINE + "1", "quantity": 2}
    ]
    assert variables["trackingInput"] == {"number": "1Z1", "url": None}
    assert variables["labelInput"] == {"fileUrl": "https://labels.example/1.pdf"}
    rfo = _return_node()["reverseFulfillmentOrders"]["nodes"][0]
    assert label_present(rfo, data) == "gid://shopify/ReverseDelivery/2"
    assert label_present(rfo, {**data, "number": "OTHER"}) is None
    no_label = label_variables({**data, "label_url": None, "number": None, "url": None})
    assert "labelInput" not in no_label and "trackingInput" not in no_label
