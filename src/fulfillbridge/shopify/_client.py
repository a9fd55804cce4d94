"""The async Admin GraphQL client: one store, one credentials object, one bucket."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from fulfillbridge.shopify._auth import Credentials, shop_base_url
from fulfillbridge.shopify._domains import normalize_shop_domain
from fulfillbridge.shopify._errors import (
    AuthenticationError,
    ConnectError,
    InternalError,
    InvalidResponse,
    OutcomeUnknown,
    RequestTimeout,
    ServerError,
    ShopifyError,
    Throttled,
    TooManyRequests,
    TransportError,
    error_from_response,
    find_user_errors,
    http_status_error,
    redact,
    user_errors_exception,
)
from fulfillbridge.shopify._operations import Operation, operation
from fulfillbridge.shopify._retry import Decision, Failure, RetryPolicy, decide
from fulfillbridge.shopify._throttle import (
    DEFAULT_COST_ESTIMATE,
    SINGLE_QUERY_MAX_COST,
    LocalThrottleBucket,
    QueryCost,
    ThrottleBucket,
    parse_cost,
)
from fulfillbridge.shopify.schema import API_VERSION

LOGGER_NAME = "fulfillbridge.shopify"
# Seconds a mutation waits for its answer unless told otherwise (at most ``timeout``).
MUTATION_TIMEOUT = 10.0
# Reads that are small by construction (ids and times only): a hung one is given up and
# sent again sooner, since everything a pull answers waits for it.
LISTING_TIMEOUT = 5.0
LISTINGS = frozenset({"AssignedFulfillmentOrderChanges", "FulfillmentOrderChangesSince"})
# A read first waits at most this long for its answer, and twice as long after each
# attempt that timed out (up to ``timeout``): a read is safe to send again, and a pull that
# waits out a hung read holds back every request it would answer. Shopify answers reads in
# well under a second, so only a hung one reaches this.
FIRST_READ_TIMEOUT = 5.0
_USER_AGENT = "fulfillbridge (+https://github.com/fulfillbridge)"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _dig(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


class ShopifyClient:
    """Send GraphQL operations to one store's Admin API.

    ``await client.execute(operation("ShopInfo"))`` returns the response's ``data``, after
    waiting for the throttle bucket, retrying what is safe to retry, and converting every
    failure into the :mod:`fulfillbridge.shopify` exception tree. ``api_base_url`` points a
    store at the sandbox or any compatible server (default ``https://{shop}``); ``transport``
    runs an ASGI app in-process. Use as ``async with ShopifyClient(...) as client:``.
    """

    def __init__(
        self,
        shop_domain: str,
        credentials: Credentials,
        *,
        api_base_url: str | None = None,
        api_version: str = API_VERSION,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        mutation_timeout: float | None = None,
        max_attempts: int = 5,
        max_retry_seconds: float = 60.0,
        bucket: ThrottleBucket | None = None,
        logger: logging.Logger | None = None,
        default_cost: int = DEFAULT_COST_ESTIMATE,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.shop = normalize_shop_domain(shop_domain)
        self.credentials = credentials
        self.api_version = api_version
        self.base_url = shop_base_url(self.shop, api_base_url)
        self.endpoint = f"{self.base_url}/admin/api/{api_version}/graphql.json"
        self.bucket: ThrottleBucket = bucket if bucket is not None else LocalThrottleBucket()
        self.retry_policy = retry_policy or RetryPolicy(
            max_attempts=max_attempts, max_retry_seconds=max_retry_seconds
        )
        self.default_cost = default_cost
        # Seconds to wait for an answer: a mutation's outcome is unknown until it comes, and
        # every second waited holds the write (and what follows it) back; a read is sent
        # again after a timeout, and what waits for it waits that long. An unknown
        # mutation is verified within seconds (flows.outbox).
        self.read_timeout = timeout
        self.mutation_timeout = (
            min(timeout, MUTATION_TIMEOUT) if mutation_timeout is None else mutation_timeout
        )
        self.listing_timeout = min(timeout, LISTING_TIMEOUT)
        self.first_read_timeout = FIRST_READ_TIMEOUT
        self.last_cost: QueryCost | None = None
        self._costs: dict[str, int] = {}
        self._log = logger or logging.getLogger(LOGGER_NAME)
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
        )

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> ShopifyClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"ShopifyClient(shop={self.shop!r}, endpoint={self.endpoint!r})"

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying HTTP client (for OAuth calls against the same server)."""
        return self._http

    # -- public calls -------------------------------------------------------------------

    def estimated_cost(self, op: Operation) -> int:
        """What ``op`` is expected to request: the last requested cost seen; before that,
        the default for a mutation, and for a read Shopify's ceiling for one query (the
        bucket holds at most its size back): a read's cost ranges from 1 to 1000 with its
        page sizes, and guessing low gets it THROTTLED. The answer refunds the rest."""
        learned = self._costs.get(op.name)
        if learned is not None:
            return learned
        return self.default_cost if op.is_mutation else SINGLE_QUERY_MAX_COST

    async def execute(
        self,
        op: Operation | str,
        variables: Mapping[str, Any] | None = None,
        *,
        raise_user_errors: bool = True,
    ) -> dict[str, Any]:
        """Run ``op`` and return its ``data``.

        A mutation whose payload carries ``userErrors`` raises :class:`UserErrors` unless
        ``raise_user_errors`` is False.
        """
        op = operation(op) if isinstance(op, str) else op
        body = await self._send(op, dict(variables or {}))
        data = body.get("data")
        if not isinstance(data, dict):
            raise ShopifyError(
                f"Shopify answered without data (operation {op.name}, shop {self.shop})",
                shop=self.shop,
                operation=op.name,
            )
        if op.is_mutation and raise_user_errors:
            found = find_user_errors(data)
            if found:
                raise user_errors_exception(
                    found, data, shop=self.shop, operation=op.name, secrets=self._secrets()
                )
        return data

    async def paginate_pages(
        self,
        op: Operation | str,
        variables: Mapping[str, Any] | None = None,
        *,
        path: Sequence[str],
        page_size: int = 50,
        max_pages: int = 1000,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield each page (the connection object at ``path``) following
        ``pageInfo { hasNextPage endCursor }`` through ``$after``."""
        op = operation(op) if isinstance(op, str) else op
        current = dict(variables or {})
        if "first" not in current and "$first" in op.document:
            current["first"] = page_size
        seen: set[str] = set()
        for _ in range(max_pages):
            data = await self.execute(op, current)
            connection = _dig(data, path)
            if not isinstance(connection, dict):
                raise ShopifyError(
                    f"no connection at {'.'.join(path)} in the answer to {op.name}",
                    shop=self.shop,
                    operation=op.name,
                )
            yield connection
            page_info = connection.get("pageInfo") or {}
            if not page_info.get("hasNextPage"):
                return
            cursor = page_info.get("endCursor")
            if not cursor or cursor in seen:
                raise ShopifyError(
                    f"pagination of {op.name} stalled: hasNextPage without a new endCursor "
                    "(select pageInfo { hasNextPage endCursor })",
                    shop=self.shop,
                    operation=op.name,
                )
            seen.add(cursor)
            current["after"] = cursor
        raise ShopifyError(
            f"pagination of {op.name} stopped after {max_pages} pages",
            shop=self.shop,
            operation=op.name,
        )

    async def paginate(
        self,
        op: Operation | str,
        variables: Mapping[str, Any] | None = None,
        *,
        path: Sequence[str],
        page_size: int = 50,
        max_pages: int = 1000,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every node of the connection at ``path``, page after page."""
        async for page in self.paginate_pages(
            op, variables, path=path, page_size=page_size, max_pages=max_pages
        ):
            nodes = page.get("nodes")
            if nodes is None:
                nodes = [edge.get("node") for edge in page.get("edges") or []]
            for node in nodes:
                yield node

    async def granted_scopes(self) -> tuple[str, ...]:
        """Scopes granted to the app: ``GET {base}/admin/oauth/access_scopes.json``."""
        url = f"{self.base_url}/admin/oauth/access_scopes.json"
        try:
            headers = await self.credentials.auth_headers(self._http, self.base_url)
            response = await self._http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, "access_scopes", ConnectError) from exc
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if response.status_code != 200 or not isinstance(body, dict):
            raise http_status_error(
                response.status_code,
                body,
                shop=self.shop,
                operation="access_scopes",
                request_id=response.headers.get("X-Request-Id"),
                secrets=self._secrets(),
            )
        return tuple(str(s["handle"]) for s in body.get("access_scopes", []) if isinstance(s, dict))

    # -- the request loop ---------------------------------------------------------------

    def _secrets(self) -> tuple[str, ...]:
        return self.credentials.secrets()

    def _transport_error(
        self, exc: Exception, op_name: str, cls: type[TransportError]
    ) -> TransportError:
        what = {
            ConnectError: "could not connect to",
            RequestTimeout: "timed out waiting for",
            OutcomeUnknown: "lost the answer from",
        }.get(cls, "lost the connection to")
        message = f"{what} {self.base_url} (operation {op_name}, shop {self.shop}): "
        message += type(exc).__name__
        if cls is OutcomeUnknown:
            message += (
                "; the mutation may or may not have run: check Shopify's state before retrying"
            )
        return cls(redact(message, self._secrets()), shop=self.shop, operation=op_name)

    async def _send(self, op: Operation, variables: dict[str, Any]) -> dict[str, Any]:
        payload = {"query": op.document, "variables": variables, "operationName": op.name}
        policy = self.retry_policy
        started = time.monotonic()
        attempt = 0
        timed_out = 0  # attempts of this call that got no answer in time
        renewed_auth = False
        while True:
            attempt += 1
            estimate = self.estimated_cost(op)
            await self.bucket.acquire(estimate)
            sent_at = time.monotonic()
            response: httpx.Response | None = None
            body: Any = None
            cost: QueryCost | None = None
            error: ShopifyError | None = None
            cause: Exception | None = None
            failure: Failure | None = None
            headers: dict[str, str] = {}
            try:
                headers = await self.credentials.auth_headers(self._http, self.base_url)
                response = await self._http.post(
                    self.endpoint,
                    json=payload,
                    headers=headers,
                    timeout=self._timeout(op, timed_out),
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                cause, failure = exc, Failure.NOT_SENT
                error = self._transport_error(exc, op.name, ConnectError)
            except httpx.TimeoutException as exc:
                timed_out += 1
                cause, failure = exc, Failure.NO_ANSWER
                error = self._transport_error(exc, op.name, RequestTimeout)
            except httpx.TransportError as exc:
                cause, failure = exc, Failure.NO_ANSWER
                error = self._transport_error(exc, op.name, TransportError)
            finally:
                if response is not None:
                    try:
                        body = response.json()
                    except ValueError:
                        body = response.text
                    cost = parse_cost(body)
                await self.bucket.update(cost.throttle_status if cost else None, released=estimate)
            if cost is not None:
                self.last_cost = cost
                # A throttle answer from an edge may report 0: only real costs count.
                if cost.requested:
                    self._costs[op.name] = cost.requested
            if response is not None:
                error = error_from_response(
                    response.status_code,
                    body,
                    shop=self.shop,
                    operation=op.name,
                    request_id=response.headers.get("X-Request-Id"),
                    retry_after=_retry_after(response),
                    secrets=self._secrets(),
                )
                failure = self._classify(error)
            self._log_attempt(op, attempt, response, cost, sent_at, error)
            if error is None:
                return body  # type: ignore[no-any-return]
            assert failure is not None

            if isinstance(error, AuthenticationError) and not renewed_auth:
                renewed_auth = True
                if await self.credentials.renew_after_unauthorized(
                    self._http, self.base_url, headers
                ):
                    continue  # a fresh token is worth exactly one more try
            decision = decide(failure, is_mutation=op.is_mutation)
            if decision is Decision.GIVE_UP:
                raise error from cause
            if decision is Decision.OUTCOME_UNKNOWN:
                unknown = self._transport_error(cause or error, op.name, OutcomeUnknown)
                raise unknown from (cause or error)
            delay = self._retry_delay(
                error, cost, attempt, _retry_after(response) if response is not None else None
            )
            if not policy.may_retry(attempt, time.monotonic() - started, delay):
                raise error from cause
            if delay > 0:
                await asyncio.sleep(delay)

    def _timeout(self, op: Operation, timed_out: int = 0) -> float:
        if op.is_mutation:
            return self.mutation_timeout
        limit = self.listing_timeout if op.name in LISTINGS else self.read_timeout
        return min(limit, self.first_read_timeout * 2.0**timed_out)

    @staticmethod
    def _classify(error: ShopifyError | None) -> Failure | None:
        if error is None:
            return None
        if isinstance(error, Throttled | TooManyRequests):
            return Failure.THROTTLED
        if isinstance(error, ServerError | InternalError | InvalidResponse):
            return Failure.SERVER_ERROR
        return Failure.FINAL

    def _retry_delay(
        self,
        error: ShopifyError,
        cost: QueryCost | None,
        attempt: int,
        retry_after: float | None,
    ) -> float:
        if retry_after is not None and isinstance(error, Throttled | TooManyRequests | ServerError):
            return retry_after
        if isinstance(error, Throttled | TooManyRequests):
            # With a bucket reading, acquire() waits exactly as long as the refill needs.
            if cost is not None and cost.throttle_status is not None:
                return 0.0
            return max(1.0, self.retry_policy.backoff(attempt))
        return self.retry_policy.backoff(attempt)

    def _log_attempt(
        self,
        op: Operation,
        attempt: int,
        response: httpx.Response | None,
        cost: QueryCost | None,
        sent_at: float,
        error: ShopifyError | None,
    ) -> None:
        status = cost.throttle_status if cost else None
        fields = {
            "shopify_operation": op.name,
            "shopify_shop": self.shop,
            "shopify_attempt": attempt,
            "shopify_http_status": response.status_code if response is not None else None,
            "shopify_cost_requested": cost.requested if cost else None,
            "shopify_cost_actual": cost.actual if cost else None,
            "shopify_bucket_available": status.currently_available if status else None,
            "shopify_duration_ms": round((time.monotonic() - sent_at) * 1000),
            "shopify_error": type(error).__name__ if error else None,
        }
        self._log.log(
            logging.INFO if error is None else logging.WARNING,
            "shopify %s shop=%s attempt=%d status=%s cost=%s/%s available=%s duration_ms=%d%s",
            op.name,
            self.shop,
            attempt,
            fields["shopify_http_status"],
            fields["shopify_cost_requested"],
            fields["shopify_cost_actual"],
            fields["shopify_bucket_available"],
            fields["shopify_duration_ms"],
            f" error={fields['shopify_error']}" if error else "",
            extra=fields,
        )
