"""A bulk job while its database drops out several times: transient faults are nobody's row's fault, so every
valid row ends onboarded exactly once and none is FAILED with INTERNAL_ERROR (its own PostgreSQL, stopped and
started while the job runs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from app import tenants
from app.tenant_config import default_config_dict
from persistence.db import sync_url
from persistence.migrate import upgrade
from tests.api.bulk_helpers import all_rows, csv_file, file_rows, registry_entries, start_job, store_registry, upload
from tests.api.registry_helpers import agency
from tests.conftest import GraphQLClient
from tests.conftest import settings_for_test as make_settings
from tests.ops.test_database_outage import Database, own_database, wait_ready

ROWS = 3000
FLAPS = 4


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    yield from own_database("pg-flaps-")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(database: Database) -> AsyncIterator[tuple[Any, GraphQLClient, str]]:
    from app.runtime.server import create_app

    await asyncio.to_thread(upgrade, database.url)
    application = create_app(make_settings(), database_url=database.url, migrate=False)
    async with application.router.lifespan_context(application):
        tenant = await tenants.create_tenant(application.state.sessions, "flaps", default_config_dict())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver", timeout=60) as http:
            yield application, GraphQLClient(http, application.state.settings), tenant.id


async def counts(url: str, job_id: str, npns: list[str]) -> dict[str, int]:
    connection = await asyncpg.connect(sync_url(url))
    try:
        producers = await connection.fetchrow(
            "SELECT count(*) AS all, count(DISTINCT npn) AS npns FROM producers WHERE npn = ANY($1)", npns)
        onboardings = await connection.fetchval(
            "SELECT count(*) FROM onboardings WHERE bulk_job_id = $1", job_id)
        rows = await connection.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'SUCCEEDED') AS succeeded, "
            "count(*) FILTER (WHERE status = 'FAILED' AND error_code = 'INTERNAL_ERROR') AS internal "
            "FROM bulk_rows WHERE job_id = $1", job_id)
    finally:
        await connection.close()
    return {"producers": producers["all"], "npns": producers["npns"], "onboardings": onboardings,
            "succeeded": rows["succeeded"], "internal": rows["internal"]}


async def row_states(url: str) -> list[tuple[Any, ...]]:
    connection = await asyncpg.connect(sync_url(url))
    try:
        return [tuple(r) for r in await connection.fetch(
            "SELECT status, lease_owner IS NOT NULL, lease_expires_at > now(), count(*) FROM bulk_rows GROUP BY 1, 2, 3")]
    finally:
        await connection.close()


async def job_status(url: str, job_id: str) -> str:
    connection = await asyncpg.connect(sync_url(url))
    try:
        return str(await connection.fetchval("SELECT status FROM bulk_jobs WHERE id = $1", job_id))
    finally:
        await connection.close()


async def test_a_bulk_job_survives_a_database_that_drops_out_again_and_again(running, database):
    app, gql, tenant_id = running
    # given a started job of a few thousand valid rows, worked in small batches so the outages hit it mid-way
    tuning = app.state.bulk_worker.tuning
    tuning.batch_size, tuning.batch_rows = 60, 30
    admin = gql.token(tenant_id, "TENANT_ADMIN")
    created = await agency(gql, admin)
    token = gql.token(tenant_id, "AGENCY_ADMIN", agency=created["locator"], subject="admin@example.com")
    entries = registry_entries(ROWS, seed=14, first_npn=40_000_000)
    await store_registry(app.state.sessions, app.state.settings, tenant_id, entries)
    job = (await upload(gql.http, token, csv_file(file_rows(entries))))["job"]
    assert job["validRows"] == ROWS
    job_id, locator = job["id"], job["locator"]
    await start_job(gql, token, job_id)
    # when the database is stopped and started again several times a few seconds apart while the job runs
    for _ in range(FLAPS):
        await asyncio.sleep(1.5)
        await asyncio.to_thread(database.stop)
        await asyncio.sleep(2.0)
        await asyncio.to_thread(database.start)
    await wait_ready(gql.http, 200)
    # then the job completes with every valid row onboarded exactly once, none failed by an outage
    deadline = asyncio.get_running_loop().time() + 240
    while (status := await job_status(database.url, locator)) not in ("COMPLETED", "FAILED", "CANCELLED"):
        assert asyncio.get_running_loop().time() < deadline, f"the job never ended: {await row_states(database.url)}"
        await asyncio.sleep(0.5)
    assert status == "COMPLETED"
    found = await counts(database.url, locator, [e.npn for e in entries])
    assert found == {"producers": ROWS, "npns": ROWS, "onboardings": ROWS, "succeeded": ROWS, "internal": 0}
    assert await all_rows(gql, token, job_id, ["FAILED"]) == []
