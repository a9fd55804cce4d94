"""One base for the bridge's own errors, each carrying a code from its area's enum.

```
FulfillbridgeError (code, message)
├── ConfigError                      ConfigErrorCode
├── StoreError                       StoreErrorCode
│   ├── StoreNotFound, StoreExists
│   └── SetupError
├── ShippingRuleError                StoreErrorCode.SETUP_INVALID
├── StoreNotReady                    StoreErrorCode.NOT_READY
├── WorkOrderNotFound, ActionError   WorkErrorCode
├── TransitionError, RoutingError    WorkErrorCode
├── InventoryInputError, FeedUrlError, InventorySyncError, StoreBusy, FeedError
│                                    InventoryErrorCode
├── IntakeRefused, IntakeUnavailable IntakeErrorCode
├── ReturnNotFound, ReturnError     ReturnErrorCode
├── ApiKeyError, IdempotencyKeyReused ApiErrorCode
├── CannotSend                       OutboxErrorCode
├── CommandError, CommandFailed      CommandErrorCode
└── ShippingError, CarrierError      ShippingErrorCode
```

Codes say what went wrong, never how to answer it: the web layer maps them to HTTP statuses
in one place (``web/errors.py``) and the CLI prints the message. Shopify's failures keep
their own tree (``shopify/_errors.py``), and the sandbox, which plays Shopify, keeps its own.
Each code's value names its area, so codes of two areas never compare equal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, TypeAlias


class ConfigErrorCode(StrEnum):
    INVALID = "config_invalid"  # settings, a key file or a database URL that cannot be used


class StoreErrorCode(StrEnum):
    INVALID = "store_invalid"  # a store request that cannot be carried out
    NOT_FOUND = "store_not_found"
    EXISTS = "store_exists"
    NOT_READY = "store_not_ready"  # set-up an event needs is missing (e.g. no location)
    SETUP_INVALID = "store_setup_invalid"  # configuration or set-up that cannot be done


class WorkErrorCode(StrEnum):
    NOT_FOUND = "work_not_found"
    NOT_ALLOWED = "work_not_allowed"  # the work order's state does not allow the command
    INVALID = "work_invalid"  # a command's input is wrong (a field names which)
    UNROUTABLE = "work_unroutable"  # no warehouse can take the work


class InventoryErrorCode(StrEnum):
    INVALID_INPUT = "inventory_invalid_input"  # input that cannot be read at all
    SYNC_FAILED = "inventory_sync_failed"  # a store-level failure of a push
    STORE_BUSY = "inventory_store_busy"  # another push held the store's lock too long
    FEED_URL_INVALID = "inventory_feed_url_invalid"
    FEED_FAILED = "inventory_feed_failed"  # one poll of a feed got nothing to apply


class IntakeErrorCode(StrEnum):
    MALFORMED = "intake_malformed"  # a body or header that cannot be read
    UNAUTHENTICATED = "intake_unauthenticated"  # unsigned, a bad signature, another shop
    UNKNOWN_STORE = "intake_unknown_store"
    TOO_LARGE = "intake_too_large"
    UNAVAILABLE = "intake_unavailable"  # not stored: the sender should deliver again


class ReturnErrorCode(StrEnum):
    NOT_FOUND = "return_not_found"
    NOT_ALLOWED = "return_not_allowed"  # the return's state does not allow the command
    INVALID = "return_invalid"  # a receipt or disposition that does not fit the return


class ApiErrorCode(StrEnum):
    KEY_INVALID = "api_key_invalid"  # an API key request that cannot be carried out
    IDEMPOTENCY_KEY_REUSED = "api_idempotency_key_reused"  # same key, another request


class OutboxErrorCode(StrEnum):
    CANNOT_SEND = "outbox_cannot_send"  # a row that misses data it needs


class CommandErrorCode(StrEnum):
    FAILED = "command_failed"  # a CLI command the user can correct


class ShippingErrorCode(StrEnum):
    INVALID = "shipping_invalid"  # input we can tell is wrong before asking a carrier
    NOT_FOUND = "shipping_not_found"  # a carrier account or label that does not exist
    REFUSED = "shipping_refused"  # the carrier refused (an address, a weight, a service)
    CONFLICT = "shipping_conflict"  # bought already, voided already, or past voiding
    UNAVAILABLE = "shipping_unavailable"  # the carrier could not be reached or failed
    UNAUTHORIZED = "shipping_unauthorized"  # a carrier webhook without the account's token


ErrorCode: TypeAlias = (
    ConfigErrorCode
    | StoreErrorCode
    | WorkErrorCode
    | InventoryErrorCode
    | ReturnErrorCode
    | IntakeErrorCode
    | ApiErrorCode
    | OutboxErrorCode
    | CommandErrorCode
    | ShippingErrorCode
)
ERROR_CODE_ENUMS: tuple[type[StrEnum], ...] = (
    ConfigErrorCode,
    StoreErrorCode,
    WorkErrorCode,
    InventoryErrorCode,
    ReturnErrorCode,
    IntakeErrorCode,
    ApiErrorCode,
    OutboxErrorCode,
    CommandErrorCode,
    ShippingErrorCode,
)


class FulfillbridgeError(Exception):
    """A failure of ours the caller can understand: ``code`` says which kind, ``message``
    (also ``str(error)``) names the problem and never contains a secret."""

    default_code: ClassVar[ErrorCode]

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code: ErrorCode = code if code is not None else self.default_code
