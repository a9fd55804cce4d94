"""Every error of ours carries a code, and every code has exactly one HTTP status."""

from __future__ import annotations

import pytest

from fulfillbridge.cli import CommandError
from fulfillbridge.commands.orders import CommandFailed
from fulfillbridge.config import ConfigError
from fulfillbridge.core.errors import ERROR_CODE_ENUMS, FulfillbridgeError
from fulfillbridge.core.inventory import InventoryInputError
from fulfillbridge.core.inventory_feed import FeedUrlError
from fulfillbridge.core.routing import RoutingError
from fulfillbridge.core.shipping import ShippingRuleError
from fulfillbridge.core.stores import StoreError, StoreExists, StoreNotFound
from fulfillbridge.core.work import TransitionError
from fulfillbridge.flows.actions import ActionError
from fulfillbridge.flows.intake import IntakeUnavailable
from fulfillbridge.flows.inventory import InventorySyncError, StoreBusy
from fulfillbridge.flows.inventory_feed import FeedError
from fulfillbridge.flows.setup import SetupError
from fulfillbridge.flows.shopify_writes import CannotSend
from fulfillbridge.flows.work_context import StoreNotReady
from fulfillbridge.store.api_keys import ApiKeyError
from fulfillbridge.store.idempotency import IdempotencyKeyReused
from fulfillbridge.store.work import WorkOrderNotFound
from fulfillbridge.web.errors import STATUS_BY_CODE, http_status

ALL_CODES = [code for enum in ERROR_CODE_ENUMS for code in enum]


def test_every_code_has_a_status_and_no_status_is_a_server_fault() -> None:
    missing = [code for code in ALL_CODES if code not in STATUS_BY_CODE]
    assert not missing
    assert set(STATUS_BY_CODE) == set(ALL_CODES)
    # 503 only says "try again later"; nothing of ours is answered as a bare 500.
    assert all(400 <= status < 600 and status != 500 for status in STATUS_BY_CODE.values())


def test_codes_of_two_areas_never_compare_equal() -> None:
    assert len({str(code) for code in ALL_CODES}) == len(ALL_CODES)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ConfigError("bad"), 503),
        (StoreError("bad"), 400),
        (StoreNotFound("none"), 404),
        (StoreExists("twice"), 409),
        (SetupError("bad"), 400),
        (ShippingRuleError("bad"), 400),
        (StoreNotReady("later"), 409),
        (WorkOrderNotFound("none"), 404),
        (ActionError("no"), 409),
        (TransitionError("no"), 409),
        (RoutingError("no"), 409),
        (InventoryInputError("bad"), 422),
        (FeedUrlError("bad"), 422),
        (InventorySyncError("bad"), 422),
        (StoreBusy("busy"), 422),
        (FeedError("gone", http_status=404), 502),
        (IntakeUnavailable("later"), 503),
        (ApiKeyError("bad"), 400),
        (IdempotencyKeyReused("again"), 422),
        (CannotSend("missing"), 409),
        (CommandError("bad", exit_status=3), 400),
        (CommandFailed("bad"), 400),
    ],
)
def test_each_error_answers_with_its_codes_status(error: FulfillbridgeError, status: int) -> None:
    assert isinstance(error, FulfillbridgeError)
    assert error.message == str(error)
    assert http_status(error) == status


def test_subclasses_keep_the_bases_callers_catch() -> None:
    assert isinstance(WorkOrderNotFound("x"), LookupError)
    assert isinstance(InventoryInputError("x"), ValueError)
    assert isinstance(FeedUrlError("x"), ValueError)
    assert isinstance(StoreBusy("x"), InventorySyncError)
    assert isinstance(SetupError("x"), StoreError)
