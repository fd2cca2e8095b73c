"""Run the benchmarks: the server as users run it (`producer-graph serve` on 127.0.0.1), driven over HTTP and
WebSocket from this process.

    .venv/bin/python -m bench.run --all                      # the full suite (see bench/README.md)
    .venv/bin/python -m bench.run --producers 2000 --only a b c --concurrency 1 --requests 100

Prints one table row per (workload, workers, concurrency): p50, p99, requests/s, SQL statements per request,
peak server memory, and for reads the floor (one hand-written SQL statement through asyncpg + orjson, served by
Starlette on uvicorn) with the ratio to it. Bulk onboarding (d), subscribers (e), documents (g) and registry sync (h)
print their own rows; (f) compares a cheap query with the per-caller cost budget on and off.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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
from bench import bulk, documents, peer, registry_sync, subscribers

ROOT = Path(__file__).resolve().parents[1]
PAGE_QUERY = """query($first: Int!) { producers(first: $first) { edges { node {
  id name state parent { id name } ancestors { id name } codes { nodes { code state } }
  licenses { nodes { licenseNumber jurisdictions state } } } } } }"""
NODE_QUERY = "query($id: ID!) { node(id: $id) { id ... on Producer { name state } } }"
NODES_QUERY = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Producer { name state parent { id name } } } }"
UNDERWRITE = """mutation($ids: [ID!]!) { underwriteQuotes(ids: $ids) {
  results { quote { id state } userErrors { code } } userErrors { code } } }"""
SECRET = "bench-secret-of-at-least-thirty-two-bytes!"
ALL = {"producers": 10_000, "workers": [1, 2], "concurrency": [1, 16, 64], "requests": 400,
       "bulk_rows": [10_000, 100_000], "bulk_formats": ["csv", "xlsx"], "subscribers": 500,
       "sync_records": [100_000]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """Peak resident memory (VmHWM) of the server: the largest process, and the sum over the process tree."""
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except FileNotFoundError:
        pass
    peaks = []
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return (max(peaks) if peaks else 0.0), sum(peaks)


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
    stop(proc)
    raise RuntimeError(f"server did not start: {' '.join(cmd)}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server we started (its own process group, by id)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def serve(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = start([str(ROOT / ".venv/bin/producer-graph"), "serve", "--host", "127.0.0.1", "--port", str(port),
                  "--workers", str(workers)], env, port)
    return proc, f"127.0.0.1:{port}"


async def drive(url: str, make_request: Any, concurrency: int, total: int) -> tuple[list[float], float]:
    """Send `total` requests from `concurrency` clients; latencies and wall time."""
    latencies: list[float] = []
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

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
    return latencies, time.perf_counter() - started


def summarise(result: tuple[list[float], float]) -> tuple[float, float, float]:
    latencies, wall = result
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return p50, p99, len(ordered) / wall


async def statements_per_request(db_url: str, tenant: str, query: str, variables: dict[str, Any]) -> int:
    """Run one request in-process counting what reaches PostgreSQL from the request engine (after a warm-up):
    SQLAlchemy's statements and what asyncpg sends by itself (transaction control, pings, compiled reads)."""
    from sqlalchemy import event

    from app.runtime.server import create_app

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
            body = {"query": query, "variables": variables}
            def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:  # what asyncpg sends itself:
                if not record.info.get("bench_logger"):  # BEGIN/ROLLBACK, pings, compiled reads' own statement
                    dbapi_connection.driver_connection.add_query_logger(lambda _record: before())
                    record.info["bench_logger"] = True

            event.listen(app.state.engine.sync_engine.pool, "checkout", checkout)
            await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})  # warm caches
            count = 0
            event.listen(app.state.engine.sync_engine, "before_cursor_execute", before)
            response = await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
            event.remove(app.state.engine.sync_engine, "before_cursor_execute", before)
            if b'"errors"' in response.content[:200]:
                raise RuntimeError(response.text[:300])
    return count


async def _ids(db_url: str, tenant: str) -> tuple[list[tuple[str, str]], list[str], str]:
    """(locator, global id) of producers, global ids of quotes, and the global id of the largest agency."""
    import asyncpg

    from persistence.db import sync_url
    from resolvers.ids import global_id

    conn = await asyncpg.connect(sync_url(db_url))
    try:
        producers = await conn.fetch("SELECT id FROM producers WHERE tenant_id = $1 ORDER BY id LIMIT 2000", tenant)
        quotes = await conn.fetch("SELECT id FROM quotes WHERE tenant_id = $1 ORDER BY id", tenant)
        agency = await conn.fetchval("""SELECT p.id FROM producers p WHERE p.tenant_id = $1 AND p.parent_id IS NULL
                                        ORDER BY p.id LIMIT 1""", tenant)
    finally:
        await conn.close()
    return ([(r["id"], global_id("Producer", r["id"])) for r in producers],
            [global_id("Quote", r["id"]) for r in quotes], global_id("Producer", agency))


def row(*cells: Any) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="the full suite: " + ", ".join(
        f"{k}={v}" for k, v in ALL.items()))
    parser.add_argument("--only", nargs="+", default=["a", "b", "c", "d", "e", "f", "g", "h", "p"],
                        choices=["a", "b", "c", "d", "e", "f", "g", "h", "p"])
    parser.add_argument("--rounds", type=int, default=3, help="(p) interleaved rounds against PostGraphile")
    parser.add_argument("--producers", type=int, default=2_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--bulk-rows", type=int, nargs="+", default=[2_000])
    parser.add_argument("--bulk-formats", nargs="+", default=["csv", "xlsx"], choices=["csv", "xlsx"])
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--document-mb", type=int, default=20, help="size of the document of workload g")
    parser.add_argument("--sync-records", type=int, nargs="+", default=[10_000],
                        help="registry records per sync run (h)")
    parser.add_argument("--sync-onboarded-per-mille", type=int, default=200,
                        help="share of the registry records onboarded before the later extract (h), per mille")
    parser.add_argument("--sync-format", choices=["csv", "json"], default="csv",
                        help="the format of the extracts of (h)")
    parser.add_argument("--database-url", help="an external PostgreSQL; default: a fresh embedded one")
    args = parser.parse_args()
    if args.all:
        for key, value in ALL.items():
            setattr(args, key, value)

    import pgserver

    from bench.seed import seed

    tmp = tempfile.mkdtemp(prefix="pgbench")
    server = None
    if args.database_url:
        db_url = args.database_url
    else:
        server = pgserver.get_server(Path(tmp), cleanup_mode="stop")
        db_url = server.get_uri()
    began = time.time()
    tenant = asyncio.run(seed(db_url, args.producers, f"bench-{int(time.time())}"))
    settings = Settings(env="test", jwt_secret=SECRET)
    token = mint_token(settings, tenant_id=tenant, roles=["TENANT_ADMIN"], subject="admin@example.com",
                       ttl_seconds=7200)
    headers = {"Authorization": f"Bearer {token}"}
    ids, quotes, agency = asyncio.run(_ids(db_url, tenant))
    # the workloads measure the server, not one caller's budget (a page of 100 costs ~1000): (f) measures that
    env = {**os.environ, "DATABASE_URL": db_url, "JWT_SECRET": SECRET, "ENV": "test", "THROTTLE_ENABLED": "false"}
    env.pop("SMTP_HOST", None)
    print(f"machine: {machine(db_url)}; {args.producers} producers, {len(quotes)} quotes; seeded in "
          f"{time.time() - began:.0f}s; load average before: {os.getloadavg()[0]:.2f}")

    try:
        if {"a", "b", "c"} & set(args.only):
            requests_workloads(args, db_url, tenant, env, headers, ids, quotes)
        if "p" in args.only:
            peer.run(args, db_url, {**env, "BENCH_TENANT": tenant}, headers, ids, sys.modules[__name__])
        if "d" in args.only:
            bulk.run(args, db_url, tenant, env, token, agency, serve, stop, peak_rss_mb, settings)
        if "e" in args.only:
            subscribers.run(args, db_url, tenant, env, token, agency, serve, stop, peak_rss_mb, settings)
        if "f" in args.only:
            throttle_workload(args, env, headers, ids)
        if "g" in args.only:
            documents.run(args, db_url, env, serve, stop, peak_rss_mb, settings)
        if "h" in args.only:
            registry_sync.run(args, db_url, tenant, env)
    finally:
        if server is not None:
            server.cleanup()


def machine(db_url: str) -> str:
    import asyncpg

    from persistence.db import sync_url

    async def version() -> str:
        conn = await asyncpg.connect(sync_url(db_url))
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), "0")
    return (f"{os.cpu_count()} cores, {int(memory) / 1024 / 1024:.0f} GB, Python {sys.version.split()[0]}, "
            f"PostgreSQL {asyncio.run(version())}")


def requests_workloads(args: argparse.Namespace, db_url: str, tenant: str, env: dict[str, str],
                       headers: dict[str, str], ids: list[tuple[str, str]], quotes: list[str]) -> None:
    count = lambda q, v: asyncio.run(statements_per_request(db_url, tenant, q, v))  # noqa: E731
    page_sql = f"{count(PAGE_QUERY, {'first': 10})} / {count(PAGE_QUERY, {'first': 100})}"
    node_sql = str(count(NODE_QUERY, {"id": ids[0][1]}))
    nodes_sql = f"{count(NODES_QUERY, {'ids': [g for _, g in ids[:10]]})} / " \
                f"{count(NODES_QUERY, {'ids': [g for _, g in ids[:100]]})}"
    under_sql = f"{count(UNDERWRITE, {'ids': quotes[:10]})} / {count(UNDERWRITE, {'ids': quotes[10:110]})}"
    print(f"SQL statements per request (10 / 100 items): page {page_sql}; nodes {nodes_sql}; "
          f"underwrite {under_sql}")
    print()
    row("workload", "workers", "concurrency", "p50 ms", "p99 ms", "req/s", "SQL/req", "peak MB (largest / all)",
        "floor p50 ms", "ratio")
    row(*["---"] * 10)
    floor_port = free_port()
    floor = start([sys.executable, "-m", "uvicorn", "bench.floor:app", "--host", "127.0.0.1", "--port",
                   str(floor_port), "--log-level", "warning"], {**env, "BENCH_TENANT": tenant}, floor_port)
    windows = itertools.count()
    try:
        for workers in args.workers:
            proc, address = serve(env, workers)
            try:
                for concurrency in args.concurrency:
                    cases: list[tuple[str, Any, Any, str]] = []
                    if "a" in args.only:
                        cases.append(("a: page of 100 producers", lambda: ("POST", "/graphql", {
                            "json": {"query": PAGE_QUERY, "variables": {"first": 100}}, "headers": headers}),
                            lambda: ("GET", "/page", {}), page_sql))
                    if "b" in args.only:
                        cases.append(("b: node by id", lambda: ("POST", "/graphql", {
                            "json": {"query": NODE_QUERY, "variables": {"id": random.choice(ids)[1]}},
                            "headers": headers}), lambda: ("GET", f"/node/{random.choice(ids)[0]}", {}), node_sql))
                    if "c" in args.only:
                        def underwrite() -> tuple[str, str, dict[str, Any]]:
                            start_at = next(windows) * 100 % max(len(quotes) - 100, 1)
                            return ("POST", "/graphql", {"json": {"query": UNDERWRITE, "variables": {
                                "ids": quotes[start_at:start_at + 100]}}, "headers": headers})
                        cases.append(("c: underwrite 100 quotes", underwrite, None, under_sql))
                    for name, maker, floor_maker, stmts in cases:
                        asyncio.run(drive(f"http://{address}", maker, concurrency, min(20, args.requests)))
                        total = args.requests if name[0] != "c" else max(20, args.requests // 4)
                        p50, p99, rps = summarise(asyncio.run(drive(f"http://{address}", maker, concurrency, total)))
                        floor_cells: tuple[str, str] = ("-", "-")
                        if floor_maker is not None:
                            f50, _f99, _frps = summarise(asyncio.run(
                                drive(f"http://127.0.0.1:{floor_port}", floor_maker, concurrency, args.requests)))
                            floor_cells = (f"{f50:.1f}", f"{p50 / f50:.1f}x")
                        largest, whole = peak_rss_mb(proc.pid)
                        row(name, workers, concurrency, f"{p50:.1f}", f"{p99:.1f}", f"{rps:.0f}", stmts,
                            f"{largest:.0f} / {whole:.0f}", *floor_cells)
            finally:
                stop(proc)
    finally:
        stop(floor)


def throttle_workload(args: argparse.Namespace, env: dict[str, str], headers: dict[str, str],
                      ids: list[tuple[str, str]]) -> None:
    """(f) What the per-caller cost budget costs a cheap query (node by id, cost 1): req/s with it on and off.

    On, the restore rate is so high that nothing is refused, while the whole path runs: the charge before
    execution, the refund after, and a lease from PostgreSQL once per THROTTLE_LEASE (default 1000) of cost."""
    print()
    row("workload", "workers", "concurrency", "throttle", "p50 ms", "p99 ms", "req/s", "on / off")
    row(*["---"] * 8)
    make = lambda: ("POST", "/graphql", {"json": {"query": NODE_QUERY, "variables": {  # noqa: E731
        "id": random.choice(ids)[1]}}, "headers": headers})
    for workers in args.workers:
        for concurrency in args.concurrency:
            off_rps = 0.0
            for enabled in ("false", "true"):
                proc, address = serve({**env, "THROTTLE_ENABLED": enabled, "THROTTLE_RESTORE_RATE": "1e9"}, workers)
                try:
                    asyncio.run(drive(f"http://{address}", make, concurrency, min(50, args.requests)))
                    p50, p99, rps = summarise(asyncio.run(drive(f"http://{address}", make, concurrency,
                                                                args.requests)))
                finally:
                    stop(proc)
                off_rps = rps if enabled == "false" else off_rps
                ratio = f"{rps / off_rps:.2f}" if enabled == "true" and off_rps else "-"
                row("f: node by id", workers, concurrency, "on" if enabled == "true" else "off", f"{p50:.1f}",
                    f"{p99:.1f}", f"{rps:.0f}", ratio)


if __name__ == "__main__":
    main()
