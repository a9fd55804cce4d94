"""The vendored Shopify Admin GraphQL schema (API version 2026-07), built once per process."""

from __future__ import annotations

import functools
from importlib import resources

from graphql import GraphQLSchema, build_schema

API_VERSION = "2026-07"
SCHEMA_FILE = "admin-2026-07.graphql"


def schema_sdl() -> str:
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


@functools.cache
def admin_schema() -> GraphQLSchema:
    """Build the schema once; it takes about two seconds, so every caller shares it."""
    return build_schema(schema_sdl(), no_location=True)
