"""Pooled connections are trusted while fresh and pinged once idle (persistence.db.create_engine): a busy pool
sends no liveness round trips, and a connection PostgreSQL dropped does not reach a request as an error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from prometheus_client import REGISTRY
from sqlalchemy import text

from app import tenants
from app.tenant_config import default_config_dict
from persistence import db
from tests.conftest import GraphQLClient, settings_for_test

LIST = "query { producers(first: 5) { totalCount nodes { id } } }"
CREATE = """mutation { createProducer(input: {type: "Agent", lastName: "Pool", firstName: "Ana"}) {
  producer { id } userErrors { code } } }"""


@pytest_asyncio.fixture(loop_scope="session")
async def serve(database_url: str, monkeypatch: Any) -> AsyncIterator[Any]:
    """Start the server with the pool's idle threshold given (seconds), as (app, client, admin token)."""
    from app.runtime.server import create_app

    started: list[Any] = []

    async def start(idle_seconds: float) -> tuple[Any, GraphQLClient, str]:
        monkeypatch.setattr(db, "IDLE_PING_SECONDS", idle_seconds)
        settings = settings_for_test()
        application = create_app(settings, database_url=database_url, migrate=False)
        lifespan = application.router.lifespan_context(application)
        await lifespan.__aenter__()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver")
        started.append((lifespan, http))
        tenant = await tenants.create_tenant(application.state.sessions, f"pool-{idle_seconds}",
                                             default_config_dict())
        gql = GraphQLClient(http, settings)
        return application, gql, gql.token(tenant.id, "TENANT_ADMIN")

    yield start
    for lifespan, http in started:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)


async def drop_the_pooled_connection(application: Any, database_url: str) -> int:
    """Terminate, from outside, the backend of the connection the request pool holds (one: requests so far
    came one at a time); its pid."""
    async with application.state.engine.connect() as connection:
        pid = int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    outside = await asyncpg.connect(db.sync_url(database_url))
    try:
        await outside.fetchval("SELECT pg_terminate_backend($1)", pid)
        for _ in range(100):
            if not await outside.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                break
            await asyncio.sleep(0.05)
    finally:
        await outside.close()
    return pid


async def backend_pid(application: Any) -> int:
    async with application.state.engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_an_idle_connection_that_postgresql_dropped_is_replaced_before_a_write_uses_it(serve, database_url):
    # given a server whose pool pings any connection idle for a moment, and a connection PostgreSQL dropped
    application, gql, admin = await serve(0.0)
    await gql.ok(LIST, token=admin)
    dropped = await drop_the_pooled_connection(application, database_url)
    await asyncio.sleep(0.01)
    # when a write comes (no fallback would save it)
    body = await gql.ok(CREATE, token=admin)
    # then it succeeds on another connection
    assert body["createProducer"]["userErrors"] == []
    assert await backend_pid(application) != dropped


async def test_a_fresh_connection_that_postgresql_dropped_costs_a_compiled_read_nothing(serve, database_url):
    # given a server that trusts its pooled connections for an hour, and a connection PostgreSQL dropped
    application, gql, admin = await serve(3600.0)
    await gql.ok(CREATE, token=admin)
    await gql.ok(LIST, token=admin)
    failed = REGISTRY.get_sample_value("graphql_read_path_total", {"path": "compiled_failed"}) or 0.0
    dropped = await drop_the_pooled_connection(application, database_url)
    # when a compiled read comes, it meets the dead connection: then it is resolved on a new one and answers
    body = await gql.ok(LIST, token=admin)
    assert body["producers"]["totalCount"] == 1
    assert REGISTRY.get_sample_value("graphql_read_path_total", {"path": "compiled_failed"}) == failed + 1
    # and the pool holds no dead connection any more
    assert (await gql.ok(CREATE, token=admin))["createProducer"]["userErrors"] == []
    assert await backend_pid(application) != dropped
