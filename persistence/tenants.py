"""Tenants: one insurer or MGA each, with its configuration JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from persistence.base import jsonb, locator_pk, timestamp


class TenantRecord(SQLModel, table=True):
    __tablename__ = "tenants"

    id: str = locator_pk()
    name: str = Field(unique=True, max_length=200)
    config: dict[str, Any] = jsonb()
    config_version: int = 1
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


async def get_tenant(session: AsyncSession, tenant_id: str) -> TenantRecord | None:
    return await session.get(TenantRecord, tenant_id)


async def get_tenant_by_name(session: AsyncSession, name: str) -> TenantRecord | None:
    result = await session.execute(select(TenantRecord).where(col(TenantRecord.name) == name))
    return result.scalar_one_or_none()


TYPED_TABLES = {"producers": "producers", "producerCodes": "producer_codes", "producerLicenses": "licenses",
                "producerAppointments": "appointments"}


async def types_in_use(session: AsyncSession, tenant_id: str) -> dict[str, dict[str, int]]:
    """For each configured category, the type names the tenant's rows use, with how many rows use each."""
    used: dict[str, dict[str, int]] = {}
    for category, table in TYPED_TABLES.items():
        rows = await session.execute(
            text(f"SELECT type, count(*) FROM {table} WHERE tenant_id = :tenant GROUP BY type"), {"tenant": tenant_id})
        used[category] = {str(name): int(count) for name, count in rows}
    return used


async def tenant_ids(session: AsyncSession) -> list[str]:
    """Every tenant's id, oldest first."""
    return list((await session.execute(select(col(TenantRecord.id)).order_by(col(TenantRecord.id)))).scalars())
