"""A server process SIGKILLed while it delivers webhooks loses none: its leases expire and the next process sends
the rest, each delivery under its one webhook-id."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from app import tenants
from app.auth import mint_token
from app.tenant_config import default_config_dict
from persistence.db import create_engine, session_factory
from tests.api.helpers import CREATE_PRODUCER
from tests.api.webhook_helpers import CREATE_ENDPOINT, DELIVERIES, eventually, receiver
from tests.conftest import fresh_database, settings_for_test, uvicorn_server

pytestmark = pytest.mark.slow

SECRET = "webhook-kill-secret-of-at-least-thirty-two-bytes"
FAST = {"WEBHOOK_TIMEOUT_SECONDS": "2", "WEBHOOK_RETRY_BASE_SECONDS": "0.2", "WEBHOOK_RETRY_MAX_SECONDS": "1",
        "WEBHOOK_POLL_SECONDS": "0.2", "WEBHOOK_CONCURRENCY": "4"}
CHANGES = 20


async def _ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def _graphql(client: httpx.AsyncClient, token: str, query: str, variables: dict) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"})
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


async def _all_delivered(client: httpx.AsyncClient, token: str) -> dict | None:
    page = (await _graphql(client, token, DELIVERIES, {"first": 100}))["webhookDeliveries"]
    done = page["totalCount"] == CHANGES and all(node["status"] == "DELIVERED" for node in page["nodes"])
    return page if done else None


async def test_a_server_killed_mid_delivery_loses_no_webhook(pg_url, template_url, tmp_path: Path):
    url = await fresh_database(pg_url)
    engine = create_engine(url)
    try:
        tenant = await tenants.create_tenant(session_factory(engine), "kill", default_config_dict())
    finally:
        await engine.dispose()
    token = mint_token(settings_for_test(jwt_secret=SECRET), tenant_id=tenant.id, roles=["TENANT_ADMIN"],
                       subject="admin")
    async with receiver(delay=1.0) as hook:  # slow: deliveries are in flight when the process dies
        with uvicorn_server(url, tmp_path / "first.log", SECRET, **FAST) as first:
            async with httpx.AsyncClient(base_url=first.url, timeout=30) as client:
                await eventually(lambda: _ready(client), within=60)
                created = await _graphql(client, token, CREATE_ENDPOINT,
                                         {"url": hook.url, "events": ["producer.created"]})
                assert created["createWebhookEndpoint"]["userErrors"] == []
                for index in range(CHANGES):
                    await _graphql(client, token, CREATE_PRODUCER,
                                   {"input": {"type": "Agent", "lastName": f"Kill{index}", "firstName": "K"}})
                await eventually(lambda: hook.in_flight >= 1)
            os.kill(first.process.pid, signal.SIGKILL)
            first.process.wait(10)
        delivered_before = len(hook.ids())
        assert delivered_before < CHANGES  # the kill did interrupt the deliveries
        with uvicorn_server(url, tmp_path / "second.log", SECRET, **FAST) as second:
            async with httpx.AsyncClient(base_url=second.url, timeout=30) as client:
                await eventually(lambda: _ready(client), within=60)
                # the dead process's leased deliveries go again once their leases expire (same webhook-id)
                page = await eventually(lambda: _all_delivered(client, token), within=90, every=0.5)
    assert page["totalCount"] == CHANGES
    assert {node["messageId"] for node in page["nodes"]} == hook.ids()
    assert all(node["status"] == "DELIVERED" for node in page["nodes"])
    bodies: dict[str, set[bytes]] = {}
    for item in hook.received:  # a delivery the kill interrupted may come twice: the same message, the same id
        bodies.setdefault(item.message_id, set()).add(item.body)
    assert all(len(versions) == 1 for versions in bodies.values())
