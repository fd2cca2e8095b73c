"""Shared fixtures: one PostgreSQL per test session, a fresh database per test module, the real ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy import event
from sqlalchemy.engine import make_url

from app.auth import mint_token
from app.settings import Settings
from app.tenant_config import default_config_dict
from persistence.db import sync_url
from persistence.migrate import upgrade

TEMPLATE = "producer_graph_template"
_counter = itertools.count(1)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The server's libpq URL: TEST_DATABASE_URL, or an embedded pgserver started for this session."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield sync_url(external)
        return
    from persistence.db import quiet_pgserver

    pgserver = quiet_pgserver()
    with tempfile.TemporaryDirectory(prefix="pgtest") as tmp:
        server = pgserver.get_server(Path(tmp), cleanup_mode="stop")
        yield server.get_uri()
        server.cleanup()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def template_url(pg_url: str) -> str:
    """A database migrated once to head; every module clones it."""
    admin = await asyncpg.connect(sync_url(pg_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await admin.close()
    url = _with_database(pg_url, TEMPLATE)
    import asyncio

    await asyncio.to_thread(upgrade, url)
    return url


async def fresh_database(pg_url: str) -> str:
    name = f"pg_test_{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(sync_url(pg_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    finally:
        await admin.close()
    return _with_database(pg_url, name)


def settings_for_test(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"env": "test", "jwt_secret": "test-secret-of-at-least-thirty-two-bytes", "ssn_key": None,
                              # one process runs every test's query shapes: compile them all
                              "compiled_reads_max_shapes": 100_000,
                              # the compliance loop's daily sweep writes a lease row per tenant: only its first
                              # round (at start, before any tenant) runs, unless a module sets its own interval
                              "compliance_digest_interval_seconds": 1e6}
    values.update(overrides)
    return Settings(**values)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def database_url(pg_url: str, template_url: str) -> str:
    return await fresh_database(pg_url)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return settings_for_test()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(database_url: str, settings: Settings) -> AsyncIterator[Any]:
    from app.runtime.server import create_app

    application = create_app(settings, database_url=database_url, migrate=False)
    async with application.router.lifespan_context(application):
        yield application


@dataclass
class StatementCounter:
    """Counts SQL statements sent by the app's engine while `active`."""

    count: int = 0
    active: bool = False
    statements: list[str] = field(default_factory=list)

    def __enter__(self) -> StatementCounter:
        self.count, self.active, self.statements = 0, True, []
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False


def count_statements(engine: Any) -> StatementCounter:
    """A counter of the statements `engine` sends through SQLAlchemy while the counter is active."""
    counter = StatementCounter()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if counter.active:
            counter.count += 1
            counter.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return counter


@pytest.fixture(scope="module")
def statements(app: Any) -> StatementCounter:
    return count_statements(app.state.engine)


@pytest.fixture(scope="module")
def round_trips(app: Any) -> StatementCounter:
    """Counts everything the request engine's connections send PostgreSQL while `active`: the statements, and
    what the driver sends by itself (BEGIN, COMMIT, ROLLBACK, the pool's liveness pings), seen by asyncpg's
    query logger on every connection the pool hands out."""
    counter = StatementCounter()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if counter.active:
            counter.count += 1
            counter.statements.append(statement)

    def logged(record: Any) -> None:  # asyncpg logs its unprepared queries; SQLAlchemy's are prepared
        if counter.active:
            counter.count += 1
            counter.statements.append(record.query)

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if not record.info.get("round_trips"):
            dbapi_connection.driver_connection.add_query_logger(logged)
            record.info["round_trips"] = True

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", before)
    event.listen(app.state.engine.sync_engine.pool, "checkout", checkout)
    return counter


class GraphQLClient:
    """Drives the app through HTTP as a client would, with a bearer token."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http = http
        self.settings = settings

    def token(self, tenant_id: str, *roles: str, agency: str | None = None, subject: str = "tester",
              ttl: int = 3600, email: str | None = None) -> str:
        return mint_token(self.settings, tenant_id=tenant_id, roles=list(roles or ["TENANT_ADMIN"]),
                          subject=subject, agency=agency, ttl_seconds=ttl, email=email)

    async def post(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        return await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                    headers=all_headers)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, *, token: str) -> dict[str, Any]:
        """The JSON body of a 200 response (errors included, for the test to assert on)."""
        response = await self.post(query, variables, token=token)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def ok(self, query: str, variables: dict[str, Any] | None = None, *, token: str) -> dict[str, Any]:
        """The `data` of a response that must have no errors."""
        body = await self(query, variables, token=token)
        assert not body.get("errors"), body["errors"]
        return body["data"]  # type: ignore[no-any-return]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture(scope="module")
def gql(http: httpx.AsyncClient, settings: Settings) -> GraphQLClient:
    return GraphQLClient(http, settings)


@dataclass
class TenantHandle:
    id: str
    admin: str  # a TENANT_ADMIN token


@pytest.fixture
def new_tenant(app: Any, gql: GraphQLClient) -> Any:
    """Builder: a new tenant with the default (or a given) configuration and an admin token."""

    async def build(config: dict[str, Any] | None = None) -> TenantHandle:
        from app import tenants

        loaded = await tenants.create_tenant(app.state.sessions, f"tenant-{next(_counter)}-{os.getpid()}",
                                             config or default_config_dict())
        return TenantHandle(loaded.id, gql.token(loaded.id, "TENANT_ADMIN"))

    return build


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ServedProcess:
    """A server process started by `uvicorn_server`: its base URL and the process (to signal or kill it)."""

    url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def uvicorn_server(database_url: str, log: Path, secret: str, **env: str) -> Iterator[ServedProcess]:
    """The served app (`create_production_app`) in its own process on a free loopback port."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": secret, "ENV": "test"}
    environment.pop("SMTP_HOST", None)
    environment.update(env)  # after the pop: a test may point the process at its own SMTP server
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.runtime.server:create_production_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield ServedProcess(f"http://127.0.0.1:{port}", process)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def uvicorn_process(database_url: str, log: Path, secret: str, **env: str) -> Iterator[str]:
    """The served app (`create_production_app`) in its own process on a free loopback port; yields its base URL."""
    with uvicorn_server(database_url, log, secret, **env) as served:
        yield served.url


@contextlib.asynccontextmanager
async def real_uvicorn(application: Any) -> AsyncIterator[str]:
    """Serve an app whose lifespan already runs (the `app` fixture) with a real uvicorn on 127.0.0.1, in this event
    loop; yields its http://127.0.0.1:PORT address."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off",
                                           log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
