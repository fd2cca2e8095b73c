"""The audit log and the live producer events feed, both read from the trigger-written `audit_events`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from app.auth import Role
from app.context import ServiceContext
from app.queries import PageRequest, paged
from persistence import audit as store
from persistence.audit import EVENTS_CHANNEL, AuditEventRecord, AuditFilter
from persistence.notify import NotifyHub
from persistence.pagination import Page

# A missed or coalesced notification costs at most this much latency; an event of a transaction that
# committed while an older one was still running becomes readable when that one ends.
POLL_SECONDS = 1.0

FEED_ENTITY_NAMES = {"producer": "producer", "producer_code": "producerCode", "license": "license",
                     "appointment": "appointment"}


def feed_name(record: AuditEventRecord) -> str:
    """The event's name as in Socotra's events feed: `producer.created`, `producerCode.retired`."""
    return f"{FEED_ENTITY_NAMES.get(record.entity, record.entity)}.{record.event}"


async def list_events(ctx: ServiceContext, flt: AuditFilter,
                      page: PageRequest) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """A page of the tenant's audit events, oldest first; tenant admins only."""
    ctx.require(Role.TENANT_ADMIN)
    stmt = store.events_in_scope(ctx.scope, flt)
    return await paged(ctx, stmt, AuditEventRecord.id, page, _int_key)


def _int_key(key: str | None) -> int | None:
    from app.errors import DomainError

    if key is None:
        return None
    if not key.isdigit():
        raise DomainError("INVALID_CURSOR", "The cursor is not one this API returned.", "after")
    return int(key)


async def watch_events(ctx: ServiceContext, hub: NotifyHub, flt: AuditFilter) -> AsyncIterator[AuditEventRecord]:
    """Each change committed after the call, in the caller's scope, once, until the hub stops."""
    with hub.subscribe(EVENTS_CHANNEL, ctx.tenant_id) as signal:  # listen first: no change slips in between
        async with ctx.sessions() as session:
            low = await store.horizon(session)
        while not hub.closing:
            await signal.wait(POLL_SECONDS)
            if hub.closing:
                return
            async with ctx.sessions() as session:
                rows, low = await store.events_settled_between(session, ctx.scope, flt, low)
            for row in rows:
                yield row
