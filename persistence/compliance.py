"""Compliance: credentials by expiration with their producers, the daily digest and alert sweep leases, the alerts
each digest told and the alerts raised to webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, DateTime, Integer, String, Text, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from persistence.producers import ProducerRecord, Scope

ENDED_PRODUCER = ("retired", "discarded")


class ComplianceDigestRecord(SQLModel, table=True):
    """One agency's digest of one day: claimed by one server process (a lease), then sent."""

    __tablename__ = "compliance_digests"

    tenant_id: str = Field(primary_key=True, max_length=26, foreign_key="tenants.id")
    agency_id: str = Field(primary_key=True, max_length=26)
    day: date = Field(sa_column=Column(Date, primary_key=True))
    status: str = Field(max_length=20)  # sending | sent
    claimed_by: str = Field(max_length=200)
    claimed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    alert_count: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    recipients: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False,
                                                                         server_default="{}"))


class ComplianceAlertNoticeRecord(SQLModel, table=True):
    """An alert a digest told: each credential once per window."""

    __tablename__ = "compliance_alert_notices"

    tenant_id: str = Field(primary_key=True, max_length=26, foreign_key="tenants.id")
    entity_id: str = Field(primary_key=True, max_length=26)
    alert_window: str = Field(sa_column=Column(String(20), primary_key=True))
    agency_id: str = Field(max_length=26)
    day: date = Field(sa_column=Column(Date, nullable=False))


class ComplianceAlertRaisedRecord(SQLModel, table=True):
    """An alert raised to webhooks (`complianceAlert.raised`): each credential once per window and expiration date,
    so a renewed credential alerts again as its new date comes near."""

    __tablename__ = "compliance_alerts_raised"

    tenant_id: str = Field(primary_key=True, max_length=26, foreign_key="tenants.id")
    entity_id: str = Field(primary_key=True, max_length=26)
    expires_on: date = Field(sa_column=Column(Date, primary_key=True))
    alert_window: str = Field(sa_column=Column(String(20), primary_key=True))
    kind: str = Field(max_length=20)
    producer_id: str = Field(max_length=26)
    raised_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ComplianceAlertSweepRecord(SQLModel, table=True):
    """One tenant's alert sweep of one day: claimed by one server process (a lease), then done."""

    __tablename__ = "compliance_alert_sweeps"

    tenant_id: str = Field(primary_key=True, max_length=26, foreign_key="tenants.id")
    day: date = Field(sa_column=Column(Date, primary_key=True))
    status: str = Field(max_length=20)  # sweeping | done
    claimed_by: str = Field(max_length=200)
    claimed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    raised_count: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


async def expiring(session: AsyncSession, table: Any, scope: Scope, *, states: Sequence[str], now: datetime,
                   until: datetime, agency_id: str | None = None) -> list[tuple[Any, ProducerRecord]]:
    """(credential, producer) pairs in scope expiring before `until`: from `now` on for producers not removed,
    already expired only for validated producers; oldest expiration first."""
    p: Any = ProducerRecord
    stmt = (select(table, ProducerRecord).join(ProducerRecord, p.id == table.producer_id)
            .where(scope.producers_clause(), table.tenant_id == scope.tenant_id,
                   table.expiration_time.is_not(None), table.expiration_time < until,
                   table.state.in_(list(states)), p.state.not_in(ENDED_PRODUCER),
                   or_(table.expiration_time >= now, p.state == "validated")))
    if agency_id is not None:
        stmt = stmt.where(or_(p.id == agency_id, p.ancestry.contains([agency_id])))
    rows = await session.execute(stmt.order_by(table.expiration_time, table.id))
    return [(credential, producer) for credential, producer in rows.all()]


async def producers_by_ids(session: AsyncSession, tenant_id: str, ids: Sequence[str]) -> list[ProducerRecord]:
    if not ids:
        return []
    p: Any = ProducerRecord
    stmt = select(ProducerRecord).where(p.tenant_id == tenant_id, p.id.in_(list(set(ids))))
    return list((await session.execute(stmt)).scalars())


_CLAIM = text("""
INSERT INTO compliance_digests AS d (tenant_id, agency_id, day, status, claimed_by, claimed_at)
VALUES (:tenant, :agency, :day, 'sending', :owner, now())
ON CONFLICT (tenant_id, agency_id, day) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_at = now()
WHERE d.status = 'sending' AND d.claimed_at < now() - make_interval(secs => :lease)
RETURNING d.claimed_by
""")


async def claim_digest(session: AsyncSession, tenant_id: str, agency_id: str, day: date, owner: str,
                       lease_seconds: float) -> bool:
    """Take the lease of the agency's digest of `day`: True for exactly one process, unless the one that took
    it did not finish within `lease_seconds` (it crashed): then the next one takes it over."""
    row = (await session.execute(_CLAIM, {"tenant": tenant_id, "agency": agency_id, "day": day, "owner": owner,
                                          "lease": lease_seconds})).first()
    return row is not None and row[0] == owner


async def finish_digest(session: AsyncSession, tenant_id: str, agency_id: str, day: date, owner: str,
                        alert_count: int, recipients: Sequence[str]) -> None:
    await session.execute(text(
        "UPDATE compliance_digests SET status = 'sent', sent_at = now(), alert_count = :count, recipients = :to "
        "WHERE tenant_id = :tenant AND agency_id = :agency AND day = :day AND claimed_by = :owner"),
        {"count": alert_count, "to": list(recipients), "tenant": tenant_id, "agency": agency_id, "day": day,
         "owner": owner})


async def noticed(session: AsyncSession, tenant_id: str, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (entity id, window) alerts a digest already told."""
    if not keys:
        return set()
    t: Any = ComplianceAlertNoticeRecord
    stmt = select(t.entity_id, t.alert_window).where(t.tenant_id == tenant_id,
                                                     t.entity_id.in_(list({e for e, _ in keys})))
    wanted = set(keys)
    return {(e, w) for e, w in (await session.execute(stmt)).all() if (e, w) in wanted}


async def record_notices(session: AsyncSession, tenant_id: str, agency_id: str, day: date,
                         keys: Sequence[tuple[str, str]]) -> None:
    if not keys:
        return
    await session.execute(text(
        "INSERT INTO compliance_alert_notices (tenant_id, entity_id, alert_window, agency_id, day) "
        "SELECT :tenant, e, w, :agency, :day FROM unnest(CAST(:ids AS text[]), CAST(:windows AS text[])) AS k(e, w) "
        "ON CONFLICT DO NOTHING"),
        {"tenant": tenant_id, "agency": agency_id, "day": day, "ids": [k[0] for k in keys],
         "windows": [k[1] for k in keys]})


async def digests_of(session: AsyncSession, tenant_id: str) -> list[ComplianceDigestRecord]:
    d: Any = ComplianceDigestRecord
    stmt = select(ComplianceDigestRecord).where(d.tenant_id == tenant_id)
    return list((await session.execute(stmt)).scalars())


async def release_digest(session: AsyncSession, tenant_id: str, agency_id: str, day: date, owner: str) -> None:
    """Give back a lease whose email could not be sent, so the next round (of any process) tries again."""
    await session.execute(text(
        "DELETE FROM compliance_digests WHERE tenant_id = :tenant AND agency_id = :agency AND day = :day "
        "AND claimed_by = :owner AND status = 'sending'"),
        {"tenant": tenant_id, "agency": agency_id, "day": day, "owner": owner})


_CLAIM_SWEEP = text("""
INSERT INTO compliance_alert_sweeps AS s (tenant_id, day, status, claimed_by, claimed_at)
VALUES (:tenant, :day, 'sweeping', :owner, now())
ON CONFLICT (tenant_id, day) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_at = now()
WHERE s.status = 'sweeping' AND s.claimed_at < now() - make_interval(secs => :lease)
RETURNING s.claimed_by
""")


async def claim_sweep(session: AsyncSession, tenant_id: str, day: date, owner: str, lease_seconds: float) -> bool:
    """Take the lease of the tenant's alert sweep of `day`, as `claim_digest` does for a digest."""
    row = (await session.execute(_CLAIM_SWEEP, {"tenant": tenant_id, "day": day, "owner": owner,
                                                "lease": lease_seconds})).first()
    return row is not None and row[0] == owner


async def finish_sweep(session: AsyncSession, tenant_id: str, day: date, owner: str, raised: int) -> None:
    await session.execute(text(
        "UPDATE compliance_alert_sweeps SET status = 'done', finished_at = now(), raised_count = :raised "
        "WHERE tenant_id = :tenant AND day = :day AND claimed_by = :owner"),
        {"raised": raised, "tenant": tenant_id, "day": day, "owner": owner})


async def release_sweep(session: AsyncSession, tenant_id: str, day: date, owner: str) -> None:
    """Give back the lease of a sweep that failed, so the next round (of any process) tries again."""
    await session.execute(text(
        "DELETE FROM compliance_alert_sweeps WHERE tenant_id = :tenant AND day = :day AND claimed_by = :owner "
        "AND status = 'sweeping'"), {"tenant": tenant_id, "day": day, "owner": owner})


async def record_raised(session: AsyncSession, tenant_id: str,
                        alerts: Sequence[tuple[str, date, str, str, str]]) -> set[tuple[str, date, str]]:
    """Record alerts (entity id, expires on, window, kind, producer id) as raised; the (entity id, expires on,
    window) keys not raised before. A concurrent transaction recording the same key waits for this one and
    records nothing: each key is raised once whatever the number of processes."""
    if not alerts:
        return set()
    rows = await session.execute(text(
        "INSERT INTO compliance_alerts_raised (tenant_id, entity_id, expires_on, alert_window, kind, producer_id, "
        "raised_at) SELECT :tenant, e, d, w, k, p, now() FROM unnest(CAST(:ids AS text[]), CAST(:days AS date[]), "
        "CAST(:windows AS text[]), CAST(:kinds AS text[]), CAST(:producers AS text[])) AS a(e, d, w, k, p) "
        "ON CONFLICT DO NOTHING RETURNING entity_id, expires_on, alert_window"),
        {"tenant": tenant_id, "ids": [a[0] for a in alerts], "days": [a[1] for a in alerts],
         "windows": [a[2] for a in alerts], "kinds": [a[3] for a in alerts], "producers": [a[4] for a in alerts]})
    return {(e, d, w) for e, d, w in rows.all()}


async def raised_of(session: AsyncSession, tenant_id: str) -> list[ComplianceAlertRaisedRecord]:
    """The alerts raised in a tenant, for tests and operations."""
    r: Any = ComplianceAlertRaisedRecord
    stmt = select(ComplianceAlertRaisedRecord).where(r.tenant_id == tenant_id).order_by(r.raised_at, r.entity_id)
    return list((await session.execute(stmt)).scalars())
