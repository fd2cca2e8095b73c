"""Webhook endpoints, the outbox of deliveries (written by a trigger on audit_events, migration 0013, and by
`enqueue`) and the attempts made; the claim and the recording of outcomes of the delivery worker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Column, Integer, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlmodel import Field, SQLModel, col

from persistence.audit import AuditEventRecord
from persistence.base import jsonb, locator_pk, tenant_fk, text_array, timestamp

OUTBOX_CHANNEL = "webhook_outbox"
PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"


class WebhookEndpointRecord(SQLModel, table=True):
    """A URL a tenant admin registered, the event types it takes and the secret that signs them."""

    __tablename__ = "webhook_endpoints"

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    url: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    events: list[str] = text_array()
    secret: str = Field(sa_column=Column(Text, nullable=False))
    previous_secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    previous_secret_until: datetime | None = timestamp(nullable=True)  # it still signs, next to `secret`, until then
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    failures_in_a_row: int = 0
    created_at: datetime = timestamp()
    created_by: str = Field(default="system", max_length=200)
    updated_at: datetime = timestamp()


class WebhookDeliveryRecord(SQLModel, table=True):
    """One event for one endpoint: the outbox row, retried until delivered or out of attempts."""

    __tablename__ = "webhook_outbox"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    message_id: str = Field(sa_column=Column(String(40), nullable=False, server_default=text(
        "'msg_' || replace(gen_random_uuid()::text, '-', '')")))
    tenant_id: str = Field(max_length=26)
    endpoint_id: str = Field(max_length=26)
    event_type: str = Field(max_length=80)
    audit_event_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    payload: dict[str, Any] | None = jsonb(default=None)
    occurred_at: datetime = timestamp()
    status: str = Field(default=PENDING, max_length=12)
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp(nullable=True)
    lease_owner: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    lease_expires_at: datetime | None = timestamp(nullable=True)
    last_status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delivered_at: datetime | None = timestamp(nullable=True)
    created_at: datetime = timestamp()


class WebhookAttemptRecord(SQLModel, table=True):
    """One try of a delivery: the receiver's status code, or why there was none."""

    __tablename__ = "webhook_attempts"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    delivery_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    attempt: int
    at: datetime = timestamp()
    status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duration_ms: int = 0


# ---- endpoints -----------------------------------------------------------------------------------------

def endpoints_of(tenant_id: str) -> Select[WebhookEndpointRecord]:
    return select(WebhookEndpointRecord).where(col(WebhookEndpointRecord.tenant_id) == tenant_id)


async def endpoint_for_update(session: AsyncSession, tenant_id: str, endpoint_id: str) -> WebhookEndpointRecord | None:
    stmt = endpoints_of(tenant_id).where(col(WebhookEndpointRecord.id) == endpoint_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


# ---- the outbox ------------------------------------------------------------------------------------------

async def enqueue(session: AsyncSession, tenant_id: str, event_type: str, payloads: Sequence[dict[str, Any]]) -> int:
    """One outbox row per payload and enabled endpoint of the tenant subscribed to `event_type` (payload by payload,
    in order), in one statement of the caller's transaction."""
    if not payloads:
        return 0
    result = await session.execute(text("""
        INSERT INTO webhook_outbox (tenant_id, endpoint_id, event_type, payload)
        SELECT w.tenant_id, w.id, CAST(:event_type AS text), p.payload
        FROM unnest(CAST(:payloads AS jsonb[])) WITH ORDINALITY AS p(payload, n)
        CROSS JOIN webhook_endpoints w
        WHERE w.tenant_id = :tenant AND w.enabled AND webhook_subscribed(w.events, CAST(:event_type AS text))
        ORDER BY p.n, w.id"""), {"tenant": tenant_id, "event_type": event_type,
                                 "payloads": [orjson.dumps(payload).decode() for payload in payloads]})
    rows = int(getattr(result, "rowcount", 0) or 0)
    if rows:
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})
    return rows


def deliveries_of(tenant_id: str, endpoint_id: str | None, statuses: Sequence[str]) -> Select[WebhookDeliveryRecord]:
    stmt = select(WebhookDeliveryRecord).where(col(WebhookDeliveryRecord.tenant_id) == tenant_id)
    if endpoint_id is not None:
        stmt = stmt.where(col(WebhookDeliveryRecord.endpoint_id) == endpoint_id)
    if statuses:
        stmt = stmt.where(col(WebhookDeliveryRecord.status).in_(list(statuses)))
    return stmt


async def purge(session: AsyncSession, older_than_seconds: float, limit: int = 1000) -> int:
    """Delete up to `limit` delivered or failed deliveries (and their attempts) created before the retention."""
    result = await session.execute(text("""
        DELETE FROM webhook_outbox WHERE id IN (
            SELECT id FROM webhook_outbox
            WHERE status IN ('DELIVERED', 'FAILED')
              AND created_at < now() - make_interval(secs => CAST(:age AS double precision))
            ORDER BY id LIMIT :limit)"""), {"age": older_than_seconds, "limit": limit})
    return int(getattr(result, "rowcount", 0) or 0)


async def attempts_of(session: AsyncSession, delivery_ids: Sequence[int]) -> Sequence[WebhookAttemptRecord]:
    stmt = (select(WebhookAttemptRecord).where(col(WebhookAttemptRecord.delivery_id).in_(list(delivery_ids)))
            .order_by(col(WebhookAttemptRecord.id)))
    return (await session.execute(stmt)).scalars().all()


@dataclass
class Claimed:
    """A delivery leased to one worker, with what it needs to send it."""

    id: int
    message_id: str
    tenant_id: str
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any] | None
    attempts: int
    url: str
    secrets: list[str]  # the current secret, and the previous one during a rotation's grace period
    audit: AuditEventRecord | None = None


async def claim(session: AsyncSession, owner: str, limit: int, lease_seconds: float) -> list[Claimed]:
    """Lease up to `limit` due deliveries of enabled endpoints (SKIP LOCKED: processes share the work); a lease of a
    process that died expires and the delivery is due again, with the same message id."""
    rows = (await session.execute(text("""
        WITH due AS (
            SELECT o.id FROM webhook_outbox o
            JOIN webhook_endpoints w ON w.id = o.endpoint_id AND w.enabled
            WHERE o.status = 'PENDING' AND o.next_attempt_at <= now()
              AND (o.lease_expires_at IS NULL OR o.lease_expires_at < now())
            ORDER BY o.next_attempt_at, o.id
            LIMIT :limit
            FOR UPDATE OF o SKIP LOCKED
        )
        UPDATE webhook_outbox d SET lease_owner = :owner,
                                    lease_expires_at = now() + make_interval(secs => CAST(:lease AS double precision))
        FROM due, webhook_endpoints w
        WHERE d.id = due.id AND w.id = d.endpoint_id
        RETURNING d.id, d.message_id, d.tenant_id, d.event_type, d.occurred_at, d.payload, d.attempts, w.url, w.secret,
                  CASE WHEN w.previous_secret_until > now() THEN w.previous_secret END AS previous_secret,
                  d.audit_event_id"""), {"owner": owner, "limit": limit, "lease": lease_seconds})).all()
    claimed = [Claimed(r.id, r.message_id, r.tenant_id, r.event_type, r.occurred_at, r.payload, r.attempts, r.url,
                       [r.secret] + ([r.previous_secret] if r.previous_secret else [])) for r in rows]
    audit_ids = {r.audit_event_id for r in rows if r.audit_event_id is not None}
    if audit_ids:
        events = (await session.execute(select(AuditEventRecord).where(
            col(AuditEventRecord.id).in_(sorted(audit_ids))))).scalars().all()
        by_id = {event.id: event for event in events}
        for item, row in zip(claimed, rows, strict=True):
            item.audit = by_id.get(row.audit_event_id) if row.audit_event_id is not None else None
    return sorted(claimed, key=lambda item: item.id)


@dataclass
class Outcome:
    """What one attempt gave: a status code (2xx: delivered) or an error; and when to try again."""

    delivery_id: int
    delivered: bool
    status_code: int | None
    error: str | None
    duration_ms: int
    retry_in_seconds: float | None  # None: no attempt left


async def record(session: AsyncSession, owner: str, outcome: Outcome, disable_after: int) -> str | None:
    """Record the attempt and its delivery's new state; count the endpoint's failures in a row, disabling it after
    `disable_after`. Returns the endpoint id when this attempt disabled it. Nothing changes when the lease was lost."""
    status = DELIVERED if outcome.delivered else (PENDING if outcome.retry_in_seconds is not None else FAILED)
    row = (await session.execute(text("""
        UPDATE webhook_outbox SET status = CAST(:status AS text), attempts = attempts + 1, last_status_code = :code,
               last_error = :error, lease_owner = NULL, lease_expires_at = NULL,
               delivered_at = CASE WHEN CAST(:status AS text) = 'DELIVERED' THEN now() END,
               next_attempt_at = CASE WHEN CAST(:status AS text) = 'PENDING' THEN now() + make_interval(secs => CAST(:retry AS double precision)) END
        WHERE id = :id AND lease_owner = :owner AND status = 'PENDING'
        RETURNING endpoint_id, attempts"""), {
        "status": status, "code": outcome.status_code, "error": outcome.error, "id": outcome.delivery_id,
        "owner": owner, "retry": outcome.retry_in_seconds or 0.0})).first()
    if row is None:
        return None
    await session.execute(text("""
        INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms)
        VALUES (:id, :attempt, :code, :error, :ms)"""), {
        "id": outcome.delivery_id, "attempt": row.attempts, "code": outcome.status_code, "error": outcome.error,
        "ms": outcome.duration_ms})
    if outcome.delivered:
        await session.execute(text("UPDATE webhook_endpoints SET failures_in_a_row = 0 "
                                   "WHERE id = :id AND failures_in_a_row <> 0"), {"id": row.endpoint_id})
        return None
    disabled = (await session.execute(text("""
        UPDATE webhook_endpoints SET failures_in_a_row = failures_in_a_row + 1,
               enabled = enabled AND failures_in_a_row + 1 < CAST(:limit AS integer),
               disabled_reason = CASE WHEN enabled AND failures_in_a_row + 1 >= CAST(:limit AS integer)
                   THEN CAST(:reason AS text) ELSE disabled_reason END,
               updated_at = CASE WHEN enabled AND failures_in_a_row + 1 >= CAST(:limit AS integer) THEN now() ELSE updated_at END
        WHERE id = :id
        RETURNING enabled, failures_in_a_row"""), {"id": row.endpoint_id, "limit": disable_after,
                                                   "reason": f"Disabled after {disable_after} failed attempts in a "
                                                             "row."})).one()
    return str(row.endpoint_id) if not disabled.enabled and disabled.failures_in_a_row == disable_after else None
