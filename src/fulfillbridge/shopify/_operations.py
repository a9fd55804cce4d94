"""GraphQL operations shipped as ``operations/<Name>.graphql``, one named operation each.

Adding one: drop ``operations/FooBar.graphql`` holding ``query FooBar ...`` (or
``mutation FooBar ...``) and call ``client.execute(operation("FooBar"), {...})``. The
schema test validates every file against the vendored 2026-07 schema.

Selections shared by several operations live in ``operations/fragments/<Name>.graphql``,
one ``fragment Name on Type { ... }`` each. An operation spreads one with ``...Name``;
the loader appends that fragment's definition (and those of fragments it spreads in turn)
to the document sent, once each, so every operation file stays a complete request.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Literal

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    parse,
    visit,
)
from graphql.error import GraphQLSyntaxError
from graphql.language import Node

OperationKind = Literal["query", "mutation"]

_PACKAGE = "fulfillbridge.shopify.operations"
_FRAGMENTS_FOLDER = "fragments"
_SUFFIX = ".graphql"


class OperationError(ValueError):
    """An operation (or fragment) file that is missing, does not parse, or does not hold
    exactly what it should (one named operation; one fragment named like its file)."""


@dataclass(frozen=True)
class Operation:
    """A named GraphQL operation ready to send.

    ``document`` is the complete text sent to Shopify: the operation file followed by the
    shared fragments it needs, named in ``fragments`` in the order they were appended.
    """

    name: str
    document: str
    kind: OperationKind
    fragments: tuple[str, ...] = ()

    @property
    def is_mutation(self) -> bool:
        return self.kind == "mutation"

    @classmethod
    def from_document(
        cls,
        document: str,
        *,
        expected_name: str | None = None,
        fragments: Mapping[str, str] | None = None,
    ) -> Operation:
        """Parse ``document``; it must hold exactly one named query or mutation (fragments
        are allowed), named ``expected_name`` when given.

        Fragments it spreads but does not define are taken from ``fragments`` (fragment
        name -> text of its file; the shipped ``operations/fragments`` files by default)
        and appended to the document.
        """
        label = expected_name or ""
        parsed = _parse(document, f"operation {label}")
        ops = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
        if len(ops) != 1:
            raise OperationError(
                f"operation file {label} must hold exactly one operation, found {len(ops)}"
            )
        op = ops[0]
        if op.name is None:
            raise OperationError(f"operation {label} has no name")
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
        shared = _shipped_fragments() if fragments is None else fragments
        needed = _shared_fragments_needed(name, parsed, shared)
        if needed:
            parts = [document.rstrip("\n"), *(shared[f].strip("\n") for f in needed)]
            document = "\n\n".join(parts) + "\n"
        return cls(name=name, document=document, kind=kind, fragments=needed)


def operation_names() -> tuple[str, ...]:
    """Names of all operation files shipped with the package, sorted."""
    return _names_in(resources.files(_PACKAGE))


def fragment_names() -> tuple[str, ...]:
    """Names of all shared fragment files shipped with the package, sorted."""
    folder = resources.files(_PACKAGE).joinpath(_FRAGMENTS_FOLDER)
    return _names_in(folder) if folder.is_dir() else ()


@functools.cache
def fragment_text(name: str) -> str:
    """The text of ``operations/fragments/<name>.graphql`` (read once)."""
    if not name.isidentifier():
        raise OperationError(f"{name!r} is not a fragment name")
    file = resources.files(_PACKAGE).joinpath(_FRAGMENTS_FOLDER, name + _SUFFIX)
    if not file.is_file():
        raise OperationError(f"no fragment file {_FRAGMENTS_FOLDER}/{name}{_SUFFIX} in {_PACKAGE}")
    return file.read_text(encoding="utf-8")


def fragment_definition(name: str, text: str) -> FragmentDefinitionNode:
    """The one fragment a fragment file's ``text`` must hold, named ``name`` like the file."""
    parsed = _parse(text, f"fragment {name}")
    if len(parsed.definitions) != 1 or not isinstance(
        parsed.definitions[0], FragmentDefinitionNode
    ):
        raise OperationError(
            f"fragment file {name}{_SUFFIX} must hold exactly one fragment and nothing else"
        )
    found = parsed.definitions[0].name.value
    if found != name:
        raise OperationError(f"fragment file {name}{_SUFFIX} holds a fragment named {found}")
    return parsed.definitions[0]


@functools.cache
def operation(name: str) -> Operation:
    """The operation in ``operations/<name>.graphql`` (loaded once)."""
    if not name.isidentifier():
        raise OperationError(f"{name!r} is not an operation name")
    file = resources.files(_PACKAGE).joinpath(name + _SUFFIX)
    if not file.is_file():
        raise OperationError(f"no operation file {name}{_SUFFIX} in {_PACKAGE}")
    return Operation.from_document(file.read_text(encoding="utf-8"), expected_name=name)


# -- helpers ---------------------------------------------------------------------------------


def _names_in(folder: Traversable) -> tuple[str, ...]:
    return tuple(
        sorted(
            entry.name[: -len(_SUFFIX)]
            for entry in folder.iterdir()
            if entry.is_file() and entry.name.endswith(_SUFFIX)
        )
    )


def _parse(text: str, what: str) -> DocumentNode:
    try:
        return parse(text, no_location=True)
    except GraphQLSyntaxError as exc:
        raise OperationError(f"{what} does not parse: {exc.message}") from exc


@functools.cache
def _shipped_fragments() -> Mapping[str, str]:
    return MappingProxyType({name: fragment_text(name) for name in fragment_names()})


class _SpreadCollector(Visitor):
    """Names spread (``...Name``) anywhere in a document, in reading order."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: object) -> None:
        if node.name.value not in self.names:
            self.names.append(node.name.value)


def _spreads(node: Node) -> list[str]:
    collector = _SpreadCollector()
    visit(node, collector)
    return collector.names


def _shared_fragments_needed(
    operation_name: str, parsed: DocumentNode, shared: Mapping[str, str]
) -> tuple[str, ...]:
    """Shared fragments the document spreads without defining them itself, directly or
    through other shared fragments, each once, in the order first met."""
    local = {d.name.value for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)}
    clashing = sorted(n for n in local if n in shared)
    if clashing:
        # Two definitions of one name would make the request invalid; a private copy of a
        # shared fragment would also drift from it unnoticed.
        raise OperationError(
            f"operation {operation_name} defines fragment(s) {', '.join(clashing)} itself, "
            f"but a shared fragment file of that name exists: spread the shared one instead"
        )
    needed: list[str] = []
    pending = [(n, f"operation {operation_name}") for n in _spreads(parsed) if n not in local]
    # A fragment's spreads are queued only when it is first added, and there are finitely
    # many fragments, so the walk ends even on a spread cycle (schema validation reports it).
    while pending:
        name, spread_in = pending.pop(0)
        if name in needed or name in local:
            continue
        if name not in shared:
            raise OperationError(
                f"{spread_in} spreads ...{name}, but there is no fragment {name}: neither "
                f"defined in the operation nor a file {_FRAGMENTS_FOLDER}/{name}{_SUFFIX}"
            )
        definition = fragment_definition(name, shared[name])
        needed.append(name)
        pending.extend((n, f"fragment {name}") for n in _spreads(definition))
    return tuple(needed)
