"""The producer registry: per-tenant records of producers and their licenses, as a NIPR extract carries them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Column,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    any_,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from persistence.base import locator_pk, new_locator, tenant_fk, text_array, timestamp, utcnow
from persistence.onboarding import OnboardingRecord
from persistence.producers import ProducerRecord


class RegistryProducerRecord(SQLModel, table=True):
    __tablename__ = "registry_producers"
    __table_args__ = (
        Index("uq_registry_producers_tenant_npn", "tenant_id", "npn", unique=True),
        Index("ix_registry_producers_tenant_ssn_hash", "tenant_id", "ssn_hash"),
    )

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    npn: str = Field(max_length=10)
    first_name: str | None = Field(default=None, max_length=200)
    middle_name: str | None = Field(default=None, max_length=200)
    last_name: str = Field(max_length=200)
    ssn_ciphertext: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    ssn_hash: str | None = Field(default=None, max_length=64)
    ssn_last4: str | None = Field(default=None, max_length=4)
    gender: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=320)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class RegistryLicenseRecord(SQLModel, table=True):
    __tablename__ = "registry_licenses"
    __table_args__ = (
        Index("uq_registry_licenses_tenant_state_number", "tenant_id", "state", "license_number", unique=True),
        Index("ix_registry_licenses_producer", "registry_producer_id"),
    )

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    registry_producer_id: str = Field(
        sa_column=Column(String(26), ForeignKey("registry_producers.id", ondelete="CASCADE"), nullable=False))
    state: str = Field(max_length=2)
    license_number: str = Field(max_length=100)
    license_class: str | None = Field(default=None, max_length=100)
    residency: str = Field(default="resident", max_length=20)
    lines_of_authority: list[str] = text_array()
    status: str = Field(default="active", max_length=20)  # active | inactive, as the registry reports it
    issue_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    effective_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    expiration_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


PRODUCER_COLUMNS = ("npn", "first_name", "middle_name", "last_name", "ssn_ciphertext", "ssn_hash", "ssn_last4",
                    "gender", "email")
LICENSE_COLUMNS = ("state", "license_number", "license_class", "residency", "lines_of_authority", "status",
                   "issue_date", "effective_date", "expiration_date")


_UPSERT_PRODUCERS = text("""
INSERT INTO registry_producers AS r (id, tenant_id, npn, first_name, middle_name, last_name, ssn_ciphertext, ssn_hash,
                                     ssn_last4, gender, email, created_at, updated_at)
SELECT u.id, :tenant, u.npn, u.first_name, u.middle_name, u.last_name, u.ssn_ciphertext, u.ssn_hash, u.ssn_last4,
       u.gender, u.email, :now, :now
FROM unnest(CAST(:id AS text[]), CAST(:npn AS text[]), CAST(:first_name AS text[]), CAST(:middle_name AS text[]),
            CAST(:last_name AS text[]), CAST(:ssn_ciphertext AS bytea[]), CAST(:ssn_hash AS text[]),
            CAST(:ssn_last4 AS text[]), CAST(:gender AS text[]), CAST(:email AS text[]))
     AS u(id, npn, first_name, middle_name, last_name, ssn_ciphertext, ssn_hash, ssn_last4, gender, email)
ON CONFLICT (tenant_id, npn) DO UPDATE SET
    first_name = excluded.first_name, middle_name = excluded.middle_name, last_name = excluded.last_name,
    ssn_ciphertext = CASE WHEN r.ssn_hash IS DISTINCT FROM excluded.ssn_hash THEN excluded.ssn_ciphertext
                          ELSE r.ssn_ciphertext END,
    ssn_hash = excluded.ssn_hash, ssn_last4 = excluded.ssn_last4, gender = excluded.gender, email = excluded.email,
    updated_at = excluded.updated_at
WHERE (r.first_name, r.middle_name, r.last_name, r.ssn_hash, r.ssn_last4, r.gender, r.email)
      IS DISTINCT FROM (excluded.first_name, excluded.middle_name, excluded.last_name, excluded.ssn_hash,
                        excluded.ssn_last4, excluded.gender, excluded.email)RETURNING r.npn, r.id
""")


async def upsert_producers(session: AsyncSession, tenant_id: str, rows: Sequence[dict[str, Any]],
                           known: dict[str, str] | None = None) -> tuple[dict[str, str], set[str]]:
    """Insert or refresh registry producers by NPN (a row whose details did not change is not rewritten; the
    stored SSN ciphertext stays while the SSN is the same, so a row of an unchanged SSN may carry none);
    returns ({npn: registry producer id}, the NPNs inserted or changed). `known` are the ids of NPNs the caller
    read already: only the NPNs neither written nor known are looked up again (a concurrent import's).

    One statement over arrays whatever the count: a multi-row VALUES costs more to compile than to run."""
    known = known or {}
    if not rows:
        return dict(known), set()
    params: dict[str, Any] = {c: [row.get(c) for row in rows] for c in PRODUCER_COLUMNS}
    params.update(id=[known.get(npn) or new_locator() for npn in params["npn"]], tenant=tenant_id, now=utcnow())
    written = {npn: rid for npn, rid in (await session.execute(_UPSERT_PRODUCERS, params)).all()}
    ids = {**known, **written}
    missing = [npn for npn in params["npn"] if npn not in ids]
    if missing:
        table: Any = RegistryProducerRecord.__table__  # type: ignore[attr-defined]
        found = await session.execute(select(table.c.id, table.c.npn).where(
            table.c.tenant_id == tenant_id, table.c.npn.in_(missing)))
        ids.update({npn: rid for rid, npn in found.all()})
    return ids, set(written)


_COMPARED = ("first_name", "middle_name", "last_name", "ssn_hash", "ssn_last4", "gender", "email")


def producer_changed(stored: Any, row: dict[str, Any]) -> bool:
    """Whether the upsert would write `row` (the comparison of its WHERE): new, or a compared column differs."""
    return stored is None or any(getattr(stored, name) != row.get(name) for name in _COMPARED)


LOA_JOIN = "\x1f"  # the lines of authority of a license travel as one string (unnest flattens nested arrays)

_UPSERT_LICENSES = text("""
INSERT INTO registry_licenses AS l (id, tenant_id, registry_producer_id, state, license_number, license_class,
                                    residency, lines_of_authority, status, issue_date, effective_date,
                                    expiration_date)
SELECT u.id, :tenant, u.registry_producer_id, u.state, u.license_number, u.license_class, u.residency,
       string_to_array(u.loas, E'\\x1f'), u.status, u.issue_date, u.effective_date, u.expiration_date
FROM unnest(CAST(:id AS text[]), CAST(:registry_producer_id AS text[]), CAST(:state AS text[]),
            CAST(:license_number AS text[]), CAST(:license_class AS text[]), CAST(:residency AS text[]),
            CAST(:loas AS text[]), CAST(:status AS text[]), CAST(:issue_date AS date[]),
            CAST(:effective_date AS date[]), CAST(:expiration_date AS date[]))
     AS u(id, registry_producer_id, state, license_number, license_class, residency, loas, status, issue_date,
          effective_date, expiration_date)
ON CONFLICT (tenant_id, state, license_number) DO UPDATE SET
    registry_producer_id = excluded.registry_producer_id, license_class = excluded.license_class,
    residency = excluded.residency, lines_of_authority = excluded.lines_of_authority, status = excluded.status,
    issue_date = excluded.issue_date, effective_date = excluded.effective_date,
    expiration_date = excluded.expiration_date
WHERE (l.registry_producer_id, l.license_class, l.residency, l.lines_of_authority, l.status, l.issue_date,
       l.effective_date, l.expiration_date)
      IS DISTINCT FROM (excluded.registry_producer_id, excluded.license_class, excluded.residency,
                        excluded.lines_of_authority, excluded.status, excluded.issue_date, excluded.effective_date,
                        excluded.expiration_date)
""")

_DROP_OTHER_LICENSES = text("""
DELETE FROM registry_licenses l
WHERE l.registry_producer_id = ANY(CAST(:producers AS text[]))  -- by ix_registry_licenses_producer, tenant's ids
  AND (l.state, l.license_number) NOT IN (
      SELECT k.state, k.license_number FROM unnest(CAST(:state AS text[]), CAST(:license_number AS text[]))
          AS k(state, license_number))
RETURNING l.registry_producer_id, l.state, l.license_number
""")


async def replace_licenses(session: AsyncSession, tenant_id: str, producer_ids: Sequence[str],
                           rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Make `rows` (each with registry_producer_id) the licenses of the given registry producers: new ones
    inserted, changed ones updated, the others of those producers deleted; two statements whatever the count.
    Returns the licenses deleted (dropped out of the extract): [(registry producer id, state, license number)]."""
    params: dict[str, Any] = {c: [row.get(c) for row in rows] for c in LICENSE_COLUMNS if c != "lines_of_authority"}
    dropped: list[tuple[str, str, str]] = []
    if producer_ids:
        dropped = [(str(p), str(st), str(n)) for p, st, n in (await session.execute(_DROP_OTHER_LICENSES, {
            "producers": list(producer_ids), "state": params["state"],
            "license_number": params["license_number"]})).all()]
    if rows:
        params.update(id=[new_locator() for _ in rows], tenant=tenant_id,
                      registry_producer_id=[row["registry_producer_id"] for row in rows],
                      loas=[LOA_JOIN.join(row.get("lines_of_authority") or []) for row in rows])
        await session.execute(_UPSERT_LICENSES, params)
    return dropped


_LICENSE_COMPARED = ("registry_producer_id", "license_class", "residency", "status", "issue_date",
                     "effective_date", "expiration_date")

_DROP_LICENSES = text("""
DELETE FROM registry_licenses l WHERE l.tenant_id = :tenant AND l.id = ANY(CAST(:ids AS text[]))
RETURNING l.registry_producer_id, l.state, l.license_number
""")


async def sync_licenses(session: AsyncSession, tenant_id: str, producer_ids: Sequence[str],
                        rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """As `replace_licenses`, reading the producers' stored licenses first (one indexed read) so that only new
    and changed rows are written and only dropped ones deleted: a later extract is mostly unchanged, and the
    upsert of an unchanged row still locks it. Returns the licenses deleted (dropped out of the extract)."""
    stored = {(r.state, r.license_number): r for r in await licenses_of_many(session, producer_ids)}
    changed = []
    for row in rows:
        old = stored.get((row["state"], row["license_number"]))
        if old is None or any(getattr(old, name) != row.get(name) for name in _LICENSE_COMPARED) \
                or list(old.lines_of_authority or ()) != list(row.get("lines_of_authority") or ()):
            changed.append(row if old is None else {**row, "id": old.id})
    keys = {(row["state"], row["license_number"]) for row in rows}
    dropped_ids = [r.id for key, r in stored.items() if key not in keys]
    dropped: list[tuple[str, str, str]] = []
    if dropped_ids:
        dropped = [(str(p), str(st), str(n)) for p, st, n in (await session.execute(_DROP_LICENSES, {
            "tenant": tenant_id, "ids": dropped_ids})).all()]
    if changed:
        params: dict[str, Any] = {c: [row.get(c) for row in changed] for c in LICENSE_COLUMNS
                                  if c != "lines_of_authority"}
        params.update(id=[row.get("id") or new_locator() for row in changed], tenant=tenant_id,
                      registry_producer_id=[row["registry_producer_id"] for row in changed],
                      loas=[LOA_JOIN.join(row.get("lines_of_authority") or []) for row in changed])
        await session.execute(_UPSERT_LICENSES, params)
    return dropped


async def by_npn(session: AsyncSession, tenant_id: str, npn: str) -> list[RegistryProducerRecord]:
    stmt = select(RegistryProducerRecord).where(col(RegistryProducerRecord.tenant_id) == tenant_id,
                                                col(RegistryProducerRecord.npn) == npn)
    return list((await session.execute(stmt)).scalars())


async def by_npns(session: AsyncSession, tenant_id: str, npns: Sequence[str]) -> list[Any]:
    """Registry producers of many NPNs in one statement, as plain rows with the record's attribute names
    (bulk onboarding batches; loading hundreds of table models costs more than the query)."""
    if not npns:
        return []
    table: Any = RegistryProducerRecord.__table__  # type: ignore[attr-defined]
    stmt = select(*table.columns).where(table.c.tenant_id == tenant_id, table.c.npn.in_(list(set(npns))))
    return list((await session.execute(stmt)).all())


async def by_ssn_hash(session: AsyncSession, tenant_id: str, ssn_hash: str) -> list[RegistryProducerRecord]:
    stmt = select(RegistryProducerRecord).where(col(RegistryProducerRecord.tenant_id) == tenant_id,
                                                col(RegistryProducerRecord.ssn_hash) == ssn_hash)
    return list((await session.execute(stmt.order_by(RegistryProducerRecord.npn))).scalars())


async def by_license(session: AsyncSession, tenant_id: str, state: str,
                     license_number: str) -> list[RegistryProducerRecord]:
    """Registry producers holding that license number in that state (case-insensitive number)."""
    stmt = (
        select(RegistryProducerRecord)
        .join(RegistryLicenseRecord, col(RegistryLicenseRecord.registry_producer_id) == col(RegistryProducerRecord.id))
        .where(col(RegistryLicenseRecord.tenant_id) == tenant_id, col(RegistryLicenseRecord.state) == state,
               func.upper(RegistryLicenseRecord.license_number) == license_number.upper())
        .distinct()
    )
    return list((await session.execute(stmt)).scalars())


async def licenses_of(session: AsyncSession, registry_producer_id: str) -> list[RegistryLicenseRecord]:
    stmt = select(RegistryLicenseRecord).where(col(RegistryLicenseRecord.registry_producer_id) == registry_producer_id)
    return list((await session.execute(stmt.order_by(RegistryLicenseRecord.state,
                                                     RegistryLicenseRecord.license_number))).scalars())


async def licenses_of_many(session: AsyncSession, registry_producer_ids: Sequence[str]) -> list[Any]:
    """The licenses of many registry producers in one statement, as plain rows, in `licenses_of` order."""
    if not registry_producer_ids:
        return []
    table: Any = RegistryLicenseRecord.__table__  # type: ignore[attr-defined]
    stmt = select(*table.columns).where(table.c.registry_producer_id.in_(list(set(registry_producer_ids))))
    return list((await session.execute(stmt.order_by(table.c.registry_producer_id, table.c.state,
                                                     table.c.license_number))).all())


async def counts(session: AsyncSession, tenant_id: str) -> tuple[int, int]:
    """How many registry producers and licenses a tenant holds."""
    producers = await session.execute(select(func.count()).select_from(RegistryProducerRecord).where(
        col(RegistryProducerRecord.tenant_id) == tenant_id))
    licenses = await session.execute(select(func.count()).select_from(RegistryLicenseRecord).where(
        col(RegistryLicenseRecord.tenant_id) == tenant_id))
    return int(producers.scalar_one()), int(licenses.scalar_one())


async def onboarded_producers(session: AsyncSession, tenant_id: str,
                              registry_producer_ids: Sequence[str]) -> list[Any]:
    """The active producers onboarded from these registry producers, locked for the sync, as plain rows
    (registry_producer_id, id and the fields the registry may refresh), in producer order."""
    if not registry_producer_ids:
        return []
    producers: Any = ProducerRecord.__table__  # type: ignore[attr-defined]
    onboardings: Any = OnboardingRecord.__table__  # type: ignore[attr-defined]
    stmt = (select(onboardings.c.registry_producer_id, producers.c.id, producers.c.first_name,
                   producers.c.middle_name, producers.c.last_name, producers.c.gender, producers.c.email)
            .join(producers, producers.c.id == onboardings.c.producer_id)
            .where(onboardings.c.tenant_id == tenant_id,
                   onboardings.c.registry_producer_id == any_(bindparam("ids", list(set(registry_producer_ids)), type_=ARRAY(Text))),
                   producers.c.state.not_in(["retired", "discarded"]))
            .order_by(producers.c.id).with_for_update(of=producers))
    return list((await session.execute(stmt)).all())


async def analyze(session: AsyncSession, imported: int) -> bool:
    """Refresh the planner's statistics of the registry tables while an import grows them from (almost) nothing:
    with the statistics of an empty table every look-up by NPN becomes a scan of the whole table. Skipped (False)
    when the statistics already count at least `imported` producers (a later extract: each ANALYZE reads a
    sample of ~30,000 rows per table, seconds per import for nothing)."""
    known = await session.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'registry_producers'::regclass"))
    if (known.scalar() or 0) >= imported:
        return False
    await session.execute(text("ANALYZE registry_producers"))
    await session.execute(text("ANALYZE registry_licenses"))
    return True
