"""Licenses and appointments: tables and the queries over them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, DateTime, Index, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlmodel import Field, SQLModel

from persistence.base import jsonb, locator_pk, tenant_fk, text_array, timestamp
from persistence.producers import ProducerRecord, Scope


def _when() -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


def _search_text() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class LicenseRecord(SQLModel, table=True):
    __tablename__ = "licenses"
    __table_args__ = (
        Index("ix_licenses_producer", "producer_id"),
        Index("ix_licenses_tenant_expiration", "tenant_id", "expiration_time"),
    )

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    producer_id: str = Field(foreign_key="producers.id", max_length=26)
    type: str = Field(max_length=200)
    license_number: str | None = Field(default=None, max_length=100)  # null while an application
    jurisdictions: list[str] = text_array()
    products: list[str] = text_array()
    producer_codes: list[str] = text_array()
    lines_of_authority: list[str] = text_array()
    residency: str = Field(default="resident", max_length=20)
    license_class: str | None = Field(default=None, max_length=100)
    effective_time: datetime | None = _when()
    expiration_time: datetime | None = _when()
    data: dict[str, Any] = jsonb()
    state: str = Field(default="draft", max_length=20)
    state_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    search_text: str = _search_text()
    validation_result: dict[str, Any] | None = jsonb(default=None)
    created_at: datetime = timestamp()
    created_by: str = Field(default="system", max_length=200)
    updated_at: datetime = timestamp()
    updated_by: str = Field(default="system", max_length=200)
    version: int = 1


class AppointmentRecord(SQLModel, table=True):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_producer", "producer_id"),
        Index("ix_appointments_tenant_expiration", "tenant_id", "expiration_time"),
    )

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    producer_id: str = Field(foreign_key="producers.id", max_length=26)
    type: str = Field(max_length=200)
    appointment_number: str = Field(max_length=100)
    license_ids: list[str] = text_array()
    jurisdictions: list[str] = text_array()
    products: list[str] = text_array()
    producer_codes: list[str] = text_array()
    lines_of_authority: list[str] = text_array()
    residency: str = Field(default="resident", max_length=20)
    license_class: str | None = Field(default=None, max_length=100)
    effective_time: datetime | None = _when()
    expiration_time: datetime | None = _when()
    data: dict[str, Any] = jsonb()
    state: str = Field(default="draft", max_length=20)
    search_text: str = _search_text()
    termination_reason: str | None = Field(default=None, max_length=40)
    terminated_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    validation_result: dict[str, Any] | None = jsonb(default=None)
    created_at: datetime = timestamp()
    created_by: str = Field(default="system", max_length=200)
    updated_at: datetime = timestamp()
    updated_by: str = Field(default="system", max_length=200)
    version: int = 1


CredentialRecord = LicenseRecord | AppointmentRecord


def in_scope(table: Any, scope: Scope) -> Select[Any]:
    """Credentials whose owning producer is in the scope."""
    stmt = select(table).where(table.tenant_id == scope.tenant_id)
    if scope.root is None:
        return stmt
    return stmt.join(ProducerRecord, ProducerRecord.id == table.producer_id).where(scope.producers_clause())


async def by_ids(session: AsyncSession, table: Any, scope: Scope, ids: Sequence[str]) -> list[Any]:
    if not ids:
        return []
    stmt = in_scope(table, scope).where(table.id.in_(list(set(ids))))
    return list((await session.execute(stmt)).scalars())


async def for_update(session: AsyncSession, table: Any, scope: Scope, record_id: str) -> Any:
    stmt = in_scope(table, scope).where(table.id == record_id).with_for_update(of=table)
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_producer_ids(session: AsyncSession, table: Any, tenant_id: str,
                          producer_ids: Sequence[str], *, states: Sequence[str] = ()) -> list[Any]:
    """Every credential of the given producers, in one statement (for dataloaders and underwriting)."""
    if not producer_ids:
        return []
    stmt = select(table).where(table.tenant_id == tenant_id, table.producer_id.in_(list(set(producer_ids))))
    if states:
        stmt = stmt.where(table.state.in_(list(states)))
    return list((await session.execute(stmt.order_by(table.id))).scalars())


async def license_number_clash(session: AsyncSession, tenant_id: str, producer_id: str, number: str,
                               jurisdictions: Sequence[str], exclude_id: str | None) -> LicenseRecord | None:
    """Another live license of the producer with this number sharing a jurisdiction (or both naming none)."""
    table: Any = LicenseRecord
    stmt = select(LicenseRecord).where(
        table.tenant_id == tenant_id, table.producer_id == producer_id, table.state != "discarded",
        func.upper(table.license_number) == number.upper())
    if exclude_id is not None:
        stmt = stmt.where(table.id != exclude_id)
    if jurisdictions:
        stmt = stmt.where(table.jurisdictions.overlap(list(jurisdictions)))
    else:
        stmt = stmt.where(func.cardinality(table.jurisdictions) == 0)
    return (await session.execute(stmt.limit(1))).scalars().first()
