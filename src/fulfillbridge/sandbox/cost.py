"""Shopify's calculated query cost, computed statically (requested) and from the answer (actual).

The rule (Shopify docs, "GraphQL Admin API rate limits: cost calculation"), with the sizing of
connections fitted to the recorded captures:

- scalars and enums cost 0; an object, or a list of objects, costs 1 plus its selections;
- an interface or union costs the most expensive of its possible selections;
- a connection costs 2 plus ``size(n)`` times the cost of one node, where ``n`` is ``first``
  or ``last`` and ``size(n)`` is ``ceil(sqrt(n))``: every capture with a connection fits this
  (``locations(first: 10)`` of one object per node costs 6 = 2 + 4, ``first: 5`` counts 3);
- a mutation costs 10; the objects its payload returns directly are covered by those 10
  (``orderCancel { job { id } }`` costs 10), their own selections are charged as above;
- a few value objects cost nothing (``MoneyBag``/``MoneyV2``/user errors: an order read with
  four money bags and a customer costs 3).

Actual cost walks the same selections over the data returned, sizing each connection by the
nodes it really returned; a null object still costs its 1.
Capture costs the rule does not reproduce are listed in ``tests/sandbox/test_engine_cost.py``.
"""

from __future__ import annotations

import math
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    get_named_type,
    is_leaf_type,
    value_from_ast,
)

MAX_SINGLE_QUERY_COST = 1000  # Shopify docs: a single query may not exceed 1000 points
MUTATION_COST = 10
CONNECTION_BASE_COST = 2

# Object types Shopify charges nothing for (observed in captures; see module docstring).
FREE_TYPES = frozenset({"MoneyBag", "MoneyV2", "UserError", "PageInfo"})

_META_FIELDS = {"__type": TypeMetaFieldDef, "__schema": SchemaMetaFieldDef}

_CompositeType = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType


def connection_size(count: int) -> int:
    """How many nodes a connection of ``count`` items is charged for."""
    return math.ceil(math.sqrt(count)) if count > 0 else 0


class CostCalculator:
    """Requested and actual cost of one operation (fragments and variables resolved)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables or {}

    # -- public -----------------------------------------------------------------------------
    def requested(self, operation: OperationDefinitionNode) -> int:
        return self._root(operation, None, requested=True)

    def actual(self, operation: OperationDefinitionNode, data: dict[str, Any] | None) -> int:
        return self._root(operation, data, requested=False)

    # -- walking ----------------------------------------------------------------------------
    def _root(
        self, operation: OperationDefinitionNode, data: dict[str, Any] | None, *, requested: bool
    ) -> int:
        is_mutation = operation.operation == OperationType.MUTATION
        root = self.schema.mutation_type if is_mutation else self.schema.query_type
        if root is None:
            return 0
        if not requested and data is None:
            return 0
        total = 0
        for field_node, field_def in self._fields(root, operation.selection_set):
            value = None if requested else (data or {}).get(_key(field_node))
            if not requested and _key(field_node) not in (data or {}):
                continue
            if is_mutation:
                total += MUTATION_COST + self._payload_cost(field_def, field_node, value, requested)
            else:
                total += self._field_cost(field_def, field_node, value, requested)
        return total

    def _payload_cost(
        self, field_def: GraphQLField, node: FieldNode, value: Any, requested: bool
    ) -> int:
        """A mutation payload: its direct objects are covered by the mutation's base cost."""
        payload_type = get_named_type(field_def.type)
        if node.selection_set is None or is_leaf_type(payload_type):
            return 0
        if not requested and value is None:
            return 0
        total = 0
        for child_node, child_def in self._fields(payload_type, node.selection_set):  # type: ignore[arg-type]
            child_value = None if requested else _get(value, _key(child_node))
            cost = self._field_cost(child_def, child_node, child_value, requested)
            child_type = get_named_type(child_def.type)
            if not is_leaf_type(child_type) and not _is_connection(child_type) and cost > 0:
                cost -= 1  # the object itself is part of the mutation's 10
            total += cost
        return total

    def _field_cost(
        self, field_def: GraphQLField, node: FieldNode, value: Any, requested: bool
    ) -> int:
        named = get_named_type(field_def.type)
        if is_leaf_type(named) or node.selection_set is None:
            return 0
        if _is_connection(named):
            return self._connection_cost(named, node, value, requested)  # type: ignore[arg-type]
        own = 0 if named.name in FREE_TYPES else 1
        if not requested:
            if value is None:
                return own
            if isinstance(value, list):
                # A list of objects is charged once, for its most expensive element.
                inner = max(
                    (
                        self._selection_cost(named, node.selection_set, item, False)
                        for item in value
                    ),
                    default=0,
                )
                return own + inner
        return own + self._selection_cost(named, node.selection_set, value, requested)  # type: ignore[arg-type]

    def _connection_cost(
        self, conn_type: GraphQLObjectType, node: FieldNode, value: Any, requested: bool
    ) -> int:
        if requested:
            args = self._arguments(node)
            count = args.get("first") or args.get("last") or 0
            items: list[Any] = []
        else:
            if value is None:
                return CONNECTION_BASE_COST
            items = _connection_items(value)
            count = len(items)
        per_node = 0
        for child_node, child_def in self._fields(conn_type, node.selection_set):  # type: ignore[arg-type]
            name = child_node.name.value
            if name == "nodes":
                per_node = max(per_node, self._node_cost(child_def, child_node, items, requested))
            elif name == "edges" and child_node.selection_set is not None:
                edge_type = get_named_type(child_def.type)
                for edge_child, edge_def in self._fields(edge_type, child_node.selection_set):  # type: ignore[arg-type]
                    if edge_child.name.value == "node":
                        per_node = max(
                            per_node, self._node_cost(edge_def, edge_child, items, requested)
                        )
        return CONNECTION_BASE_COST + connection_size(count) * per_node

    def _node_cost(
        self, field_def: GraphQLField, node: FieldNode, items: list[Any], requested: bool
    ) -> int:
        named = get_named_type(field_def.type)
        if node.selection_set is None or is_leaf_type(named):
            return 1
        if requested:
            return 1 + self._selection_cost(named, node.selection_set, None, True)  # type: ignore[arg-type]
        return 1 + max(
            (self._selection_cost(named, node.selection_set, item, False) for item in items),
            default=0,
        )

    def _selection_cost(
        self, parent: _CompositeType, selection_set: SelectionSetNode, value: Any, requested: bool
    ) -> int:
        if isinstance(parent, GraphQLObjectType):
            candidates = [parent]
        else:
            candidates = list(self.schema.get_possible_types(parent))
            typename = value.get("__typename") if isinstance(value, dict) else None
            if typename:
                candidates = [t for t in candidates if t.name == typename] or candidates
        best = 0
        for concrete in candidates:
            total = 0
            for child_node, child_def in self._fields(concrete, selection_set):
                child_value = None if requested else _get(value, _key(child_node))
                if not requested and value is not None and _key(child_node) not in value:
                    continue
                total += self._field_cost(child_def, child_node, child_value, requested)
            best = max(best, total)
        return best

    # -- helpers ----------------------------------------------------------------------------
    def _fields(
        self, parent: _CompositeType, selection_set: SelectionSetNode
    ) -> list[tuple[FieldNode, GraphQLField]]:
        """Field nodes that apply to ``parent`` (a concrete type where possible)."""
        found: list[tuple[FieldNode, GraphQLField]] = []
        self._collect(parent, selection_set, found, set())
        return found

    def _collect(
        self,
        parent: _CompositeType,
        selection_set: SelectionSetNode,
        found: list[tuple[FieldNode, GraphQLField]],
        visited: set[str],
    ) -> None:
        fields = getattr(parent, "fields", {})
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                # Introspection is charged like any object (a capture shows __type costing 2).
                field_def = _META_FIELDS.get(name) or fields.get(name)
                if field_def is not None:
                    found.append((selection, field_def))
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(
                    parent, selection.type_condition and selection.type_condition.name.value
                ):
                    self._collect(parent, selection.selection_set, found, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in visited:
                    continue
                if self._applies(parent, fragment.type_condition.name.value):
                    self._collect(parent, fragment.selection_set, found, visited | {name})

    def _applies(self, parent: _CompositeType, condition: str | None) -> bool:
        if condition is None or condition == parent.name:
            return True
        condition_type = self.schema.get_type(condition)
        if isinstance(parent, GraphQLObjectType) and isinstance(
            condition_type, GraphQLInterfaceType | GraphQLUnionType
        ):
            return self.schema.is_sub_type(condition_type, parent)
        # An abstract parent with a concrete condition: counted on the abstract level.
        return isinstance(parent, GraphQLInterfaceType | GraphQLUnionType)

    def _arguments(self, node: FieldNode) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = value_from_ast(argument.value, _INT, self.variables)
                if isinstance(value, int):
                    values[argument.name.value] = value
        return values


def _is_connection(named: Any) -> bool:
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "pageInfo" in named.fields
    )


def _connection_items(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        return []
    nodes = value.get("nodes")
    if isinstance(nodes, list):
        return nodes
    edges = value.get("edges")
    if isinstance(edges, list):
        return [edge.get("node") if isinstance(edge, dict) else None for edge in edges]
    return []


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _int_type() -> Any:
    from graphql import GraphQLInt

    return GraphQLInt


_INT = _int_type()
