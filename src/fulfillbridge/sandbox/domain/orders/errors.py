"""How the orders part refuses a request: ``OrderUserErrors`` for what Shopify reports as
``userErrors`` (nothing was changed), ``NotFound`` for an id Shopify answers with a top-level
``RESOURCE_NOT_FOUND`` error."""

from __future__ import annotations

from dataclasses import dataclass

# A quantity a fulfillment order line cannot give (capture fulfillment-create-preconditions;
# measured on Shopify for fulfillmentOrderSplit and fulfillmentOrderMerge too).
INVALID_QUANTITY = "Invalid fulfillment order line item quantity requested."


@dataclass(frozen=True)
class UserError:
    field: list[str] | None
    message: str
    code: str | None = None


class OrderUserErrors(Exception):
    """One or more userErrors; nothing was changed."""

    def __init__(self, *errors: UserError) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


class NotFound(Exception):
    """An id Shopify answers with a top-level "Invalid id: <gid>" error."""

    def __init__(self, global_id: str) -> None:
        super().__init__(f"Invalid id: {global_id}")
        self.global_id = global_id


def fail(field_path: list[str] | None, message: str, code: str | None = None) -> OrderUserErrors:
    """A single userError, ready to ``raise``."""
    return OrderUserErrors(UserError(field_path, message, code))
