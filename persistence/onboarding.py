"""Onboardings: one record per producer brought into an agency, holding the wizard's progress."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlmodel import Field, SQLModel, col

from persistence.base import jsonb, locator_pk, tenant_fk, timestamp
from persistence.producers import ProducerRecord, Scope


class OnboardingRecord(SQLModel, table=True):
    __tablename__ = "onboardings"
    __table_args__ = (
        Index("ix_onboardings_tenant_status", "tenant_id", "status"),
        Index("ix_onboardings_producer", "producer_id"),
        Index("uq_onboardings_bulk_row", "bulk_job_id", "bulk_row_number", unique=True),
    )

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    producer_id: str = Field(foreign_key="producers.id", max_length=26)
    agency_id: str = Field(foreign_key="producers.id", max_length=26)
    registry_producer_id: str | None = Field(default=None, max_length=26)
    identified_by: str = Field(max_length=20)
    status: str = Field(default="IN_PROGRESS", max_length=20)
    current_step: str = Field(default="DETAILS", max_length=20)
    details_reviewed: bool = False
    new_license_paid_by: str | None = Field(default=None, max_length=20)
    renewal_paid_by: str | None = Field(default=None, max_length=20)
    auto_renewal: bool | None = None
    states: list[dict[str, Any]] = jsonb(default=list)
    states_assigned: bool = False
    reviewed_at: datetime | None = timestamp(nullable=True)
    completed_at: datetime | None = timestamp(nullable=True)
    created_license_ids: list[str] = jsonb(default=list)
    producer_code_id: str | None = Field(default=None, max_length=26)
    bulk_job_id: str | None = Field(default=None, sa_column=Column(String(26), nullable=True))
    bulk_row_number: int | None = None
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = timestamp()
    created_by: str = Field(default="system", max_length=200)
    updated_at: datetime = timestamp()
    updated_by: str = Field(default="system", max_length=200)
    version: int = 1


def in_scope(scope: Scope) -> Select[OnboardingRecord]:
    """Onboardings whose producer the scope can see."""
    stmt = select(OnboardingRecord).where(col(OnboardingRecord.tenant_id) == scope.tenant_id)
    if scope.root is None:
        return stmt
    return stmt.join(ProducerRecord, col(ProducerRecord.id) == col(OnboardingRecord.producer_id)).where(
        scope.producers_clause())


async def by_ids(session: AsyncSession, scope: Scope, ids: Sequence[str]) -> list[OnboardingRecord]:
    if not ids:
        return []
    stmt = in_scope(scope).where(col(OnboardingRecord.id).in_(list(set(ids))))
    return list((await session.execute(stmt)).scalars())


async def for_update(session: AsyncSession, scope: Scope, onboarding_id: str) -> OnboardingRecord | None:
    stmt = in_scope(scope).where(col(OnboardingRecord.id) == onboarding_id).with_for_update(of=OnboardingRecord)
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_bulk_row(session: AsyncSession, bulk_job_id: str, row_number: int) -> OnboardingRecord | None:
    stmt = select(OnboardingRecord).where(col(OnboardingRecord.bulk_job_id) == bulk_job_id,
                                          col(OnboardingRecord.bulk_row_number) == row_number)
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_npn(session: AsyncSession, tenant_id: str, npn: str) -> None:
    """Serialize onboardings of one NPN in a tenant until the transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                          {"key": f"onboarding:{tenant_id}:{npn}"})


async def bulk_rows_done(session: AsyncSession, bulk_job_id: str,
                         row_numbers: Sequence[int]) -> dict[int, str]:
    """{row number: producer id} of the given rows of a bulk job already onboarded: one unique-index probe per
    row (a plain `IN` lets the planner scan every onboarding of the job, which grows with the job)."""
    if not row_numbers:
        return {}
    stmt = text("""SELECT o.bulk_row_number, o.producer_id FROM unnest(CAST(:numbers AS int[])) AS n(number)
                   CROSS JOIN LATERAL (SELECT bulk_row_number, producer_id FROM onboardings
                                       WHERE bulk_job_id = :job AND bulk_row_number = n.number) o""")
    result = await session.execute(stmt, {"numbers": list(row_numbers), "job": bulk_job_id})
    return {int(number): producer_id for number, producer_id in result.all()}


async def lock_npns(session: AsyncSession, tenant_id: str, npns: Sequence[str]) -> None:
    """`lock_npn` for many NPNs in one statement, taken in a fixed order so two batches never deadlock."""
    keys = sorted({f"onboarding:{tenant_id}:{npn}" for npn in npns})
    if keys:
        await session.execute(text("""SELECT count(pg_advisory_xact_lock(h)) FROM (
            SELECT hashtextextended(k, 0) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY 1) s"""),
                              {"keys": keys})


async def npns_active_in_agency(session: AsyncSession, tenant_id: str, agency_id: str,
                                npns: Sequence[str]) -> set[str]:
    """Which of `npns` a non-terminal producer of the agency's subtree holds: one NPN-index probe per NPN,
    whatever the size of the subtree (which a bulk job keeps growing)."""
    if not npns:
        return set()
    stmt = text("""SELECT n.npn FROM unnest(CAST(:npns AS text[])) AS n(npn)
                   WHERE EXISTS (SELECT 1 FROM producers p WHERE p.tenant_id = :tenant AND p.npn = n.npn
                                   AND p.state NOT IN ('retired', 'discarded')
                                   AND (p.id = :agency OR p.ancestry @> ARRAY[CAST(:agency AS text)]))""")
    result = await session.execute(stmt, {"npns": sorted(set(npns)), "tenant": tenant_id, "agency": agency_id})
    return {npn for (npn,) in result.all()}


async def active_producer_with_npn(session: AsyncSession, tenant_id: str, agency_id: str,
                                   npn: str) -> ProducerRecord | None:
    """A non-terminal producer with that NPN in the agency's subtree, if any."""
    stmt = select(ProducerRecord).where(
        Scope(tenant_id, agency_id).producers_clause(), col(ProducerRecord.npn) == npn,
        col(ProducerRecord.state).not_in(["retired", "discarded"])).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def in_progress_for_producers(session: AsyncSession, tenant_id: str,
                                    producer_ids: Sequence[str]) -> list[OnboardingRecord]:
    stmt = select(OnboardingRecord).where(col(OnboardingRecord.tenant_id) == tenant_id,
                                          col(OnboardingRecord.producer_id).in_(list(producer_ids)),
                                          col(OnboardingRecord.status) == "IN_PROGRESS").with_for_update()
    return list((await session.execute(stmt)).scalars())


async def producer_state(session: AsyncSession, tenant_id: str, producer_id: str) -> str | None:
    stmt = select(col(ProducerRecord.state)).where(col(ProducerRecord.tenant_id) == tenant_id,
                                              col(ProducerRecord.id) == producer_id)
    return (await session.execute(stmt)).scalar_one_or_none()

