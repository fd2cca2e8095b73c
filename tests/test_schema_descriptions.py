"""Every type, field, argument and enum value of the live schema has a description a frontend developer can read."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
)
from graphql.type import specified_scalar_types

from app.settings import Settings
from schema.api import build_schema


def undescribed_elements(schema: GraphQLSchema) -> list[str]:
    """The dotted names of every type, field, argument, input field and enum value without a description."""
    missing: list[str] = []
    for name, gtype in schema.type_map.items():
        if name.startswith("__") or name in specified_scalar_types:
            continue
        if not (gtype.description or "").strip():
            missing.append(name)
        if isinstance(gtype, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in gtype.fields.items():
                if not (field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
                missing += [f"{name}.{field_name}({arg_name})" for arg_name, arg in field.args.items()
                            if not (arg.description or "").strip()]
        elif isinstance(gtype, GraphQLInputObjectType):
            missing += [f"{name}.{field_name}" for field_name, field in gtype.fields.items()
                        if not (field.description or "").strip()]
        elif isinstance(gtype, GraphQLEnumType):
            missing += [f"{name}.{value_name}" for value_name, value in gtype.values.items()
                        if not (value.description or "").strip()]
        else:
            assert isinstance(gtype, (GraphQLScalarType, GraphQLUnionType))
    return sorted(missing)


def test_every_type_field_argument_and_enum_value_of_the_live_schema_is_described() -> None:
    # given the schema the server serves
    schema = build_schema(Settings())._schema
    # when every element is checked for a description
    missing = undescribed_elements(schema)
    # then none lacks one (the message names each that does)
    assert missing == [], f"{len(missing)} schema elements have no description:\n" + "\n".join(missing)


def test_the_walk_names_an_undescribed_enum_value_and_argument() -> None:
    # given a schema with one undescribed enum value and one undescribed argument
    from graphql import build_schema as build_sdl

    schema = build_sdl('''
        "Root." type Query { "A field." f("" x: Int): Color }
        "Colours." enum Color { "Red." RED GREEN }
    ''')
    # when it is walked / then both are named
    assert undescribed_elements(schema) == ["Color.GREEN", "Query.f(x)"]
