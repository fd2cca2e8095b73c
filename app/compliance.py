"""Compliance alerts, raised to webhooks and told in the daily digest: credentials expiring within the tenant's
windows (or expired while their producer is validated), from pluggable alert sources. A daily sweep per tenant
raises each alert once per window and expiration date (`complianceAlert.raised`), whether or not a digest is sent;
one digest email per agency and day tells each alert once per window. Whichever server process takes the sweep's
or the digest's lease in PostgreSQL does it."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import documents, tenants, webhooks
from app.auth import Principal, Role
from app.context import ADMINS, ServiceContext
from app.errors import DomainError
from app.queries import PageRequest, bounded
from app.rules import compliance as rules
from app.settings import Settings
from persistence import compliance as store
from persistence import documents as document_store
from persistence import tenants as tenant_store
from persistence.base import utcnow
from persistence.db import transaction
from persistence.licenses import AppointmentRecord, LicenseRecord
from persistence.pagination import Page
from persistence.producers import ProducerRecord

log = logging.getLogger("producer_graph.compliance")

KINDS = ("LICENSE", "APPOINTMENT", "DOCUMENT")
DIGEST_ACTOR = "compliance-digest"
RAISED = "complianceAlert.raised"


@dataclass(frozen=True)
class Alert:
    """One credential (license, appointment, document) expiring within a window, or expired."""

    kind: str  # LICENSE | APPOINTMENT | DOCUMENT
    entity: Any  # the record the API shows as the alert's node
    entity_id: str
    producer: ProducerRecord
    expires_on: date
    window: str
    days_left: int
    window_days: int | None
    label: str  # what it is, for the digest: "license 0H123 (CA)"

    @property
    def key(self) -> str:
        """The alert's place in the list (its cursor): by expiration, then kind and id."""
        return f"{self.expires_on.isoformat()}|{self.kind}|{self.entity_id}"

    @property
    def agency_id(self) -> str | None:
        """The agency whose digest tells it: an agency's own credential, else the producer's parent."""
        return self.producer.id if self.producer.kind == "organization" else self.producer.parent_id


@dataclass(frozen=True)
class AlertQuery:
    """What an alert source is asked for: the credentials in scope expiring before `until` (or expired)."""

    ctx: ServiceContext
    now: datetime
    until: datetime
    windows: rules.Windows
    agency_id: str | None = None


AlertSource = Callable[[AsyncSession, AlertQuery], Awaitable[list[Alert]]]


def _alert(kind: str, record: Any, producer: ProducerRecord, expiration: datetime, q: AlertQuery,
           label: str) -> Alert | None:
    placed = rules.window_of(expiration, q.now, q.windows)
    if placed is None:
        return None
    window, days_left = placed
    return Alert(kind, record, record.id, producer, expiration.date(), window, days_left, q.windows.days(window),
                 label)


def _where(record: Any) -> str:
    return f" ({', '.join(record.jurisdictions)})" if record.jurisdictions else ""


async def license_alerts(session: AsyncSession, q: AlertQuery) -> list[Alert]:
    rows = await store.expiring(session, LicenseRecord, q.ctx.scope, states=["draft", "validated"], now=q.now,
                                until=q.until, agency_id=q.agency_id)
    return [a for record, producer in rows if (a := _alert(
        "LICENSE", record, producer, record.expiration_time, q,
        f"license {record.license_number or '(applied)'}{_where(record)}")) is not None]


async def appointment_alerts(session: AsyncSession, q: AlertQuery) -> list[Alert]:
    rows = await store.expiring(session, AppointmentRecord, q.ctx.scope, states=["validated"], now=q.now,
                                until=q.until, agency_id=q.agency_id)
    return [a for record, producer in rows if (a := _alert(
        "APPOINTMENT", record, producer, record.expiration_time, q,
        f"appointment {record.appointment_number}{_where(record)}")) is not None]


async def document_alerts(session: AsyncSession, q: AlertQuery) -> list[Alert]:
    """Documents whose media field names an expiration date field (the agents' E&O certificate and `eoExpiresOn`):
    the date is the last day covered, so the certificate expires at the end of it (UTC)."""
    @contextlib.asynccontextmanager
    async def this_session() -> AsyncIterator[AsyncSession]:  # the caller's: a second connection could deadlock
        yield session                                           # a pool of one (the CLI's)

    due = {d.document_id: d async for d in documents.expiring_documents(this_session, q.ctx.tenant_id, q.ctx.config,
                                                                         before=q.until.date())
           if d.state not in documents.CLOSED_STATES and _end_of(d.expires_on) < q.until}
    alerts = []
    for record, producer in await document_store.with_owners(session, q.ctx.scope, list(due)):
        found = due[record.id]
        if producer.state in store.ENDED_PRODUCER or (q.agency_id is not None and producer.id != q.agency_id
                                                      and q.agency_id not in (producer.ancestry or [])):
            continue
        expiration = _end_of(found.expires_on)
        if expiration < q.now and producer.state != "validated":
            continue
        alert = _alert("DOCUMENT", record, producer, expiration, q, f"document {found.field} ({record.file_name})")
        if alert is not None:
            alerts.append(dataclasses.replace(alert, expires_on=found.expires_on))
    return alerts


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), UTC)


# The sources alerts come from: each domain with expiring credentials adds its function here.
ALERT_SOURCES: list[AlertSource] = [license_alerts, appointment_alerts, document_alerts]


def windows_of(ctx: ServiceContext) -> rules.Windows:
    w = ctx.config.compliance.alertWindows
    return rules.Windows(upcoming=w.upcoming, soon=w.soon, urgent=w.urgent)


async def collect_alerts(ctx: ServiceContext, session: AsyncSession, *, now: datetime | None = None,
                         agency_id: str | None = None) -> list[Alert]:
    """Every alert in the caller's scope (or an agency's subtree), in list order."""
    now = now or utcnow()
    windows = windows_of(ctx)
    q = AlertQuery(ctx, now, now + timedelta(days=windows.upcoming + 1), windows, agency_id)
    alerts: list[Alert] = []
    for source in ALERT_SOURCES:
        alerts.extend(await source(session, q))
    return sorted(alerts, key=lambda a: a.key)


async def list_alerts(ctx: ServiceContext, kinds: Sequence[str], windows: Sequence[str], agency_id: str | None,
                      page: PageRequest) -> tuple[Page, int]:
    """A page of the compliance alerts visible to the caller, soonest expiration first, by kind and window."""
    ctx.require(*ADMINS)
    page = bounded(page, ctx.settings.max_page_size)
    async with ctx.sessions() as session:
        if agency_id is not None:
            agency = await store.producers_by_ids(session, ctx.tenant_id, [agency_id])
            if not agency or not ctx.scope.contains(agency[0]):
                raise DomainError("AGENCY_NOT_FOUND", "The agency does not exist or is not visible to you.",
                                  "agencyId")
        alerts = await collect_alerts(ctx, session, agency_id=agency_id)
    alerts = [a for a in alerts if (not kinds or a.kind in kinds) and (not windows or a.window in windows)]
    return _page(alerts, page), len(alerts)


def _page(alerts: list[Alert], page: PageRequest) -> Page:
    items = [a for a in alerts if (page.after is None or a.key > page.after)
             and (page.before is None or a.key < page.before)]
    if page.last is not None and page.first is None:
        return Page(items[-page.last:] if page.last else [], page.before is not None, len(items) > page.last)
    size = page.first or 0
    return Page(items[:size], len(items) > size, page.after is not None)


# ---- raising alerts to webhooks ----------------------------------------------------------------------------

def raised_payload(alert: Alert) -> dict[str, Any]:
    """The `data` of a `complianceAlert.raised` webhook message."""
    return {"kind": alert.kind, "entityId": alert.entity_id, "producerId": alert.producer.id,
            "agencyId": alert.agency_id, "expiresOn": alert.expires_on.isoformat(), "window": alert.window,
            "daysLeft": alert.days_left, "label": alert.label}


async def raise_new(session: AsyncSession, tenant_id: str, alerts: Sequence[Alert]) -> int:
    """Record the alerts not raised yet (per credential, expiration date and window) and write each to the webhook
    outbox, in the caller's transaction; the number raised now. Raised once whichever sweep or digest comes first."""
    found = {(a.entity_id, a.expires_on, a.window): a for a in alerts}
    fresh = await store.record_raised(session, tenant_id, [(e, d, w, a.kind, a.producer.id)
                                                           for (e, d, w), a in found.items()])
    await webhooks.enqueue_events(session, tenant_id, RAISED,
                                  [raised_payload(alert) for key, alert in found.items() if key in fresh])
    return len(fresh)


async def sweep_alerts(ctx: ServiceContext, owner: str, *, lease_seconds: float, now: datetime | None = None,
                       force: bool = False) -> int | None:
    """Raise the tenant's alerts that entered a window since they were last raised, once a day: None when another
    process holds (or finished) the sweep of the day, unless `force`; else the number raised now."""
    now = now or utcnow()
    day = now.date()
    if not force:
        async with transaction(ctx.sessions) as session:
            if not await store.claim_sweep(session, ctx.tenant_id, day, owner, lease_seconds):
                return None
    try:
        async with transaction(ctx.sessions) as session:
            raised = await raise_new(session, ctx.tenant_id, await collect_alerts(ctx, session, now=now))
            if not force:
                await store.finish_sweep(session, ctx.tenant_id, day, owner, raised)
    except Exception:
        if not force:
            async with transaction(ctx.sessions) as session:  # give the lease back: the next round tries again
                await store.release_sweep(session, ctx.tenant_id, day, owner)
        raise
    if raised:
        log.info("compliance alerts raised", extra={"tenant": ctx.tenant_id, "alerts": raised})
    return raised


async def sweep_all_alerts(settings: Settings, sessions: async_sessionmaker[AsyncSession], owner: str, *,
                           now: datetime | None = None, force: bool = False) -> int:
    """Every tenant's alert sweep due now (see `sweep_alerts`); the number of alerts this process raised."""
    async def sweep(ctx: ServiceContext) -> int:
        return await sweep_alerts(ctx, owner, lease_seconds=settings.compliance_digest_lease_seconds, now=now,
                                  force=force) or 0
    return await for_each_tenant(settings, sessions, sweep, "compliance alert sweep failed")


async def for_each_tenant(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                          run: Callable[[ServiceContext], Awaitable[int]], failed: str) -> int:
    """`run` for every tenant, summed. A tenant whose run fails is logged (`failed`) and tried again next round;
    the other tenants run all the same."""
    async with sessions() as session:
        ids = await tenant_store.tenant_ids(session)
    total = 0
    for tenant_id in ids:
        try:
            ctx = await tenant_context(settings, sessions, tenant_id)
            if ctx is not None:
                total += await run(ctx)
        except Exception:
            log.warning(failed, extra={"tenant": tenant_id}, exc_info=True)
    return total


# ---- the daily digest --------------------------------------------------------------------------------------

Send = Callable[[str, str, str], Awaitable[bool]]  # (to, subject, body) -> sent


def recipients_of(ctx: ServiceContext, agency: ProducerRecord) -> list[str]:
    """Who receives an agency's digest: as configured for it, else the tenant's default list, else its email."""
    config = ctx.config.compliance
    listed = config.digestRecipients.get(agency.id) or config.defaultDigestRecipients
    return list(listed) if listed else ([agency.email] if agency.email else [])


def _display(producer: ProducerRecord) -> str:
    return producer.organization_name or " ".join(
        p for p in (producer.first_name, producer.last_name) if p) or producer.id


def _name(producer: ProducerRecord) -> str:
    return f"{_display(producer)} ({producer.id})"


async def tenant_context(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                         tenant_id: str) -> ServiceContext | None:
    loaded = await tenants.load_tenant(sessions, tenant_id)
    if loaded is None:
        return None
    principal = Principal(DIGEST_ACTOR, tenant_id, frozenset({Role.TENANT_ADMIN}))
    return ServiceContext(principal, settings, sessions, loaded.config, loaded.plugins)


async def send_digests(ctx: ServiceContext, send: Send, owner: str, *, lease_seconds: float,
                       now: datetime | None = None) -> int:
    """Send today's digest of every agency of the tenant that has alerts not told yet in their window, unless
    another process already holds that digest's lease; the number of digests this call sent."""
    now = now or utcnow()
    day = now.date()
    if not ctx.config.compliance.digestEnabled:
        return 0
    async with ctx.sessions() as session:
        alerts = await collect_alerts(ctx, session, now=now)
        agencies = {p.id: p for p in await store.producers_by_ids(
            session, ctx.tenant_id, [a.agency_id for a in alerts if a.agency_id])}
    by_agency: dict[str, list[Alert]] = {}
    for alert in alerts:
        if alert.agency_id in agencies:
            by_agency.setdefault(alert.agency_id, []).append(alert)
    sent = 0
    for agency_id, found in by_agency.items():
        agency = agencies[agency_id]
        to = recipients_of(ctx, agency)
        if to and await _send_one(ctx, send, owner, lease_seconds, day, agency, to, found):
            sent += 1
    return sent


async def _send_one(ctx: ServiceContext, send: Send, owner: str, lease_seconds: float, day: date,
                    agency: ProducerRecord, to: list[str], alerts: list[Alert]) -> bool:
    keys = list(dict.fromkeys((a.entity_id, a.window) for a in alerts))
    async with ctx.sessions() as session:
        if not (set(keys) - await store.noticed(session, ctx.tenant_id, keys)):
            return False  # everything was told already (in this window)
    async with transaction(ctx.sessions) as session:
        if not await store.claim_digest(session, ctx.tenant_id, agency.id, day, owner, lease_seconds):
            return False  # another process sends (or sent) this agency's digest of the day
    async with ctx.sessions() as session:
        told = await store.noticed(session, ctx.tenant_id, keys)
    fresh = list({(a.entity_id, a.window): a for a in alerts if (a.entity_id, a.window) not in told}.values())
    lines = [rules.DigestLine(a.window, a.label, _name(a.producer), a.expires_on, a.days_left) for a in fresh]
    if lines:
        subject, body = rules.digest_email(_display(agency), agency.id, day, lines)
        if not await send(", ".join(to), subject, body):
            async with transaction(ctx.sessions) as session:  # give the lease back: the next round tries again
                await store.release_digest(session, ctx.tenant_id, agency.id, day, owner)
            return False
    async with transaction(ctx.sessions) as session:
        await store.record_notices(session, ctx.tenant_id, agency.id, day, [(a.entity_id, a.window) for a in fresh])
        await store.finish_digest(session, ctx.tenant_id, agency.id, day, owner, len(lines), to)
        await raise_new(session, ctx.tenant_id, fresh)  # an alert the day's sweep has not raised yet (it came after)
    log.info("compliance digest sent", extra={"tenant": ctx.tenant_id, "agency": agency.id, "alerts": len(lines)})
    return bool(lines)


async def send_all_digests(settings: Settings, sessions: async_sessionmaker[AsyncSession], send: Send, owner: str,
                           *, now: datetime | None = None) -> int:
    """Every tenant's digests due now (see `send_digests`); the number this process sent."""
    async def digests(ctx: ServiceContext) -> int:
        return await send_digests(ctx, send, owner, lease_seconds=settings.compliance_digest_lease_seconds, now=now)
    return await for_each_tenant(settings, sessions, digests, "compliance digests failed")
