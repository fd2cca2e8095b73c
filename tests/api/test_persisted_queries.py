"""Apollo's automatic persisted queries: unknown hash -> PERSISTED_QUERY_NOT_FOUND, register with the text, then
by hash alone over POST and GET; the store is bounded and shared by every server process (PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from tests.api.helpers import CREATE_PRODUCER, create_producer
from tests.conftest import settings_for_test

MAX_ENTRIES = 3
MAX_BYTES = 2000
NAMES = "query Names { producers(first: 5) { nodes { name } } }"


@pytest.fixture(scope="module")
def settings() -> Any:
    return settings_for_test(persisted_queries_max_entries=MAX_ENTRIES, persisted_query_max_bytes=MAX_BYTES)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def other(database_url: str, settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second server process on the same database: its own per-process cache, the same store."""
    from app.runtime.server import create_app

    application = create_app(settings, database_url=database_url, migrate=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(query: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256(query)}}


async def by_hash(http: httpx.AsyncClient, token: str, query: str, *, method: str = "POST") -> httpx.Response:
    """The request Apollo's link sends first: the hash, no query text."""
    headers = {"Authorization": f"Bearer {token}"}
    if method == "GET":
        params = {"extensions": orjson.dumps(persisted(query)).decode(), "variables": "{}"}
        return await http.get("/graphql", params=params, headers=headers)
    return await http.post("/graphql", json={"extensions": persisted(query), "variables": {}}, headers=headers)


async def register(http: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any] | None = None,
                   extensions: dict[str, Any] | None = None) -> httpx.Response:
    """The retry Apollo's link sends after PERSISTED_QUERY_NOT_FOUND: the text and its hash."""
    return await http.post("/graphql", json={"query": query, "variables": variables or {},
                                             "extensions": extensions or persisted(query)},
                           headers={"Authorization": f"Bearer {token}"})


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_a_query_is_not_found_until_registered_then_runs_by_hash_over_post_and_get(gql, new_tenant):
    # given a tenant with a producer, and a query nobody registered
    tenant = await new_tenant()
    await create_producer(gql, tenant.admin, lastName="Hashed")
    query = "query Hashed { producers(first: 5) { nodes { name state } } }"
    # when the hash is sent alone, then Apollo's link is told to send the text
    unknown = await by_hash(gql.http, tenant.admin, query)
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert code_of(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    # when the text comes with its hash, then it runs
    registered = await register(gql.http, tenant.admin, query)
    assert registered.json()["data"]["producers"]["nodes"] == [{"name": "Ana Hashed", "state": "DRAFT"}]
    # then the hash alone runs it, over POST and over GET
    for method in ("POST", "GET"):
        response = await by_hash(gql.http, tenant.admin, query, method=method)
        assert response.status_code == 200, response.text
        assert response.json()["data"] == registered.json()["data"]


async def test_a_hash_that_is_not_the_sha256_of_the_text_is_refused_and_not_stored(gql, new_tenant):
    # given a caller sending a query with the hash of another one
    tenant = await new_tenant()
    query, other_query = "{ producers { totalCount } }", "{ __typename }"
    # when it registers
    response = await register(gql.http, tenant.admin, other_query, extensions=persisted(query))
    # then it is refused with a typed error, and the hash stays unknown
    assert response.status_code == 400
    assert code_of(response) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert code_of(await by_hash(gql.http, tenant.admin, query)) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("extensions, code", [
    ({"persistedQuery": {"version": 2, "sha256Hash": "a" * 64}}, "PERSISTED_QUERY_VERSION_UNSUPPORTED"),
    ({"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}}, "PERSISTED_QUERY_INVALID_HASH"),
    ({"persistedQuery": "yes"}, "PERSISTED_QUERY_VERSION_UNSUPPORTED"),
])
async def test_a_malformed_persisted_query_extension_gets_a_typed_error(gql, new_tenant, extensions, code):
    tenant = await new_tenant()
    response = await gql.http.post("/graphql", json={"extensions": extensions},
                                   headers={"Authorization": f"Bearer {tenant.admin}"})
    assert response.status_code == 400
    assert code_of(response) == code


async def test_a_query_text_over_the_size_bound_cannot_be_registered(gql, new_tenant):
    # given a query larger than PERSISTED_QUERY_MAX_BYTES
    tenant = await new_tenant()
    query = "{ " + " ".join(f"a{n}: __typename" for n in range(200)) + " }"
    assert len(query) > MAX_BYTES
    # when it is registered, then it is refused with a typed error naming the bound
    response = await register(gql.http, tenant.admin, query)
    assert response.status_code == 400
    assert code_of(response) == "PERSISTED_QUERY_TOO_LARGE"
    assert str(MAX_BYTES) in response.json()["errors"][0]["message"]


async def test_a_persisted_mutation_runs_over_post_and_is_still_refused_over_get(gql, new_tenant):
    # given a mutation registered by its hash
    tenant = await new_tenant()
    variables = {"input": {"type": "Agent", "lastName": "Posted", "firstName": "Ana"}}
    registered = await register(gql.http, tenant.admin, CREATE_PRODUCER, variables)
    assert registered.json()["data"]["createProducer"]["userErrors"] == []
    # when it is sent by hash over GET, then it is refused as any mutation over GET
    response = await by_hash(gql.http, tenant.admin, CREATE_PRODUCER, method="GET")
    assert response.status_code == 400
    assert "mutations are not allowed when using GET" in response.json()["errors"][0]["message"]
    # and over POST it runs
    again = await gql.http.post("/graphql", json={"extensions": persisted(CREATE_PRODUCER), "variables": variables},
                                headers={"Authorization": f"Bearer {tenant.admin}"})
    assert again.json()["data"]["createProducer"]["producer"]["state"] == "DRAFT"


async def test_persisted_queries_need_a_valid_token(gql, new_tenant):
    anonymous = await gql.http.post("/graphql", json={"query": NAMES, "extensions": persisted(NAMES)})
    assert anonymous.status_code == 401
    assert code_of(anonymous) == "UNAUTHENTICATED"


async def test_a_query_registered_on_one_server_process_runs_by_hash_on_another(gql, new_tenant, other):
    # given a query registered through one process
    tenant = await new_tenant()
    query = "query Elsewhere { producers(first: 1) { totalCount } }"
    assert "data" in (await register(gql.http, tenant.admin, query)).json()
    # when another process behind the same load balancer gets its hash alone
    response = await by_hash(other, tenant.admin, query)
    # then it knows it from the shared store
    assert response.json()["data"] == {"producers": {"totalCount": 0}}


async def test_a_cached_persisted_query_needs_no_database_round_trip(gql, new_tenant, statements):
    # given a query this process has registered
    tenant = await new_tenant()
    query = "query Cached { __typename }"
    await register(gql.http, tenant.admin, query)
    # when it is asked for by hash
    with statements:
        response = await by_hash(gql.http, tenant.admin, query)
    # then the per-process cache answered it
    assert response.json()["data"] == {"__typename": "Query"}
    assert not [s for s in statements.statements if "persisted_queries" in s]


async def test_the_store_keeps_only_the_most_recently_used_queries(gql, new_tenant, other, app):
    # given more queries registered than the store may keep
    tenant = await new_tenant()
    queries = [f"query Bounded{n} {{ __typename }}" for n in range(MAX_ENTRIES + 2)]
    for query in queries:
        assert "data" in (await register(gql.http, tenant.admin, query)).json()
    # then the store holds its bound, the least recently used are gone from it (a process that did not cache
    # them asks the client to register again), and the newest are kept
    from persistence import persisted_queries

    async with app.state.sessions() as session:
        assert await persisted_queries.count(session) == MAX_ENTRIES
    codes = [(await by_hash(other, tenant.admin, q)).json().get("errors", [{}])[0].get("extensions", {}).get("code")
             for q in queries]
    assert codes == ["PERSISTED_QUERY_NOT_FOUND"] * 2 + [None] * MAX_ENTRIES


async def test_a_query_in_use_from_a_process_cache_is_kept_in_the_shared_store(gql, new_tenant, other, app,
                                                                              monkeypatch):
    # given a query cached by this process but gone from the shared store (evicted while only the cache served it)
    from app import persisted_queries as apq
    from persistence import persisted_queries

    tenant = await new_tenant()
    query = "query KeptAlive { __typename }"
    await register(gql.http, tenant.admin, query)
    async with app.state.sessions() as session, session.begin():
        await session.execute(persisted_queries.PersistedQueryRecord.__table__.delete())  # type: ignore[attr-defined]
    assert code_of(await by_hash(other, tenant.admin, query)) == "PERSISTED_QUERY_NOT_FOUND"
    # when the process uses it after its touch interval
    monkeypatch.setattr(apq, "TOUCH_SECONDS", 0.0)
    assert (await by_hash(gql.http, tenant.admin, query)).json()["data"] == {"__typename": "Query"}
    # then it is marked used in the shared store again, so other processes find it
    assert (await by_hash(other, tenant.admin, query)).json()["data"] == {"__typename": "Query"}
