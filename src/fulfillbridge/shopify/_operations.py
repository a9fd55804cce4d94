"""GraphQL operations shipped as ``operations/<Name>.graphql``, one named operation each.

Adding one: drop ``operations/FooBar.graphql`` holding ``query FooBar ...`` (or
``mutation FooBar ...``) and call ``client.execute(operation("FooBar"), {...})``. The
schema test validates every file against the vendored 2026-07 schema.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError

OperationKind = Literal["query", "mutation"]

_PACKAGE = "fulfillbridge.shopify.operations"
_SUFFIX = ".graphql"


class OperationError(ValueError):
    """An operation file that is missing or not exactly one named query or mutation."""


@dataclass(frozen=True)
class Operation:
    """A named GraphQL operation ready to send."""

    name: str
    document: str
    kind: OperationKind

    @property
    def is_mutation(self) -> bool:
        return self.kind == "mutation"

    @classmethod
    def from_document(cls, document: str, *, expected_name: str | None = None) -> Operation:
        """Parse ``document``; it must hold exactly one named query or mutation (fragments
        are allowed), named ``expected_name`` when given."""
        try:
            parsed = parse(document, no_location=True)
        except GraphQLSyntaxError as exc:
            raise OperationError(
                f"operation {expected_name or ''} does not parse: {exc.message}"
            ) from exc
        ops = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
        if len(ops) != 1:
            raise OperationError(
                f"operation file {expected_name or ''} must hold exactly one operation, "
                f"found {len(ops)}"
            )
        op = ops[0]
        if op.name is None:
            raise OperationError(f"operation {expected_name or ''} has no name")
        name = op.name.value
        if expected_name is not None and name != expected_name:
            raise OperationError(
                f"operation file {expected_name}{_SUFFIX} holds an operation named {name}"
            )
        if op.operation is OperationType.QUERY:
            kind: OperationKind = "query"
        elif op.operation is OperationType.MUTATION:
            kind = "mutation"
        else:
            raise OperationError(f"operation {name}: subscriptions are not supported")
        return cls(name=name, document=document, kind=kind)


def operation_names() -> tuple[str, ...]:
    """Names of all operation files shipped with the package, sorted."""
    folder = resources.files(_PACKAGE)
    return tuple(
        sorted(
            entry.name[: -len(_SUFFIX)]
            for entry in folder.iterdir()
            if entry.name.endswith(_SUFFIX)
        )
    )


@functools.cache
def operation(name: str) -> Operation:
    """The operation in ``operations/<name>.graphql`` (loaded once)."""
    if not name.isidentifier():
        raise OperationError(f"{name!r} is not an operation name")
    file = resources.files(_PACKAGE).joinpath(name + _SUFFIX)
    if not file.is_file():
        raise OperationError(f"no operation file {name}{_SUFFIX} in {_PACKAGE}")
    return Operation.from_document(file.read_text(encoding="utf-8"), expected_name=name)
