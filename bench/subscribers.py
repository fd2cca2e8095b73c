"""Workload (e): many subscribers (graphql-transport-ws) on one bulk job. Each records every progress event with
its arrival time; the delay is arrival minus the server's `updatedAt` of that state (the transaction that
refreshed the job's figures and sent the NOTIFY; same clock, same machine)."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from app.settings import Settings
from bench.bulk import JOB, PAYMENT, START, UPLOAD, gql, write_file
from bench.seed import seed_registry

PROGRESS = """subscription($id: ID!) { bulkOnboardingProgress(jobId: $id) { status processed total updatedAt } }"""
ROWS = 5_000
FIRST_NPN = 90_000_000


async def subscriber(address: str, token: str, job_id: str, ready: asyncio.Event, opened: Any,
                     events: list[tuple[str, int, float, float]]) -> None:
    await opened.acquire()  # held while connecting and subscribing only: released at the first state
    try:
        await _subscribe(address, token, job_id, ready, events, opened)
    finally:
        if not ready.is_set():
            opened.release()


async def _subscribe(address: str, token: str, job_id: str, ready: asyncio.Event,
                     events: list[tuple[str, int, float, float]], opened: asyncio.Semaphore) -> None:
    async with connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                       open_timeout=60, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": PROGRESS, "variables": {"id": job_id}}}))
        first = True
        async for raw in ws:
            received = time.time()
            message = json.loads(raw)
            if message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] == "complete":
                return
            if message["type"] != "next" or message["payload"].get("errors"):
                raise RuntimeError(f"subscription: {message}")
            state = message["payload"]["data"]["bulkOnboardingProgress"]
            sent = datetime.fromisoformat(state["updatedAt"]).timestamp()
            events.append((state["status"], state["processed"], sent, received))
            if first:
                first = False
                opened.release()
                ready.set()


async def watch(address: str, token: str, agency: str, path: Path, count: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=300) as client:
        operations = {"query": UPLOAD, "variables": {"file": None, "agencyId": agency}}
        with path.open("rb") as handle:
            response = await client.post(
                "/graphql", headers={**headers, "Apollo-Require-Preflight": "true"},
                data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
                files={"0": (path.name, handle, "application/octet-stream")})
        job_id = response.json()["data"]["uploadBulkOnboardingFile"]["job"]["id"]
        await gql(client, headers, PAYMENT, {"id": job_id})
        opened = asyncio.Semaphore(50)  # connections being opened at once
        readies = [asyncio.Event() for _ in range(count)]
        logs: list[list[tuple[str, int, float, float]]] = [[] for _ in range(count)]
        tasks = [asyncio.create_task(subscriber(address, token, job_id, readies[i], opened, logs[i]))
                 for i in range(count)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 300)
        began = time.perf_counter()
        await gql(client, headers, START, {"id": job_id})
        await asyncio.wait_for(asyncio.gather(*tasks), 600)
        elapsed = time.perf_counter() - began
        final = (await gql(client, headers, JOB, {"id": job_id}))["bulkOnboardingJob"]
    return {"logs": logs, "elapsed": elapsed, "final": final}


def run(args: argparse.Namespace, db_url: str, tenant: str, env: dict[str, str], token: str, agency: str,
        serve: Callable[..., Any], stop: Callable[..., Any], peak: Callable[[int], tuple[float, float]],
        settings: Settings) -> None:
    print()
    print("| e: subscribers | workers | subscribers | job rows | events each (min / median / max) | "
          "distinct sequences | got the final state | delay p50 ms | delay p99 ms | peak MB (largest / all) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    next_npn = FIRST_NPN
    with tempfile.TemporaryDirectory(prefix="bench-subs-") as tmp:
        for workers in args.workers:
            lines = asyncio.run(seed_registry(db_url, settings, tenant, next_npn, ROWS))
            next_npn += ROWS
            path = write_file(lines, "csv", Path(tmp))
            proc, address = serve(env, workers)
            try:
                result = asyncio.run(watch(address, token, agency, path, args.subscribers))
                largest, whole = peak(proc.pid)
            finally:
                stop(proc)
            logs = result["logs"]
            counts = sorted(len(log) - 1 for log in logs)  # events after the initial state
            sequences = Counter(tuple((s, p) for s, p, _t, _r in log) for log in logs)
            finished = sum(1 for log in logs if log and log[-1][0] == "COMPLETED" and log[-1][1] == ROWS)
            delays = sorted((received - sent) * 1000 for log in logs for _s, _p, sent, received in log[1:])
            p50 = statistics.median(delays) if delays else float("nan")
            p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays else float("nan")
            print(f"| e | {workers} | {len(logs)} | {ROWS} | {counts[0]} / {statistics.median(counts):.0f} / "
                  f"{counts[-1]} | {len(sequences)} | {finished} of {len(logs)} | {p50:.0f} | {p99:.0f} | "
                  f"{largest:.0f} / {whole:.0f} |", flush=True)
