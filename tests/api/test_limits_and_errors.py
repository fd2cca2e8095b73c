"""Operational behaviour: query limits, masked internal errors, GraphiQL and introspection by environment, probes."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.auth import mint_token
from tests.conftest import settings_for_test

SSN_KEY = base64.b64encode(b"k" * 32).decode()


def nested(depth: int) -> str:
    """A producers query whose selection is `depth` levels of `parent` deep."""
    inner = "id"
    for _ in range(depth):
        inner = f"parent {{ {inner} }}"
    return f"{{ producers {{ edges {{ node {{ {inner} }} }} }} }}"


async def test_a_query_deeper_than_the_limit_is_refused(gql, new_tenant, settings):
    tenant = await new_tenant()
    body = await gql(nested(settings.max_query_depth + 1), token=tenant.admin)
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert "depth" in body["errors"][0]["message"]


async def test_a_query_within_the_depth_limit_runs(gql, new_tenant, settings):
    tenant = await new_tenant()
    await gql.ok(nested(settings.max_query_depth - 4), token=tenant.admin)


async def test_too_many_aliases_are_refused(gql, new_tenant, settings):
    tenant = await new_tenant()
    fields = " ".join(f"a{i}: producers {{ totalCount }}" for i in range(settings.max_aliases + 1))
    body = await gql(f"{{ {fields} }}", token=tenant.admin)
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"


async def test_too_many_tokens_are_refused(gql, new_tenant, settings):
    tenant = await new_tenant()
    body = await gql("{ " + "__typename " * (settings.max_query_tokens + 1) + "}", token=tenant.admin)
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"


async def test_an_invalid_query_gets_a_validation_code(gql, new_tenant):
    tenant = await new_tenant()
    body = await gql("{ producers { noSuchField } }", token=tenant.admin)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_the_same_invalid_query_twice_carries_each_request_s_own_id(gql, new_tenant):
    # given an invalid query whose validation errors are cached after the first request
    tenant = await new_tenant()
    ids = []
    for request_id in ("first-request-0001", "second-request-0002"):
        # when it is sent twice, each time with its own request id
        response = await gql.post("{ producers { noSuchFieldForIds } }", token=tenant.admin,
                                  headers={"X-Request-Id": request_id})
        ids.append(response.json()["errors"][0]["extensions"]["requestId"])
    # then each error names its own request, not the first one's
    assert ids == ["first-request-0001", "second-request-0002"]


async def test_an_unexpected_exception_is_masked_behind_the_request_id(gql, new_tenant, monkeypatch, caplog):
    # given a service that fails unexpectedly
    from app import queries

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail: connection string postgres://admin:hunter2@db")

    monkeypatch.setattr(queries, "code_by_value", broken)
    tenant = await new_tenant()
    # when a query reaches it
    response = await gql.post('{ producerCodeByCode(code: "X") { id } }', token=tenant.admin)
    # then the client gets a masked error with a request id, and the detail is only in the log
    assert response.status_code == 200
    error = response.json()["errors"][0]
    request_id = error["extensions"]["requestId"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert request_id in error["message"]
    assert "hunter2" not in response.text and "secret detail" not in response.text
    assert "Traceback" not in response.text and "RuntimeError" not in response.text
    assert any("secret detail" in str(r.exc_info) for r in caplog.records if r.exc_info)


async def test_graphiql_is_served_in_development(http):
    response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_introspection_works_in_development(gql, new_tenant):
    tenant = await new_tenant()
    data = await gql.ok("{ __schema { queryType { name } } }", token=tenant.admin)
    assert data["__schema"]["queryType"]["name"] == "Query"


@pytest.fixture(scope="module")
async def production(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    from app.runtime.server import create_app

    settings = settings_for_test(env="production", ssn_key=SSN_KEY)
    application = create_app(settings, database_url=database_url, migrate=False)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            yield client, settings


async def test_introspection_is_refused_in_production(production, new_tenant):
    client, settings = production
    tenant = await new_tenant()
    token = mint_token(settings, tenant_id=tenant.id, roles=["TENANT_ADMIN"])
    response = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"},
                                 headers={"Authorization": f"Bearer {token}"})
    body = response.json()
    assert body.get("data") is None
    assert "introspection" in body["errors"][0]["message"].lower()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    ordinary = await client.post("/graphql", json={"query": "{ producers { totalCount } }"},
                                 headers={"Authorization": f"Bearer {token}"})
    assert ordinary.json()["data"] == {"producers": {"totalCount": 0}}


async def test_graphiql_is_not_served_in_production(production):
    client, _ = production
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()


async def test_healthz_answers_without_a_token(http):
    response = await http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_database_is_reachable(http):
    response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "reachable"}


async def test_readyz_is_unavailable_when_the_database_is_not(settings):
    from app.runtime.server import create_app

    application = create_app(settings, database_url="postgresql://nobody:x@127.0.0.1:9/none", migrate=False)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
