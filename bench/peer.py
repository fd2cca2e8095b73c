"""(p) Producer Graph against PostGraphile 4 and the floor, on the same seeded database, interleaved.

PostGraphile 4.14 (bench/postgraphile: `npm install` there) serves the views of bench/postgraphile/schema.sql over
the project's own tables. For each (workers, concurrency) and each round, every read runs against the project's
server, then PostGraphile, then the floor where it has that read, back to back: the ratios compare figures of
the same round, so the load of the machine at that moment weighs on all three alike. Server CPU per request is
the user + system time of the server's process tree (from /proc) over the timed requests, divided by their number
(PostgreSQL's own time is not in it, for either server).

Where the reads differ: PostGraphile reads the views without a tenant or scope filter (the bench database holds one
tenant and the caller is its admin, who sees every row); its `id` is its own node id (`nodeId`), computed in
JavaScript; `allowedActions` is a SQL function of the state there; a license window of 400 days (the seed's
licenses expire in a year, so 30 days would be an empty page on both).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PEER_DIR = ROOT / "bench" / "postgraphile"

OURS_PAGE_CODES = """query($first: Int!) { producers(first: $first) { edges { node {
  id name state parent { id name } codes { nodes { code state } } } } } }"""
PEER_PAGE_CODES = """query($first: Int!) { allProducers(first: $first, orderBy: PRIMARY_KEY_ASC) { edges { node {
  id: nodeId name state parent: producerByParentId { id: nodeId name }
  codes: producerCodesByProducerId(orderBy: PRIMARY_KEY_ASC) { nodes { code state } } } } } }"""
OURS_PAGE = """query($first: Int!) { producers(first: $first) { edges { node {
  id name state parent { id name } ancestors { id name } codes { nodes { code state } }
  licenses { nodes { licenseNumber jurisdictions state } } } } } }"""
PEER_PAGE = """query($first: Int!) { allProducers(first: $first, orderBy: PRIMARY_KEY_ASC) { edges { node {
  id: nodeId name state parent: producerByParentId { id: nodeId name } ancestors: ancestorsList { id: nodeId name }
  codes: producerCodesByProducerId(orderBy: PRIMARY_KEY_ASC) { nodes { code state } }
  licenses: licensesByProducerId(orderBy: PRIMARY_KEY_ASC) { nodes { licenseNumber jurisdictions state } } } } } }"""
OURS_PAGE_ACTIONS = """query($first: Int!, $withLicenses: Boolean!) { producers(first: $first) { edges { node {
  id name state allowedActions parent { id name } ancestors { id name } codes { nodes { code state } }
  licenses @include(if: $withLicenses) { nodes { licenseNumber jurisdictions state } } } } } }"""
PEER_PAGE_ACTIONS = """query($first: Int!, $withLicenses: Boolean!) {
  allProducers(first: $first, orderBy: PRIMARY_KEY_ASC) { edges { node {
  id: nodeId name state allowedActions parent: producerByParentId { id: nodeId name }
  ancestors: ancestorsList { id: nodeId name } codes: producerCodesByProducerId(orderBy: PRIMARY_KEY_ASC) {
    nodes { code state } }
  licenses: licensesByProducerId(orderBy: PRIMARY_KEY_ASC) @include(if: $withLicenses) {
    nodes { licenseNumber jurisdictions state } } } } } }"""
OURS_NODE = "query($id: ID!) { node(id: $id) { id ... on Producer { name state } } }"
PEER_NODE = "query($id: ID!) { node(nodeId: $id) { id: nodeId ... on Producer { name state } } }"
OURS_DETAIL = """query($id: ID!) { producer(id: $id) { id name state allowedActions
  validationResult { valid at items { code message field } }
  children(first: 20) { nodes { id name state } } codes { nodes { code state } }
  licenses { nodes { licenseNumber jurisdictions state } } appointments { nodes { appointmentNumber state } } } }"""
PEER_DETAIL = """query($id: ID!) { producer(nodeId: $id) { id: nodeId name state allowedActions
  validationResult
  children: producersByParentId(first: 20, orderBy: PRIMARY_KEY_ASC) { nodes { id: nodeId name state } }
  codes: producerCodesByProducerId(orderBy: PRIMARY_KEY_ASC) { nodes { code state } }
  licenses: licensesByProducerId(orderBy: PRIMARY_KEY_ASC) { nodes { licenseNumber jurisdictions state } }
  appointments: appointmentsByProducerId(orderBy: PRIMARY_KEY_ASC) { nodes { appointmentNumber state } } } }"""
OURS_EXPIRING = """{ licenses(expiringWithin: 400, first: 100) { nodes { id licenseNumber state expirationTime
  producer { id name } } } }"""
PEER_EXPIRING = """{ licenses: licensesExpiring(days: 400, first: 100) { nodes { id: nodeId licenseNumber state
  expirationTime producer: producerByProducerId { id: nodeId name } } } }"""

Request = tuple[str, str, dict[str, Any]]


@dataclass
class Read:
    name: str
    ours: Callable[[], Request]
    peer: Callable[[], Request]
    floor: Callable[[], Request] | None = None


def reads(headers: dict[str, str], ids: list[tuple[str, str]], peer_ids: dict[str, str]) -> list[Read]:
    def post(query: str, variables: Callable[[], dict[str, Any]], auth: bool = True) -> Callable[[], Request]:
        return lambda: ("POST", "/graphql", {"json": {"query": query, "variables": variables()},
                                             **({"headers": headers} if auth else {})})

    def one() -> tuple[str, str]:
        return random.choice(ids)

    def ours_id() -> dict[str, Any]:
        return {"id": one()[1]}

    def peer_id() -> dict[str, Any]:
        return {"id": peer_ids[one()[0]]}

    page = {"first": 100}
    actions = {"first": 100, "withLicenses": True}
    return [
        Read("page of 100: parent, codes", post(OURS_PAGE_CODES, lambda: page),
             post(PEER_PAGE_CODES, lambda: page, auth=False)),
        Read("bench page (parent, ancestors, codes, licenses)", post(OURS_PAGE, lambda: page),
             post(PEER_PAGE, lambda: page, auth=False), lambda: ("GET", "/page", {})),
        Read("bench page + allowedActions + @include", post(OURS_PAGE_ACTIONS, lambda: actions),
             post(PEER_PAGE_ACTIONS, lambda: actions, auth=False)),
        Read("node(id:)", post(OURS_NODE, ours_id), post(PEER_NODE, peer_id, auth=False),
             lambda: ("GET", f"/node/{one()[0]}", {})),
        Read("producer detail", post(OURS_DETAIL, ours_id), post(PEER_DETAIL, peer_id, auth=False)),
        Read("licenses expiring (page of 100)", post(OURS_EXPIRING, dict),
             post(PEER_EXPIRING, dict, auth=False)),
    ]


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and every process below it (live ones), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            continue
        try:
            children = subprocess.run(["pgrep", "-P", str(current)], capture_output=True, text=True).stdout.split()
        except FileNotFoundError:
            children = []
        pending += [int(c) for c in children]
    return total


def unavailable() -> str | None:
    """Why PostGraphile cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (PEER_DIR / "node_modules" / "postgraphile").is_dir():
        return "PostGraphile is not installed: run `npm ci` in bench/postgraphile"
    return None


async def install_views(db_url: str) -> None:
    import asyncpg

    from persistence.db import sync_url

    conn = await asyncpg.connect(sync_url(db_url))
    try:
        await conn.execute((PEER_DIR / "schema.sql").read_text())
    finally:
        await conn.close()


def peer_node_ids(address: str, ids: list[tuple[str, str]]) -> dict[str, str]:
    """PostGraphile's node id of each producer (by locator), asked of PostGraphile itself."""
    query = "query($first: Int!) { allProducers(first: $first, orderBy: PRIMARY_KEY_ASC) { nodes { id nodeId } } }"
    response = httpx.post(f"http://{address}/graphql", json={"query": query, "variables": {"first": len(ids)}},
                          timeout=60)
    rows = response.json()["data"]["allProducers"]["nodes"]
    return {row["id"]: row["nodeId"] for row in rows}


def run(args: Any, db_url: str, env: dict[str, str], headers: dict[str, str], ids: list[tuple[str, str]],
        h: Any) -> None:
    """`h` is bench.run (serve, start, stop, free_port, drive, summarise, row)."""
    reason = unavailable()
    if reason is not None:
        print(f"p: PostGraphile skipped: {reason}")
        return
    from persistence.db import sync_url

    asyncio.run(install_views(db_url))
    peer_port = h.free_port()
    peer = h.start(["node", str(PEER_DIR / "server.js")], {**env, "DATABASE_URL": sync_url(db_url),
                                                           "PORT": str(peer_port)}, peer_port)
    floor_port = h.free_port()
    floor = h.start([sys.executable, "-m", "uvicorn", "bench.floor:app", "--host", "127.0.0.1", "--port",
                     str(floor_port), "--log-level", "warning"], env,
                    floor_port)
    try:
        peer_address = f"127.0.0.1:{peer_port}"
        workload = reads(headers, ids, peer_node_ids(peer_address, ids))
        print()
        h.row("p: read", "workers", "concurrency", "round", "load", "ours p50 ms", "PostGraphile p50 ms",
              "floor p50 ms", "ours req/s", "PostGraphile req/s", "p50 ours/PG", "req/s ours/PG", "ours/floor p50",
              "CPU ms/req ours / PG")
        h.row(*["---"] * 14)
        summary: dict[tuple[str, int, int], list[tuple[float, float]]] = {}
        for workers in args.workers:
            proc, address = h.serve(env, workers)
            try:
                for concurrency in args.concurrency:
                    for round_no in range(1, args.rounds + 1):
                        for read in workload:
                            cells = measure(h, read, concurrency, args.requests, (proc.pid, address),
                                            (peer.pid, peer_address), f"127.0.0.1:{floor_port}")
                            ours50, peer50, floor50, ours_rps, peer_rps, ours_cpu, peer_cpu = cells
                            summary.setdefault((read.name, workers, concurrency), []).append(
                                (ours50 / peer50, ours_rps / peer_rps))
                            h.row(read.name, workers, concurrency, round_no, f"{os.getloadavg()[0]:.2f}",
                                  f"{ours50:.1f}", f"{peer50:.1f}", "-" if floor50 is None else f"{floor50:.1f}",
                                  f"{ours_rps:.0f}", f"{peer_rps:.0f}", f"{ours50 / peer50:.2f}x",
                                  f"{ours_rps / peer_rps:.2f}x",
                                  "-" if floor50 is None else f"{ours50 / floor50:.1f}x",
                                  f"{ours_cpu:.2f} / {peer_cpu:.2f}")
            finally:
                h.stop(proc)
        print()
        h.row("p: read (median over rounds)", "workers", "concurrency", "p50 ours/PostGraphile",
              "req/s ours/PostGraphile")
        h.row(*["---"] * 5)
        for (name, workers, concurrency), ratios in summary.items():
            h.row(name, workers, concurrency, f"{statistics.median(r[0] for r in ratios):.2f}x",
                  f"{statistics.median(r[1] for r in ratios):.2f}x")
    finally:
        h.stop(peer)
        h.stop(floor)


def measure(h: Any, read: Read, concurrency: int, total: int, ours: tuple[int, str], peer: tuple[int, str],
            floor: str) -> tuple[float, float, float | None, float, float, float, float]:
    """p50 and req/s of ours, the peer and the floor (p50 only), and CPU ms per request of ours and the peer."""
    figures: list[tuple[float, float, float]] = []
    for (pid, address), maker in ((ours, read.ours), (peer, read.peer)):
        asyncio.run(h.drive(f"http://{address}", maker, concurrency, min(20, total)))  # warm-up
        before = tree_cpu_seconds(pid)
        p50, _p99, rps = h.summarise(asyncio.run(h.drive(f"http://{address}", maker, concurrency, total)))
        figures.append((p50, rps, (tree_cpu_seconds(pid) - before) * 1000 / total))
    floor50 = None
    if read.floor is not None:
        asyncio.run(h.drive(f"http://{floor}", read.floor, concurrency, min(20, total)))
        floor50 = h.summarise(asyncio.run(h.drive(f"http://{floor}", read.floor, concurrency, total)))[0]
    (o50, orps, ocpu), (p50, prps, pcpu) = figures
    return o50, p50, floor50, orps, prps, ocpu, pcpu
