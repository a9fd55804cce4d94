"""How sandbox resolvers attach to the real schema.

Domain modules register root fields and object fields with the decorators below; the
executor (``sandbox.graphql``) installs them on the shared schema once per process.
A resolver receives the parent value, a ``Context`` and the field's arguments as keyword
arguments (GraphQL names, camelCase), and returns plain dicts keyed by GraphQL field names.
A key that a dict does not carry and no resolver provides is reported as "not implemented
by the sandbox" rather than resolved to null.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fulfillbridge.sandbox.state import ShopState

Resolver = Callable[..., Any]


@dataclass(frozen=True)
class FieldSpec:
    type_name: str
    field_name: str
    resolver: Resolver
    # Access scopes of which at least one is needed (Shopify: read_X is implied by write_X).
    scopes: tuple[str, ...] = ()


@dataclass
class Context:
    """What a resolver may touch for one request."""

    shop: ShopState
    app_id: str
    granted_scopes: frozenset[str]
    extra: dict[str, Any] = field(default_factory=dict)

    def has_scope(self, scope: str) -> bool:
        if scope in self.granted_scopes:
            return True
        # A write scope implies the matching read scope.
        if scope.startswith("read_"):
            return "write_" + scope[len("read_") :] in self.granted_scopes
        return False


class TopLevelError(Exception):
    """An error Shopify reports in the top-level ``errors`` array (with ``extensions.code``)."""

    def __init__(self, message: str, code: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": code, **extensions} if code else dict(extensions)


_FIELDS: dict[tuple[str, str], FieldSpec] = {}


def register(
    type_name: str, field_name: str, *, scopes: tuple[str, ...] = ()
) -> Callable[[Resolver], Resolver]:
    def decorate(fn: Resolver) -> Resolver:
        key = (type_name, field_name)
        if key in _FIELDS and _FIELDS[key].resolver is not fn:
            raise RuntimeError(f"sandbox resolver for {type_name}.{field_name} registered twice")
        _FIELDS[key] = FieldSpec(type_name, field_name, fn, scopes)
        return fn

    return decorate


def query(field_name: str, *, scopes: tuple[str, ...] = ()) -> Callable[[Resolver], Resolver]:
    return register("QueryRoot", field_name, scopes=scopes)


def mutation(field_name: str, *, scopes: tuple[str, ...] = ()) -> Callable[[Resolver], Resolver]:
    return register("Mutation", field_name, scopes=scopes)


def field_resolver(
    type_name: str, field_name: str, *, scopes: tuple[str, ...] = ()
) -> Callable[[Resolver], Resolver]:
    return register(type_name, field_name, scopes=scopes)


def registered_fields() -> dict[tuple[str, str], FieldSpec]:
    return dict(_FIELDS)


# -- node(id) / nodes(ids) ---------------------------------------------------------------------
# One resolver serves QueryRoot.node/nodes (resolvers/shop.py); each area registers a loader
# for its global-id kinds. A loader is called as ``fn(ctx, numeric_id)`` and returns the node
# dict (with "__typename") or None when no such object exists.
NodeLoader = Callable[["Context", int], Any]


@dataclass(frozen=True)
class NodeLoaderSpec:
    kind: str
    loader: NodeLoader
    scopes: tuple[str, ...] = ()


_NODE_LOADERS: dict[str, NodeLoaderSpec] = {}


def node_loader(kind: str, *, scopes: tuple[str, ...] = ()) -> Callable[[NodeLoader], NodeLoader]:
    """Register how ``node(id:)`` finds objects whose global id is ``gid://shopify/<kind>/…``."""

    def decorate(fn: NodeLoader) -> NodeLoader:
        if kind in _NODE_LOADERS and _NODE_LOADERS[kind].loader is not fn:
            raise RuntimeError(f"sandbox node loader for {kind} registered twice")
        _NODE_LOADERS[kind] = NodeLoaderSpec(kind, fn, scopes)
        return fn

    return decorate


def node_loaders() -> dict[str, NodeLoaderSpec]:
    return dict(_NODE_LOADERS)
