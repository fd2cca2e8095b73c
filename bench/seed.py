"""Seed a benchmark tenant straight into PostgreSQL: N producers in hierarchies up to 8 deep, 1-3 codes each."""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import UTC, datetime

import asyncpg
import orjson
from ulid import ULID

from app import tenants
from app.tenant_config import default_config_dict
from persistence.db import create_engine, session_factory, sync_url
from persistence.migrate import upgrade

MAX_DEPTH = 8


def _plan(n: int, rng: random.Random) -> list[tuple[str, str | None, list[str], int]]:
    """(id, parent, ancestry, depth) for n producers: agencies at the root, agents below, depth <= 8."""
    rows: list[tuple[str, str | None, list[str], int]] = []
    for i in range(n):
        pid = str(ULID())
        if i < max(1, n // 200) or not rows:
            rows.append((pid, None, [], 1))
            continue
        parent = rows[rng.randrange(len(rows))]
        while parent[3] >= MAX_DEPTH:
            parent = rows[rng.randrange(len(rows))]
        rows.append((pid, parent[0], [*parent[2], parent[0]], parent[3] + 1))
    return rows


async def seed(url: str, producers: int, name: str, seed_value: int = 7) -> str:
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url, pool_size=2, max_overflow=0)
    try:
        tenant = await tenants.create_tenant(session_factory(engine), name, default_config_dict())
    finally:
        await engine.dispose()
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    plan = _plan(producers, rng)
    producer_rows = []
    code_rows = []
    serial = 0
    for pid, parent, ancestry, _depth in plan:
        org = parent is None
        first, last = rng.choice(["Ana", "Ben", "Chloe", "Dev", "Eli"]), rng.choice(["Rivera", "Smith", "Ng", "Khan"])
        producer_rows.append((pid, tenant.id, "Agency" if org else "Agent", "organization" if org else "individual",
                              "validated", parent, ancestry, str(1000000 + len(producer_rows)),
                              None if org else first, None if org else last, f"Agency {pid[-5:]}" if org else None,
                              f"{pid[-6:].lower()}@example.com", {}, f"{first} {last}".lower(), now, "bench", now,
                              "bench", 1))
        for _ in range(rng.randint(1, 3)):
            serial += 1
            code_rows.append((str(ULID()), tenant.id, pid, "AgentCode", f"B-{serial:07d}", "validated", {}, now,
                              "bench", now, "bench", 1))
    conn = await asyncpg.connect(sync_url(url))
    try:
        await conn.set_type_codec("jsonb", encoder=lambda v: b"\x01" + orjson.dumps(v),
                                  decoder=lambda v: v, schema="pg_catalog", format="binary")
        await conn.copy_records_to_table(
            "producers", records=producer_rows,
            columns=["id", "tenant_id", "type", "kind", "state", "parent_id", "ancestry", "npn", "first_name",
                     "last_name", "organization_name", "email", "data", "search_text", "created_at", "created_by",
                     "updated_at", "updated_by", "version"])
        await conn.copy_records_to_table(
            "producer_codes", records=code_rows,
            columns=["id", "tenant_id", "producer_id", "type", "code", "state", "data", "created_at", "created_by",
                     "updated_at", "updated_by", "version"])
        await conn.execute("ANALYZE producers; ANALYZE producer_codes")
    finally:
        await conn.close()
    return tenant.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--producers", type=int, default=10_000)
    parser.add_argument("--name", default="bench")
    args = parser.parse_args()
    print(asyncio.run(seed(args.database_url, args.producers, args.name)))


if __name__ == "__main__":
    main()
