"""The producer registry: per-tenant records of producers and their licenses, as a NIPR extract carries them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, ForeignKey, Index, LargeBinary, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert
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


async def upsert_producers(session: AsyncSession, tenant_id: str, rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Insert or refresh registry producers by NPN; returns {npn: registry producer id}."""
    if not rows:
        return {}
    now = utcnow()
    values = [{"id": new_locator(), "tenant_id": tenant_id, "created_at": now, "updated_at": now,
               **{c: row.get(c) for c in PRODUCER_COLUMNS}} for row in rows]
    stmt = insert(RegistryProducerRecord).values(values)
    upsert = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "npn"],
        set_={**{c: stmt.excluded[c] for c in PRODUCER_COLUMNS if c != "npn"}, "updated_at": now},
    ).returning(col(RegistryProducerRecord.id), col(RegistryProducerRecord.npn))
    return {npn: rid for rid, npn in (await session.execute(upsert)).all()}


async def replace_licenses(session: AsyncSession, tenant_id: str, producer_ids: Sequence[str],
                           rows: Sequence[dict[str, Any]]) -> int:
    """Replace the licenses of the given registry producers by `rows` (each with registry_producer_id)."""
    if producer_ids:
        await session.execute(delete(RegistryLicenseRecord).where(
            col(RegistryLicenseRecord.tenant_id) == tenant_id,
            col(RegistryLicenseRecord.registry_producer_id).in_(list(producer_ids))))
    if not rows:
        return 0
    values = [{"id": new_locator(), "tenant_id": tenant_id, "registry_producer_id": row["registry_producer_id"],
               **{c: row.get(c) for c in LICENSE_COLUMNS}} for row in rows]
    stmt = insert(RegistryLicenseRecord).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "state", "license_number"],
        set_={"registry_producer_id": stmt.excluded.registry_producer_id,
              **{c: stmt.excluded[c] for c in LICENSE_COLUMNS if c not in ("state", "license_number")}},
    )
    await session.execute(stmt)
    return len(values)


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
                              registry_producer_ids: Sequence[str]) -> list[tuple[str, Any]]:
    """The active producers onboarded from these registry producers, locked for the sync:
    [(registry producer id, ProducerRecord)], in producer order."""
    if not registry_producer_ids:
        return []
    stmt = (select(col(OnboardingRecord.registry_producer_id), ProducerRecord)
            .join(ProducerRecord, col(ProducerRecord.id) == col(OnboardingRecord.producer_id))
            .where(col(OnboardingRecord.tenant_id) == tenant_id,
                   col(OnboardingRecord.registry_producer_id).in_(list(set(registry_producer_ids))),
                   col(ProducerRecord.state).not_in(["retired", "discarded"]))
            .order_by(col(ProducerRecord.id)).with_for_update(of=ProducerRecord))  # type: ignore[arg-type]
    return [(str(rid), producer) for rid, producer in (await session.execute(stmt)).all()]
