"""Graceful shutdown of a real uvicorn process (SIGTERM): the request in flight completes, open subscriptions are
closed with a close frame, and the bulk worker hands its leased rows back to the queue."""

from __future__ import annotations

import asyncio
import json
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app import tenants
from app.tenant_config import default_config_dict
from tests.api.bulk_helpers import csv_file, file_rows, post_upload, registry_entries, start_job, store_registry
from tests.api.registry_helpers import agency
from tests.conftest import GraphQLClient, fresh_database
from tests.conftest import settings_for_test as make_settings
from tests.e2e.test_bulk_multiprocess import SECRET, _database, _ready, _scalar, _server

pytestmark = pytest.mark.slow

ROWS = 15_000  # more than the batched worker onboards between the SIGTERM and its stop (~2,000 rows/s)
EVENTS = "subscription { producerEvents { name entityId } }"
CREATE = """mutation { createProducer(input: {type: "Agent", lastName: "Late", firstName: "Lou"}) {
  producer { id state } userErrors { code } } }"""


async def slow_body(first_half_sent: asyncio.Event, release: asyncio.Event) -> AsyncIterator[bytes]:
    """A GraphQL request body sent in two halves: the request is in flight until `release`."""
    body = json.dumps({"query": CREATE}).encode()
    yield body[:20]
    first_half_sent.set()
    await release.wait()
    yield body[20:]


async def test_sigterm_finishes_the_request_in_flight_closes_subscriptions_and_hands_leases_back(
        pg_url, template_url):
    # given a server process running a bulk job, with a subscriber and a request half sent
    url = await fresh_database(pg_url)
    settings = make_settings(jwt_secret=SECRET)
    async with _database(url) as sessions:
        tenant = await tenants.create_tenant(sessions, "shutdown", default_config_dict())
        entries = registry_entries(ROWS, seed=9, first_npn=60_000_000)
        await store_registry(sessions, settings, tenant.id, entries)
        with tempfile.TemporaryDirectory(prefix="shutdown-") as tmp, _server(url, Path(tmp), "server") as (
                process, address):
            await _ready(address)
            async with httpx.AsyncClient(base_url=f"http://{address}", timeout=60) as http:
                gql = GraphQLClient(http, settings)
                admin = gql.token(tenant.id, "TENANT_ADMIN")
                created = await agency(gql, admin)
                token = gql.token(tenant.id, "AGENCY_ADMIN", agency=created["locator"], subject="admin@example.com")
                job = (await post_upload(http, token, csv_file(file_rows(entries)))).json()[
                    "data"]["uploadBulkOnboardingFile"]["job"]

                ws = await connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
                await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {admin}"}}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}))

                await start_job(gql, token, job["id"])
                marker = f"%:{process.pid}:%"
                for _ in range(500):
                    if await _scalar(sessions, "SELECT count(*) FROM bulk_rows WHERE status = 'PROCESSING' "
                                               "AND lease_owner LIKE :m", m=marker):
                        break
                    await asyncio.sleep(0.01)

                first_half_sent, release = asyncio.Event(), asyncio.Event()
                async with httpx.AsyncClient(base_url=f"http://{address}", timeout=60) as slow_client:
                    in_flight = asyncio.create_task(slow_client.post(
                        "/graphql", content=slow_body(first_half_sent, release),
                        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}))
                    await asyncio.wait_for(first_half_sent.wait(), 10)
                    await asyncio.sleep(0.3)  # the server has the request's head and waits for the rest

                    # when the process gets SIGTERM
                    process.send_signal(signal.SIGTERM)
                    await asyncio.sleep(0.5)
                    release.set()
                    response = await asyncio.wait_for(in_flight, 30)

                close_code = None
                try:
                    while True:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                        assert message["type"] in ("next", "ping"), message
                except ConnectionClosed as closed:
                    close_code = closed.rcvd.code if closed.rcvd is not None else None
                exit_code = await asyncio.to_thread(process.wait, 30)
                server_log = (Path(tmp) / "server.log").read_text()

        # then the request completed, the subscription got a close frame, the process ended cleanly
        assert response.status_code == 200, response.text
        assert response.json()["data"]["createProducer"]["userErrors"] == []
        assert close_code in (1001, 1012)  # going away / service restart (uvicorn's code at shutdown)
        assert exit_code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down
        assert "Traceback" not in server_log and "timeout graceful shutdown exceeded" not in server_log, server_log
        # and no row is left leased by the stopped process: the job can go on elsewhere
        assert await _scalar(sessions, "SELECT count(*) FROM bulk_rows WHERE lease_owner LIKE :m", m=marker) == 0
        assert await _scalar(sessions, "SELECT count(*) FROM bulk_rows WHERE status = 'PROCESSING'") == 0
        pending = await _scalar(sessions, "SELECT count(*) FROM bulk_rows WHERE status = 'PENDING'")
        done = await _scalar(sessions, "SELECT count(*) FROM bulk_rows WHERE status = 'SUCCEEDED'")
        assert pending + done == ROWS and pending > 0
