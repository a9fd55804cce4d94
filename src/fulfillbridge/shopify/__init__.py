"""fulfillbridge's Shopify Admin API client (GraphQL, async).

    async with ShopifyClient("my-store", StaticToken(token)) as client:
        shop = (await client.execute(operation("ShopInfo")))["shop"]
        async for location in client.paginate("Locations", path=("locations",)):
            ...

Implementation modules are private (``_client``, ``_errors``...); use the names exported
here. Operations live in ``operations/<Name>.graphql`` and load with :func:`operation`.
Failures raise the tree drawn in ``_errors`` (base :class:`ShopifyError`).
"""

from fulfillbridge.shopify._auth import (
    AccessToken,
    CallbackParams,
    ClientCredentials,
    Credentials,
    ExpiringOfflineToken,
    InstallLink,
    OAuthInstall,
    StaticToken,
    TokenSaver,
    callback_hmac,
)
from fulfillbridge.shopify._bulk import BulkOperationFailed, run_bulk_query
from fulfillbridge.shopify._client import LOGGER_NAME, ShopifyClient
from fulfillbridge.shopify._domains import is_valid_shop_domain, normalize_shop_domain
from fulfillbridge.shopify._enums import HOLD_REASONS
from fulfillbridge.shopify._errors import (
    AccessDenied,
    AuthenticationError,
    BadRequest,
    ConnectError,
    ForbiddenError,
    GraphQLErrorDetail,
    GraphQLErrors,
    HTTPStatusError,
    InternalError,
    InvalidResponse,
    InvalidShopDomain,
    MaxCostExceeded,
    NotFoundError,
    OAuthError,
    OutcomeUnknown,
    PaymentRequired,
    QueryInvalid,
    RequestTimeout,
    ResourceNotFound,
    ServerError,
    ShopifyError,
    ShopLocked,
    Throttled,
    TooManyRequests,
    TransportError,
    UserErrorDetail,
    UserErrors,
)
from fulfillbridge.shopify._operations import Operation, OperationError, operation, operation_names
from fulfillbridge.shopify._retry import RetryPolicy, backoff_delay
from fulfillbridge.shopify._scopes import (
    FEATURES,
    Feature,
    FeatureAudit,
    all_needed_scopes,
    audit_scopes,
    features_for,
    has_scope,
    how_to_grant,
)
from fulfillbridge.shopify._throttle import (
    LocalThrottleBucket,
    QueryCost,
    ThrottleBucket,
    ThrottleStatus,
    parse_cost,
)
from fulfillbridge.shopify._webhooks import sign_webhook, verify_webhook
from fulfillbridge.shopify.schema import API_VERSION

__all__ = [
    "API_VERSION",
    "FEATURES",
    "HOLD_REASONS",
    "LOGGER_NAME",
    "AccessDenied",
    "AccessToken",
    "AuthenticationError",
    "BadRequest",
    "BulkOperationFailed",
    "CallbackParams",
    "ClientCredentials",
    "ConnectError",
    "Credentials",
    "ExpiringOfflineToken",
    "Feature",
    "FeatureAudit",
    "ForbiddenError",
    "GraphQLErrorDetail",
    "GraphQLErrors",
    "HTTPStatusError",
    "InstallLink",
    "InternalError",
    "InvalidResponse",
    "InvalidShopDomain",
    "LocalThrottleBucket",
    "MaxCostExceeded",
    "NotFoundError",
    "OAuthError",
    "OAuthInstall",
    "Operation",
    "OperationError",
    "OutcomeUnknown",
    "PaymentRequired",
    "QueryCost",
    "QueryInvalid",
    "RequestTimeout",
    "ResourceNotFound",
    "RetryPolicy",
    "ServerError",
    "ShopLocked",
    "ShopifyClient",
    "ShopifyError",
    "StaticToken",
    "ThrottleBucket",
    "ThrottleStatus",
    "Throttled",
    "TokenSaver",
    "TooManyRequests",
    "TransportError",
    "UserErrorDetail",
    "UserErrors",
    "all_needed_scopes",
    "audit_scopes",
    "backoff_delay",
    "callback_hmac",
    "features_for",
    "has_scope",
    "how_to_grant",
    "is_valid_shop_domain",
    "normalize_shop_domain",
    "operation",
    "operation_names",
    "parse_cost",
    "run_bulk_query",
    "sign_webhook",
    "verify_webhook",
]
