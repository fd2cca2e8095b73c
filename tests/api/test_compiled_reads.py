"""Compiled reads answer exactly what the resolvers answer: every query here runs on two apps over the same
database, one compiling supported queries to one SQL statement and one resolving field by field, as three
callers (tenant admin, an agency-scoped reader, a producer), and the response bodies must be byte-identical."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from sqlalchemy import text

from tests.api.helpers import create_code, create_producer, transition_mutation, validated_producer
from tests.api.test_licenses import CREATE_APPOINTMENT
from tests.api.test_quotes_underwriting import license_for
from tests.conftest import GraphQLClient, settings_for_test

SCALARS = "__typename id locator"


def _fields(type_name: str) -> str:
    """Every field of the type that the compiled path maps to a stored value (so new plain fields are covered)."""
    from resolvers.compiled import Planner
    from schema.api import build_schema

    return " ".join(Planner(build_schema()).values[type_name])


def everything() -> str:
    page_info = "pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }"
    held = (f"(first: 5) {{ __typename totalCount {page_info} edges {{ __typename cursor node {{ {{fields}} "
            f"producer {{ id name }} }} }} nodes {{ id }} }}")
    return f"""query {{ producers(first: 20) {{ __typename totalCount {page_info}
      edges {{ cursor node {{ {_fields("Producer")}
        parent {{ {_fields("Producer")} parent {{ id name }} }}
        ancestors {{ {_fields("Producer")} ancestors {{ id }} }}
        codes {held.replace("{fields}", _fields("ProducerCode"))}
        licenses {held.replace("{fields}", _fields("License"))}
        appointments {held.replace("{fields}", _fields("Appointment"))} }} }} }} }}"""


BENCH = """query($first: Int!) { producers(first: $first) { edges { node {
  id name state parent { id name } ancestors { id name } codes { nodes { code state } }
  licenses { nodes { licenseNumber jurisdictions state } } } } } }"""
FRAGMENTS = """query Named { a: producers(first: 2) { nodes { ...P } }
  b: producers(first: 3) { edges { node { ... on Producer { id } ... on Node { id } x: name } } } __typename }
  fragment P on Producer { id name parent { ...Q } ...Q }
  fragment Q on Producer { locator n: name }"""
MERGED = """{ producers { nodes { parent { id } parent { name } codes(first: 1) { nodes { code } }
  codes(first: 1) { nodes { state } } } } }"""
PAGES = """query($first: Int, $after: String, $codes: Int, $codesAfter: String) {
  producers(first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name codes(first: $codes, after: $codesAfter) { totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { code } } } } } } }"""
FILTERED = """query($filter: ProducerFilterInput) { producers(filter: $filter) { totalCount nodes { name state type } } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def resolved(database_url: str, settings: Any) -> AsyncIterator[GraphQLClient]:
    """The same server with compiled reads off: every query resolved field by field."""
    from app.runtime.server import create_app

    application = create_app(settings_for_test(compiled_reads=False), database_url=database_url, migrate=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield GraphQLClient(client, settings)


@pytest.fixture(scope="module")
async def world(app: Any, gql: Any) -> dict[str, Any]:
    """Two agency trees with agents, codes in several states, licenses, an appointment, and stored values
    at the edges of formatting: whole-second and fractional timestamps, empty and missing names, nested data."""
    from app import tenants
    from app.tenant_config import default_config_dict

    loaded = await tenants.create_tenant(app.state.sessions, "compiled-reads", default_config_dict())
    admin = gql.token(loaded.id, "TENANT_ADMIN")
    top = await validated_producer(gql, admin, type="Agency", organizationName="Top Agency")
    sub = await validated_producer(gql, admin, type="Agency", organizationName="Sub Agency", parent=top["id"])
    agent = await validated_producer(gql, admin, parent=sub["id"], firstName="Ana", middleName="Q", lastName="Rivera",
                                     email="ana@example.com", npn="1234567", gender="FEMALE")
    plain = await create_producer(gql, admin, parent=sub["id"], firstName="Bo", lastName="Li")
    other = await validated_producer(gql, admin, type="Agency", organizationName="Other Agency")
    await create_producer(gql, admin, parent=other["id"], lastName="Outsider")
    for _ in range(3):
        await create_code(gql, admin, agent["id"])
    await create_code(gql, admin, plain["id"], code="HAND-1")
    codes = await gql.ok("query($id: ID!) { producer(id: $id) { codes { nodes { id } } } }", {"id": agent["id"]},
                         token=admin)
    first_code = codes["producer"]["codes"]["nodes"][0]["id"]
    await gql.ok(transition_mutation("validate", "ProducerCode"), {"id": first_code}, token=admin)
    await gql.ok(transition_mutation("suspend", "ProducerCode"), {"id": first_code}, token=admin)
    lic = await license_for(gql, admin, agent["id"], effectiveTime="2026-01-01T00:00:00Z",
                            expirationTime="2027-06-30T12:30:00.250000Z", products=["Travel"])
    await license_for(gql, admin, agent["id"], licenseNumber="L-2", jurisdictions=["NY", "CA"])
    await gql.ok(CREATE_APPOINTMENT, {"input": {"type": "CarrierAppointment", "producerId": agent["id"],
                                                "appointmentNumber": "AP-1", "jurisdictions": ["CA"],
                                                "licenseIds": [lic]}}, token=admin)
    async with app.state.engine.begin() as conn:
        await conn.execute(text("""UPDATE producers SET created_at = '2026-01-02 03:04:05+00',
            updated_at = '2026-01-02 03:04:05.5+00', data = '{"b": [1, 2.5, null, "é"], "a": {"z": true}}'
            WHERE id = :id"""), {"id": agent["locator"]})
        await conn.execute(text("UPDATE producers SET first_name = NULL, last_name = NULL WHERE id = :id"),
                           {"id": plain["locator"]})
        await conn.execute(text("UPDATE producers SET organization_name = '' WHERE id = :id"),
                           {"id": other["locator"]})
    return {"tenant": loaded.id, "admin": admin, "top": top, "sub": sub, "agent": agent, "other": other,
            "reader": gql.token(loaded.id, "READ_ONLY", agency=sub["locator"]),
            "producer": gql.token(loaded.id, "PRODUCER", agency=agent["locator"])}


def compiled_count() -> float:
    return REGISTRY.get_sample_value("graphql_read_path_total", {"path": "compiled"}) or 0.0


async def same_answer(gql: GraphQLClient, resolved: GraphQLClient, query: str, variables: dict[str, Any] | None,
                      token: str, *, compiled: bool = True) -> dict[str, Any]:
    """Both apps' bodies, byte for byte; `compiled` says whether the first app must have compiled the query."""
    before = compiled_count()
    fast = await gql.post(query, variables, token=token)
    assert compiled_count() == before + (1 if compiled else 0), "the query did not take the expected path"
    slow = await resolved.post(query, variables, token=token)
    assert fast.status_code == slow.status_code == 200
    assert _comparable(fast) == _comparable(slow), f"compiled:\n{fast.text}\nresolved:\n{slow.text}"
    return fast.json()  # type: ignore[no-any-return]


def _comparable(response: httpx.Response) -> bytes:
    """The body as sent, but for the request id every error carries and the caller's budget left (both apps spend
    from the same bucket, so the second sees less)."""
    body = response.json()
    for error in body.get("errors") or []:
        error.get("extensions", {}).pop("requestId", None)
    body.get("extensions", {}).get("cost", {}).pop("throttleStatus", None)
    return orjson.dumps(body)


CALLERS = ["admin", "reader", "producer"]


@pytest.mark.parametrize("caller", CALLERS)
async def test_every_mapped_field_reads_the_same_compiled(gql, resolved, world, caller):
    body = await same_answer(gql, resolved, everything(), None, world[caller])
    nodes = [e["node"] for e in body["data"]["producers"]["edges"]]
    assert nodes, "the caller sees producers"
    if caller == "admin":
        agent = next(n for n in nodes if n["locator"] == world["agent"]["locator"])
        assert agent["createdAt"] == "2026-01-02T03:04:05+00:00" and agent["updatedAt"].endswith(":05.500000+00:00")
        assert agent["data"] == {"a": {"z": True}, "b": [1, 2.5, None, "é"]}
        assert [a["name"] for a in agent["ancestors"]] == ["Top Agency", "Sub Agency"]
        assert agent["codes"]["totalCount"] == 3 and agent["appointments"]["totalCount"] == 1
    if caller == "reader":  # ancestors above the reader's agency are not visible, nor the parent of the agency
        sub = next(n for n in nodes if n["locator"] == world["sub"]["locator"])
        assert sub["parent"] is None and sub["ancestors"] == []
    if caller == "producer":
        assert [n["locator"] for n in nodes] == [world["agent"]["locator"]]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("query", [BENCH, FRAGMENTS, MERGED], ids=["bench", "fragments", "merged"])
async def test_aliases_fragments_and_merged_fields_read_the_same_compiled(gql, resolved, world, caller, query):
    await same_answer(gql, resolved, query, {"first": 100} if "$first" in query else None, world[caller])


async def test_names_fall_back_as_the_resolver_does(gql, resolved, world):
    body = await same_answer(gql, resolved, "{ producers { nodes { locator name } } }", None, world["admin"])
    names = {n["locator"]: n["name"] for n in body["data"]["producers"]["nodes"]}
    assert names[world["other"]["locator"]] == world["other"]["locator"]  # '' and no person name: the locator


@pytest.mark.parametrize("variables", [
    {"first": 2}, {"first": 0}, {"first": 100}, {"codes": 1}, {"codes": 0}, {"codes": -3}, {"codes": 100},
], ids=lambda v: "-".join(f"{k}{v}" for k, v in v.items()))
async def test_pages_and_nested_pages_read_the_same_compiled(gql, resolved, world, variables):
    await same_answer(gql, resolved, PAGES, variables, world["admin"])


async def test_following_cursors_reads_the_same_compiled(gql, resolved, world):
    seen: list[str] = []
    after = None
    while True:
        body = await same_answer(gql, resolved, PAGES, {"first": 2, "after": after, "codes": 1}, world["admin"])
        page = body["data"]["producers"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == page["totalCount"] == 6
    agent = await gql.ok(PAGES, {"first": 1, "after": None, "codes": 1}, token=world["admin"])
    cursor = None
    for edge in agent["producers"]["edges"]:
        cursor = edge["node"]["codes"]["pageInfo"]["endCursor"]
    await same_answer(gql, resolved, PAGES, {"first": 100, "codes": 1, "codesAfter": cursor}, world["admin"])


@pytest.mark.parametrize("flt", [
    {"states": ["VALIDATED"]}, {"types": ["Agent"]}, {"rootOnly": True}, {"search": "rivera"},
    {"npn": "1234567"}, {"states": ["DRAFT", "SUSPENDED"], "types": ["Agent", "Agency"]},
    {"search": "hand-1"}, {"search": "L-2"}, {"search": "ap-1 rivera"}, {"search": "hand-1 rivera"},
], ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()))
@pytest.mark.parametrize("caller", CALLERS)
async def test_filters_read_the_same_compiled(gql, resolved, world, flt, caller):
    await same_answer(gql, resolved, FILTERED, {"filter": flt}, world[caller])


@pytest.mark.parametrize("caller", CALLERS)
async def test_parent_and_agency_filters_read_the_same_compiled(gql, resolved, world, caller):
    for key in ("top", "sub", "other"):
        for name in ("parentId", "agencyId"):
            await same_answer(gql, resolved, FILTERED, {"filter": {name: world[key]["id"]}}, world[caller])


@pytest.mark.parametrize(("query", "variables"), [
    ("{ producers { nodes { name appointments { nodes { licenses { id } } } } } }", None),
    ("{ producers(last: 2) { nodes { name } } }", None),
    ("{ producers { nodes { name } } licenses(expiringWithin: -1) { totalCount } }", None),
    ("{ licenses(expiringWithin: 36501) { totalCount } }", None),
    ("{ licenses(expiringWithin: 30, first: 101) { totalCount } }", None),
    ("{ licenses(expiringWithin: 30, last: 1) { totalCount } }", None),
    ("{ producers(filter: {agencyId: \"not-an-id\"}) { nodes { name } } }", None),
    ("{ producers(after: \"bm90IGEgY3Vyc29y\") { nodes { name } } }", None),
    ("{ producers(first: 101) { nodes { name } } }", None),
    ("{ producers(first: -1) { nodes { name } } }", None),
    ("{ producers { nodes { codes(after: \"bad\") { nodes { code } } } } }", None),
], ids=["appointment-licenses", "last", "negative-window", "window-too-long", "licenses-too-many",
        "licenses-last", "bad-agency",
        "foreign-cursor", "too-large", "negative", "bad-nested-cursor"])
async def test_queries_without_a_compiled_form_are_resolved_with_the_same_answer(gql, resolved, world, query,
                                                                                 variables):
    await same_answer(gql, resolved, query, variables, world["admin"], compiled=False)


ACTIONS = """query($first: Int!, $with: Boolean!, $without: Boolean!) { producers(first: $first) { edges { node {
  id name state allowedActions parent { id allowedActions } ancestors { id name }
  codes @skip(if: $without) { nodes { code state allowedActions } }
  licenses @include(if: $with) { nodes { licenseNumber jurisdictions state } }
  locator @include(if: false) type @skip(if: true) email @include(if: true) @skip(if: $without)
  ...More @include(if: $with) ... on Producer @skip(if: $with) { kind } } } } }
  fragment More on Producer { npn codes { totalCount } }"""


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("flags", [(True, False), (False, True), (True, True), (False, False)],
                         ids=["include", "skip", "both", "neither"])
async def test_allowed_actions_and_include_or_skip_read_the_same_compiled(gql, resolved, world, caller, flags):
    """Given producers and codes in several states, when a page asks for allowedActions and decides fields with
    @include / @skip from variables and literals, then it is compiled and answers what the resolvers answer."""
    with_, without = flags
    body = await same_answer(gql, resolved, ACTIONS, {"first": 100, "with": with_, "without": without},
                             world[caller])
    nodes = [e["node"] for e in body["data"]["producers"]["edges"]]
    assert nodes and all("locator" not in n and "type" not in n for n in nodes)
    assert all(("licenses" in n) == with_ and ("codes" in n) == (not without or with_) for n in nodes)
    states = {n["state"]: n["allowedActions"] for n in nodes}
    assert states.get("VALIDATED", ["SUSPEND", "RETIRE", "DISCARD"]) == ["SUSPEND", "RETIRE", "DISCARD"]
    assert states.get("DRAFT", ["VALIDATE", "DISCARD"]) == ["VALIDATE", "DISCARD"]


DETAIL = """query($id: ID!) { producer(id: $id) { id name state allowedActions
  validationResult { __typename valid at items { __typename code message field } }
  children(first: 20) { nodes { id name state allowedActions validationResult { valid items { code } } } }
  codes { nodes { code state allowedActions validationResult { valid at items { field code } } } }
  licenses { nodes { licenseNumber jurisdictions state } } appointments { nodes { appointmentNumber state } } } }"""
STORED_RESULTS = [
    None, {}, {"valid": True, "at": "2026-03-04T05:06:07.123456+00:00", "items": []},
    {"valid": False, "at": "2026-03-04T05:06:07Z", "items": [
        {"code": "MISSING_REQUIRED_DATA", "message": "No license in CA.", "field": "licenses"},
        {"code": "INVALID_NPN", "message": "An agent needs an NPN.", "field": None}, {"code": "MISSING_LAST_NAME"},
        {"code": "INVALID_STATE", "message": "Not a state.", "field": "states[1].jurisdiction"}]},
    {"valid": 1, "items": [{"code": "INVALID_NPN", "field": "npn"}]}, {"valid": "", "at": ""},
]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("stored", range(len(STORED_RESULTS)), ids=lambda i: f"stored{i}")
async def test_a_producer_detail_with_validation_results_reads_the_same_compiled(gql, app, resolved, world, caller,
                                                                                stored):
    """Given stored validation results of every form (none, empty, passed, failed with items, odd values), when a
    producer detail asks for them with allowedActions, children, codes, licenses and appointments, then it is
    compiled and answers what the resolvers answer."""
    value = STORED_RESULTS[stored]
    async with app.state.engine.begin() as conn:
        await conn.execute(text("UPDATE producers SET validation_result = CAST(:v AS jsonb) WHERE id = :id"),
                           {"v": None if value is None else orjson.dumps(value).decode(),
                            "id": world["agent"]["locator"]})
        await conn.execute(text("UPDATE producer_codes SET validation_result = CAST(:v AS jsonb) "
                                "WHERE producer_id = :id"),
                           {"v": orjson.dumps(STORED_RESULTS[3]).decode(), "id": world["agent"]["locator"]})
    for who in ("sub", "agent"):
        body = await same_answer(gql, resolved, DETAIL, {"id": world[who]["id"]}, world[caller])
        if caller != "producer" and who == "agent":
            result = body["data"]["producer"]["validationResult"]
            assert (result is None) == (stored in (0, 1))
            if stored == 3:
                assert result["valid"] is False and result["at"] == "2026-03-04T05:06:07+00:00"
                assert [(i["code"], i["field"]) for i in result["items"]] == [
                    ("MISSING_REQUIRED_DATA", ["licenses"]), ("INVALID_NPN", None), ("MISSING_LAST_NAME", None),
                    ("INVALID_STATE", ["states", "1", "jurisdiction"])]


EXPIRING = """query($days: Int!, $first: Int, $after: String) {
  licenses(expiringWithin: $days, first: $first, after: $after) { totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id licenseNumber state jurisdictions expirationTime producer { id name allowedActions } } } }
  producers(first: 2) { nodes { name } } }"""


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("days", [0, 30, 400, 36500])
async def test_licenses_expiring_read_the_same_compiled(gql, resolved, world, caller, days):
    """Given licenses expiring at several times, when a caller lists those expiring within a window, page by page
    (first 1, then after each end cursor), then each page is compiled and answers what the resolvers answer."""
    after, seen = None, 0
    while True:
        body = await same_answer(gql, resolved, EXPIRING, {"days": days, "first": 1, "after": after}, world[caller])
        page = body["data"]["licenses"]
        seen += len(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == page["totalCount"]
    if caller != "producer" and days >= 400:
        assert seen >= 1
    await same_answer(gql, resolved, EXPIRING, {"days": days}, world[caller])


async def test_limits_still_refuse_a_compiled_query_first(gql, world):
    before = compiled_count()
    body = await gql("{ producers(first: 100) { nodes { codes(first: 100) { nodes { code } } } } }",
                     token=world["admin"])
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY" and body["data"] is None
    assert compiled_count() == before


async def test_a_compiled_page_is_one_round_trip_for_1_and_6_producers(gql, world, round_trips):
    """Given a warm server, when an unfiltered page with every mapped field, nested pages and totals is read,
    then PostgreSQL receives one statement, whatever the page size: no ids or count before it, no BEGIN and
    ROLLBACK around it, no liveness ping of the pooled connection."""
    from tests.api.test_producer_queries import page_statements

    await gql.ok(everything(), token=world["admin"])  # warm: the tenant configuration, the pool's connections
    counts = []
    for first in (1, 6):
        with round_trips:
            await gql.ok(everything().replace("first: 20", f"first: {first}"), token=world["admin"])
        counts.append(page_statements(round_trips))
    assert counts == [1, 1], round_trips.statements


async def test_a_filtered_compiled_page_runs_the_same_statements_for_1_and_6_producers(gql, world, round_trips):
    """A filtered page is chosen first (its ids, then its total), then read: three statements, never more."""
    from tests.api.test_producer_queries import page_statements

    query = everything().replace("first: 20", "first: $first, filter: {types: [\"Agent\", \"Agency\"]}")
    query = query.replace("query {", "query($first: Int!) {")
    counts = []
    for first in (1, 6):
        with round_trips:
            await gql.ok(query, {"first": first}, token=world["admin"])
        counts.append(page_statements(round_trips))
    assert counts == [3, 3], round_trips.statements


ONE = """query($id: ID!) { producer(id: $id) { __typename id name state
  parent { id name } ancestors { locator } codes { totalCount nodes { code state } } } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename id ... on Producer { name state parent { id } }
  ... on ProducerCode { code } } }"""


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("who", ["top", "sub", "agent", "other"])
async def test_one_producer_by_id_or_node_reads_the_same_compiled(gql, resolved, world, caller, who):
    producer = world[who]
    for query, value in ((ONE, producer["id"]), (ONE, producer["locator"]), (NODE, producer["id"])):
        body = await same_answer(gql, resolved, query, {"id": value}, world[caller])
        found = body["data"]["producer" if query is ONE else "node"]
        visible = caller == "admin" or (caller == "reader" and who in ("sub", "agent")) or \
            (caller == "producer" and who == "agent")
        assert (found is not None) == visible


@pytest.mark.parametrize("value", ["not-an-id", "UHJvZHVjZXI6bm9wZQ==", ""], ids=["malformed", "bad-locator", "empty"])
async def test_ids_that_name_no_producer_are_resolved_with_the_same_answer(gql, resolved, world, value):
    await same_answer(gql, resolved, ONE, {"id": value}, world["admin"], compiled=False)
    await same_answer(gql, resolved, NODE, {"id": value}, world["admin"], compiled=False)


@pytest.mark.parametrize("who", ["agent", "other"])
async def test_a_bare_locator_in_node_is_refused_by_the_resolver_with_the_same_answer(gql, resolved, world, who):
    body = await same_answer(gql, resolved, NODE, {"id": world[who]["locator"]}, world["admin"], compiled=False)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_ID"]


async def test_a_node_of_another_type_is_resolved_with_the_same_answer(gql, resolved, world):
    codes = await gql.ok("query($id: ID!) { producer(id: $id) { codes { nodes { id } } } }",
                         {"id": world["agent"]["id"]}, token=world["admin"])
    code_id = codes["producer"]["codes"]["nodes"][0]["id"]
    body = await same_answer(gql, resolved, NODE, {"id": code_id}, world["admin"], compiled=False)
    assert body["data"]["node"]["__typename"] == "ProducerCode"


async def test_a_producer_and_a_page_in_one_document_read_the_same_compiled(gql, resolved, world):
    query = """query($id: ID!) { me: producer(id: $id) { name } all: producers(first: 3) { nodes { name } }
      again: node(id: $id) { id } }"""
    await same_answer(gql, resolved, query, {"id": world["agent"]["id"]}, world["reader"])


TREE = """query($first: Int, $after: String) { producers(first: 5, filter: {rootOnly: true}) { nodes { name
  children(first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name children(first: 2) { totalCount nodes { name parent { name } } } } } }
  descendants(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { name } } } } }"""


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("variables", [{}, {"first": 1}, {"first": 0}, {"first": 100}],
                         ids=["default", "first1", "first0", "first100"])
async def test_children_and_descendants_read_the_same_compiled(gql, resolved, world, caller, variables):
    await same_answer(gql, resolved, TREE, variables, world[caller])


async def test_later_pages_of_children_and_descendants_read_the_same_compiled(gql, resolved, world):
    body = await gql.ok(TREE, {"first": 1}, token=world["admin"])
    top = next(n for n in body["producers"]["nodes"] if n["name"] == "Top Agency")
    cursor = top["descendants"]["pageInfo"]["endCursor"]
    after = await same_answer(gql, resolved, TREE, {"first": 1, "after": cursor}, world["admin"])
    top = next(n for n in after["data"]["producers"]["nodes"] if n["name"] == "Top Agency")
    assert top["descendants"]["nodes"] and top["descendants"]["nodes"][0]["name"] != "Sub Agency"


@pytest.mark.parametrize("variables", [{"first": -1}, {"first": 101}, {"after": "bad"}],
                         ids=["negative", "too-large", "bad-cursor"])
async def test_children_pages_the_service_refuses_are_resolved_with_the_same_answer(gql, resolved, world, variables):
    await same_answer(gql, resolved, TREE, variables, world["admin"], compiled=False)


async def test_an_object_too_wide_for_one_json_object_is_resolved_with_the_same_answer(gql, resolved, world):
    aliases = " ".join(f"n{i}: name" for i in range(30))
    query = f"{{ producers(first: 2) {{ nodes {{ __typename parent {{ id }} {_fields('Producer')} {aliases} }} }} }}"
    await same_answer(gql, resolved, query, None, world["admin"], compiled=False)


async def test_a_failing_compiled_read_is_resolved_and_logged_without_values(gql, resolved, world, monkeypatch,
                                                                             caplog):
    from app import queries

    async def broken(*args: Any) -> str:
        raise RuntimeError("relation producers does not exist; id=ana@example.com")

    monkeypatch.setattr(queries, "read_producer_document", broken)
    failed = REGISTRY.get_sample_value("graphql_read_path_total", {"path": "compiled_failed"}) or 0.0
    await same_answer(gql, resolved, BENCH, {"first": 5}, world["admin"], compiled=False)
    assert REGISTRY.get_sample_value("graphql_read_path_total", {"path": "compiled_failed"}) == failed + 1
    messages = [r.getMessage() for r in caplog.records if r.name == "producer_graph.compiled"]
    assert messages == ["compiled read failed (RuntimeError); resolving field by field"]


async def test_a_failing_plan_is_resolved_and_logged(gql, resolved, world, monkeypatch, caplog):
    from resolvers.compiled import Planner

    def broken(*args: Any) -> Any:
        raise KeyError("producers")

    monkeypatch.setattr(Planner, "plan", broken)
    await same_answer(gql, resolved, BENCH, {"first": 5}, world["admin"], compiled=False)
    messages = [r.getMessage() for r in caplog.records if r.name == "producer_graph.compiled"]
    assert messages == ["compiled read failed (KeyError); resolving field by field"]


async def test_new_shapes_past_the_cap_are_resolved(gql, world, database_url, settings):
    from app.runtime.server import create_app

    capped = create_app(settings_for_test(compiled_reads_max_shapes=0), database_url=database_url, migrate=False)
    query = "{ producers(first: 2) { nodes { shapeNeverSeenBefore: name } } }"
    async with capped.router.lifespan_context(capped):
        transport = httpx.ASGITransport(app=capped)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            capped_gql = GraphQLClient(client, settings)
            before = compiled_count()
            body = await capped_gql.ok(query, token=world["admin"])
            assert compiled_count() == before  # resolved: no room for a new shape
            assert await gql.ok(query, token=world["admin"]) == body  # the uncapped server compiles it
            assert compiled_count() == before + 1
            assert await capped_gql.ok(query, token=world["admin"]) == body  # known now: compiled here too
            assert compiled_count() == before + 2
