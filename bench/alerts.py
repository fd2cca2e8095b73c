"""Workload (i): the documents alert source on a seeded tenant whose every agent holds an E&O certificate, 1% of
them expiring within 20 days, the rest in one to three years. Interleaved in each round: the documents read as
before (every entity holding a certificate) and as now (only those dated within the widest window, filtered by
PostgreSQL), and the whole `complianceAlerts` collection; then the plan of the filtered statement.

    .venv/bin/python -m bench.alerts --producers 10000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text

from app import compliance, documents
from app.settings import Settings
from bench.seed import seed
from persistence.db import create_engine, session_factory


async def certificates(url: str, tenant_id: str, due_per_mille: int) -> tuple[int, int]:
    """An E&O certificate (a document row and the agent's data) for every agent; (agents, due within 20 days)."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    rng = random.Random(3)
    today = datetime.now(UTC).date()
    try:
        async with session_factory(engine)() as session, session.begin():
            agents = [r[0] for r in (await session.execute(text(
                "SELECT id FROM producers WHERE tenant_id = :t AND kind = 'individual'"), {"t": tenant_id})).all()]
            due = 0
            for agent in agents:
                soon = rng.randrange(1000) < due_per_mille
                due += soon
                day = today + timedelta(days=20 if soon else rng.randint(365, 1095))
                document_id = f"D{agent[1:]}"
                await session.execute(text(
                    "INSERT INTO documents (id, tenant_id, entity, entity_id, field, lineage_id, version, current, "
                    "file_name, content_type, size, sha256, chunk_count, uploaded_by, uploaded_at) VALUES (:id, :t, "
                    "'producer', :agent, 'eoCertificate', :id, 1, true, 'eo.pdf', 'application/pdf', 100, '', 0, "
                    "'bench', now())"), {"id": document_id, "t": tenant_id, "agent": agent})
                view = {"id": document_id, "locator": document_id, "fileName": "eo.pdf"}
                await session.execute(text(
                    "UPDATE producers SET data = data || CAST(:data AS jsonb) WHERE id = :agent"),
                    {"data": orjson.dumps({"eoCertificate": view, "eoExpiresOn": day.isoformat()}).decode(),
                     "agent": agent})
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE producers"))
            await conn.execute(text("ANALYZE documents"))
    finally:
        await engine.dispose()
    return len(agents), due


async def measure(url: str, tenant_id: str, rounds: int) -> None:
    engine = create_engine(url, pool_size=2, max_overflow=0)
    sessions = session_factory(engine)
    settings = Settings(env="test", jwt_secret="bench-secret-of-at-least-thirty-two-bytes")
    ctx = await compliance.tenant_context(settings, sessions, tenant_id)
    assert ctx is not None
    until = (datetime.now(UTC) + timedelta(days=91)).date()
    times: dict[str, list[float]] = {"all certificates (before)": [], "dated within 90 days (now)": [],
                                     "complianceAlerts collection (now)": []}
    rows: dict[str, int] = {}
    try:
        for _ in range(rounds):
            for name, before in (("all certificates (before)", None), ("dated within 90 days (now)", until)):
                began = time.perf_counter()
                found = [d async for d in documents.expiring_documents(sessions, tenant_id, ctx.config, before=before)]
                times[name].append(time.perf_counter() - began)
                rows[name] = len(found)
            began = time.perf_counter()
            async with sessions() as session:
                alerts = await compliance.collect_alerts(ctx, session)
            times["complianceAlerts collection (now)"].append(time.perf_counter() - began)
            rows["complianceAlerts collection (now)"] = len(alerts)
        print(f"load average: {os.getloadavg()}")
        print("| read | rows | median ms | min ms |\n|---|---|---|---|")
        for name, spent in times.items():
            print(f"| {name} | {rows[name]} | {statistics.median(spent) * 1000:.1f} | {min(spent) * 1000:.1f} |")
        old, new = (statistics.median(times[k]) for k in list(times)[:2])
        print(f"same-run ratio before / now: {old / new:.1f}x")
        async with sessions() as session:
            plan = (await session.execute(text(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT id, type, state, data FROM producers WHERE tenant_id = :t "
                "AND data ?| ARRAY['eoCertificate'] AND substr(data ->> 'eoExpiresOn', 1, 10) COLLATE \"C\" < :d "
                "ORDER BY id"), {"t": tenant_id, "d": until.isoformat()})).all()
        print("\n".join(r[0] for r in plan))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--producers", type=int, default=10_000)
    parser.add_argument("--due-per-mille", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", help="an external PostgreSQL; default: a fresh embedded one")
    args = parser.parse_args()
    server: Any = None
    if args.database_url:
        url = args.database_url
    else:
        import pgserver

        server = pgserver.get_server(Path(tempfile.mkdtemp(prefix="pgalerts")), cleanup_mode="stop")
        url = server.get_uri()
    try:
        tenant_id = asyncio.run(seed(url, args.producers, f"bench-alerts-{int(time.time())}"))
        agents, due = asyncio.run(certificates(url, tenant_id, args.due_per_mille))
        print(f"{args.producers} producers, {agents} agents with a certificate, {due} due within 20 days")
        asyncio.run(measure(url, tenant_id, args.rounds))
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
