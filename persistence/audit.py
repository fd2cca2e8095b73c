"""The audit log: rows written by database triggers (migrations 0005, 0006, 0009) on every change (documents:
by persistence.documents, as they are attached, replaced and removed), and the reads over them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, String, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlmodel import Field, SQLModel, col

from persistence.base import jsonb, timestamp
from persistence.producers import ProducerRecord, Scope

EVENTS_CHANNEL = "producer_events"
ENTITIES = ("producer", "producer_code", "license", "appointment", "quote", "policy", "policy_transaction",
            "underwriting_flag", "onboarding", "document")
EVENTS = ("created", "updated", "validated", "suspended", "unsuspended", "retired", "discarded", "terminated",
          "underwritten", "issued", "declined", "rejected", "added", "cleared", "finished", "cancelled",
          "attached", "replaced", "removed", "granted", "lapsed", "reinstated", "renewed", "loaChanged")


class AuditEventRecord(SQLModel, table=True):
    """One change of one row. `tx` (the writing transaction, xid8) is not mapped: only the feed reads it."""

    __tablename__ = "audit_events"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    tenant_id: str = Field(max_length=26)
    entity: str = Field(max_length=20)
    entity_id: str = Field(max_length=26)
    producer_id: str | None = Field(default=None, sa_column=Column(String(26), nullable=True))
    event: str = Field(max_length=20)
    actor: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    request_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    at: datetime = timestamp()
    before: dict[str, Any] | None = jsonb(default=None)
    after: dict[str, Any] = jsonb()


@dataclass
class AuditFilter:
    entities: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    entity_id: str | None = None
    since: datetime | None = None


def events_in_scope(scope: Scope, flt: AuditFilter) -> Select[AuditEventRecord]:
    """The tenant's events; for a narrowed scope, only those of producers (and their objects) inside it."""
    stmt = select(AuditEventRecord).where(col(AuditEventRecord.tenant_id) == scope.tenant_id)
    if scope.root is not None:
        visible = select(col(ProducerRecord.id)).where(scope.producers_clause())
        stmt = stmt.where(col(AuditEventRecord.producer_id).in_(visible))
    if flt.entities:
        stmt = stmt.where(col(AuditEventRecord.entity).in_(flt.entities))
    if flt.events:
        stmt = stmt.where(col(AuditEventRecord.event).in_(flt.events))
    if flt.entity_id is not None:
        stmt = stmt.where(col(AuditEventRecord.entity_id) == flt.entity_id)
    if flt.since is not None:
        stmt = stmt.where(col(AuditEventRecord.at) >= flt.since)
    return stmt


async def horizon(session: AsyncSession) -> str:
    """The oldest transaction still running: every event of an older transaction is committed (or never will be)."""
    return str((await session.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text"))).scalar_one())


async def events_settled_between(session: AsyncSession, scope: Scope, flt: AuditFilter,
                                 low: str) -> tuple[Sequence[AuditEventRecord], str]:
    """Events of transactions in [low, horizon), in commit-safe order, and the new `low`.

    Ids are given out before commit, so "id > last seen" can skip a slow transaction's events; transaction ids
    below the snapshot horizon are final, so each event is read exactly once, however commits interleave.
    """
    high = await horizon(session)
    stmt = events_in_scope(scope, flt).where(
        text("audit_events.tx >= CAST(CAST(:low AS text) AS xid8)"),
        text("audit_events.tx < CAST(CAST(:high AS text) AS xid8)"),
    ).order_by(text("audit_events.tx"), col(AuditEventRecord.id))
    rows = (await session.execute(stmt, {"low": low, "high": high})).scalars().all()
    return rows, high


_NAME_EVENTS = text("""
UPDATE audit_events e SET event = v.event
FROM unnest(CAST(:ids AS text[]), CAST(:events AS text[])) AS v(entity_id, event)
WHERE e.tenant_id = :tenant AND e.tx = pg_current_xact_id() AND e.entity = :entity AND e.entity_id = v.entity_id
""")


async def name_events(session: AsyncSession, tenant_id: str, entity: str, names: dict[str, str]) -> None:
    """Rename this transaction's trigger-written events of these objects ({entity id: event}): the registry sync
    calls a license change by its kind (`renewed`, `lapsed`...) rather than `updated` or `discarded`."""
    if names:
        await session.execute(_NAME_EVENTS, {"ids": list(names), "events": list(names.values()),
                                             "tenant": tenant_id, "entity": entity})
