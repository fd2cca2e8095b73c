"""The exported SDL (`schema.graphql`), compared with the live schema by a test."""

from __future__ import annotations

import strawberry


def sdl(schema: strawberry.Schema) -> str:
    return schema.as_str().rstrip() + "\n"
