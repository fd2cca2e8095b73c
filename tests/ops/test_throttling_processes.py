"""The cost budget across server processes: two real uvicorn processes on one database, each leasing slices of
the caller's bucket from PostgreSQL, together grant no more than the bucket plus one slice per process (the
tolerance docs/operations.md states)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.helpers import create_producer
from tests.conftest import settings_for_test, uvicorn_process

pytestmark = pytest.mark.slow

SECRET = "throttle-secret-of-at-least-thirty-two-bytes"
MAXIMUM, RESTORE_RATE, LEASE, PROCESSES = 200, 1, 20, 2
COST = 11  # `nodes` of 10 ids, each returned: requested and actual cost 11
BUDGET = {"MAX_QUERY_COST": str(MAXIMUM), "THROTTLE_MAXIMUM_AVAILABLE": str(MAXIMUM),
          "THROTTLE_RESTORE_RATE": str(RESTORE_RATE), "THROTTLE_LEASE": str(LEASE)}


@pytest.fixture(scope="module")
def settings() -> Any:
    return settings_for_test(jwt_secret=SECRET)


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    with uvicorn_process(database_url, tmp_path / "a.log", SECRET, **BUDGET) as first, \
            uvicorn_process(database_url, tmp_path / "b.log", SECRET, **BUDGET) as second:
        yield [first, second]


async def healthy(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the server did not become healthy in 30 s")


async def test_two_processes_together_grant_at_most_the_bucket_plus_one_slice_each(gql, new_tenant, servers):
    # given one caller and two server processes sharing its budget
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    token = gql.token(tenant.id, "TENANT_ADMIN", subject="shared-caller")
    query = {"query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": {"ids": [producer["id"]] * 10}}
    clients = [httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
               for base in servers]
    for client in clients:
        await healthy(client)
    # when it spends 11 at a time, alternating between them, until both refuse
    granted, paid_by, refusals = 0, [0] * PROCESSES, 0
    started = time.monotonic()
    for turn in range(4 * MAXIMUM // COST):
        index = turn % PROCESSES
        response = await clients[index].post("/graphql", json=query)
        if response.status_code == 429:
            assert response.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
            refusals += 1
            if refusals >= 2 * PROCESSES:
                break
            continue
        assert response.status_code == 200 and not response.json().get("errors"), response.text
        assert response.json()["extensions"]["cost"]["actualQueryCost"] == COST
        granted += COST
        paid_by[index] += 1
        refusals = 0
    elapsed = time.monotonic() - started
    for client in clients:
        await client.aclose()
    # then both served it, and together they granted no more than the bucket, what it regained meanwhile and
    # one slice per process; and no less than the bucket minus the slices left unspent in the processes
    assert refusals >= 2 * PROCESSES and all(paid_by), paid_by
    assert granted <= MAXIMUM + RESTORE_RATE * elapsed + PROCESSES * LEASE, (granted, elapsed)
    assert granted >= MAXIMUM - PROCESSES * LEASE, granted
