"""Executes Admin GraphQL documents against the vendored schema with the sandbox resolvers.

The schema is built once per process (``shopify.schema.admin_schema``); parsing and
validation are cached per document string. Resolvers registered in ``sandbox.registry`` are
dispatched by ``(parent type, field)`` from one field resolver, so the shared schema object
is never modified. Errors are shaped like Shopify's (graphql-ruby) answers, as recorded in
the captures.
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    coerce_input_value,
    execute,
    get_nullable_type,
    is_input_type,
    parse,
    print_ast,
    type_from_ast,
    validate,
)

from fulfillbridge.sandbox import registry
from fulfillbridge.sandbox.registry import Context, FieldSpec, TopLevelError
from fulfillbridge.shopify.schema import admin_schema

logger = logging.getLogger(__name__)

DOCUMENT_CACHE_LIMIT = 2048
ACCESS_SCOPES_DOCS = "https://shopify.dev/api/usage/access-scopes"  # as Shopify sends it


class SandboxNotImplemented(Exception):
    """A field the schema has but the sandbox does not serve."""

    def __init__(self, type_name: str, field_name: str) -> None:
        self.message = f"Field '{type_name}.{field_name}' is not implemented by the sandbox"
        super().__init__(self.message)
        self.extensions = {
            "code": "NOT_IMPLEMENTED_BY_SANDBOX",
            "typeName": type_name,
            "fieldName": field_name,
        }


class AccessDenied(Exception):
    """Shopify's ACCESS_DENIED field error (shape from the fulfillment-order captures)."""

    def __init__(self, field_name: str, scopes: tuple[str, ...]) -> None:
        required = " or ".join(f"`{scope}` access scope" for scope in scopes) + "."
        self.message = f"Access denied for {field_name} field. Required access: {required}"
        super().__init__(self.message)
        self.extensions = {
            "code": "ACCESS_DENIED",
            "documentation": ACCESS_SCOPES_DOCS,
            "requiredAccess": required,
        }


@dataclass
class PreparedDocument:
    """A parsed and validated document (or the Shopify-shaped errors that refuse it)."""

    document: DocumentNode | None
    errors: list[dict[str, Any]] | None
    operations: dict[str | None, OperationDefinitionNode] = field(default_factory=dict)
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)

    def operation(self, name: str | None) -> OperationDefinitionNode | dict[str, Any]:
        """The operation to run, or a Shopify-shaped error."""
        if name:
            found = self.operations.get(name)
            if found is None:
                return {"message": f'No operation named "{name}"'}
            return found
        if len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return {"message": "An operation name is required"}


def load_resolvers() -> None:
    """Import every module of ``fulfillbridge.sandbox.resolvers`` (they register on import)."""
    package = importlib.import_module("fulfillbridge.sandbox.resolvers")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


class Executor:
    """Runs documents for any shop; one instance per process is enough."""

    def __init__(self, schema: GraphQLSchema | None = None) -> None:
        self.schema = schema or admin_schema()
        load_resolvers()
        self.fields: dict[tuple[str, str], FieldSpec] = registry.registered_fields()
        self._documents: dict[str, PreparedDocument] = {}

    # -- preparation ------------------------------------------------------------------------
    def prepare(self, query: str) -> PreparedDocument:
        cached = self._documents.get(query)
        if cached is not None:
            return cached
        prepared = self._prepare(query)
        if len(self._documents) >= DOCUMENT_CACHE_LIMIT:
            self._documents.clear()  # crude but bounded; real clients reuse few documents
        self._documents[query] = prepared
        return prepared

    def _prepare(self, query: str) -> PreparedDocument:
        try:
            document = parse(query)
        except GraphQLError as error:
            return PreparedDocument(None, [_syntax_error(error)])
        errors = validate(self.schema, document)
        if errors:
            return PreparedDocument(
                document, [_validation_error(error, document) for error in errors]
            )
        operations: dict[str | None, OperationDefinitionNode] = {}
        fragments: dict[str, FragmentDefinitionNode] = {}
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                operations[definition.name.value if definition.name else None] = definition
            elif isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = definition
        return PreparedDocument(document, None, operations, fragments)

    # -- execution --------------------------------------------------------------------------
    def variable_errors(
        self, operation: OperationDefinitionNode, variables: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Shopify's INVALID_VARIABLE errors for variables that do not fit their types."""
        errors: list[dict[str, Any]] = []
        for definition in operation.variable_definitions:
            name = definition.variable.name.value
            var_type = type_from_ast(self.schema, definition.type)
            if var_type is None or not is_input_type(var_type):
                continue
            type_text = _type_text(definition.type)
            location = _locations(definition)
            if name not in variables:
                if definition.default_value is None and type_text.endswith("!"):
                    errors.append(
                        {
                            "message": f"Variable ${name} of type {type_text} was provided "
                            "invalid value",
                            "locations": location,
                            "extensions": {
                                "code": "INVALID_VARIABLE",
                                "value": None,
                                "problems": [
                                    {"path": [], "explanation": "Expected value to not be null"}
                                ],
                            },
                        }
                    )
                continue
            problems = _coercion_problems(variables[name], var_type)
            if problems:
                where = ".".join(str(p) for p in problems[0]["path"])
                detail = f" for {where}" if where else ""
                errors.append(
                    {
                        "message": f"Variable ${name} of type {type_text} was provided invalid "
                        f"value{detail} ({problems[0]['explanation']})",
                        "locations": location,
                        "extensions": {
                            "code": "INVALID_VARIABLE",
                            "value": variables[name],
                            "problems": problems,
                        },
                    }
                )
        return errors

    def run(
        self,
        prepared: PreparedDocument,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
        context: Context,
    ) -> ExecutionResult:
        assert prepared.document is not None
        result = execute(
            self.schema,
            prepared.document,
            root_value={},
            context_value=context,
            variable_values=dict(variables or {}),
            operation_name=operation.name.value if operation.name else None,
            field_resolver=self._resolve,
            type_resolver=_resolve_type,
        )
        return result  # type: ignore[return-value]

    def _resolve(self, parent: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        type_name = info.parent_type.name
        spec = self.fields.get((type_name, info.field_name))
        if spec is not None:
            context: Context = info.context
            if spec.scopes and not any(context.has_scope(s) for s in spec.scopes):
                raise AccessDenied(info.field_name, spec.scopes)
            context.extra["info"] = info
            return spec.resolver(parent, context, **args)
        if isinstance(parent, dict):
            try:
                return parent[info.field_name]
            except KeyError:
                raise SandboxNotImplemented(type_name, info.field_name) from None
        if parent is not None and hasattr(parent, info.field_name):
            return getattr(parent, info.field_name)
        raise SandboxNotImplemented(type_name, info.field_name)


def _coercion_problems(value: Any, var_type: Any) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []

    def on_error(path: list[str | int], invalid: Any, error: GraphQLError) -> None:
        problems.append(_problem(list(path), invalid, error, var_type))

    coerce_input_value(value, var_type, on_error)
    return problems


def _resolve_type(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str | None:
    if isinstance(value, dict):
        typename = value.get("__typename")
        if isinstance(typename, str):
            return typename
    raise TopLevelError(
        f"Sandbox resolver for {info.parent_type.name}.{info.field_name} returned a "
        f"{abstract_type.name} without '__typename'",
        "INTERNAL_SERVER_ERROR",
    )


def format_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    """Execution errors as Shopify shapes them; unexpected exceptions hide their details."""
    formatted: list[dict[str, Any]] = []
    for error in errors:
        original = error.original_error
        if original is None or isinstance(
            original, GraphQLError | TopLevelError | SandboxNotImplemented | AccessDenied
        ):
            entry = error.formatted
            if not entry.get("extensions"):
                entry.pop("extensions", None)
            formatted.append(dict(entry))
            continue
        # A bug in a resolver: Shopify's internal-error shape, with a hint for sandbox users.
        request_id = str(uuid.uuid4())
        logger.error(
            "sandbox resolver failed at %s (request %s)",
            error.path,
            request_id,
            exc_info=(type(original), original, original.__traceback__),
        )
        formatted.append(
            {
                "message": "Internal error. Looks like something went wrong on our end.\n"
                f"Request ID: {request_id} (include this in support requests).",
                "extensions": {
                    "code": "INTERNAL_SERVER_ERROR",
                    "requestId": request_id,
                    "sandboxDetail": f"{type(original).__name__} at "
                    f"{'.'.join(str(p) for p in error.path or [])}",
                },
                "path": error.path,
            }
        )
    return formatted


# -- Shopify-shaped validation errors --------------------------------------------------------
def _locations(node: Node | None) -> list[dict[str, int]]:
    if node is None or node.loc is None:
        return []
    location = node.loc.source.get_location(node.loc.start)
    return [{"line": location.line, "column": location.column}]


def _type_text(type_node: Any) -> str:
    from graphql import print_ast

    return print_ast(type_node)


def _type_at(var_type: Any, path: list[str | int]) -> Any:
    current = var_type
    for step in path:
        current = get_nullable_type(current)
        if isinstance(current, GraphQLList):
            current = current.of_type
        elif isinstance(current, GraphQLInputObjectType) and isinstance(step, str):
            found = current.fields.get(step)
            if found is None:
                return None
            current = found.type
    return get_nullable_type(current)


def _problem(
    path: list[str | int], invalid: Any, error: GraphQLError, var_type: Any
) -> dict[str, Any]:
    """One INVALID_VARIABLE problem in graphql-ruby's words (captures: inventory-quantity-
    contracts legacySetShape, fulfillment-event-create-validation invalidStatusVariable)."""
    import re

    message = error.message
    if match := re.match(r"Field '(\w+)' is not defined by type '(\w+)'", message):
        field_name, type_name = match.groups()
        return {
            "path": [*path, field_name],
            "explanation": f"Field is not defined on {type_name}",
        }
    if match := re.match(r"Field '(\w+)' of required type '[^']+' was not provided", message):
        return {"path": [*path, match.group(1)], "explanation": "Expected value to not be null"}
    target = _type_at(var_type, path)
    if isinstance(target, GraphQLEnumType):
        shown = json.dumps(invalid) if isinstance(invalid, str) else str(invalid)
        return {
            "path": path,
            "explanation": f"Expected {shown} to be one of: {', '.join(target.values)}",
        }
    if message.startswith("Expected non-nullable type"):
        return {"path": path, "explanation": "Expected value to not be null"}
    return {"path": path, "explanation": message.rstrip(".")}


def _syntax_error(error: GraphQLError) -> dict[str, Any]:
    detail = error.message.removeprefix("Syntax Error: ")
    entry: dict[str, Any] = {"message": f"syntax error, {detail}"}
    if error.locations:
        entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return entry


_QUOTED = r"'([^']+)'"


def _validation_error(error: GraphQLError, document: DocumentNode) -> dict[str, Any]:
    """graphql-core's validation message rewritten in graphql-ruby's (Shopify's) words."""
    import re

    message = error.message
    extensions: dict[str, Any] = {"code": "validationFailed"}
    match = re.match(rf"Cannot query field {_QUOTED} on type {_QUOTED}\.", message)
    if match:
        field_name, type_name = match.groups()
        message = f"Field '{field_name}' doesn't exist on type '{type_name}'"
        extensions = {"code": "undefinedField", "typeName": type_name, "fieldName": field_name}
    elif match := re.match(rf"Unknown argument {_QUOTED} on field {_QUOTED}\.", message):
        argument, qualified = match.groups()
        field_name = qualified.split(".")[-1]
        message = f"Field '{field_name}' doesn't accept argument '{argument}'"
        extensions = {
            "code": "argumentNotAccepted",
            "name": field_name,
            "typeName": "Field",
            "argumentName": argument,
        }
    elif match := re.match(
        rf"Field {_QUOTED} argument {_QUOTED} of type {_QUOTED} is required", message
    ):
        field_name, argument, _ = match.groups()
        message = f"Field '{field_name}' is missing required arguments: {argument}"
        extensions = {
            "code": "missingRequiredArguments",
            "className": "Field",
            "name": field_name,
            "arguments": argument,
        }
    elif match := re.match(rf"Field {_QUOTED} must not have a selection since type", message):
        field_name = match.group(1)
        type_name = message.split("type '", 1)[1].split("'", 1)[0]
        message = (
            f"Selections can't be made on scalars (field '{field_name}' returns {type_name} "
            "but has selections [...])"
        )
        extensions = {"code": "selectionMismatch", "nodeName": f"field '{field_name}'"}
    elif match := re.match(r"Variable '\$(\w+)' is not defined by operation '(\w+)'", message):
        name, operation = match.groups()
        message = f"Variable ${name} is used by {operation} but not declared"
        extensions = {"code": "variableNotDefined", "variableName": name}
    elif match := re.match(
        r"Variable '\$(\w+)' of type '([^']+)' used in position expecting type '([^']+)'",
        message,
    ):
        name, given, expected = match.groups()
        argument = None
        if error.nodes and len(error.nodes) > 1:
            found = _find_argument(document, error.nodes[1])
            argument = found[1].name.value if found else None
        kind = "Nullability" if given.rstrip("!") == expected.rstrip("!") else "Type"
        message = (
            f"{kind} mismatch on variable ${name} and argument {argument or name} "
            f"({given} / {expected})"
        )
        extensions = {
            "code": "variableMismatch",
            "variableName": name,
            "typeName": given,
            "argumentName": argument or name,
            "errorMessage": f"{kind} mismatch",
        }
    elif match := re.match(r"Unknown type '(\w+)'", message):
        type_name = match.group(1)
        variable = _variable_of_type(document, type_name)
        message = f"{type_name} isn't a defined input type (on ${variable})"
        extensions = {
            "code": "variableRequiresValidType",
            "typeName": type_name,
            "variableName": variable,
        }
    elif match := re.match(r"Variable '\$(\w+)' is never used", message):
        name = match.group(1)
        message = f"Variable ${name} is declared by {_operation_label(document)} but not used"
        extensions = {"code": "variableNotUsed", "variableName": name}
    elif match := re.match(rf"Field {_QUOTED} of type {_QUOTED} must have a selection", message):
        field_name, type_name = match.groups()
        message = (
            f"Field must have selections (field '{field_name}' returns {type_name} but has no "
            "selections. Did you mean '" + field_name + " { ... }'?)"
        )
        extensions = {"code": "selectionMismatch", "nodeName": f"field '{field_name}'"}
    elif (match := re.match(r"Expected value of type '([^']+)', found (.*)\.$", message)) and (
        error.nodes and (found := _find_argument(document, error.nodes[0])) is not None
    ):
        expected_type, _ = match.groups()
        field_node, argument, path = found
        value_text = print_ast(argument.value)
        entry = {
            "message": f"Argument '{argument.name.value}' on Field '{field_node.name.value}' has "
            f"an invalid value ({value_text}). Expected type '{expected_type}'.",
            "locations": _locations(field_node),
            "path": path,
            "extensions": {
                "code": "argumentLiteralsIncompatible",
                "typeName": "Field",
                "argumentName": argument.name.value,
            },
        }
        return entry
    entry = {"message": message}
    if error.locations:
        entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.nodes:
        path = _document_path(document, error.nodes[0])
        if path:
            entry["path"] = path
    entry["extensions"] = extensions
    return entry


def _find_argument(
    document: DocumentNode, value_node: Node
) -> tuple[FieldNode, ArgumentNode, list[str]] | None:
    """The field and argument whose literal value is ``value_node`` (directly), with the
    graphql-ruby path to that argument."""
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            continue
        found = _argument_in(definition.selection_set, value_node)
        if found is not None:
            field_node, argument, names = found
            if isinstance(definition, OperationDefinitionNode):
                kind = definition.operation.value
                head = f"{kind} {definition.name.value}" if definition.name else kind
            else:
                head = f"fragment {definition.name.value}"
            return field_node, argument, [head, *names, argument.name.value]
    return None


def _argument_in(
    selection_set: SelectionSetNode | None, value_node: Node
) -> tuple[FieldNode, ArgumentNode, list[str]] | None:
    if selection_set is None:
        return None
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.alias.value if selection.alias else selection.name.value
            for argument in selection.arguments or ():
                if argument.value is value_node:
                    return selection, argument, [name]
            found = _argument_in(selection.selection_set, value_node)
            if found is not None:
                return found[0], found[1], [name, *found[2]]
        elif isinstance(selection, InlineFragmentNode):
            found = _argument_in(selection.selection_set, value_node)
            if found is not None:
                return found
    return None


def _variable_of_type(document: DocumentNode, type_name: str) -> str:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions:
                if _type_text(variable.type).strip("[]!") == type_name:
                    return variable.variable.name.value
    return "?"


def _operation_label(document: DocumentNode) -> str:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            return definition.name.value if definition.name else "anonymous query"
    return "anonymous query"


def _document_path(document: DocumentNode, target: Node) -> list[str] | None:
    """graphql-ruby's static path to a node: ["mutation Name", "field", "child", ...]."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            kind = definition.operation.value
            head = f"{kind} {definition.name.value}" if definition.name else kind
        elif isinstance(definition, FragmentDefinitionNode):
            head = f"fragment {definition.name.value}"
        else:
            continue
        if definition is target:
            return [head]
        found = _find_in_selection(definition.selection_set, target)
        if found is not None:
            return [head, *found]
    return None


def _find_in_selection(selection_set: SelectionSetNode | None, target: Node) -> list[str] | None:
    if selection_set is None:
        return None
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.alias.value if selection.alias else selection.name.value
            if selection is target or any(arg is target for arg in selection.arguments or ()):
                return [name]
            found = _find_in_selection(selection.selection_set, target)
            if found is not None:
                return [name, *found]
        elif isinstance(selection, InlineFragmentNode):
            label = (
                f"... on {selection.type_condition.name.value}"
                if selection.type_condition
                else "..."
            )
            if selection is target:
                return [label]
            found = _find_in_selection(selection.selection_set, target)
            if found is not None:
                return [label, *found]
        elif isinstance(selection, FragmentSpreadNode) and selection is target:
            return [f"... {selection.name.value}"]
    return None


def is_mutation(operation: OperationDefinitionNode) -> bool:
    return operation.operation == OperationType.MUTATION


__all__ = [
    "AccessDenied",
    "Executor",
    "PreparedDocument",
    "SandboxNotImplemented",
    "format_errors",
    "is_mutation",
    "load_resolvers",
]
