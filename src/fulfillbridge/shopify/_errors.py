"""Every failure the Shopify client reports, as one tree.

    ShopifyError
    ├── InvalidShopDomain               (also a ValueError)
    ├── TransportError                  nothing usable came back
    │   ├── ConnectError                the request surely never reached Shopify
    │   ├── RequestTimeout              no complete answer in time (queries only)
    │   └── OutcomeUnknown              a mutation may or may not have run
    ├── HTTPStatusError                 a non-2xx answer
    │   ├── BadRequest                  400 / 422
    │   ├── AuthenticationError         401 (token missing, wrong, expired, revoked)
    │   ├── PaymentRequired             402 (shop frozen or unpaid)
    │   ├── ForbiddenError              403
    │   ├── NotFoundError               404 (unknown shop or retired API version)
    │   ├── ShopLocked                  423
    │   ├── TooManyRequests             429 still refused after every retry
    │   ├── ServerError                 5xx
    │   └── InvalidResponse             a 2xx answer that is not Shopify's JSON
    ├── GraphQLErrors                   a 200 answer with top-level "errors"
    │   ├── AccessDenied                ACCESS_DENIED: a scope is missing
    │   ├── ResourceNotFound            RESOURCE_NOT_FOUND
    │   ├── Throttled                   THROTTLED after every retry
    │   ├── MaxCostExceeded             MAX_COST_EXCEEDED (one query may cost at most 1000)
    │   ├── QueryInvalid                the document or its variables were refused
    │   └── InternalError               INTERNAL_SERVER_ERROR inside a 200
    ├── UserErrors                      a mutation answered with userErrors
    └── OAuthError                      token exchange, refresh or callback check failed

Conversion from responses happens in :func:`error_from_response` only; the client raises
the result ``from`` the original exception or response. Messages never carry a token or
secret: they are built from status codes, error codes and Shopify's own messages, and
:func:`redact` removes any credential a message might echo.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_MAX_BODY_EXCERPT = 300


class ShopifyError(Exception):
    """Base of every error the Shopify package raises."""

    def __init__(self, message: str, *, shop: str | None = None, operation: str | None = None):
        super().__init__(message)
        self.message = message
        self.shop = shop
        self.operation = operation

    def __str__(self) -> str:
        return self.message


class InvalidShopDomain(ShopifyError, ValueError):
    """A shop domain that is not ``name``, ``name.myshopify.com`` or its https URL."""


# -- transport ------------------------------------------------------------------------------


class TransportError(ShopifyError):
    """The exchange with Shopify failed below HTTP: no usable response arrived."""


class ConnectError(TransportError):
    """The connection could not be made: the request surely never reached Shopify."""


class RequestTimeout(TransportError):
    """Shopify did not answer in time (after retries, for a query)."""


class OutcomeUnknown(TransportError):
    """A mutation was (possibly) delivered but no trustworthy answer came back.

    It may or may not have run. Read Shopify's state (or rely on an idempotency key)
    before sending it again; the client never retries it on its own.
    """


# -- HTTP status ----------------------------------------------------------------------------


class HTTPStatusError(ShopifyError):
    """Shopify answered with a non-2xx status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        shop: str | None = None,
        operation: str | None = None,
    ):
        super().__init__(message, shop=shop, operation=operation)
        self.status_code = status_code
        self.request_id = request_id


class BadRequest(HTTPStatusError):
    """400 or 422: the request itself is malformed; sending it again cannot help."""


class AuthenticationError(HTTPStatusError):
    """401: the access token is missing, wrong, expired or revoked."""


class PaymentRequired(HTTPStatusError):
    """402: the shop is frozen or its plan is unpaid."""


class ForbiddenError(HTTPStatusError):
    """403: the token is valid but may not do this (scope, or app not installed)."""


class NotFoundError(HTTPStatusError):
    """404: the shop does not exist, or the API version is not served."""


class ShopLocked(HTTPStatusError):
    """423: the shop is locked."""


class TooManyRequests(HTTPStatusError):
    """429 still returned after every retry the client allows."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(HTTPStatusError):
    """5xx: Shopify failed (after retries, for a query)."""


class InvalidResponse(HTTPStatusError):
    """A 2xx answer whose body is not a GraphQL JSON object (a proxy page, a cut body)."""


# -- GraphQL errors -------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphQLErrorDetail:
    """One entry of a response's top-level ``errors`` list."""

    message: str
    code: str | None = None
    path: tuple[str | int, ...] = ()
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Any) -> GraphQLErrorDetail:
        if not isinstance(raw, Mapping):
            return cls(message=str(raw))
        raw_extensions = raw.get("extensions")
        extensions: Mapping[str, Any] = (
            raw_extensions if isinstance(raw_extensions, Mapping) else {}
        )
        code = extensions.get("code")
        raw_path = raw.get("path")
        path: list[str | int] = raw_path if isinstance(raw_path, list) else []
        return cls(
            message=str(raw.get("message", "")),
            code=str(code) if code is not None else None,
            path=tuple(path),
            extensions=dict(extensions),
        )


class GraphQLErrors(ShopifyError):
    """A response with a top-level ``errors`` list; ``data`` holds any partial result."""

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[GraphQLErrorDetail],
        data: Mapping[str, Any] | None = None,
        shop: str | None = None,
        operation: str | None = None,
    ):
        super().__init__(message, shop=shop, operation=operation)
        self.errors = tuple(errors)
        self.data = data

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(e.code for e in self.errors if e.code)


class AccessDenied(GraphQLErrors):
    """ACCESS_DENIED: the app lacks a scope; ``required_access`` says which, when known."""

    @property
    def required_access(self) -> tuple[str, ...]:
        found = (e.extensions.get("requiredAccess") for e in self.errors)
        return tuple(str(r) for r in found if r)


class ResourceNotFound(GraphQLErrors):
    """RESOURCE_NOT_FOUND, e.g. "Invalid id: gid://shopify/FulfillmentOrder/0"."""


class Throttled(GraphQLErrors):
    """THROTTLED even after waiting and retrying as long as the client allows."""


class MaxCostExceeded(GraphQLErrors):
    """MAX_COST_EXCEEDED: the query requests more than one query may (1000 points)."""


class QueryInvalid(GraphQLErrors):
    """The document or its variables were refused before execution."""


class InternalError(GraphQLErrors):
    """INTERNAL_SERVER_ERROR reported inside a 200 answer."""


# -- mutation user errors -------------------------------------------------------------------


@dataclass(frozen=True)
class UserErrorDetail:
    """One ``userErrors`` entry: field path, message and (when selected) code."""

    field: tuple[str, ...] | None
    message: str
    code: str | None = None

    @classmethod
    def from_json(cls, raw: Any) -> UserErrorDetail:
        if not isinstance(raw, Mapping):
            return cls(field=None, message=str(raw))
        path = raw.get("field")
        code = raw.get("code")
        return cls(
            field=tuple(str(p) for p in path) if isinstance(path, list) else None,
            message=str(raw.get("message", "")),
            code=str(code) if code is not None else None,
        )


class UserErrors(ShopifyError):
    """A mutation ran but refused the input; ``data`` is the full response data."""

    def __init__(
        self,
        message: str,
        *,
        user_errors: Sequence[UserErrorDetail],
        data: Mapping[str, Any] | None = None,
        shop: str | None = None,
        operation: str | None = None,
    ):
        super().__init__(message, shop=shop, operation=operation)
        self.user_errors = tuple(user_errors)
        self.data = data


class OAuthError(ShopifyError):
    """A token exchange, a token refresh or an OAuth callback check failed."""


# -- conversion -----------------------------------------------------------------------------

_STATUS_CLASSES: dict[int, type[HTTPStatusError]] = {
    400: BadRequest,
    401: AuthenticationError,
    402: PaymentRequired,
    403: ForbiddenError,
    404: NotFoundError,
    422: BadRequest,
    423: ShopLocked,
    429: TooManyRequests,
}

# Codes seen in the captures and in Shopify's docs; schema validation failures come back
# with camelCase codes such as "missingRequiredArguments" (webhook-subscription-conformance
# capture) and variable problems as INVALID_VARIABLE (inventory-quantity-contracts capture).
_CODE_CLASSES: dict[str, type[GraphQLErrors]] = {
    "ACCESS_DENIED": AccessDenied,
    "RESOURCE_NOT_FOUND": ResourceNotFound,
    "THROTTLED": Throttled,
    "MAX_COST_EXCEEDED": MaxCostExceeded,
    "INTERNAL_SERVER_ERROR": InternalError,
    "INVALID_VARIABLE": QueryInvalid,
    "GRAPHQL_PARSE_FAILED": QueryInvalid,
    "GRAPHQL_VALIDATION_FAILED": QueryInvalid,
    "BAD_USER_INPUT": QueryInvalid,
}
# When several errors arrive, the most actionable kind decides the exception class.
_CODE_PRIORITY = (
    "THROTTLED",
    "MAX_COST_EXCEEDED",
    "ACCESS_DENIED",
    "INTERNAL_SERVER_ERROR",
    "RESOURCE_NOT_FOUND",
)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret replaced by a marker."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _where(shop: str | None, operation: str | None) -> str:
    parts = [f"operation {operation}" if operation else "", f"shop {shop}" if shop else ""]
    joined = ", ".join(p for p in parts if p)
    return f" ({joined})" if joined else ""


def _body_excerpt(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, Mapping) and "errors" in body:
        errors = body["errors"]
        if isinstance(errors, str):
            return errors[:_MAX_BODY_EXCERPT]
        if isinstance(errors, list):
            messages = [GraphQLErrorDetail.from_json(e).message for e in errors]
            return "; ".join(m for m in messages if m)[:_MAX_BODY_EXCERPT]
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return text.strip()[:_MAX_BODY_EXCERPT]


def _is_schema_validation_code(code: str | None) -> bool:
    # Shopify's schema validation codes are camelCase (e.g. "undefinedField"); its
    # execution codes are UPPER_SNAKE.
    return bool(code) and code[0].islower()  # type: ignore[index]


def graphql_error_class(errors: Sequence[GraphQLErrorDetail]) -> type[GraphQLErrors]:
    codes = [e.code for e in errors if e.code]
    for preferred in _CODE_PRIORITY:
        if preferred in codes:
            return _CODE_CLASSES[preferred]
    for code in codes:
        if code in _CODE_CLASSES:
            return _CODE_CLASSES[code]
        if _is_schema_validation_code(code):
            return QueryInvalid
    # No code at all: Shopify answers parse errors this way ("syntax error, ...").
    if not codes and any("syntax error" in e.message.lower() for e in errors):
        return QueryInvalid
    return GraphQLErrors


def graphql_errors_from_body(
    body: Mapping[str, Any],
    *,
    shop: str | None = None,
    operation: str | None = None,
    secrets: Iterable[str | None] = (),
) -> GraphQLErrors | None:
    """The exception for a JSON body carrying top-level ``errors``; None when it has none."""
    raw = body.get("errors")
    if not raw:
        return None
    details = [GraphQLErrorDetail.from_json(e) for e in (raw if isinstance(raw, list) else [raw])]
    cls = graphql_error_class(details)
    summary = "; ".join(
        f"{d.message}"
        + (f" [{d.code}]" if d.code else "")
        + (f" at {'.'.join(str(p) for p in d.path)}" if d.path else "")
        for d in details[:5]
    )
    if len(details) > 5:
        summary += f"; and {len(details) - 5} more"
    message = redact(f"Shopify GraphQL error{_where(shop, operation)}: {summary}", secrets)
    data = body.get("data") if isinstance(body.get("data"), Mapping) else None
    return cls(message, errors=details, data=data, shop=shop, operation=operation)


def http_status_error(
    status_code: int,
    body: Any,
    *,
    shop: str | None = None,
    operation: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    secrets: Iterable[str | None] = (),
) -> HTTPStatusError:
    """The exception for a non-2xx answer (body: parsed JSON, text, or None)."""
    cls: type[HTTPStatusError] = (
        ServerError if status_code >= 500 else _STATUS_CLASSES.get(status_code, HTTPStatusError)
    )
    hint = {
        401: " - the access token is missing, invalid, expired or revoked",
        402: " - the shop is frozen or unpaid",
        403: " - the app may not do this on this shop",
        404: " - unknown shop, or API version not served",
    }.get(status_code, "")
    excerpt = _body_excerpt(body)
    message = f"Shopify answered HTTP {status_code}{_where(shop, operation)}{hint}"
    if excerpt:
        message += f": {excerpt}"
    message = redact(message, secrets)
    if cls is TooManyRequests:
        return TooManyRequests(
            message,
            retry_after=retry_after,
            status_code=status_code,
            request_id=request_id,
            shop=shop,
            operation=operation,
        )
    return cls(
        message, status_code=status_code, request_id=request_id, shop=shop, operation=operation
    )


def error_from_response(
    status_code: int,
    body: Any,
    *,
    shop: str | None = None,
    operation: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    secrets: Iterable[str | None] = (),
) -> ShopifyError | None:
    """The one place an HTTP answer becomes an exception; None when it is a success.

    A 429 (or 200) whose body says THROTTLED is :class:`Throttled`; Shopify uses both
    statuses for throttling (NOTES: "the HTTP status may be 200 or 429").
    """
    secrets = tuple(secrets)
    if isinstance(body, Mapping) and isinstance(body.get("errors"), list):
        gql = graphql_errors_from_body(body, shop=shop, operation=operation, secrets=secrets)
        if gql is not None and (200 <= status_code < 300 or isinstance(gql, Throttled)):
            return gql
    if 200 <= status_code < 300:
        if isinstance(body, Mapping):
            return None
        return InvalidResponse(
            redact(
                f"Shopify answered HTTP {status_code} without a JSON object"
                f"{_where(shop, operation)}: {_body_excerpt(body)[:100]}",
                secrets,
            ),
            status_code=status_code,
            request_id=request_id,
            shop=shop,
            operation=operation,
        )
    return http_status_error(
        status_code,
        body,
        shop=shop,
        operation=operation,
        request_id=request_id,
        retry_after=retry_after,
        secrets=secrets,
    )


def find_user_errors(data: Mapping[str, Any] | None) -> list[UserErrorDetail]:
    """userErrors of every root field of a mutation's data (including ``fooUserErrors``)."""
    found: list[UserErrorDetail] = []
    if not isinstance(data, Mapping):
        return found
    for payload in data.values():
        if not isinstance(payload, Mapping):
            continue
        for key, value in payload.items():
            if (key == "userErrors" or key.endswith("UserErrors")) and isinstance(value, list):
                found.extend(UserErrorDetail.from_json(v) for v in value)
    return found


def user_errors_exception(
    details: Sequence[UserErrorDetail],
    data: Mapping[str, Any] | None,
    *,
    shop: str | None = None,
    operation: str | None = None,
    secrets: Iterable[str | None] = (),
) -> UserErrors:
    summary = "; ".join(
        (f"{'.'.join(d.field)}: " if d.field else "")
        + d.message
        + (f" [{d.code}]" if d.code else "")
        for d in details[:5]
    )
    if len(details) > 5:
        summary += f"; and {len(details) - 5} more"
    message = redact(f"Shopify refused the mutation{_where(shop, operation)}: {summary}", secrets)
    return UserErrors(message, user_errors=details, data=data, shop=shop, operation=operation)
