"""Seed a benchmark tenant straight into PostgreSQL (COPY): N producers in hierarchies up to 8 deep, 1-3 codes
each, licenses and appointments in several states, draft quotes; and registry producers for bulk onboarding."""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from ulid import ULID

from app import tenants
from app.pii import SsnVault
from app.settings import Settings
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


PRODUCER_COLUMNS = ["id", "tenant_id", "type", "kind", "state", "parent_id", "ancestry", "npn", "first_name",
                    "last_name", "organization_name", "email", "data", "search_text", "created_at", "created_by",
                    "updated_at", "updated_by", "version"]
CODE_COLUMNS = ["id", "tenant_id", "producer_id", "type", "code", "state", "data", "created_at", "created_by",
                "updated_at", "updated_by", "version"]
LICENSE_COLUMNS = ["id", "tenant_id", "producer_id", "type", "license_number", "jurisdictions", "products",
                   "producer_codes", "lines_of_authority", "residency", "effective_time", "expiration_time", "data",
                   "state", "created_at", "created_by", "updated_at", "updated_by", "version"]
APPOINTMENT_COLUMNS = ["id", "tenant_id", "producer_id", "type", "appointment_number", "license_ids",
                       "jurisdictions", "products", "producer_codes", "lines_of_authority", "residency",
                       "effective_time", "expiration_time", "data", "state", "created_at", "created_by", "updated_at",
                       "updated_by", "version"]
QUOTE_COLUMNS = ["id", "tenant_id", "product", "jurisdiction", "effective_time", "producer_code", "state", "data",
                 "created_at", "created_by", "updated_at", "updated_by", "version"]
STATES = ["CA", "NY", "TX", "FL", "IL", "WA"]
QUOTES_PER_PRODUCER = 2


def _credentials_and_quotes(plan: list[tuple[str, str | None, list[str], int]], code_rows: list[tuple[Any, ...]],
                            tenant: str, rng: random.Random, now: datetime) -> tuple[list[Any], list[Any], list[Any]]:
    """Every agent holds a validated CA license (Property, Casualty) and one more state, half of them an
    appointment; two draft PersonalAuto quotes in CA per agent code, so underwriting has work to check."""
    since, until = now - timedelta(days=365), now + timedelta(days=365)
    licenses: list[Any] = []
    appointments: list[Any] = []
    quotes: list[Any] = []
    agents = {pid for pid, parent, _a, _d in plan if parent is not None}
    for pid in sorted(agents):
        ids = []
        for state in ["CA", rng.choice(STATES[1:])]:
            lid = str(ULID())
            ids.append(lid)
            licenses.append((lid, tenant, pid, "StateLicense", f"L-{lid[-8:]}", [state], [], [],
                             ["Property", "Casualty"], "resident" if state == "CA" else "non-resident", since, until,
                             {}, "validated", now, "bench", now, "bench", 1))
        if rng.random() < 0.5:
            appointments.append((str(ULID()), tenant, pid, "CarrierAppointment", f"A-{pid[-8:]}", ids[:1], ["CA"],
                                 ["CommercialAuto"], [], ["Casualty"], "resident", since, until, {}, "validated", now,
                                 "bench", now, "bench", 1))
    for code in code_rows:
        if code[2] in agents:
            for _ in range(QUOTES_PER_PRODUCER):
                quotes.append((str(ULID()), tenant, "PersonalAuto", "CA", now, code[4], "draft", {}, now, "bench",
                               now, "bench", 1))
    return licenses, appointments, quotes


async def seed_registry(url: str, settings: Settings, tenant: str, first_npn: int, count: int) -> list[list[str]]:
    """`count` registry producers (one CA license each) with NPNs from `first_npn`, straight by COPY; the
    bulk upload rows (last name, NPN, email, SSN, gender) that onboard them."""
    vault = SsnVault.from_setting(settings.ssn_key_or_dev)
    now = datetime.now(UTC)
    producers, licenses, rows = [], [], []
    for i in range(count):
        npn = str(first_npn + i)
        k = first_npn + i  # unique SSNs across jobs too: area 100-599, group 10-98, serial 0001-9999
        ssn = f"{100 + k // (9999 * 89) % 500:03d}{10 + k // 9999 % 89:02d}{1 + k % 9999:04d}"
        last = ("Rivera", "Smith", "Ng", "Khan", "Okafor")[i % 5]
        rid = str(ULID())
        producers.append((rid, tenant, npn, "Sam", None, last, vault.encrypt(ssn), vault.lookup_hash(ssn), ssn[-4:],
                          "FEMALE", None, now, now))
        licenses.append((str(ULID()), tenant, rid, "CA", f"R{npn}", None, "resident", ["Property", "Casualty"],
                         None, None))
        rows.append([last, npn, f"p{npn}@example.com", f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}", "F"])
    conn = await asyncpg.connect(sync_url(url))
    try:
        await conn.copy_records_to_table(
            "registry_producers", records=producers,
            columns=["id", "tenant_id", "npn", "first_name", "middle_name", "last_name", "ssn_ciphertext",
                     "ssn_hash", "ssn_last4", "gender", "email", "created_at", "updated_at"])
        await conn.copy_records_to_table(
            "registry_licenses", records=licenses,
            columns=["id", "tenant_id", "registry_producer_id", "state", "license_number", "license_class",
                     "residency", "lines_of_authority", "issue_date", "expiration_date"])
        await conn.execute("ANALYZE registry_producers; ANALYZE registry_licenses")
    finally:
        await conn.close()
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
    producer_rows: list[tuple[Any, ...]] = []
    code_rows: list[tuple[Any, ...]] = []
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
    license_rows, appointment_rows, quote_rows = _credentials_and_quotes(plan, code_rows, tenant.id, rng, now)
    conn = await asyncpg.connect(sync_url(url))
    try:
        await conn.set_type_codec("jsonb", encoder=lambda v: b"\x01" + orjson.dumps(v),
                                  decoder=lambda v: v, schema="pg_catalog", format="binary")
        await conn.copy_records_to_table("producers", records=producer_rows, columns=PRODUCER_COLUMNS)
        await conn.copy_records_to_table("producer_codes", records=code_rows, columns=CODE_COLUMNS)
        await conn.copy_records_to_table("licenses", records=license_rows, columns=LICENSE_COLUMNS)
        await conn.copy_records_to_table("appointments", records=appointment_rows, columns=APPOINTMENT_COLUMNS)
        await conn.copy_records_to_table("quotes", records=quote_rows, columns=QUOTE_COLUMNS)
        await conn.execute("ANALYZE producers; ANALYZE producer_codes; ANALYZE licenses; ANALYZE appointments; "
                           "ANALYZE quotes")
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
