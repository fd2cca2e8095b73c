"""Generated calls: every root field of the live schema with minimal, valid-typed arguments; database snapshots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)

from persistence.db import sync_url

SCALARS: dict[str, Any] = {"String": "x", "Int": 1, "Float": 1.0, "Boolean": False, "JSON": {},
                           "DateTime": "2026-01-01T00:00:00+00:00", "Date": "2026-01-01"}
UPLOAD_CSV = b"lastName,firstName\nRivera,Ana\n"


@dataclass(frozen=True)
class Operation:
    """One root field: `kind` is query, mutation or subscription."""

    kind: str
    name: str
    field: GraphQLField

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def has_id_argument(self) -> bool:
        return any(_mentions_id(arg.type, set()) for arg in self.field.args.values())

    def document(self) -> str:
        """`<kind> Op($a: T!) { field(a: $a) { __typename } }` over the required and the ID arguments."""
        used = [name for name, arg in self.field.args.items() if _wanted(arg.type, arg.default_value)]
        variables = ", ".join(f"${name}: {self.field.args[name].type}" for name in used)
        arguments = ", ".join(f"{name}: ${name}" for name in used)
        head = f"{self.kind} Op({variables})" if used else f"{self.kind} Op"
        call = f"{self.name}({arguments})" if used else self.name
        return f"{head} {{ {call}{selection(self.field.type, payload=self.kind == 'mutation')} }}"

    @property
    def objects_returned(self) -> list[str]:
        """The payload fields holding a single object (a mutation's `producer`, `license`, ...)."""
        named = get_named_type(self.field.type)
        if self.kind != "mutation" or not isinstance(named, GraphQLObjectType):
            return []
        return [name for name, field in named.fields.items() if _single_object(field.type) and not field.args]

    def variables(self, id_value: str) -> dict[str, Any]:
        return {name: dummy(arg.type, id_value) for name, arg in self.field.args.items()
                if _wanted(arg.type, arg.default_value)}

    @property
    def uploads(self) -> list[str]:
        return [name for name, arg in self.field.args.items() if get_named_type(arg.type).name == "Upload"]


def selection(type_: Any, *, payload: bool) -> str:
    """`{ __typename }`, plus `{ __typename }` of each single object a mutation payload holds."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    fields = getattr(named, "fields", {}) if payload else {}
    objects = [name for name, field in fields.items() if _single_object(field.type) and not field.args]
    inner = " ".join(f"{name} {{ __typename }}" for name in objects)
    return f" {{ __typename {inner} }}" if inner else " { __typename }"


def _single_object(type_: Any) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(inner, GraphQLObjectType | GraphQLInterfaceType)


def _wanted(type_: Any, default: Any) -> bool:
    """Required arguments, and every argument that can carry an ID (to aim it at someone else's object)."""
    from graphql.pyutils import Undefined

    required = isinstance(type_, GraphQLNonNull) and default is Undefined
    return required or _mentions_id(type_, set())


def _mentions_id(type_: Any, seen: set[str]) -> bool:
    named = get_named_type(type_)
    if named.name == "ID":
        return True
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        seen.add(named.name)
        return any(_mentions_id(f.type, seen) for f in named.fields.values())
    return False


def dummy(type_: Any, id_value: str) -> Any:
    """A minimal value of `type_`: IDs are `id_value`, input objects get their required and ID fields."""
    if isinstance(type_, GraphQLNonNull):
        return dummy(type_.of_type, id_value)
    if isinstance(type_, GraphQLList):
        return [dummy(type_.of_type, id_value)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {name: dummy(field.type, id_value) for name, field in type_.fields.items()
                if _wanted(field.type, field.default_value)}
    if isinstance(type_, GraphQLScalarType):
        if type_.name == "ID":
            return id_value
        if type_.name == "Upload":
            return None
        return SCALARS.get(type_.name, "x")
    raise TypeError(f"no dummy for {type_}")


def operations(schema: Any, *kinds: str) -> list[Operation]:
    """Every root field of the GraphQL schema, by kind."""
    roots = {"query": schema.query_type, "mutation": schema.mutation_type, "subscription": schema.subscription_type}
    return [Operation(kind, name, field) for kind in kinds if roots[kind] is not None
            for name, field in roots[kind].fields.items()]


async def call(http: Any, operation: Operation, id_value: str, token: str) -> dict[str, Any]:
    """Send the operation over HTTP (multipart when it takes a file); the JSON body."""
    headers = {"Authorization": f"Bearer {token}"}
    variables = operation.variables(id_value)
    payload = {"query": operation.document(), "variables": variables}
    if operation.uploads:
        files = {str(i): ("producers.csv", UPLOAD_CSV, "text/csv") for i, _ in enumerate(operation.uploads)}
        mapping = {str(i): [f"variables.{name}"] for i, name in enumerate(operation.uploads)}
        response = await http.post("/graphql", headers={**headers, "Apollo-Require-Preflight": "1"},
                                   data={"operations": json.dumps(payload), "map": json.dumps(mapping)}, files=files)
    else:
        response = await http.post("/graphql", json=payload, headers=headers)
    assert response.status_code == 200, (str(operation), response.status_code, response.text)
    return response.json()  # type: ignore[no-any-return]


def codes(body: dict[str, Any]) -> set[str]:
    return {e.get("extensions", {}).get("code") for e in body.get("errors") or []}


async def rows(database_url: str) -> set[tuple[str, str]]:
    """Every row of every table as (table, row text): a snapshot to compare before and after."""
    connection = await asyncpg.connect(sync_url(database_url))
    try:
        tables = [r["table_name"] for r in await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'")]
        found: set[tuple[str, str]] = set()
        for table in tables:
            for record in await connection.fetch(f'SELECT t::text AS row FROM "{table}" t'):
                found.add((table, record["row"]))
        return found
    finally:
        await connection.close()


def touching(snapshot: set[tuple[str, str]], needles: set[str]) -> set[tuple[str, str]]:
    """The rows that mention any of `needles` (database ids)."""
    return {row for row in snapshot if any(needle in row[1] for needle in needles)}
