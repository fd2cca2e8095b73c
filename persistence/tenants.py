"""Tenants: one insurer or MGA each, with its configuration JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
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
