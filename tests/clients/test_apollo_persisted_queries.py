"""Apollo Client's persisted query link (from npm, tests/clients/apollo) against a real uvicorn: the first request
sends only the hash, the link registers the text once, and every later request, over POST or GET, sends no query
text. Needs node and npm; `npm ci` runs once into tests/clients/apollo/node_modules (git-ignored)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.auth import mint_token
from app.persisted_queries import sha256_of
from tests.clients.test_gql_client import SECRET, _uvicorn
from tests.clients.test_typescript_example import installed
from tests.conftest import fresh_database, settings_for_test

CLIENT = Path(__file__).resolve().parent / "apollo"

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="node and npm are needed to run Apollo Client")


def run(*command: str, env: dict[str, str] | None = None, timeout: int) -> str:
    done = subprocess.run(command, cwd=CLIENT, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


async def create_agency(base_url: str, token: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for _ in range(200):
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        created = await http.post("/graphql", headers={"Authorization": f"Bearer {token}"}, json={
            "query": "mutation($input: CreateProducerInput!) { createProducer(input: $input) { userErrors { code } } }",
            "variables": {"input": {"type": "Agency", "organizationName": "Apollo Agency"}}})
        assert created.json()["data"]["createProducer"]["userErrors"] == []


async def test_apollo_persisted_query_link_sends_the_query_text_once(pg_url, template_url, tmp_path):
    # given Apollo Client installed from its lock file, a real server, and a tenant with an agency
    if not installed(CLIENT):
        run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", timeout=240)
    url = await fresh_database(pg_url)
    from app import tenants
    from app.tenant_config import default_config_dict
    from persistence.db import create_engine, session_factory

    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        tenant = await tenants.create_tenant(session_factory(engine), "apollo-apq", default_config_dict())
    finally:
        await engine.dispose()
    token = mint_token(settings_for_test(jwt_secret=SECRET), tenant_id=tenant.id, roles=["TENANT_ADMIN"],
                       subject="apollo", agency=None, ttl_seconds=600)
    with _uvicorn(url, tmp_path / "server.log") as address:
        await create_agency(f"http://{address}", token)
        env = {**os.environ, "PRODUCER_GRAPH_URL": f"http://{address}/graphql", "PRODUCER_GRAPH_TOKEN": token}
        # when the link runs the query twice over POST, then once more from a client hashing over GET
        out = json.loads(run("node", "persisted_queries.mjs", env=env, timeout=120))
    requests, results = out["requests"], out["results"]
    bodies = [json.loads(r["body"]) if r["body"] else None for r in requests]
    # then only the link's retry after PERSISTED_QUERY_NOT_FOUND carried the text, checked against its hash
    assert [r["method"] for r in requests] == ["POST", "POST", "POST", "GET"]
    assert "query" not in bodies[0] and "query" not in bodies[2]
    query = bodies[1]["query"]
    assert bodies[1]["extensions"]["persistedQuery"] == {"version": 1, "sha256Hash": sha256_of(query)}
    assert bodies[2]["extensions"] == bodies[0]["extensions"] == bodies[1]["extensions"]
    params = parse_qs(urlsplit(requests[3]["url"]).query)
    assert "query" not in params
    assert json.loads(params["extensions"][0])["persistedQuery"]["sha256Hash"] == sha256_of(query)
    # and every run answered the same data
    assert len(results) == 3 and results[0] == results[1] == results[2]
    assert results[0]["producers"]["totalCount"] == 1
    assert [node["name"] for node in results[0]["producers"]["nodes"]] == ["Apollo Agency"]
