"""Statement counts that do not grow with the work: node look-ups by id, and bulk progress for many subscribers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.api.bulk_helpers import bulk_setup, csv_file, file_rows, upload
from tests.api.helpers import create_producer

NODES = """query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Producer { name state parent { id name } } } }"""
PROGRESS = "subscription($id: ID!) { bulkOnboardingProgress(jobId: $id) { status processed } }"
CANCEL = "mutation($id: ID!) { cancelBulkOnboarding(jobId: $id) { job { status } userErrors { code } } }"


def _without_tenant_lookup(counter: Any) -> int:
    return len([s for s in counter.statements if "FROM tenants" not in s])


async def test_100_nodes_by_id_run_as_many_statements_as_10(gql, new_tenant, statements):
    # given 100 producers under an agency
    tenant = await new_tenant()
    parent = await create_producer(gql, tenant.admin, type="Agency", organizationName="Nodes Agency")
    ids = [(await create_producer(gql, tenant.admin, parent=parent["id"], lastName=f"N{i}"))["id"] for i in range(100)]

    # when 10 and then 100 of them are looked up by id, with their parent
    with statements:
        few = await gql.ok(NODES, {"ids": ids[:10]}, token=tenant.admin)
    few_count = _without_tenant_lookup(statements)
    with statements:
        many = await gql.ok(NODES, {"ids": ids}, token=tenant.admin)

    # then both ran the same statements
    assert [n["id"] for n in many["nodes"]] == ids and len(few["nodes"]) == 10
    assert many["nodes"][0]["parent"]["id"] == parent["id"]
    assert _without_tenant_lookup(statements) == few_count, statements.statements


async def _subscribe(client: Any, token: str, job_id: str, ready: asyncio.Event) -> list[dict[str, Any]]:
    states: list[dict[str, Any]] = []
    async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": PROGRESS,
                                                                        "variables": {"id": job_id}}})
        while (message := await ws.receive_json(timeout=30))["type"] != "complete":
            assert message["type"] == "next" and not message["payload"].get("errors"), message
            states.append(message["payload"]["data"]["bulkOnboardingProgress"])
            ready.set()
    return states


async def _statements_of_a_change_seen_by(app: Any, gql: Any, http: Any, new_tenant: Any, statements: Any,
                                          subscribers: int) -> int:
    """Statements on the request engine from a cancel until every subscriber has seen it and ended."""
    s = await bulk_setup(app, gql, new_tenant, count=2)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        readies = [asyncio.Event() for _ in range(subscribers)]
        watchers = [asyncio.create_task(_subscribe(client, s.admin, job["id"], r)) for r in readies]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
        with statements:
            data = await gql.ok(CANCEL, {"id": job["id"]}, token=s.admin)
            seen = await asyncio.wait_for(asyncio.gather(*watchers), 30)
    assert data["cancelBulkOnboarding"]["userErrors"] == []
    assert all([x["status"] for x in states] == ["VALIDATED", "CANCELLED"] for states in seen)
    return _without_tenant_lookup(statements)


async def test_a_progress_change_is_read_once_for_all_subscribers(app, gql, http, new_tenant, statements):
    # given a validated job watched by one subscriber, and another watched by twenty
    # when each job is cancelled
    one = await _statements_of_a_change_seen_by(app, gql, http, new_tenant, statements, 1)
    twenty = await _statements_of_a_change_seen_by(app, gql, http, new_tenant, statements, 20)
    # then every subscriber saw the change, and the job was read as often for twenty as for one
    assert twenty == one
