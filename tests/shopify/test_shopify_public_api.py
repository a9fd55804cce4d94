import fulfillbridge.shopify as shopify

EXPECTED = {
    "API_VERSION", "FEATURES", "HOLD_REASONS", "LOGGER_NAME",
    "AccessDenied", "AccessToken", "AuthenticationError", "BadRequest", "BulkOperationFailed",
    "CallbackParams",
    "ClientCredentials", "ConnectError", "Credentials", "ExpiringOfflineToken", "Feature",
    "FeatureAudit", "ForbiddenError", "GraphQLErrorDetail", "GraphQLErrors",
    "HTTPStatusError", "InstallLink", "InternalError", "InvalidResponse", "InvalidShopDomain",
    "LocalThrottleBucket", "MaxCostExceeded", "NotFoundError", "OAuthError", "OAuthInstall",
    "Operation", "OperationError", "OutcomeUnknown", "PaymentRequired", "QueryCost",
    "QueryInvalid", "RequestTimeout", "ResourceNotFound", "RetryPolicy", "ServerError",
    "ShopLocked", "ShopifyClient", "ShopifyError", "StaticToken", "ThrottleBucket",
    "ThrottleStatus", "Throttled", "TokenSaver", "TooManyRequests", "TransportError",
    "UserErrorDetail", "UserErrors",
    "all_needed_scopes", "audit_scopes", "backoff_delay", "callback_hmac", "features_for",
    "has_scope",
    "how_to_grant", "is_valid_shop_domain", "normalize_shop_domain", "operation", "operation_names",
    "parse_cost", "run_bulk_query", "sign_webhook", "verify_webhook",
}  # fmt: skip


def test_all_is_pinned():
    assert set(shopify.__all__) == EXPECTED
    assert len(shopify.__all__) == len(EXPECTED)


def test_every_exported_name_exists_and_modules_are_private():
    for name in shopify.__all__:
        obj = getattr(shopify, name)
        module = getattr(obj, "__module__", "")
        if module.startswith("fulfillbridge.shopify."):
            last = module.rsplit(".", 1)[-1]
            assert last.startswith("_") or module == "fulfillbridge.shopify.schema", name


def test_exception_tree():
    s = shopify
    assert issubclass(s.TransportError, s.ShopifyError)
    for cls in (s.ConnectError, s.RequestTimeout, s.OutcomeUnknown):
        assert issubclass(cls, s.TransportError)
    for cls in (
        s.AuthenticationError, s.ForbiddenError, s.NotFoundError, s.ServerError,
        s.BadRequest, s.TooManyRequests, s.PaymentRequired, s.ShopLocked, s.InvalidResponse,
    ):  # fmt: skip
        assert issubclass(cls, s.HTTPStatusError)
        assert issubclass(cls, s.ShopifyError)
    for cls in (
        s.AccessDenied, s.ResourceNotFound, s.Throttled, s.MaxCostExceeded, s.QueryInvalid,
        s.InternalError,
    ):  # fmt: skip
        assert issubclass(cls, s.GraphQLErrors)
    assert issubclass(s.UserErrors, s.ShopifyError)
    assert issubclass(s.BulkOperationFailed, s.ShopifyError)
    assert issubclass(s.InvalidShopDomain, ValueError)
