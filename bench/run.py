"""Run the benchmarks: the server as users run it (uvicorn on 127.0.0.1), driven over HTTP from this process.

    .venv/bin/python -m bench.run --producers 10000 --workers 1 --concurrency 1 16

Prints one table row per (workload, concurrency): p50, p99, requests/s, SQL statements per request,
peak server memory, and the floor (one hand-written SQL statement through asyncpg + orjson, served by
Starlette on uvicorn) with the ratio to it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.auth import mint_token
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PAGE_QUERY = """query($after: String) { producers(first: 100, after: $after) { edges { node {
  id name state parent { id name } ancestors { id name } codes { nodes { code state } } } } } }"""
NODE_QUERY = "query($id: ID!) { node(id: $id) { id ... on Producer { name state } } }"
SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    total = 0.0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except FileNotFoundError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def start(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start: {' '.join(cmd)}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


async def drive(url: str, make_request: Any, concurrency: int, total: int) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            for _ in counter:
                method, path, kwargs = make_request()
                t0 = time.perf_counter()
                response = await client.request(method, path, **kwargs)
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200 or b'"errors"' in response.content[:200]:
                    raise RuntimeError(f"bad response {response.status_code}: {response.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        latencies.append(-(time.perf_counter() - started))  # wall time marker
    return latencies


def summarise(latencies: list[float]) -> tuple[float, float, float]:
    wall = -latencies.pop()
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return p50, p99, len(ordered) / wall


async def statements_per_request(db_url: str, tenant: str, query: str, variables: dict[str, Any]) -> int:
    """Run one request in-process with a statement counter on the engine."""
    from sqlalchemy import event

    from app.server import create_app

    settings = Settings(env="test", jwt_secret=SECRET)
    app = create_app(settings, database_url=db_url, migrate=False)
    count = 0
    async with app.router.lifespan_context(app):
        def before(*args: Any) -> None:
            nonlocal count
            count += 1

        token = mint_token(settings, tenant_id=tenant, roles=["TENANT_ADMIN"])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.post("/graphql", json={"query": query, "variables": variables},
                              headers={"Authorization": f"Bearer {token}"})  # warm the tenant cache
            event.listen(app.state.engine.sync_engine, "before_cursor_execute", before)
            await client.post("/graphql", json={"query": query, "variables": variables},
                              headers={"Authorization": f"Bearer {token}"})
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--producers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--database-url", help="an external PostgreSQL; default: a fresh embedded one")
    args = parser.parse_args()

    import pgserver

    from bench.seed import seed

    tmp = tempfile.mkdtemp(prefix="pgbench")
    server = None
    if args.database_url:
        db_url = args.database_url
    else:
        server = pgserver.get_server(Path(tmp), cleanup_mode="stop")
        db_url = server.get_uri()
    tenant = asyncio.run(seed(db_url, args.producers, f"bench-{int(time.time())}"))
    settings = Settings(env="test", jwt_secret=SECRET)
    token = mint_token(settings, tenant_id=tenant, roles=["TENANT_ADMIN"], ttl_seconds=7200)
    headers = {"Authorization": f"Bearer {token}"}
    ids = asyncio.run(_ids(db_url, tenant))
    env = {**os.environ, "DATABASE_URL": db_url, "JWT_SECRET": SECRET, "ENV": "test"}

    page_stmts = asyncio.run(statements_per_request(db_url, tenant, PAGE_QUERY, {}))
    node_stmts = asyncio.run(statements_per_request(db_url, tenant, NODE_QUERY, {"id": ids[0][1]}))
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; {args.producers} producers")
    print("| workload | workers | concurrency | p50 ms | p99 ms | req/s | SQL/req | peak MB | floor p50 ms | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    floor_port = free_port()
    floor = start([sys.executable, "-m", "uvicorn", "bench.floor:app", "--port", str(floor_port), "--log-level",
                   "warning"], {**env, "BENCH_TENANT": tenant}, floor_port)
    try:
        for workers in args.workers:
            port = free_port()
            proc = start([str(ROOT / ".venv/bin/producer-graph"), "serve", "--port", str(port), "--workers",
                          str(workers)], env, port)
            try:
                for concurrency in args.concurrency:
                    for name, maker, floor_maker, stmts in (
                        ("a: page of 100 producers", lambda: ("POST", "/graphql", {
                            "json": {"query": PAGE_QUERY}, "headers": headers}),
                         lambda: ("GET", "/page", {}), page_stmts),
                        ("b: node by id", lambda: ("POST", "/graphql", {
                            "json": {"query": NODE_QUERY, "variables": {"id": random.choice(ids)[1]}},
                            "headers": headers}),
                         lambda: ("GET", f"/node/{random.choice(ids)[0]}", {}), node_stmts),
                    ):
                        asyncio.run(drive(f"http://127.0.0.1:{port}", maker, concurrency, 20))  # warm-up
                        p50, p99, rps = summarise(asyncio.run(
                            drive(f"http://127.0.0.1:{port}", maker, concurrency, args.requests)))
                        f50, _f99, _frps = summarise(asyncio.run(
                            drive(f"http://127.0.0.1:{floor_port}", floor_maker, concurrency, args.requests)))
                        print(f"| {name} | {workers} | {concurrency} | {p50:.1f} | {p99:.1f} | {rps:.0f} | {stmts} | "
                              f"{peak_rss_mb(proc.pid):.0f} | {f50:.1f} | {p50 / f50:.1f}x |", flush=True)
            finally:
                stop(proc)
    finally:
        stop(floor)
        if server is not None:
            server.cleanup()


async def _ids(db_url: str, tenant: str) -> list[tuple[str, str]]:
    import asyncpg

    from persistence.db import sync_url
    from resolvers.ids import global_id

    conn = await asyncpg.connect(sync_url(db_url))
    try:
        rows = await conn.fetch("SELECT id FROM producers WHERE tenant_id = $1 LIMIT 2000", tenant)
    finally:
        await conn.close()
    return [(r["id"], global_id("Producer", r["id"])) for r in rows]


if __name__ == "__main__":
    main()
