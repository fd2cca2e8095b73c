"""The shared half of the per-caller cost buckets: one row per (tenant, token subject), leased from in slices.

Every server process leases a slice of a caller's bucket (`lease`, one statement: the row is refilled to now,
then the slice taken) and spends it in memory; see app/throttle.py. The arithmetic runs in PostgreSQL under the
row lock, on PostgreSQL's clock, so processes on hosts with different clocks agree (the function
`throttle_bucket_lease` comes from migration 0014).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Float, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from persistence.base import timestamp


class ThrottleBucketRecord(SQLModel, table=True):
    """What a caller's shared bucket held at `updated_at` (it refills from there when next leased from)."""

    __tablename__ = "throttle_buckets"

    tenant_id: str = Field(primary_key=True, max_length=26, foreign_key="tenants.id", ondelete="CASCADE")
    subject: str = Field(primary_key=True, max_length=200)
    available: float = Field(sa_column=Column(Float, nullable=False))
    updated_at: datetime = timestamp()


@dataclass(frozen=True)
class Lease:
    level: float  # what the shared bucket held, refilled to now (and with what was returned), before the grant
    granted: float  # 0 when it held less than the need


async def lease(session: AsyncSession, tenant_id: str, subject: str, *, maximum: float, restore_rate: float,
                need: float, want: float, returned: float = 0.0) -> Lease:
    """Takes `want` (at least `need`, else nothing) from the caller's shared bucket after giving back `returned`."""
    row = (await session.execute(
        text("SELECT level, granted FROM throttle_bucket_lease(:tenant, :subject, :maximum, :rate, :need, :want, "
             ":returned)"),
        {"tenant": tenant_id, "subject": subject, "maximum": maximum, "rate": restore_rate, "need": need,
         "want": want, "returned": returned})).one()
    return Lease(float(row.level), float(row.granted))
