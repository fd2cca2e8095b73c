"""Lean resolvers for plain object fields: call the resolver directly, without Strawberry's per-field wrapper.

Strawberry runs every field that has a resolver through the same wrapper: a new `Info`, argument conversion
(`get_arguments`), the field-extension chain (`reduce` over `partial`s) and `get_result`, ten-odd Python calls
around the resolver itself. A page of 100 producers has ~800 such fields that take no argument and need none
of that: the relay `id` of every node and computed fields such as `name`. For a field with no arguments, no
permission classes or other field extensions, no exception handlers and a synchronous resolver, the
graphql-core resolver is replaced by one that calls the resolver the way Strawberry would (`self` first,
`root` / `parent` / `info` by keyword), and the relay `id` builds the `GlobalID` as `Node._id` does.
Root types are left alone: their fields carry permission classes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo
from strawberry.relay import GlobalID, Node
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

_BACKREF = "strawberry-definition"


def _relay_id(id_attr: str) -> Callable[[Any, GraphQLResolveInfo], GlobalID]:
    def resolve(root: Any, info: GraphQLResolveInfo) -> GlobalID:
        # Node._id: the type name from the path, the id from the NodeID attribute (never awaitable here)
        typename = info.path.typename
        assert typename is not None
        return GlobalID(type_name=typename, node_id=str(getattr(root, id_attr)))

    return resolve


def _direct(field: StrawberryField, info_class: type) -> Callable[[Any, GraphQLResolveInfo], Any] | None:
    resolver = field.base_resolver
    if resolver is None or resolver.is_async or field.arguments or field.extensions or field.permission_classes:
        return None
    call = resolver.__call__
    by_self = resolver.self_parameter is not None
    keywords = [p.name for p in (resolver.root_parameter, resolver.parent_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None

    if by_self and not keywords and info_name is None:
        def resolve_self(root: Any, info: GraphQLResolveInfo) -> Any:
            return call(root)

        return resolve_self

    def resolve(root: Any, info: GraphQLResolveInfo) -> Any:
        kwargs: dict[str, Any] = dict.fromkeys(keywords, root)
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=field)
        return call(root, **kwargs) if by_self else call(**kwargs)

    return resolve


def _is_node_id(field: StrawberryField, origin: type) -> bool:
    resolver = field.base_resolver
    return (issubclass(origin, Node) and field.python_name == "_id" and resolver is not None
            and getattr(resolver.wrapped_func, "__func__", None) is getattr(Node._id, "__func__", Node._id)
            and origin.resolve_id.__func__ is Node.resolve_id.__func__  # type: ignore[attr-defined]
            and origin.resolve_typename.__func__ is Node.resolve_typename.__func__)  # type: ignore[attr-defined]


def use_lean_resolvers(schema: strawberry.Schema) -> int:
    """Replace the graphql-core resolvers of eligible fields in place; the number replaced."""
    if schema.exception_handlers:
        return 0
    core = schema._schema
    roots = {t.name for t in (core.query_type, core.mutation_type, core.subscription_type) if t is not None}
    info_class = schema.config.info_class
    replaced = 0
    for type_ in core.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name in roots or type_.name.startswith("__"):
            continue
        definition = (type_.extensions or {}).get(_BACKREF)
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        for gql_field in type_.fields.values():
            field = (gql_field.extensions or {}).get(_BACKREF)
            if not isinstance(field, StrawberryField):
                continue
            if _is_node_id(field, definition.origin):
                lean: Callable[[Any, GraphQLResolveInfo], Any] | None = _relay_id(
                    definition.origin.resolve_id_attr())  # type: ignore[attr-defined]
            else:
                lean = _direct(field, info_class)
            if lean is not None:
                gql_field.resolve = lean
                replaced += 1
    return replaced
