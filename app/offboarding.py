"""Offboarding: admins remove producers from their agency; removed producers can do nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import AuthError, Principal
from app.context import ADMINS, ServiceContext
from app.rules import lifecycle
from persistence import onboarding as onboarding_store
from persistence import producers as store
from persistence.base import utcnow
from persistence.db import transaction
from persistence.producers import ProducerRecord

Outcome = Literal["REMOVED", "NOT_FOUND", "NOT_ALLOWED"]


@dataclass
class Removal:
    """What happened to one requested producer."""

    id: str
    result: Outcome
    producer: ProducerRecord | None = None
    message: str = ""


def _end_action(state: str) -> str:
    """Draft producers and codes are discarded; validated or suspended ones are retired."""
    return "discard" if state == "draft" else "retire"


def _finish(record: ProducerRecord | store.ProducerCodeRecord, actor: str) -> None:
    record.state = lifecycle.transition(record.state, _end_action(record.state))
    record.updated_at = utcnow()
    record.updated_by = actor
    record.version += 1


async def remove_producers(ctx: ServiceContext, ids: list[str]) -> list[Removal]:
    """Retire (or discard, when draft) each producer and its codes; one result per id, in request order."""
    ctx.require(*ADMINS)
    results: dict[str, Removal] = {}
    async with transaction(ctx.sessions) as session:
        for producer_id in sorted(set(ids)):  # a fixed lock order: no deadlocks between concurrent removals
            results[producer_id] = await _remove_one(ctx, session, producer_id)
    return [results[i] for i in ids]


async def _remove_one(ctx: ServiceContext, session: AsyncSession, producer_id: str) -> Removal:
    record = await store.producer_for_update(session, ctx.scope, producer_id)
    if record is None:
        return Removal(producer_id, "NOT_FOUND", message="No producer with that id is visible to you.")
    if lifecycle.is_terminal(record.state):
        return Removal(producer_id, "NOT_ALLOWED", record, f"The producer is already {record.state}.")
    if record.id == ctx.principal.agency:
        return Removal(producer_id, "NOT_ALLOWED", record, "You cannot remove your own agency.")
    _finish(record, ctx.actor)
    for code in await store.codes_by_producer_ids(session, ctx.tenant_id, [record.id]):
        if not lifecycle.is_terminal(code.state):
            _finish(code, ctx.actor)
    for onboarding in await onboarding_store.in_progress_for_producers(session, ctx.tenant_id, [record.id]):
        onboarding.status = "CANCELLED"
        onboarding.updated_at = utcnow()
        onboarding.updated_by = ctx.actor
    return Removal(producer_id, "REMOVED", record)


async def ensure_agency_active(sessions: async_sessionmaker[AsyncSession], principal: Principal) -> None:
    """Refuse a token whose agency (or own producer, for PRODUCER) was removed: it can do nothing more."""
    if principal.agency is None:
        return
    async with sessions() as session:
        state = await onboarding_store.producer_state(session, principal.tenant_id, principal.agency)
    if state is not None and lifecycle.is_terminal(state):
        raise AuthError("AGENCY_REMOVED", f"The producer this token acts for was {state}; it can no longer act "
                        "for the agency.")
