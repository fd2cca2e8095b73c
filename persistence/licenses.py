"""Licenses and appointments: tables and the queries over them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, Column, Date, DateTime, Index, Text, any_, bindparam, func, select, text
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


SYNC_COLUMNS = ("id", "producer_id", "license_number", "jurisdictions", "state", "state_reason", "lines_of_authority",
                "residency", "license_class", "effective_time", "expiration_time")


async def sync_terms(session: AsyncSession, tenant_id: str, producer_ids: Sequence[str]) -> list[Any]:
    """The registry-decided columns of every license of these producers, as plain rows in id order (the registry
    sync compares thousands per batch: table models cost more to build than the query to run)."""
    if not producer_ids:
        return []
    table: Any = LicenseRecord.__table__  # type: ignore[attr-defined]
    stmt = select(*(table.c[name] for name in SYNC_COLUMNS)).where(
        table.c.tenant_id == tenant_id, table.c.producer_id == any_(bindparam("ids", list(set(producer_ids)), type_=ARRAY(Text))))
    return list((await session.execute(stmt.order_by(table.c.id))).all())


LOA_JOIN = "\x1f"  # the lines of authority of a license travel as one string (unnest flattens nested arrays)

_UPDATE_SYNCED = text("""
UPDATE licenses l SET
    state = u.state, state_reason = u.state_reason, lines_of_authority = string_to_array(u.loas, E'\\x1f'),
    residency = u.residency, license_class = u.license_class, effective_time = u.effective_time,
    expiration_time = u.expiration_time, license_number = coalesce(u.license_number, l.license_number),
    search_text = CASE WHEN u.license_number IS NULL THEN l.search_text ELSE lower(u.license_number) END,
    updated_at = :now, updated_by = :actor, version = l.version + 1
FROM unnest(CAST(:id AS text[]), CAST(:state AS text[]), CAST(:state_reason AS text[]), CAST(:loas AS text[]),
            CAST(:residency AS text[]), CAST(:license_class AS text[]), CAST(:effective_time AS timestamptz[]),
            CAST(:expiration_time AS timestamptz[]), CAST(:license_number AS text[]))
     AS u(id, state, state_reason, loas, residency, license_class, effective_time, expiration_time, license_number)
WHERE l.tenant_id = :tenant AND l.id = u.id
""")


async def update_synced(session: AsyncSession, tenant_id: str, rows: Sequence[dict[str, Any]], actor: str,
                        now: datetime) -> None:
    """Write the registry-decided columns of many licenses in one statement (a row per license: the audit
    trigger writes one event each); `license_number` None keeps the stored number."""
    if not rows:
        return
    params: dict[str, Any] = {name: [row[name] for row in rows] for name in (
        "id", "state", "state_reason", "residency", "license_class", "effective_time", "expiration_time",
        "license_number")}
    params.update(loas=[LOA_JOIN.join(row["lines_of_authority"]) for row in rows], tenant=tenant_id, actor=actor,
                  now=now)
    await session.execute(_UPDATE_SYNCED, params)


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
