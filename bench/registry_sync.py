"""Workload (h): registry sync. `producer-graph registry import` (the command users run, its own process) loads an
extract of N registry producers; a share of them is then onboarded (straight by SQL: validated producers under one
agency with their registry licenses, as onboarding leaves them); a later extract (renewals, lapses, changed lines of
authority, new licenses) is imported and reconciles them; then the same file again (no change). Prints records/s,
the changes by kind the command reports, and the command's peak memory (its VmHWM, sampled every 50 ms).
`--sync-format json` writes the extracts as JSON instead of CSV (streamed too)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import asyncpg

from app.registry import RegistryEntry, RegistryLicense, sample_entries, write_extract
from persistence.db import sync_url

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent / "producer-graph")
FIRST_NPN = 80_000_000

# The onboarded share, as onboarding leaves it: a validated producer under the agency, its onboarding pointing at
# the registry record, one license per registry license (validated when active and not expired, else discarded).
ONBOARD_SQL = [
    """CREATE TEMP TABLE picked AS
       SELECT rp.*, upper(substr(md5(rp.id || ':p'), 1, 26)) AS pid FROM registry_producers rp
       WHERE rp.tenant_id = $1 AND rp.npn::bigint >= $2 AND abs(hashtext(rp.npn)) % 1000 < $3""",
    """INSERT INTO producers (id, tenant_id, type, kind, state, parent_id, ancestry, npn, first_name, middle_name,
         last_name, email, gender, ssn_ciphertext, ssn_hash, ssn_last4, data, search_text, created_at, created_by,
         updated_at, updated_by, version)
       SELECT pid, tenant_id, 'Agent', 'individual', 'validated', $1::text, ARRAY[$1::text], npn, first_name,
         middle_name, last_name, 'p' || npn || '@example.com', gender, ssn_ciphertext, ssn_hash, ssn_last4,
         '{}'::jsonb, lower(last_name), now(), 'bench', now(), 'bench', 1 FROM picked""",
    """INSERT INTO onboardings (id, tenant_id, producer_id, agency_id, registry_producer_id, identified_by, status,
         current_step, details_reviewed, states, states_assigned, created_license_ids, created_at, created_by,
         updated_at, updated_by, version)
       SELECT upper(substr(md5(id || ':o'), 1, 26)), tenant_id, pid, $1::text, id, 'NPN', 'COMPLETED', 'DONE', true,
         '[]'::jsonb, true, '[]'::jsonb, now(), 'bench', now(), 'bench', 1 FROM picked""",
    """INSERT INTO licenses (id, tenant_id, producer_id, type, license_number, jurisdictions, products, producer_codes,
         lines_of_authority, residency, license_class, effective_time, expiration_time, data, state, state_reason,
         search_text, created_at, created_by, updated_at, updated_by, version)
       SELECT upper(substr(md5(l.id || ':l'), 1, 26)), p.tenant_id, p.pid, 'StateLicense', l.license_number,
         ARRAY[l.state], '{}', '{}', l.lines_of_authority, l.residency, l.license_class,
         coalesce(l.effective_date, l.issue_date)::timestamp AT TIME ZONE 'UTC',
         l.expiration_date::timestamp AT TIME ZONE 'UTC', '{}'::jsonb,
         CASE WHEN l.status = 'active' AND (l.expiration_date IS NULL OR l.expiration_date > current_date)
              THEN 'validated' ELSE 'discarded' END,
         CASE WHEN l.status <> 'active' THEN l.status || ' in the producer registry'
              WHEN l.expiration_date <= current_date THEN 'expired on ' || l.expiration_date
                   || ' according to the producer registry' END,
         lower(l.license_number), now(), 'bench', now(), 'bench', 1
       FROM picked p JOIN registry_licenses l ON l.registry_producer_id = p.id""",
    "ANALYZE producers; ANALYZE onboardings; ANALYZE licenses",
]


def later_extract(entries: list[RegistryEntry], rng: random.Random) -> list[RegistryEntry]:
    """The next day's extract: ~10% of producers renew a license, ~2% lapse one, ~2% change its lines of
    authority, ~1% hold a new one."""
    out = []
    for entry in entries:
        licenses = [dataclasses.replace(lic, lines_of_authority=list(lic.lines_of_authority)) for lic in entry.licenses]
        roll = rng.random()
        if licenses and roll < 0.10 and licenses[0].expiration_date:
            licenses[0].expiration_date += timedelta(days=730)
        elif licenses and roll < 0.12:
            licenses[0].status = "inactive"
        elif licenses and roll < 0.14:
            licenses[0].lines_of_authority = licenses[0].lines_of_authority[:1] + ["Variable Life and Variable Annuity"]
        elif roll < 0.15:
            licenses.append(RegistryLicense("GU", f"GU{entry.npn}", "Insurance Producer", "non-resident", ["Life"]))
        out.append(dataclasses.replace(entry, licenses=licenses))
    return out


def run_import(env: dict[str, str], path: Path, tenant: str) -> tuple[float, float, float, str]:
    """`producer-graph registry import` in its own process: wall seconds, its CPU seconds (user + system; on a busy
    machine records per CPU second say more than records per second), peak RSS in MB, the summary it printed."""
    began = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([CLI, "registry", "import", str(path), "--tenant", tenant], env=env, cwd=ROOT,
                                stdout=out, stderr=err, text=True)
        peak = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
            except OSError:
                pass
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"registry import failed ({proc.returncode}): {err.read()[-2000:]}")
        summary = out.read().strip().splitlines()[-1]
    # not ru_maxrss: Linux carries the parent's high-water mark across fork + exec into it (this process holds the
    # generated extract), which read 355 MB for a command whose own peak is ~110 MB. VmHWM is the command's own.
    return time.perf_counter() - began, usage.ru_utime + usage.ru_stime, peak, summary


async def backend_pid(db_url: str) -> int:
    conn = await asyncpg.connect(sync_url(db_url))
    try:
        return int(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()


def parent_pid(pid: int) -> int:
    """The parent of a process (of a backend: the PostgreSQL server's main process)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def server_cpu(postmaster: int) -> float:
    """CPU seconds the PostgreSQL server spent so far: the postmaster with its reaped children (backends that
    exited, as the command's does) and its live ones (autovacuum, writer...). On a busy machine the command's wall
    time mostly measures the other tenants of the cores; its CPU and the server's say what the import costs."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(pid: int, children: bool) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15 if children else 13]) / tick  # utime stime [cutime cstime]

    total = cpu(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent_pid(int(entry.name)) == postmaster:
                    total += cpu(int(entry.name), children=False)
            except OSError:
                pass
    return total


async def onboard_share(db_url: str, tenant: str, per_mille: int) -> int:
    conn = await asyncpg.connect(sync_url(db_url))
    try:
        agency = await conn.fetchval("SELECT id FROM producers WHERE tenant_id = $1 AND kind = 'organization' "
                                     "AND parent_id IS NULL AND state = 'validated' ORDER BY id LIMIT 1", tenant)
        async with conn.transaction():
            await conn.execute(ONBOARD_SQL[0], tenant, FIRST_NPN, per_mille)
            for sql in ONBOARD_SQL[1:-1]:
                await conn.execute(sql, *([agency] if "$1" in sql else []))
            count = int(await conn.fetchval("SELECT count(*) FROM picked"))
            await conn.execute("DROP TABLE picked")
        await conn.execute(ONBOARD_SQL[-1])
        return count
    finally:
        await conn.close()


def run(args: argparse.Namespace, db_url: str, tenant: str, env: dict[str, str]) -> None:
    print()
    print("| h: registry sync | records | onboarded | step | s | records/s | CPU s | PG CPU s | "
          "records/(CPU+PG CPU) s | peak MB | load | changes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    postmaster = parent_pid(asyncio.run(backend_pid(db_url)))

    def step(label: str, records: int, onboarded: int, path: Path) -> None:
        server_before = server_cpu(postmaster)
        seconds, cpu, peak, summary = run_import(env, path, tenant)
        server = server_cpu(postmaster) - server_before
        print(f"| h | {records} | {onboarded} | {label} | {seconds:.1f} | {records / seconds:.0f} | {cpu:.1f} | "
              f"{server:.1f} | {records / (cpu + server):.0f} | {peak:.0f} | {os.getloadavg()[0]:.1f} | {summary} |",
              flush=True)

    env = {**env, "DATABASE_URL": db_url}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        for records in args.sync_records:
            entries = sample_entries(records, seed=23, first_npn=FIRST_NPN)
            suffix = getattr(args, "sync_format", "csv")
            first, later = Path(tmp) / f"day-1.{suffix}", Path(tmp) / f"day-2.{suffix}"
            write_extract(first, entries)
            write_extract(later, later_extract(entries, random.Random(5)))
            del entries
            step("first import", records, 0, first)
            onboarded = asyncio.run(onboard_share(db_url, tenant, args.sync_onboarded_per_mille))
            step("later extract", records, onboarded, later)
            step("same file again", records, onboarded, later)
            first.unlink()
            later.unlink()


def main() -> None:
    """Run (h) alone against an already seeded database: python -m bench.registry_sync --database-url URL --tenant ID"""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--sync-records", type=int, nargs="+", default=[10_000])
    parser.add_argument("--sync-onboarded-per-mille", type=int, default=200)
    parser.add_argument("--sync-format", choices=["csv", "json"], default="csv")
    args = parser.parse_args()
    env = {**os.environ}
    env.pop("SMTP_HOST", None)
    run(args, args.database_url, args.tenant, env)


if __name__ == "__main__":
    main()
