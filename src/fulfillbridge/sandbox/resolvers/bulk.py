"""GraphQL resolvers of bulk query operations (rules in ``sandbox.domain.bulk``).

The bulk query is run by the sandbox's own executor, with the caller's scopes: every
connection in it is read in pages of 250, the top-level one to its end. Nested connections
are read up to 250 objects per parent (Shopify has no such cap) and only when they are
direct fields of a connection's node (Shopify also allows them under nested objects).
``_steps`` reads one page of the top-level connection per step; ``BulkOperations.start``
runs the steps in the background (see ``sandbox.domain.bulk``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    get_named_type,
    parse,
    print_ast,
)

from fulfillbridge.sandbox.domain.bulk import (
    MAX_CONCURRENT_QUERIES,
    BulkOperation,
    BulkOperations,
    StepFailed,
    flatten,
)
from fulfillbridge.sandbox.pagination import MAX_PAGE_SIZE, connection
from fulfillbridge.sandbox.registry import Context, mutation, node_loader, query
from fulfillbridge.sandbox.resolvers._common import page_args
from fulfillbridge.sandbox.state import ShopState, parse_gid

MAX_PAGES = 1000  # 250,000 top-level objects at most; more fails the operation (TIMEOUT)
_executor: Any = None


def _get_executor() -> Any:
    global _executor
    if _executor is None:
        from fulfillbridge.sandbox.graphql import Executor

        _executor = Executor()
    return _executor


def bulk_of(shop: ShopState) -> BulkOperations:
    return shop.part("bulk", BulkOperations)


def operation_node(ctx: Context, op: BulkOperation) -> dict[str, Any]:
    part = bulk_of(ctx.shop)
    status = part.status(op)
    completed = status == "COMPLETED"
    has_file = completed and bool(op.rows)
    base = str(ctx.extra.get("base_url") or "").rstrip("/")
    return {
        "__typename": "BulkOperation",
        "id": op.gid,
        "type": op.type,
        "status": status,
        "errorCode": op.error_code,
        "createdAt": op.created_at,
        "completedAt": op.completed_at if completed else None,
        # Running totals while the query runs (Shopify docs, BulkOperation.objectCount).
        "objectCount": str(len(op.rows)),
        "rootObjectCount": str(op.root_object_count),
        "fileSize": str(len(op.jsonl())) if has_file else None,
        "url": f"{base}/__sandbox/bulk/{ctx.shop.domain}/{op.id}.jsonl" if has_file else None,
        # Shopify docs: what a failed run read before it failed; null when nothing.
        "partialDataUrl": (
            f"{base}/__sandbox/bulk/{ctx.shop.domain}/{op.id}.partial.jsonl"
            if status == "FAILED" and op.has_partial_data
            else None
        ),
        "query": op.query,
    }


def _user_error(message: str, code: str | None, field: list[str] | None = None) -> dict[str, Any]:
    return {"field": field, "message": message, "code": code}


@mutation("bulkOperationRunQuery")
def resolve_bulk_operation_run_query(
    _parent: Any, ctx: Context, query: str, groupObjects: bool = False
) -> dict[str, Any]:
    part = bulk_of(ctx.shop)
    running = part.running(ctx.app_id)
    if len(running) >= MAX_CONCURRENT_QUERIES:
        # The wording real responses carry when operations already run (no capture here
        # shows it; Shopify's enum also has LIMIT_REACHED, whose use it does not document).
        ids = ", ".join(op.gid for op in running)
        message = f"A bulk query operation for this app and shop is already in progress: {ids}."
        return {
            "bulkOperation": None,
            "userErrors": [_user_error(message, "OPERATION_IN_PROGRESS")],
        }
    try:
        plan = _plan(_get_executor().schema, query)
    except _BulkQueryError as exc:
        return {"bulkOperation": None, "userErrors": [_user_error(str(exc), "INVALID", ["query"])]}
    op = part.create(ctx.app_id, query)
    # Shopify answers with the operation just created (CREATED); the query runs after.
    node = operation_node(ctx, op)
    part.start(op, _steps(ctx, op, plan))
    return {"bulkOperation": node, "userErrors": []}


class _BulkQueryError(Exception):
    pass


class _Plan:
    def __init__(
        self,
        document: DocumentNode,
        root: FieldNode,
        paths: list[tuple[str, ...]],
        uses_edges: bool,
    ) -> None:
        self.document = document
        self.root = root
        self.paths = paths
        self.uses_edges = uses_edges


def _is_connection(type_: Any) -> bool:
    return get_named_type(type_).name.endswith("Connection")


def _node_type(schema: GraphQLSchema, connection_type: Any) -> GraphQLObjectType | None:
    named = get_named_type(connection_type)
    fields = getattr(named, "fields", {})
    if "nodes" not in fields:
        return None
    node = get_named_type(fields["nodes"].type)
    return node if isinstance(node, GraphQLObjectType) else None


def _plan(schema: GraphQLSchema, query: str) -> _Plan:
    try:
        document = parse(query)
    except GraphQLError as exc:
        raise _BulkQueryError(f"Invalid bulk query: {exc.message}") from exc
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation.value != "query":
        raise _BulkQueryError("Bulk queries must contain exactly one query operation.")
    roots = [s for s in operations[0].selection_set.selections if isinstance(s, FieldNode)]
    query_type = schema.query_type
    assert query_type is not None
    connections = [
        r
        for r in roots
        if r.name.value in query_type.fields
        and _is_connection(query_type.fields[r.name.value].type)
    ]
    if len(roots) != 1 or len(connections) != 1:
        raise _BulkQueryError("Bulk queries must contain exactly one top-level connection field.")
    root = connections[0]
    root_type = query_type.fields[root.name.value].type
    node_type = _node_type(schema, root_type)
    uses_edges = _selects(root, "edges")
    node_selection = _node_selection(root)
    if node_type is None or node_selection is None:
        raise _BulkQueryError("Bulk queries must select the nodes of the connection.")
    paths: list[tuple[str, ...]] = []
    _collect(schema, node_type, node_selection, (), paths, depth=1)
    return _Plan(document, root, paths, uses_edges)


def _selects(field_node: FieldNode, name: str) -> bool:
    return any(
        isinstance(s, FieldNode) and s.name.value == name
        for s in (field_node.selection_set.selections if field_node.selection_set else ())
    )


def _node_selection(conn: FieldNode) -> SelectionSetNode | None:
    for selection in conn.selection_set.selections if conn.selection_set else ():
        if not isinstance(selection, FieldNode):
            continue
        if selection.name.value == "nodes":
            return selection.selection_set
        if selection.name.value == "edges" and selection.selection_set:
            for inner in selection.selection_set.selections:
                if isinstance(inner, FieldNode) and inner.name.value == "node":
                    return inner.selection_set
    return None


def _collect(
    schema: GraphQLSchema,
    parent_type: GraphQLObjectType,
    selection: SelectionSetNode,
    prefix: tuple[str, ...],
    paths: list[tuple[str, ...]],
    depth: int,
) -> None:
    has_id = False
    nested: list[tuple[FieldNode, GraphQLObjectType]] = []
    for sel in selection.selections:
        if isinstance(sel, InlineFragmentNode) and sel.selection_set:
            cond = schema.get_type(sel.type_condition.name.value) if sel.type_condition else None
            if isinstance(cond, GraphQLObjectType):
                _collect(schema, cond, sel.selection_set, prefix, paths, depth)
            continue
        if not isinstance(sel, FieldNode):
            continue
        if sel.name.value == "id":
            has_id = True
        field_def = parent_type.fields.get(sel.name.value)
        if field_def is None or not _is_connection(field_def.type):
            continue
        child_type = _node_type(schema, field_def.type)
        if child_type is not None:
            nested.append((sel, child_type))
    if nested and not has_id:
        raise _BulkQueryError(
            "The parent 'node' field for a nested connection must select the 'id' field."
        )
    if nested and depth >= 3:
        raise _BulkQueryError("Bulk queries cannot contain connections nested more than 2 deep.")
    for sel, child_type in nested:
        key = sel.alias.value if sel.alias else sel.name.value
        paths.append((*prefix, key))
        child_selection = _node_selection(sel)
        if child_selection is not None:
            _collect(schema, child_type, child_selection, (*prefix, key), paths, depth + 1)


def _with_pages(document: DocumentNode, root: FieldNode, after: str | None) -> str:
    """The document with ``first: 250`` on every connection (and ``after`` on the root)."""
    schema = _get_executor().schema

    def rewrite(node: FieldNode, parent_type: Any, is_root: bool) -> FieldNode:
        field_def = getattr(get_named_type(parent_type), "fields", {}).get(node.name.value)
        field_type = field_def.type if field_def else None
        selection = node.selection_set
        if selection is not None and field_type is not None:
            selection = _rewrite_set(selection, field_type, rewrite)
            if is_root:
                selection = SelectionSetNode(selections=(*selection.selections, _page_info_node()))
        arguments = tuple(node.arguments or ())
        if field_type is not None and _is_connection(field_type):
            kept = [
                a for a in arguments if a.name.value not in {"first", "last", "after", "before"}
            ]
            kept.append(
                ArgumentNode(
                    name=NameNode(value="first"), value=IntValueNode(value=str(MAX_PAGE_SIZE))
                )
            )
            if is_root and after is not None:
                kept.append(
                    ArgumentNode(name=NameNode(value="after"), value=StringValueNode(value=after))
                )
            arguments = tuple(kept)
        return FieldNode(
            alias=NameNode(value="__bulk_root") if is_root else node.alias,
            name=node.name,
            arguments=arguments,
            directives=node.directives,
            selection_set=selection,
        )

    new_root = rewrite(root, schema.query_type, True)
    operation = OperationDefinitionNode(
        operation=next(
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        ).operation,
        selection_set=SelectionSetNode(selections=(new_root,)),
        variable_definitions=(),
        directives=(),
    )
    others = [d for d in document.definitions if not isinstance(d, OperationDefinitionNode)]
    return print_ast(DocumentNode(definitions=(operation, *others)))


def _rewrite_set(selection: SelectionSetNode, parent_type: Any, rewrite: Any) -> SelectionSetNode:
    out = []
    for sel in selection.selections:
        if isinstance(sel, FieldNode):
            out.append(rewrite(sel, parent_type, False))
        elif isinstance(sel, InlineFragmentNode) and sel.selection_set is not None:
            cond = (
                _get_executor().schema.get_type(sel.type_condition.name.value)
                if sel.type_condition
                else parent_type
            )
            out.append(
                InlineFragmentNode(
                    type_condition=sel.type_condition,
                    directives=sel.directives,
                    selection_set=_rewrite_set(sel.selection_set, cond, rewrite),
                )
            )
        else:
            out.append(sel)
    return SelectionSetNode(selections=tuple(out))


def _page_info_node() -> FieldNode:
    def leaf(name: str) -> FieldNode:
        return FieldNode(name=NameNode(value=name), arguments=(), directives=())

    return FieldNode(
        alias=NameNode(value="__bulk_page"),
        name=NameNode(value="pageInfo"),
        arguments=(),
        directives=(),
        selection_set=SelectionSetNode(selections=(leaf("hasNextPage"), leaf("endCursor"))),
    )


def _steps(ctx: Context, op: BulkOperation, plan: _Plan) -> Iterator[None]:
    """The work of ``op``: one page of the top-level connection per step, its rows added to
    the operation as they come (raises StepFailed with a BulkOperationErrorCode)."""
    executor = _get_executor()
    sub_ctx = Context(
        shop=ctx.shop,
        app_id=ctx.app_id,
        granted_scopes=ctx.granted_scopes,
        extra={k: v for k, v in ctx.extra.items() if k != "info"},
    )
    after: str | None = None
    for _ in range(MAX_PAGES):
        text = _with_pages(plan.document, plan.root, after)
        prepared = executor.prepare(text)
        if prepared.errors:
            raise StepFailed("INTERNAL_SERVER_ERROR")
        operation = prepared.operation(None)
        if isinstance(operation, dict):
            raise StepFailed("INTERNAL_SERVER_ERROR")
        result = executor.run(prepared, operation, {}, sub_ctx)
        if result.errors:
            denied = any(
                getattr(e.original_error, "extensions", {}).get("code") == "ACCESS_DENIED"
                for e in result.errors
            )
            raise StepFailed("ACCESS_DENIED" if denied else "INTERNAL_SERVER_ERROR")
        conn = (result.data or {}).get("__bulk_root") or {}
        page = conn.pop("__bulk_page", {}) or {}
        if plan.uses_edges:
            nodes = [edge["node"] for edge in conn.get("edges") or [] if edge.get("node")]
        else:
            nodes = [n for n in conn.get("nodes") or [] if n]
        rows = flatten(nodes, plan.paths)
        for row in rows:
            row.pop("pageInfo", None)
        op.rows += rows
        op.root_object_count += len(nodes)
        if not page.get("hasNextPage"):
            return
        after = page.get("endCursor")
        yield
    raise StepFailed("TIMEOUT")  # more than MAX_PAGES pages


@query("currentBulkOperation")
def resolve_current_bulk_operation(
    _parent: Any, ctx: Context, type: str = "QUERY"
) -> dict[str, Any] | None:
    op = bulk_of(ctx.shop).current(ctx.app_id, type)
    return operation_node(ctx, op) if op else None


@query("bulkOperation")
def resolve_bulk_operation(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    number = parse_gid(id, "BulkOperation")
    op = bulk_of(ctx.shop).get(number, ctx.app_id) if number is not None else None
    return operation_node(ctx, op) if op else None


@query("bulkOperations")
def resolve_bulk_operations(
    _parent: Any,
    ctx: Context,
    sortKey: str | None = None,
    query: str | None = None,
    **page: Any,
) -> dict[str, Any]:
    part = bulk_of(ctx.shop)
    mine = sorted(
        (op for op in part.operations.values() if op.app_id == ctx.app_id), key=lambda o: o.id
    )
    return connection(
        [operation_node(ctx, op) for op in mine],
        **page_args(page),
        cursor_of=lambda node: int(node["id"].rsplit("/", 1)[1]),
    )


@mutation("bulkOperationCancel")
def resolve_bulk_operation_cancel(_parent: Any, ctx: Context, id: str) -> dict[str, Any]:
    part = bulk_of(ctx.shop)
    number = parse_gid(id, "BulkOperation")
    op = part.get(number, ctx.app_id) if number is not None else None
    if op is None:
        return {
            "bulkOperation": None,
            "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
        }
    status = part.status(op)
    if status not in {"CREATED", "RUNNING"}:
        return {
            "bulkOperation": operation_node(ctx, op),
            "userErrors": [
                {
                    "field": None,
                    "message": f"A bulk operation cannot be canceled when it is {status.lower()}",
                }
            ],
        }
    # CANCELING in the answer; CANCELED once the step under way is over (Shopify docs,
    # BulkOperationStatus: "There may be a short delay ...").
    part.cancel(op)
    return {"bulkOperation": operation_node(ctx, op), "userErrors": []}


@node_loader("BulkOperation")
def load_bulk_operation(ctx: Context, numeric_id: int) -> dict[str, Any] | None:
    op = bulk_of(ctx.shop).get(numeric_id, ctx.app_id)
    return operation_node(ctx, op) if op else None
