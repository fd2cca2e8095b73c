"""No request may hold the event loop for long: while huge lists, huge variables and deep nesting are sent,
a concurrent trivial query answers within a small multiple of its idle time (a ratio, measured in this run)."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx
import orjson

TRIVIAL = {"query": "{ __typename }"}
RATIO = 3  # the trivial query's median latency under attack, at most this many times under ordinary load
FLOOR_SECONDS = 0.005  # medians below this are rounded up: a ratio of tiny numbers is noise


def attacks(token_id: str) -> list[dict[str, Any]]:
    """Each attack as keyword arguments of an httpx request: the issue's list sizes, a big variables object,
    JSON nested thousands deep."""
    deep = "[" * 5000 + "]" * 5000
    return [
        {"json": {"query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": {"ids": [token_id] * 30_000}}},
        {"json": {"query": "mutation($ids: [ID!]!) { removeProducers(ids: $ids) { userErrors { code } } }",
                  "variables": {"ids": [token_id] * 20_000}}},
        {"json": {"query": "mutation($f: [NewFlagInput!]!) { addUnderwritingFlags(flags: $f) { userErrors { code } } }",
                  "variables": {"f": [{"level": "INFO", "tag": "t"}] * 20_000}}},
        {"json": {"query": "{ __typename }", "variables": {f"v{i}": "x" * 100 for i in range(50_000)}}},
        {"content": ('{"query": "{ __typename }", "variables": {"x": ' + deep + "}}").encode(),
         "headers": {"Content-Type": "application/json"}},
        {"json": {"query": "{" + "producers { nodes { " * 200 + "id" + " } }" * 200 + "}"}},
    ]


async def latencies(http: httpx.AsyncClient, headers: dict[str, str], count: int) -> list[float]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        response = await http.post("/graphql", json=TRIVIAL, headers=headers)
        out.append(time.perf_counter() - started)
        assert response.status_code == 200
        await asyncio.sleep(0.005)
    return out


async def latency_while_sending(http: httpx.AsyncClient, headers: dict[str, str], bodies: list[bytes],
                                statuses: list[int]) -> float:
    """The trivial query's median latency while one sender per body posts it again and again."""
    stop = asyncio.Event()

    async def sender(body: bytes) -> None:
        while not stop.is_set():
            response = await http.post("/graphql", content=body, headers={**headers, "Content-Type": "application/json"})
            statuses.append(response.status_code)
            await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(sender(body)) for body in bodies]
    try:
        await asyncio.sleep(0.05)
        return statistics.median(await latencies(http, headers, 40))
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def test_a_trivial_query_stays_fast_while_attacks_are_sent(http, gql, new_tenant):
    from tests.api.helpers import create_producer

    tenant = await new_tenant()
    headers = {"Authorization": f"Bearer {tenant.admin}"}
    producer = await create_producer(gql, tenant.admin)
    # encoded once: the client's own work must not be what slows the loop down
    bodies = [request["content"] if "content" in request else orjson.dumps(request["json"])
              for request in attacks(producer["id"])]
    await latencies(http, headers, 5)  # warm up
    # given the trivial query's latency while as many senders send ordinary requests
    ordinary = await latency_while_sending(http, headers, [orjson.dumps(TRIVIAL)] * len(bodies), [])
    # when the senders send the attacks instead
    statuses: list[int] = []
    attacked = await latency_while_sending(http, headers, bodies, statuses)
    # then the trivial query is not slower than a small multiple of that (an attack costs about what an
    # ordinary request costs), and every attack got a typed refusal, never a 5xx
    assert attacked <= RATIO * max(ordinary, FLOOR_SECONDS), (ordinary, attacked)
    assert statuses and all(status < 500 for status in statuses), sorted(set(statuses))
