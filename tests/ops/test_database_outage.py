"""The database lost and restored while the server runs: requests fail cleanly (a typed error, no stack trace,
no 500) and /readyz says 503 while it is down; everything works again once it is back, without a restart."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pgserver._commands import pg_ctl

from app import tenants
from app.tenant_config import default_config_dict
from persistence.migrate import upgrade
from tests.conftest import GraphQLClient
from tests.conftest import settings_for_test as make_settings

LIST = "query { producers(first: 5) { totalCount nodes { id } } }"
CREATE = """mutation { createProducer(input: {type: "Agent", lastName: "Back", firstName: "Ana"}) {
  producer { id } userErrors { code } } }"""
LEAKS = ("Traceback", "asyncpg", "sqlalchemy", "psycopg", "SELECT", "INSERT", "File \"")


class Database:
    """A PostgreSQL of its own that the test can stop and start again."""

    def __init__(self, data_dir: Path) -> None:
        import pgserver

        self.server = pgserver.get_server(data_dir, cleanup_mode="stop")
        self.url: str = self.server.get_uri()

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()
        assert self.server.get_uri() == self.url


def own_database(prefix: str) -> Iterator[Database]:
    """An embedded PostgreSQL of the test's own, which it may stop and start; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        db = Database(Path(tmp))
        try:
            yield db
        finally:
            db.start()
            db.server.cleanup()


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    yield from own_database("pg-outage-")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(database: Database) -> AsyncIterator[tuple[Any, GraphQLClient, str]]:
    from app.runtime.server import create_app

    await asyncio.to_thread(upgrade, database.url)
    settings = make_settings()
    application = create_app(settings, database_url=database.url, migrate=False)
    async with application.router.lifespan_context(application):
        tenant = await tenants.create_tenant(application.state.sessions, "outage", default_config_dict())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as http:
            gql = GraphQLClient(http, settings)
            yield application, gql, gql.token(tenant.id, "TENANT_ADMIN")


def assert_clean_failure(response: httpx.Response) -> None:
    """A 200 with a DATABASE_UNAVAILABLE error, or a 503 with the same code; never a 500 or internals."""
    assert response.status_code in (200, 503), response.text
    for leak in LEAKS:
        assert leak not in response.text, response.text
    body = response.json()
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"DATABASE_UNAVAILABLE"}, body
    assert all(e["extensions"]["requestId"] == response.headers["X-Request-Id"] for e in body["errors"])


async def wait_ready(http: httpx.AsyncClient, status: int, within: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (await http.get("/readyz")).status_code != status:
        assert asyncio.get_running_loop().time() < deadline, f"/readyz never answered {status}"
        await asyncio.sleep(0.2)


async def test_requests_fail_cleanly_while_the_database_is_down_and_succeed_after(running, database):
    app, gql, admin = running
    # given a working server with one producer
    assert (await gql.ok(CREATE, token=admin))["createProducer"]["userErrors"] == []
    await wait_ready(gql.http, 200)
    # when the database goes away
    await asyncio.to_thread(database.stop)
    try:
        # then reads and writes fail with a typed error, repeatedly, and the server says it is not ready
        for _ in range(3):
            assert_clean_failure(await gql.post(LIST, token=admin))
            assert_clean_failure(await gql.post(CREATE, token=admin))
        assert (await gql.http.get("/readyz")).status_code == 503
        assert (await gql.http.get("/healthz")).status_code == 200
    finally:
        # and when it comes back
        await asyncio.to_thread(database.start)
    await wait_ready(gql.http, 200)
    # then the same server answers again, with the data from before and new writes
    assert (await gql.ok(CREATE, token=admin))["createProducer"]["userErrors"] == []
    assert (await gql.ok(LIST, token=admin))["producers"]["totalCount"] == 2
