"""Every operation file is one named operation, valid against the vendored schema, and
uses no deprecated field or argument unless listed (with a reason) below."""

from importlib import resources

import pytest
from graphql import GraphQLError, TypeInfo, parse, validate, visit
from graphql.language import (
    ArgumentNode,
    EnumValueNode,
    FieldNode,
    OperationDefinitionNode,
    Visitor,
)
from graphql.utilities import TypeInfoVisitor

from fulfillbridge.shopify import Operation, OperationError, operation, operation_names
from fulfillbridge.shopify.schema import admin_schema

# "Type.field" (or "Type.field(arg)") -> why the deprecated item is still used.
ALLOWED_DEPRECATED: dict[str, str] = {}


class _DeprecationFinder(Visitor):
    def __init__(self, type_info: TypeInfo):
        super().__init__()
        self.type_info = type_info
        self.found: list[str] = []

    def enter_field(self, node: FieldNode, *_args):
        field_def = self.type_info.get_field_def()
        parent = self.type_info.get_parent_type()
        if field_def is not None and field_def.deprecation_reason is not None:
            self.found.append(f"{parent.name}.{node.name.value}")

    def enter_argument(self, node: ArgumentNode, *_args):
        arg = self.type_info.get_argument()
        field_def = self.type_info.get_field_def()
        parent = self.type_info.get_parent_type()
        if arg is not None and arg.deprecation_reason is not None and field_def is not None:
            self.found.append(f"{parent.name}.{field_def.ast_node.name.value}({node.name.value})")

    def enter_enum_value(self, node: EnumValueNode, *_args):
        enum_value = self.type_info.get_enum_value()
        if enum_value is not None and enum_value.deprecation_reason is not None:
            self.found.append(f"enum value {node.value}")


def problems(document: str, *, file_name: str) -> list[str]:
    """Everything wrong with one operation file's text (empty when it is fine)."""
    found: list[str] = []
    try:
        Operation.from_document(document, expected_name=file_name)
    except OperationError as exc:
        return [str(exc)]
    schema = admin_schema()
    ast = parse(document)
    errors: list[GraphQLError] = validate(schema, ast)
    found.extend(f"invalid: {e.message}" for e in errors)
    if errors:
        return found
    type_info = TypeInfo(schema)
    finder = _DeprecationFinder(type_info)
    visit(ast, TypeInfoVisitor(type_info, finder))
    found.extend(f"deprecated: {item}" for item in finder.found if item not in ALLOWED_DEPRECATED)
    ops = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(ops) == 1
    return found


def _text(name: str) -> str:
    return (
        resources.files("fulfillbridge.shopify.operations")
        .joinpath(name + ".graphql")
        .read_text(encoding="utf-8")
    )


def test_operations_exist():
    assert {"ShopInfo", "AccessScopes", "Locations"} <= set(operation_names())


@pytest.mark.parametrize("name", operation_names())
def test_operation_file_is_valid(name):
    assert problems(_text(name), file_name=name) == []
    op = operation(name)
    assert op.name == name
    assert op.kind in ("query", "mutation")


def test_allowed_deprecations_are_still_used():
    # Keep the allow-list honest: an entry nothing uses any more must be removed.
    used: set[str] = set()
    for name in operation_names():
        schema = admin_schema()
        type_info = TypeInfo(schema)
        finder = _DeprecationFinder(type_info)
        visit(parse(_text(name)), TypeInfoVisitor(type_info, finder))
        used.update(finder.found)
    assert set(ALLOWED_DEPRECATED) <= used


# -- the checks catch bad edits ------------------------------------------------------------


def test_catches_unknown_field():
    broken = _text("ShopInfo").replace("myshopifyDomain", "myShopifyDomainTypo")
    assert any("myShopifyDomainTypo" in p for p in problems(broken, file_name="ShopInfo"))


def test_catches_wrong_argument_type():
    broken = _text("Locations").replace("$first: Int!", "$first: String!")
    assert any(p.startswith("invalid:") for p in problems(broken, file_name="Locations"))


def test_catches_deprecated_field():
    broken = _text("ShopInfo").replace("    email\n", "    email\n    billingAddress { city }\n")
    assert "deprecated: Shop.billingAddress" in problems(broken, file_name="ShopInfo")


def test_catches_deprecated_argument():
    doc = "query Imgs { shop { productImages(first: 1, maxWidth: 10) { nodes { id } } } }"
    found = problems(doc, file_name="Imgs")
    assert "deprecated: Shop.productImages" in found
    assert "deprecated: Shop.productImages(maxWidth)" in found


def test_catches_two_operations_and_wrong_name():
    two = _text("ShopInfo") + "\nquery Other { shop { id } }\n"
    assert any("exactly one operation" in p for p in problems(two, file_name="ShopInfo"))
    assert any(
        "holds an operation named" in p for p in problems(_text("ShopInfo"), file_name="Shop")
    )
    assert any("does not parse" in p for p in problems("query X {", file_name="X"))
