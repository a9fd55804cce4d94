import json
import logging

from fulfillbridge.logs import JsonFormatter


def test_json_lines_carry_extra_fields() -> None:
    record = logging.LogRecord(
        "fulfillbridge.x", logging.INFO, __file__, 1, "hello %s", ("you",), None
    )
    record.shop = "acme.myshopify.com"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello you"
    assert line["shop"] == "acme.myshopify.com"
    assert line["level"] == "info"
