"""The server driven through Python's `gql` client as an integrator would: queries, mutations and a multipart upload
over HTTP (HTTPXAsyncTransport), and the bulk progress subscription over WebSocket (graphql-transport-ws),
against a real uvicorn process on a fresh database holding the demo."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from gql import Client, FileVar, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from app.runtime.demo import Demo, build_demo, registry_entries
from persistence.db import create_engine, session_factory
from tests.conftest import fresh_database, uvicorn_process
from tests.conftest import settings_for_test as make_settings

SECRET = "gql-client-secret-of-at-least-thirty-two-bytes"
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def _uvicorn(database_url: str, log: Path) -> Iterator[str]:
    with uvicorn_process(database_url, log, SECRET) as base_url:
        yield base_url.removeprefix("http://")


class Server:
    def __init__(self, address: str, demo: Demo, tokens: dict[str, str]) -> None:
        self.address = address
        self.demo = demo
        self.tokens = tokens

    def http(self, role: str = "TENANT_ADMIN", **headers: str) -> Client:
        transport = HTTPXAsyncTransport(f"http://{self.address}/graphql",
                                        headers={"Authorization": f"Bearer {self.tokens[role]}", **headers})
        return Client(transport=transport)

    def websocket(self, role: str = "TENANT_ADMIN") -> Client:
        transport = WebsocketsTransport(f"ws://{self.address}/graphql",
                                        init_payload={"Authorization": f"Bearer {self.tokens[role]}"},
                                        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
        return Client(transport=transport)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(pg_url: str, template_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    url = await fresh_database(pg_url)
    settings = make_settings(jwt_secret=SECRET)
    with _uvicorn(url, tmp_path_factory.mktemp("gql") / "server.log") as address:
        engine = create_engine(url, pool_size=2, max_overflow=2)
        try:
            async with httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http:
                for _ in range(200):
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                demo = await build_demo(http, session_factory(engine), settings)
            yield Server(address, demo, demo.tokens(settings))
        finally:
            await engine.dispose()


PRODUCERS = gql("""
query Agencies($first: Int!) {
  producers(first: $first, filter: {rootOnly: true}) { totalCount nodes { id name children(first: 5) { nodes { name } } } }
}""")
CREATE = gql("""
mutation Create($input: CreateProducerInput!) {
  createProducer(input: $input) { producer { id name state parent { name } } userErrors { field message code } }
}""")
UPLOAD = gql("""
mutation Upload($file: Upload!, $agencyId: ID) {
  uploadBulkOnboardingFile(file: $file, agencyId: $agencyId) {
    job { id status totalRows validRows invalidRows } userErrors { field message code }
  }
}""")
PAY = gql("""
mutation Pay($jobId: ID!) {
  setBulkOnboardingPayment(jobId: $jobId, input: {newLicensePaidBy: AGENCY, renewalPaidBy: AGENCY, autoRenewal: false}) {
    userErrors { code }
  }
}""")
START = gql("""mutation Start($jobId: ID!) { startBulkOnboarding(jobId: $jobId) { job { status } userErrors { code } } }""")
PROGRESS = gql("""
subscription Progress($jobId: ID!) {
  bulkOnboardingProgress(jobId: $jobId) { status total processed succeeded failed }
}""")


def request(document: GraphQLRequest, **variables: Any) -> GraphQLRequest:
    return GraphQLRequest(document, variable_values=variables)


def bulk_file(path: Path, first: int, count: int) -> Path:
    """Unused producers of the demo registry, as an upload file."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Last Name", "NPN", "Email", "SSN", "Gender"])
        for entry in registry_entries()[first:first + count]:
            ssn = entry.ssn or ""
            writer.writerow([entry.last_name, entry.npn, f"gql.{entry.npn}@example.com",
                             f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}", "F"])
    return path


async def test_query_with_variables_over_http(server):
    async with server.http() as session:
        result = await session.execute(request(PRODUCERS, first=5))
    assert result["producers"]["totalCount"] == 2
    assert {p["name"] for p in result["producers"]["nodes"]} == {"Northwind Insurance Agency", "Summit Brokers"}


async def test_mutation_over_http_returns_its_payload(server):
    async with server.http("AGENCY_ADMIN") as session:
        result = await session.execute(request(CREATE, input={
            "type": "Agent", "firstName": "Gia", "lastName": "Quinn", "parentId": server.demo.values["northwindId"]}))
    payload = result["createProducer"]
    assert payload["userErrors"] == []
    assert (payload["producer"]["state"], payload["producer"]["parent"]["name"]) == (
        "DRAFT", "Northwind Insurance Agency")


async def test_refusal_reaches_the_client_as_a_query_error_with_its_code(server):
    async with server.http("READ_ONLY") as session:
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(request(CREATE, input={"type": "Agency", "organizationName": "No"}))
    assert refused.value.errors and refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_multipart_upload_needs_the_preflight_header(server, tmp_path):
    path = bulk_file(tmp_path / "producers.csv", 30, 3)
    async with server.http() as session:
        with pytest.raises(TransportQueryError) as refused:
            with path.open("rb") as handle:
                await session.execute(request(UPLOAD, file=FileVar(handle), agencyId=server.demo.values["summitEastId"]),
                                      upload_files=True)
    assert refused.value.errors and refused.value.errors[0]["extensions"]["code"] == "CSRF_PREVENTED"


async def test_upload_then_follow_progress_over_websocket_until_the_job_completes(server, tmp_path):
    # given a file of 8 registry producers uploaded with gql's multipart support
    path = bulk_file(tmp_path / "producers.csv", 20, 8)
    async with server.http(**{"Apollo-Require-Preflight": "true"}) as session:
        with path.open("rb") as handle:
            uploaded = (await session.execute(
                request(UPLOAD, file=FileVar(handle, filename="producers.csv", content_type="text/csv"),
                        agencyId=server.demo.values["summitEastId"]), upload_files=True))["uploadBulkOnboardingFile"]
        assert uploaded["userErrors"] == []
        job = uploaded["job"]
        assert (job["status"], job["totalRows"], job["validRows"]) == ("VALIDATED", 8, 8)
        assert (await session.execute(request(PAY, jobId=job["id"])))["setBulkOnboardingPayment"]["userErrors"] == []

    # when a subscriber follows the job over WebSocket and the job is started
    events: list[dict[str, Any]] = []
    first = asyncio.Event()

    async def follow() -> None:
        async with server.websocket() as ws:
            async for result in ws.subscribe(request(PROGRESS, jobId=job["id"])):
                events.append(result["bulkOnboardingProgress"])
                first.set()

    follower = asyncio.create_task(follow())
    await asyncio.wait_for(first.wait(), 30)
    async with server.http() as session:
        started = (await session.execute(request(START, jobId=job["id"])))["startBulkOnboarding"]
    assert started["userErrors"] == []
    await asyncio.wait_for(follower, 60)

    # then the events start with the current state, never go back, and end with every row onboarded
    assert events[0]["status"] == "VALIDATED"
    processed = [e["processed"] for e in events]
    assert processed == sorted(processed)
    assert events[-1] == {"status": "COMPLETED", "total": 8, "processed": 8, "succeeded": 8, "failed": 0}


async def test_the_python_example_follows_a_finished_job_to_its_end(server):
    script = ROOT / "examples" / "python" / "bulk_progress.py"
    env = {**os.environ, "PRODUCER_GRAPH_TOKEN": server.tokens["TENANT_ADMIN"]}
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), server.demo.values["bulkJobId"], f"ws://{server.address}/graphql",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
    assert process.returncode == 0, output
    assert output.splitlines()[-2:] == ["COMPLETED: 7/7 processed, 5 onboarded, 2 failed", "job completed"]
