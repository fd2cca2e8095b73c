"""Fuzzing: queries and mutations generated from the live schema by hypothesis-graphql, sent over HTTP as a
tenant admin and an agency admin. No 500s, no internals in any error, and the database stays consistent."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import asyncpg
import graphql
import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries
from sqlmodel import SQLModel

from app.rules.lifecycle import STATES
from persistence import tables  # noqa: F401  (every table in the metadata)
from persistence.db import sync_url
from persistence.lengths import column_limits
from schema.api import build_schema
from tests.api.helpers import create_code, create_producer, transition_mutation
from tests.api.registry_helpers import agency, entry_with, load_registry, onboarded

SSN = "531-27-8846"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))  # per strategy and role; raise it to hunt
LEAKS = re.compile(r"Traceback|File \"|SELECT |INSERT |UPDATE |DELETE FROM|sqlalchemy|asyncpg|psycopg"
                   + "|" + re.escape(SSN) + "|" + SSN.replace("-", ""), re.IGNORECASE)
SCHEMA = build_schema()._schema
# files travel as multipart (tests/api/test_bulk_files.py); everything else is generated
UPLOADS = {name for name, field in SCHEMA.mutation_type.fields.items()
           if any(graphql.get_named_type(a.type).name == "Upload" for a in field.args.values())}


@dataclass
class Seed:
    tenant_id: str
    admin: str
    agency_admin: str
    ids: list[str]
    codes: list[str]


@pytest.fixture(scope="module")
async def seed(app: Any, gql: Any, tmp_path_factory: Any) -> Seed:
    """A tenant with an agency, a few producers and codes, a license, a quote and an SSN-onboarded agent."""
    from app import tenants
    from app.tenant_config import default_config_dict

    tenant = await tenants.create_tenant(app.state.sessions, "fuzz", default_config_dict())
    admin = gql.token(tenant.id, "TENANT_ADMIN")
    acme = await agency(gql, admin, name="Fuzz Agency")
    agents = [await create_producer(gql, admin, parent=acme["id"], lastName=f"Agent{i}") for i in range(3)]
    await gql.ok(transition_mutation("validate"), {"id": agents[0]["id"]}, token=admin)
    codes = [await create_code(gql, admin, a["id"], code=f"FZ-{i}") for i, a in enumerate(agents)]
    license = await gql.ok("""mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
        license { id } userErrors { code } } }""", {"input": {
        "type": "StateLicense", "producerId": agents[0]["id"], "licenseNumber": "FZ-L-1", "jurisdictions": ["CA"],
        "linesOfAuthority": ["Property"]}}, token=admin)
    quote = await gql.ok("""mutation { createQuote(input: {product: "Travel", jurisdiction: "CA",
        effectiveTime: "2026-01-01T00:00:00Z"}) { quote { id } userErrors { code } } }""", token=admin)
    await load_registry(app, tenant.id, [entry_with("7001", SSN, "Fuzz", ("CA", "0F1", ["Life"]))],
                        tmp_path_factory.mktemp("registry"))
    agency_admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])
    onboarding = await onboarded(gql, agency_admin, ssn=SSN, lastName="Fuzz", email="fuzz@example.com")
    ids = [acme["id"], *(a["id"] for a in agents), *(c["id"] for c in codes),
           license["createLicense"]["license"]["id"], quote["createQuote"]["quote"]["id"],
           onboarding["id"], onboarding["producer"]["id"]]
    return Seed(tenant.id, admin, agency_admin, ids, [f"FZ-{i}" for i in range(3)])


# one string just over each column limit of the tables: PostgreSQL would refuse it, the API must say why
OVER_LONG = sorted({"x" * (limit + 1) for model in SQLModel.metadata.tables.values()
                    for limit in column_limits(model).values()}, key=len)


def scalars(seed: Seed) -> dict[str, st.SearchStrategy[Any]]:
    """Custom scalars, and IDs and strings that sometimes name real objects, or are too long for any column."""
    text = st.text(max_size=40)
    return {
        "ID": st.one_of(st.sampled_from(seed.ids), text).map(nodes.String),
        "String": st.one_of(st.sampled_from([*seed.codes, SSN, "CA", "Property", "Travel", "StateLicense",
                                             "AgentCode", "Agent", "Agency"]), text,
                            st.sampled_from(OVER_LONG)).map(nodes.String),
        "DateTime": st.one_of(st.datetimes().map(lambda d: d.isoformat() + "Z"),
                              st.datetimes().map(lambda d: d.isoformat()), text).map(nodes.String),
        "JSON": st.one_of(st.integers(), text, st.booleans()).map(
            lambda v: nodes.String(v) if isinstance(v, str) else
            nodes.Boolean(v) if isinstance(v, bool) else nodes.Int(v)),
        "Upload": st.just(graphql.NullValueNode()),
    }


def generate(strategy: st.SearchStrategy[str], count: int) -> list[str]:
    """`count` documents drawn by Hypothesis (generation only: the sending is async)."""
    found: list[str] = []

    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(document: str) -> None:
        found.append(document)

    collect()
    return found


async def send_all(http: Any, documents: list[str], token: str) -> list[str]:
    """Problems found: 500s, and error texts carrying stack traces, SQL or the seeded SSN."""
    problems = []
    for document in documents:
        try:
            response = await http.post("/graphql", json={"query": document},
                                       headers={"Authorization": f"Bearer {token}"})
        except BaseException as exc:  # noqa: BLE001 - a request the server could not answer at all
            problems.append(f"{type(exc).__name__} escaped for {document}")
            continue
        if response.status_code >= 500:
            problems.append(f"{response.status_code} for {document}")
            continue
        body = response.json()
        for error in body.get("errors") or []:
            if LEAKS.search(str(error)):
                problems.append(f"leak {error} for {document}")
            if error.get("extensions", {}).get("code") == "INTERNAL_SERVER_ERROR":
                problems.append(f"internal error for {document}")
        digits = SSN.replace("-", "")
        if digits in str(body.get("data")).replace("-", "") and digits not in document.replace("-", ""):
            problems.append(f"SSN in data for {document}")  # the seeded SSN, not the caller's own echo
    return problems


@pytest.mark.parametrize("role", ["admin", "agency_admin"])
async def test_generated_queries_never_crash_or_leak(http, seed, role):
    documents = generate(queries(SCHEMA, custom_scalars=scalars(seed), allow_x00=False), EXAMPLES)
    assert await send_all(http, documents, getattr(seed, role)) == []


@pytest.mark.parametrize("role", ["admin", "agency_admin"])
async def test_generated_mutations_never_crash_or_leak(http, seed, role):
    fields = [name for name in SCHEMA.mutation_type.fields if name not in UPLOADS]
    documents = generate(mutations(SCHEMA, fields=fields, custom_scalars=scalars(seed), allow_x00=False), EXAMPLES)
    assert await send_all(http, documents, getattr(seed, role)) == []


LIST_ARGUMENTS = [
    ("query($v: [ID!]!) { nodes(ids: $v) { id } }", "an id"),
    ("mutation($v: [ID!]!) { removeProducers(ids: $v) { userErrors { code } } }", "an id"),
    ("mutation($v: [NewFlagInput!]!) { addUnderwritingFlags(flags: $v) { userErrors { code } } }",
     {"level": "INFO", "tag": "t"}),
    ("mutation($v: [Int!]!) { retryBulkOnboardingRows(jobId: \"x\", rowNumbers: $v) { userErrors { code } } }", 2),
]


async def send_raw(http: Any, body: bytes, token: str) -> str | None:
    """A problem when the server answers `body` with a 5xx, an internal error or internals; else None."""
    try:
        response = await http.post("/graphql", content=body, headers={"Authorization": f"Bearer {token}",
                                                                    "Content-Type": "application/json"})
    except BaseException as exc:  # noqa: BLE001
        return f"{type(exc).__name__} escaped for {body[:80]!r}"
    if response.status_code >= 500 or "INTERNAL_SERVER_ERROR" in response.text or LEAKS.search(response.text):
        return f"{response.status_code} {response.text[:200]} for {body[:80]!r}"
    return None


async def test_hostile_requests_never_crash_or_leak(http, seed):
    from tests.security.test_malformed_requests import BODIES

    bodies = [body for body, _ in BODIES.values()]
    for document, item in LIST_ARGUMENTS:  # huge lists, just over the limit and far over it
        for length in (1001, 30_000):
            bodies.append(orjson.dumps({"query": document, "variables": {"v": [item] * length}}))
    deep = "{" + "producers { nodes { " * 300 + "id" + " } }" * 300 + "}"
    bodies += [orjson.dumps({"query": deep}), b'{"query": "{ producers(first: 1, search: \\"\\ud800\\") { totalCount } }"}']
    problems = [p for body in bodies if (p := await send_raw(http, body, seed.admin)) is not None]
    assert problems == []


async def test_the_database_is_consistent_after_fuzzing(app, seed):
    connection = await asyncpg.connect(sync_url(app.state.database_url))
    try:
        orphans = await connection.fetch("""
            SELECT p.id FROM producers p LEFT JOIN producers parent
              ON parent.id = p.parent_id AND parent.tenant_id = p.tenant_id
            WHERE p.parent_id IS NOT NULL AND parent.id IS NULL""")
        wrong_ancestry = await connection.fetch("""
            SELECT p.id FROM producers p LEFT JOIN producers parent ON parent.id = p.parent_id
            WHERE p.ancestry IS DISTINCT FROM (CASE WHEN p.parent_id IS NULL THEN ARRAY[]::text[]
                                                   ELSE parent.ancestry || parent.id::text END)""")
        stray_codes = await connection.fetch("""
            SELECT c.id FROM producer_codes c LEFT JOIN producers p
              ON p.id = c.producer_id AND p.tenant_id = c.tenant_id
            WHERE p.id IS NULL""")
        duplicate_codes = await connection.fetch("""
            SELECT tenant_id, code FROM producer_codes WHERE code IS NOT NULL
            GROUP BY tenant_id, code HAVING count(*) > 1""")
        bad_states = await connection.fetch("""
            SELECT 'producer' AS kind, id, state FROM producers WHERE state <> ALL($1::text[])
            UNION ALL SELECT 'code', id, state FROM producer_codes WHERE state <> ALL($1::text[])""", list(STATES))
        producers = await connection.fetchval("SELECT count(*) FROM producers WHERE tenant_id = $1", seed.tenant_id)
    finally:
        await connection.close()
    assert [r["id"] for r in orphans] == []
    assert [r["id"] for r in wrong_ancestry] == []
    assert [r["id"] for r in stray_codes] == []
    assert [dict(r) for r in duplicate_codes] == []
    assert [dict(r) for r in bad_states] == []
    assert producers >= 5  # the seed (an agency, three agents, one onboarded) is still there, changed or not


# ---- what the fuzzer found, pinned -------------------------------------------------------------

async def test_text_with_a_nul_character_is_refused_before_it_reaches_the_database(gql, new_tenant, statements):
    tenant = await new_tenant()
    await gql("{ producers { totalCount } }", token=tenant.admin)
    with statements:
        literal = await gql('{ producerCodeByCode(code: "A\\u0000B") { id } }', token=tenant.admin)
        variable = await gql("query($code: String!) { producerCodeByCode(code: $code) { id } }", {"code": "A\x00B"},
                             token=tenant.admin)
        nested = await gql("""mutation($input: CreateProducerInput!) { createProducer(input: $input) {
            producer { id } } }""", {"input": {"type": "Agent", "lastName": "X", "data": {"k\x00": 1}}},
                           token=tenant.admin)
    assert statements.count == 0
    for body in (literal, variable, nested):
        assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CHARACTER"]


@pytest.mark.parametrize("data", [0, True, "text", [1, 2]])
async def test_extension_data_that_is_not_an_object_is_a_user_error(gql, new_tenant, data):
    tenant = await new_tenant()
    result = await gql.ok("""mutation($input: CreateProducerInput!) { createProducer(input: $input) {
        producer { id } userErrors { code field message } } }""",
                          {"input": {"type": "Agent", "lastName": "X", "data": data}}, token=tenant.admin)
    assert result["createProducer"]["producer"] is None
    assert [(e["code"], e["field"]) for e in result["createProducer"]["userErrors"]] == [("INVALID_DATA",
                                                                                      ["input", "data"])]


async def test_a_failing_field_does_not_cancel_siblings_that_share_a_loaded_object(gql, new_tenant, monkeypatch):
    # given two agents under one agency, and a qualification check that fails unexpectedly
    import resolvers.licenses

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("qualification exploded")

    monkeypatch.setattr(resolvers.licenses, "qualify_producer", broken)
    tenant = await new_tenant()
    acme = await create_producer(gql, tenant.admin, type="Agency")
    x = await create_producer(gql, tenant.admin, parent=acme["id"])
    y = await create_producer(gql, tenant.admin, parent=acme["id"])
    # when one alias fails on a non-null field while the other loads the same parent
    body = await gql("""query($x: ID!, $y: ID!) {
        a: producer(id: $x) { parent { id } qualification(product: "Travel", jurisdiction: "CA") { qualified } }
        b: producer(id: $y) { parent { id } } }""", {"x": x["id"], "y": y["id"]}, token=tenant.admin)
    # then the failure is masked on its own path and the sibling still answers
    assert body["data"] == {"a": None, "b": {"parent": {"id": acme["id"]}}}
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] in error["message"]
