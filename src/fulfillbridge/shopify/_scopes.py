"""Which access scopes each fulfillbridge feature needs, and what a store's grant lacks.

Scopes per Shopify's Admin GraphQL reference (2026-07), cross-checked against the scope
lists fulfilment integrators publish for their custom apps:

- fulfillmentServiceCreate / Update / Delete: ``write_fulfillments``.
- assignedFulfillmentOrders: ``read_assigned_fulfillment_orders``.
- fulfillmentOrderAcceptFulfillmentRequest, ...RejectFulfillmentRequest,
  ...AcceptCancellationRequest, ...RejectCancellationRequest:
  ``write_assigned_fulfillment_orders``.
- fulfillmentCreate: one of ``write_assigned_fulfillment_orders`` (orders at the app's own
  fulfillment-service location), ``write_merchant_managed_fulfillment_orders`` (the
  merchant's own locations) or ``write_third_party_fulfillment_orders``.
- fulfillmentOrders at merchant-managed locations: ``read_merchant_managed_fulfillment_orders``.
- inventorySetQuantities: ``write_inventory``; variants by SKU need ``read_products``.
- locations: ``read_locations``; orders and the orders/* webhooks: ``read_orders``.
- returns and reverse fulfillment orders: ``read_returns``; processing them ``write_returns``.
- an order's ``email`` and ``phone``: ``read_customers`` (protected customer data). Optional:
  without it the work order simply carries no contact details.

A write scope implies the matching read scope (Shopify docs; the sandbox does the same).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# How a store hands work to the bridge (``store configure --mode``): as requests to the
# bridge's own fulfillment-service location, or as the merchant's own locations' orders.
FULFILLMENT_SERVICE_MODE = "fulfillment_service"
ORDER_MANAGEMENT_MODE = "order_management"
BOTH_MODES = (FULFILLMENT_SERVICE_MODE, ORDER_MANAGEMENT_MODE)


@dataclass(frozen=True)
class Feature:
    name: str
    description: str
    scopes: tuple[str, ...]
    # An optional feature works partly without its scopes: reported, never a failure.
    optional: bool = False
    # The store modes that use the feature: a store is never asked for what its mode skips.
    modes: tuple[str, ...] = BOTH_MODES
    # Only for stores that have returns turned on (``store configure --returns``).
    returns_only: bool = False


FEATURES: tuple[Feature, ...] = (
    Feature(
        "locations",
        "read the store's locations",
        ("read_locations",),
    ),
    Feature(
        "orders",
        "read orders and receive order webhooks",
        ("read_orders",),
    ),
    Feature(
        "fulfillment_service",
        "register fulfillbridge as a fulfillment service with its own location",
        ("write_fulfillments", "read_locations"),
        modes=(FULFILLMENT_SERVICE_MODE,),
    ),
    Feature(
        "fulfillment_requests",
        "receive, accept and reject fulfillment and cancellation requests at that location",
        ("read_assigned_fulfillment_orders", "write_assigned_fulfillment_orders"),
        modes=(FULFILLMENT_SERVICE_MODE,),
    ),
    Feature(
        "fulfil_assigned_orders",
        "create fulfillments with tracking for orders assigned to fulfillbridge",
        ("write_assigned_fulfillment_orders", "read_fulfillments"),
        modes=(FULFILLMENT_SERVICE_MODE,),
    ),
    Feature(
        "merchant_managed_fulfillment",
        "read and fulfil fulfillment orders at the merchant's own locations",
        (
            "read_merchant_managed_fulfillment_orders",
            "write_merchant_managed_fulfillment_orders",
        ),
        modes=(ORDER_MANAGEMENT_MODE,),
    ),
    Feature(
        "inventory_sync",
        "set stock levels at the fulfillment location, matching variants by SKU",
        ("write_inventory", "read_products", "read_locations"),
    ),
    Feature(
        "customer_contact",
        "hand the customer's email and phone to the operation (left empty without it)",
        ("read_customers",),
        optional=True,
    ),
    Feature(
        "returns",
        "read and process returns and reverse fulfillment orders",
        ("read_returns", "write_returns"),
        returns_only=True,
    ),
)


def features_for(
    mode: str = FULFILLMENT_SERVICE_MODE,
    *,
    returns: bool = False,
    features: Iterable[Feature] = FEATURES,
) -> tuple[Feature, ...]:
    """The features a store in ``mode`` uses, with returns only when it has them on: what
    its scope audit checks and what its install link asks for."""
    if mode not in BOTH_MODES:
        raise ValueError(f"unknown store mode {mode!r}; expected one of {', '.join(BOTH_MODES)}")
    return tuple(f for f in features if mode in f.modes and (returns or not f.returns_only))


@dataclass(frozen=True)
class FeatureAudit:
    feature: str
    description: str
    needed: tuple[str, ...]
    missing: tuple[str, ...]
    optional: bool = False

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def required_ok(self) -> bool:
        """True when nothing is missing, or only what an optional feature would add."""
        return self.optional or not self.missing


def has_scope(granted: Iterable[str], scope: str) -> bool:
    """Whether ``scope`` is granted, counting ``write_x`` as granting ``read_x``."""
    granted_set = {g.strip() for g in granted}
    if scope in granted_set:
        return True
    return scope.startswith("read_") and "write_" + scope[len("read_") :] in granted_set


def audit_scopes(
    granted: Iterable[str], features: Iterable[Feature] = FEATURES
) -> list[FeatureAudit]:
    """For each feature, the scopes it needs and which of them ``granted`` lacks."""
    granted_list = [g.strip() for g in granted if g and g.strip()]
    return [
        FeatureAudit(
            feature=f.name,
            description=f.description,
            needed=f.scopes,
            missing=tuple(s for s in f.scopes if not has_scope(granted_list, s)),
            optional=f.optional,
        )
        for f in features
    ]


def all_needed_scopes(features: Iterable[Feature] = FEATURES) -> tuple[str, ...]:
    """Every scope the features need (optional ones too), sorted, for an install link or
    app config."""
    return tuple(sorted({s for f in features for s in f.scopes}))


def how_to_grant(missing: Iterable[str]) -> str:
    """Instructions for a merchant or operator to grant ``missing`` scopes."""
    scopes = sorted(set(missing))
    if not scopes:
        return "All needed access scopes are granted."
    listed = ", ".join(scopes)
    return (
        f"Missing access scopes: {listed}.\n"
        "To grant them:\n"
        "  1. App made in the Shopify Dev Dashboard: open the app, add the scopes to the\n"
        "     access scopes of a new app version and release it.\n"
        "  2. Re-authorise on the store: for a merchant's store, open the app's install link\n"
        "     again and approve the new scopes; for a store your\n"
        "     organisation owns, accept the update in the store admin, then fulfillbridge\n"
        "     fetches a fresh client-credentials token that carries them.\n"
        "  3. Legacy custom app made in the store admin: Settings > Apps > Develop apps,\n"
        "     edit the Admin API access scopes, save, and install the update.\n"
        "Then run the store check again."
    )
