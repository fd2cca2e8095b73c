"""The audit log and the live producer events feed, both read from the trigger-written `audit_events`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from app.auth import Role
from app.context import ServiceContext
from app.queries import PageRequest, int_key, paged
from persistence import audit as store
from persistence.audit import EVENTS_CHANNEL, AuditEventRecord, AuditFilter
from persistence.notify import NotifyHub
from persistence.pagination import Page

# A missed or coalesced notification costs at most this much latency; an event of a transaction that
# committed while an older one was still running becomes readable when that one ends.
POLL_SECONDS = 1.0

FEED_ENTITY_NAMES = {"producer": "producer", "producer_code": "producerCode", "license": "license",
                     "appointment": "appointment", "quote": "quote", "policy": "policy",
                     "policy_transaction": "policyTransaction", "underwriting_flag": "underwritingFlag",
                     "onboarding": "onboarding", "document": "document"}
# stored columns that are no field of the API (the SSN never leaves the table: the triggers drop it already)
INTERNAL = frozenset({"tenant_id", "ancestry", "version", "search_text", "ssn_ciphertext", "ssn_hash"})
# columns whose API field is not simply their camelCase name
API_NAMES = {"id": "locator", "ssn_last4": "ssnLastFour", "created_license_ids": "createdLicenseIds"}
_WORD = re.compile(r"_([a-z0-9])")


def feed_name(record: AuditEventRecord) -> str:
    """The event's name as in Socotra's events feed: `producer.created`, `producerCode.retired`, `quote.issued`."""
    return f"{FEED_ENTITY_NAMES.get(record.entity, record.entity)}.{record.event}"


def api_view(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored row as the API names it: camelCase fields, the ULID as `locator`, no internal columns."""
    if document is None:
        return None
    return {API_NAMES.get(key) or _WORD.sub(lambda m: m.group(1).upper(), key): value
            for key, value in document.items() if key not in INTERNAL}


async def list_events(ctx: ServiceContext, flt: AuditFilter,
                      page: PageRequest) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """A page of the tenant's audit events, oldest first; tenant admins only."""
    ctx.require(Role.TENANT_ADMIN)
    stmt = store.events_in_scope(ctx.scope, flt)
    return await paged(ctx, stmt, AuditEventRecord.id, page, int_key)



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
