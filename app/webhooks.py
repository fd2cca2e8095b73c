"""Webhooks: endpoints tenant admins register, the events written to the outbox with the change that causes them,
and the signed messages (Standard Webhooks) the delivery worker (app/runtime/webhook_worker.py) sends."""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from standardwebhooks import Webhook

from app.audit import api_view
from app.auth import Role
from app.context import ServiceContext
from app.errors import DomainError, NotFound
from app.queries import PageRequest, int_key, paged
from app.rules import webhooks as rules
from app.settings import Settings
from persistence import webhooks as store
from persistence.base import utcnow
from persistence.db import transaction
from persistence.pagination import Page
from persistence.webhooks import Claimed, WebhookDeliveryRecord, WebhookEndpointRecord

ENDPOINT_NOT_FOUND = "WEBHOOK_ENDPOINT_NOT_FOUND"
MAX_DESCRIPTION = 500
DELIVERY_STATUSES = (store.PENDING, store.DELIVERED, store.FAILED)


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (itself when it is an address); [] when it does not resolve."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return sorted({str(info[4][0]) for info in infos})


async def refused_address(settings: Settings, url: str) -> str | None:
    """Why the endpoint at `url` may not be called now (its host resolves to a loopback, private or link-local
    address while those are not allowed, or does not resolve); None when it may."""
    target = rules.parse_url(url)
    if settings.webhook_private_networks_allowed:
        return None
    addresses = await resolve(target.host, target.port)
    if not addresses:
        return f"The host {target.host!r} does not resolve to an address."
    blocked = [address for address in addresses if rules.forbidden_address(address)]
    if blocked:
        return (f"The host {target.host!r} resolves to {blocked[0]}, a loopback, private or link-local address: "
                "webhooks only go to public addresses.")
    return None


async def checked_url(settings: Settings, url: str) -> str:
    rules.parse_url(url)
    problem = await refused_address(settings, url)
    if problem is not None:
        raise DomainError("WEBHOOK_URL_FORBIDDEN", problem, "url")
    return url.strip()


# ---- endpoints -------------------------------------------------------------------------------------------

async def create_endpoint(ctx: ServiceContext, url: str, events: list[str],
                          description: str | None) -> tuple[WebhookEndpointRecord, str]:
    """Register an endpoint; returns it and its secret (shown this once)."""
    ctx.require(Role.TENANT_ADMIN)
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise DomainError("VALUE_TOO_LONG", f"The description is longer than {MAX_DESCRIPTION} characters.",
                          "description")
    subscriptions = rules.subscriptions(events)
    target = await checked_url(ctx.settings, url)
    secret = new_secret()
    async with transaction(ctx.sessions) as session:
        record = WebhookEndpointRecord(tenant_id=ctx.tenant_id, url=target, description=text, events=subscriptions,
                                       secret=secret, created_by=ctx.actor[:200])
        session.add(record)
    return record, secret


async def _change(ctx: ServiceContext, endpoint_id: str, change: Callable[[WebhookEndpointRecord], None]
                  ) -> WebhookEndpointRecord:
    ctx.require(Role.TENANT_ADMIN)
    async with transaction(ctx.sessions) as session:
        record = await store.endpoint_for_update(session, ctx.tenant_id, endpoint_id)
        if record is None:
            raise NotFound(ENDPOINT_NOT_FOUND, "No webhook endpoint with that id is visible to you.", "id")
        change(record)
        record.updated_at = utcnow()
    return record


async def set_enabled(ctx: ServiceContext, endpoint_id: str, enabled: bool) -> WebhookEndpointRecord:
    """Disable an endpoint (its deliveries wait, no new ones are written) or enable it again (the run of failures
    starts over and waiting deliveries go out)."""

    def change(record: WebhookEndpointRecord) -> None:
        record.enabled = enabled
        if enabled:
            record.failures_in_a_row, record.disabled_reason = 0, None
        else:
            record.disabled_reason = f"Disabled by {ctx.actor[:200]}."

    return await _change(ctx, endpoint_id, change)


async def rotate_secret(ctx: ServiceContext, endpoint_id: str) -> tuple[WebhookEndpointRecord, str]:
    """A new signing secret, used from the next attempt on; returns it (shown this once). The old one keeps signing
    next to it for WEBHOOK_SECRET_GRACE_SECONDS, so receivers can switch without refusing a message."""
    secret = new_secret()

    def change(record: WebhookEndpointRecord) -> None:
        record.previous_secret, record.secret = record.secret, secret
        record.previous_secret_until = utcnow() + timedelta(seconds=ctx.settings.webhook_secret_grace_seconds)

    return await _change(ctx, endpoint_id, change), secret


async def list_endpoints(ctx: ServiceContext, page: PageRequest) -> tuple[Page, Callable[[], Awaitable[int]]]:
    ctx.require(Role.TENANT_ADMIN)
    return await paged(ctx, store.endpoints_of(ctx.tenant_id), WebhookEndpointRecord.id, page)


async def list_deliveries(ctx: ServiceContext, endpoint_id: str | None, statuses: Sequence[str],
                          page: PageRequest) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """The tenant's deliveries (of one endpoint), oldest first, with their attempts and next retry."""
    ctx.require(Role.TENANT_ADMIN)
    stmt = store.deliveries_of(ctx.tenant_id, endpoint_id, statuses)
    return await paged(ctx, stmt, col(WebhookDeliveryRecord.id), page, int_key)



async def attempts_by_delivery(ctx: ServiceContext, delivery_ids: list[int]) -> list[list[Any]]:
    """Each delivery's attempts, oldest first (a dataloader batch)."""
    async with ctx.sessions() as session:
        rows = await store.attempts_of(session, delivery_ids)
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.delivery_id, []).append(row)
    return [grouped.get(delivery_id, []) for delivery_id in delivery_ids]


# ---- events ----------------------------------------------------------------------------------------------

async def enqueue_event(session: AsyncSession, tenant_id: str, type: str, payload: dict[str, Any]) -> int:
    """Write an event of the application (not of the audit log: those are written by a trigger) to the outbox,
    in the caller's transaction, for every enabled endpoint of the tenant subscribed to it; the rows written.

    Call it in the transaction of the change the event reports, so that a rolled-back change sends nothing and
    a committed one is never missed: `bulkJob.completed`, `complianceAlert.raised`, `registry.imported`..."""
    return await enqueue_events(session, tenant_id, type, [payload])


async def enqueue_events(session: AsyncSession, tenant_id: str, type: str, payloads: Sequence[dict[str, Any]]) -> int:
    """`enqueue_event` for many events of one type, in one statement (a sweep raising many alerts)."""
    problem = rules.event_type_problem(type)
    if problem is not None or type.split(".")[0] in rules.AUDIT_FAMILIES:
        raise ValueError(problem or f"{type!r} is an audit log event type; the audit trigger writes those")
    return await store.enqueue(session, tenant_id, type, payloads)


def _audit_data(claimed: Claimed) -> dict[str, Any]:
    event = claimed.audit
    if event is None:
        return {}
    return {"id": str(event.id), "entity": event.entity, "event": event.event, "locator": event.entity_id,
            "producerLocator": event.producer_id, "actor": event.actor, "requestId": event.request_id,
            "at": _iso(event.at),
            "before": api_view(event.before), "after": api_view(event.after)}


def message_body(claimed: Claimed) -> str:
    """The delivery's JSON body, the same on every attempt: `{"type", "timestamp", "data"}`."""
    data = _audit_data(claimed) if claimed.audit is not None else dict(claimed.payload or {})
    return orjson.dumps({"type": claimed.event_type,
                         "timestamp": _iso(claimed.occurred_at),
                         "data": data}).decode()


def signed_headers(secrets: list[str], message_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: webhook-id (the same on retries), -timestamp, -signature (one
    signature per secret, space-separated: during a rotation's grace period a receiver may hold either)."""
    at = now or datetime.now(UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets),
            "content-type": "application/json", "user-agent": "producer-graph-webhooks/1"}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def bulk_job_completed(session: AsyncSession, job_id: str) -> None:
    """`bulkJob.completed`, in the transaction that completes the job (after its counters are refreshed)."""
    from persistence import bulk as bulk_store

    job = await bulk_store.get_job(session, job_id)
    if job is None:
        return
    await enqueue_event(session, job.tenant_id, "bulkJob.completed", {
        "jobLocator": job.id, "status": job.status, "fileName": job.file_name, "agencyLocator": job.agency_id,
        "totalRows": job.total_rows, "processedRows": job.processed_rows, "succeededRows": job.succeeded_rows,
        "failedRows": job.failed_rows, "startedAt": _iso(job.started_at), "finishedAt": _iso(job.finished_at)})
