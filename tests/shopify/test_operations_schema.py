"""Every operation file is one named operation, valid against the vendored schema, and
uses no deprecated field or argument unless listed (with a reason) below. Shared fragment
files are checked through the operations that spread them: each must be used by one."""

from collections.abc import Mapping
from importlib import resources
from typing import Any

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
from fulfillbridge.shopify._operations import fragment_definition, fragment_names, fragment_text
from fulfillbridge.shopify.schema import admin_schema

# "Type.field" (or "Type.field(arg)") -> why the deprecated item is still used.
ALLOWED_DEPRECATED: dict[str, str] = {
    "ReturnLineItemType.returnReason": "a return made without a reason definition (older "
    "returns, returnCreate's deprecated input) has its reason only there",
}


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


def problems(
    document: str, *, file_name: str, fragments: Mapping[str, str] | None = None
) -> list[str]:
    """Everything wrong with one operation file's text (empty when it is fine), checked as
    sent: with the shared fragments it spreads (the shipped ones unless ``fragments``)."""
    found: list[str] = []
    try:
        sent = Operation.from_document(document, expected_name=file_name, fragments=fragments)
    except OperationError as exc:
        return [str(exc)]
    schema = admin_schema()
    ast = parse(sent.document)
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


def _shipped_fragments() -> dict[str, str]:
    return {name: fragment_text(name) for name in fragment_names()}


def test_operations_exist():
    assert {"ShopInfo", "AccessScopes", "Locations"} <= set(operation_names())


@pytest.mark.parametrize("name", operation_names())
def test_operation_file_is_valid(name):
    assert problems(_text(name), file_name=name) == []
    op = operation(name)
    assert op.name == name
    assert op.kind in ("query", "mutation")


@pytest.mark.parametrize("name", fragment_names())
def test_fragment_file_is_one_fragment_named_like_it(name):
    assert fragment_definition(name, fragment_text(name)).name.value == name


def test_every_fragment_is_used():
    # A fragment is validated against the schema only through the operations that spread
    # it, so one that nothing spreads would go unchecked (and is dead text anyway).
    used = {f for name in operation_names() for f in operation(name).fragments}
    assert set(fragment_names()) - used == set()


def test_shared_fragments_are_appended_once_each():
    spreading = [name for name in operation_names() if operation(name).fragments]
    assert spreading, "no operation uses a shared fragment"
    for name in spreading:
        op = operation(name)
        for fragment in op.fragments:
            assert op.document.count(f"fragment {fragment} on ") == 1
        assert op.document.startswith(_text(name).rstrip("\n"))


def test_allowed_deprecations_are_still_used():
    # Keep the allow-list honest: an entry nothing uses any more must be removed.
    used: set[str] = set()
    for name in operation_names():
        schema = admin_schema()
        type_info = TypeInfo(schema)
        finder = _DeprecationFinder(type_info)
        visit(parse(operation(name).document), TypeInfoVisitor(type_info, finder))
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


# -- the checks catch bad fragments --------------------------------------------------------

_USES_FRAGMENT = "query UsesFragment { fulfillmentOrders(first: 1) { nodes { ...Outer } } }"
_OUTER = "fragment Outer on FulfillmentOrder { id ...Inner lineItems(first: 1) { nodes { id } } }"
_INNER = "fragment Inner on FulfillmentOrder { status ...Leaf }"
_LEAF = "fragment Leaf on FulfillmentOrder { updatedAt }"


def test_catches_broken_shared_fragment():
    # The fragment is not part of the operation file: a typo in it must still be reported.
    shipped = _shipped_fragments()
    user = next(name for name in operation_names() if operation(name).fragments)
    fragment = operation(user).fragments[0]
    broken = shipped[fragment].replace("\n  id\n", "\n  idTypo\n", 1)
    assert broken != shipped[fragment]
    found = problems(_text(user), file_name=user, fragments={**shipped, fragment: broken})
    assert any(p.startswith("invalid:") and "idTypo" in p for p in found)


def test_catches_deprecated_field_in_shared_fragment():
    shop = "fragment ShopBits on Shop { id billingAddress { city } }"
    found = problems(
        "query ShopThings { shop { ...ShopBits } }",
        file_name="ShopThings",
        fragments={"ShopBits": shop},
    )
    assert found == ["deprecated: Shop.billingAddress"]


def test_catches_spread_of_unknown_fragment():
    found = problems(_USES_FRAGMENT, file_name="UsesFragment", fragments={})
    assert found == [
        "operation UsesFragment spreads ...Outer, but there is no fragment Outer: neither "
        "defined in the operation nor a file fragments/Outer.graphql"
    ]
    found = problems(_USES_FRAGMENT, file_name="UsesFragment", fragments={"Outer": _OUTER})
    assert len(found) == 1 and "fragment Outer spreads ...Inner" in found[0]


def test_shared_fragments_are_appended_transitively_once_each():
    fragments = {"Outer": _OUTER, "Inner": _INNER, "Leaf": _LEAF, "Unused": "fragment Unused"}
    op = Operation.from_document(_USES_FRAGMENT, fragments=fragments)
    assert op.fragments == ("Outer", "Inner", "Leaf")
    assert op.document == "\n\n".join([_USES_FRAGMENT, _OUTER, _INNER, _LEAF]) + "\n"
    assert problems(_USES_FRAGMENT, file_name="UsesFragment", fragments=fragments) == []
    # Spread twice (and again from another fragment): still appended once.
    twice = _USES_FRAGMENT.replace("...Outer", "...Outer ...Inner")
    assert Operation.from_document(twice, fragments=fragments).fragments == (
        "Outer",
        "Inner",
        "Leaf",
    )


def test_operation_without_spreads_is_sent_unchanged():
    doc = "query Plain { shop { id } }"
    op = Operation.from_document(doc, fragments={"Leaf": _LEAF})
    assert (op.document, op.fragments) == (doc, ())


def test_catches_bad_fragment_files():
    def fails(fragments: dict[str, str]) -> str:
        with pytest.raises(OperationError) as caught:
            Operation.from_document(_USES_FRAGMENT, fragments=fragments)
        return str(caught.value)

    assert "holds a fragment named Other" in fails({"Outer": _OUTER.replace("Outer", "Other")})
    assert "exactly one fragment" in fails({"Outer": _OUTER + "\n" + _LEAF})
    assert "exactly one fragment" in fails({"Outer": "query Outer { shop { id } }"})
    assert "fragment Outer does not parse" in fails({"Outer": "fragment Outer on {"})


def test_catches_private_copy_of_shared_fragment():
    doc = _USES_FRAGMENT + "\n" + _OUTER.replace("...Inner", "")
    found = problems(doc, file_name="UsesFragment", fragments={"Outer": _OUTER})
    assert len(found) == 1 and "defines fragment(s) Outer itself" in found[0]


def test_catches_fragment_spread_cycle():
    loop = {"Outer": "fragment Outer on FulfillmentOrder { id ...Outer }"}
    found = problems(_USES_FRAGMENT, file_name="UsesFragment", fragments=loop)
    assert any(p.startswith("invalid:") and "Outer" in p for p in found)


def _selection_tree(selection_set: Any, fragments: dict[str, Any]) -> dict[str, Any]:
    """Field names and their sub-selections, with connections read the same whether
    selected as ``nodes`` or ``edges { node }``, and page info, arguments and directives
    left out."""
    from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode

    tree: dict[str, Any] = {}
    for node in selection_set.selections if selection_set else ():
        if isinstance(node, FragmentSpreadNode):
            tree.update(_selection_tree(fragments[node.name.value].selection_set, fragments))
        elif isinstance(node, InlineFragmentNode):
            tree.update(_selection_tree(node.selection_set, fragments))
        elif isinstance(node, FieldNode) and node.name.value != "pageInfo":
            children = _selection_tree(node.selection_set, fragments)
            if set(children) == {"edges"}:
                children = children["edges"]["node"]
            elif set(children) == {"nodes"}:
                children = children["nodes"]
            tree[node.name.value] = children
    return tree


def test_bulk_backfill_selects_what_the_work_fragment_selects() -> None:
    """The bulk backfill writes the fragment out without page sizes: a field added to one
    and not the other would leave backfilled work without it."""
    from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

    paged = parse(operation("OpenFulfillmentOrders").document)
    fragments = {
        d.name.value: d for d in paged.definitions if isinstance(d, FragmentDefinitionNode)
    }
    fragment = _selection_tree(fragments["WorkFulfillmentOrder"].selection_set, fragments)
    bulk = parse(operation("BulkOpenFulfillmentOrders").document)
    (query,) = [d for d in bulk.definitions if isinstance(d, OperationDefinitionNode)]
    written_out = _selection_tree(query.selection_set, {})["fulfillmentOrders"]
    assert written_out == fragment
