"""The committed `schema.graphql` is the live schema: a client generated from it sees what the server serves."""

from __future__ import annotations

from pathlib import Path

from strawberry.utils.str_converters import to_camel_case

from app.settings import Settings
from schema.api import build_schema
from schema.export import sdl
from schema.producers import ProducerMutation, ProducerQuery

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_schema_graphql_matches_the_live_schema() -> None:
    live = sdl(build_schema(Settings(env="development")))
    committed = SCHEMA_FILE.read_text()
    assert committed == live, (
        "schema.graphql differs from the live schema; run `producer-graph export-schema > schema.graphql` "
        "and commit the result."
    )


def test_export_schema_command_prints_the_live_schema(capsys) -> None:
    from app.runtime.cli import main

    assert main(["export-schema"]) == 0
    assert capsys.readouterr().out == sdl(build_schema(Settings(env="development")))


PRODUCER_TYPES = ("Producer", "ProducerCode", "ProducerConnection", "ProducerCodeConnection", "ProducerPayload",
                  "ProducerCodePayload", "CreateProducerInput", "UpdateProducerInput", "CreateProducerCodeInput",
                  "UpdateProducerCodeInput", "ProducerFilterInput", "UserError", "PageInfo")


def test_producer_fields_and_arguments_are_described() -> None:
    schema = build_schema(Settings(env="development"))._schema
    roots = [schema.query_type, schema.mutation_type]
    own = {f.graphql_name or to_camel_case(f.python_name)
           for mixin in (ProducerQuery, ProducerMutation) for f in mixin.__strawberry_definition__.fields}
    root_fields = [(r.name, n, f) for r in roots if r is not None for n, f in r.fields.items()
                   if n in own | {"node", "nodes"}]
    type_fields = [(t, n, f) for t in PRODUCER_TYPES for n, f in schema.type_map[t].fields.items()]  # type: ignore[union-attr]
    missing = [f"{owner}.{name}" for owner, name, field in root_fields + type_fields if not field.description]
    missing += [f"{owner}.{name}({arg})" for owner, name, field in root_fields + type_fields
                for arg, value in getattr(field, "args", {}).items() if not value.description]
    missing += [t for t in PRODUCER_TYPES if not schema.type_map[t].description]
    assert missing == []
