"""Two uvicorn server processes on one database: a job survives the SIGKILL of the process running it, and a
subscriber on the other process sees all the progress (LISTEN/NOTIFY), every row onboarded exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect

from app import tenants
from app.tenant_config import default_config_dict
from persistence.db import create_engine, session_factory
from tests.api.bulk_helpers import (
    csv_file,
    file_rows,
    post_upload,
    registry_entries,
    start_job,
    store_registry,
)
from tests.api.registry_helpers import agency
from tests.conftest import GraphQLClient, free_port, fresh_database
from tests.conftest import settings_for_test as make_settings

pytestmark = pytest.mark.slow

ROWS = 1200
SECRET = "e2e-secret-of-at-least-thirty-two-bytes!"
ROOT = Path(__file__).resolve().parents[2]
PROGRESS = """subscription($id: ID!) { bulkOnboardingProgress(jobId: $id) { status total processed succeeded failed } }"""


@contextmanager
def _server(database_url: str, log_dir: Path, name: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": SECRET, "ENV": "test"}
    env.pop("SMTP_HOST", None)
    with (log_dir / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.runtime.server:create_production_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process, f"127.0.0.1:{port}"
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


async def _ready(address: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{address}") as client:
        for _ in range(200):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"server {address} did not start")


@asynccontextmanager
async def _database(url: str) -> AsyncIterator[Any]:
    engine = create_engine(url, pool_size=2, max_overflow=2)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def _scalar(sessions: Any, sql: str, **params: Any) -> Any:
    async with sessions() as session:
        return (await session.execute(text(sql), params)).scalar_one()


async def _watch(address: str, token: str, job_id: str, first_seen: asyncio.Event) -> list[dict[str, Any]]:
    states: list[dict[str, Any]] = []
    async with connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": PROGRESS, "variables": {"id": job_id}}}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message["type"] == "complete":
                return states
            if message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            assert message["type"] == "next" and not message["payload"].get("errors"), message
            states.append(message["payload"]["data"]["bulkOnboardingProgress"])
            first_seen.set()


async def test_job_survives_the_kill_of_the_processing_server(pg_url, template_url):
    # given one database with a tenant, an agency, registry producers and two server processes
    url = await fresh_database(pg_url)
    settings = make_settings(jwt_secret=SECRET)
    async with _database(url) as sessions:
        tenant = await tenants.create_tenant(sessions, "e2e", default_config_dict())
        entries = registry_entries(ROWS, seed=5, first_npn=40_000_000)
        await store_registry(sessions, settings, tenant.id, entries)
        with tempfile.TemporaryDirectory(prefix="e2e-") as tmp, \
                _server(url, Path(tmp), "first") as (_first, first), \
                _server(url, Path(tmp), "second") as (second_process, second):
            await asyncio.gather(_ready(first), _ready(second))
            async with httpx.AsyncClient(base_url=f"http://{second}", timeout=60) as http:
                gql = GraphQLClient(http, settings)
                admin = gql.token(tenant.id, "TENANT_ADMIN")
                created = await agency(gql, admin)
                token = gql.token(tenant.id, "AGENCY_ADMIN", agency=created["locator"], subject="admin@example.com")
                response = await post_upload(http, token, csv_file(file_rows(entries)))
                job = response.json()["data"]["uploadBulkOnboardingFile"]["job"]
                assert job["validRows"] == ROWS

                # when a client subscribes on the first process, the job starts, and once the second process
                # holds leases on rows it is killed with SIGKILL
                first_seen = asyncio.Event()
                watcher = asyncio.create_task(_watch(first, token, job["id"], first_seen))
                await asyncio.wait_for(first_seen.wait(), 10)
                await start_job(gql, token, job["id"])
            marker = f"%:{second_process.pid}:%"
            for _ in range(400):
                held = await _scalar(sessions, "SELECT count(*) FROM bulk_rows WHERE status = 'PROCESSING' "
                                               "AND lease_owner LIKE :m", m=marker)
                if held:
                    break
                await asyncio.sleep(0.02)
            assert held, "the second process never leased rows"
            processed_before_kill = await _scalar(sessions, "SELECT processed_rows FROM bulk_jobs")
            second_process.send_signal(signal.SIGKILL)
            second_process.wait(10)
            states = await asyncio.wait_for(watcher, 120)

        # then the job completed on the surviving process, every row onboarded exactly once
        assert processed_before_kill < ROWS
        assert states[0]["processed"] == 0
        processed = [s["processed"] for s in states]
        assert processed == sorted(processed), "progress went backwards"
        assert states[-1] == {"status": "COMPLETED", "total": ROWS, "processed": ROWS, "succeeded": ROWS,
                              "failed": 0}
        assert await _scalar(sessions, "SELECT count(*) FROM bulk_rows WHERE status = 'SUCCEEDED'") == ROWS
        assert await _scalar(sessions, "SELECT count(*) FROM bulk_rows WHERE attempts > 1") > 0  # resumed leases
        assert await _scalar(sessions, "SELECT count(*) FROM producers WHERE tenant_id = :t AND npn IS NOT NULL",
                             t=tenant.id) == ROWS
        assert await _scalar(sessions, "SELECT count(DISTINCT npn) FROM producers WHERE tenant_id = :t "
                                       "AND npn IS NOT NULL", t=tenant.id) == ROWS
        assert await _scalar(sessions, "SELECT count(*) FROM onboardings WHERE bulk_job_id IS NOT NULL") == ROWS
