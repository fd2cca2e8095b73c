"""Offboarding: admins remove producers from their agency; removed producers can do nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import AuthError, Principal
from app.context import ADMINS, ServiceContext
from app.rules import lifecycle
from persistence import offboarding as store
from persistence import onboarding as onboarding_store
from persistence.base import utcnow
from persistence.db import read_only, transaction
from persistence.producers import ProducerRecord

Outcome = Literal["REMOVED", "NOT_FOUND", "NOT_ALLOWED", "HAS_ACTIVE_DESCENDANTS"]
NAMED_IN_MESSAGE = 5


@dataclass
class Removal:
    """What happened to one requested producer, and to the producers below it."""

    id: str
    result: Outcome
    producer: ProducerRecord | None = None
    message: str = ""
    descendants: list[ProducerRecord] = field(default_factory=list)  # removed with it
    active_descendants: list[ProducerRecord] = field(default_factory=list)  # keeping it from removal (refuse)


def _label(producer: ProducerRecord) -> str:
    name = producer.organization_name or " ".join(p for p in (producer.first_name, producer.last_name) if p)
    return f"{name} ({producer.id})" if name else producer.id


def _below(producer_id: str, candidates: list[ProducerRecord]) -> list[ProducerRecord]:
    return [c for c in candidates if producer_id in (c.ancestry or [])]


def _refused(removable: list[str], below: list[ProducerRecord]) -> dict[str, list[ProducerRecord]]:
    """Under `refuse`: each requested producer with an active descendant that is not being removed too."""
    refused: set[str] = set()
    while True:  # a refused producer stays active, so its own ancestors may now be refused as well
        going = set(removable) - refused
        grown = {p for p in going if any(d.id not in going for d in _below(p, below))}
        if not grown:
            break
        refused |= grown
    return {p: [d for d in _below(p, below) if d.id not in going] for p in removable if p in refused}


async def remove_producers(ctx: ServiceContext, ids: list[str]) -> list[Removal]:
    """Retire (or discard, when draft) each producer with its codes, terminate its appointments, and do the same
    for its whole subtree (or refuse, when the tenant's `offboarding.agencyRemoval` is `refuse`); one transaction,
    a fixed number of statements, one result per id in request order."""
    ctx.require(*ADMINS)
    wanted = list(dict.fromkeys(ids))
    results: dict[str, Removal] = {}
    now = utcnow()
    async with transaction(ctx.sessions) as session:
        found = {p.id: p for p in await store.lock_requested(session, ctx.scope, wanted)}
        removable: list[str] = []
        for producer_id in wanted:
            record = found.get(producer_id)
            if record is None:
                results[producer_id] = Removal(producer_id, "NOT_FOUND",
                                               message="No producer with that id is visible to you.")
            elif lifecycle.is_terminal(record.state):
                results[producer_id] = Removal(producer_id, "NOT_ALLOWED", record,
                                               f"The producer is already {record.state}.")
            elif record.id == ctx.principal.agency:
                results[producer_id] = Removal(producer_id, "NOT_ALLOWED", record, "You cannot remove your own agency.")
            else:
                removable.append(producer_id)
        below = await store.lock_active_descendants(session, ctx.tenant_id, removable)
        refused = _refused(removable, below) if ctx.config.offboarding.agencyRemoval == "refuse" else {}
        for producer_id, blocking in refused.items():
            names = ", ".join(_label(p) for p in blocking[:NAMED_IN_MESSAGE])
            more = f" and {len(blocking) - NAMED_IN_MESSAGE} more" if len(blocking) > NAMED_IN_MESSAGE else ""
            results[producer_id] = Removal(
                producer_id, "HAS_ACTIVE_DESCENDANTS", found[producer_id],
                f"Active producers are below it: {names}{more}; remove them first (this tenant refuses removing "
                "a producer with active producers below).", active_descendants=blocking)
        going = [p for p in removable if p not in refused]  # their subtrees end (under refuse: all requested)
        await store.end_appointments(session, ctx.tenant_id, going, "offboarded", now.date(), ctx.actor, now)
        await store.withdraw_licenses(session, ctx.tenant_id, going, ctx.actor, now)
        await store.cancel_onboardings(session, ctx.tenant_id, going, ctx.actor, now)
        ended = {p.id: p for p in await store.end_producers(session, ctx.tenant_id, going, ctx.actor, now)}
        requested = set(wanted)
        for producer_id in going:
            with_it = [ended[d.id] for d in _below(producer_id, below) if d.id not in requested]
            results[producer_id] = Removal(producer_id, "REMOVED", ended[producer_id], descendants=with_it)
    return [results[i] for i in ids]


async def ensure_agency_active(sessions: async_sessionmaker[AsyncSession], principal: Principal) -> None:
    """Refuse a token whose agency (or own producer, for PRODUCER) was removed: it can do nothing more."""
    if principal.agency is None:
        return
    async with read_only(sessions) as session:
        state = await onboarding_store.producer_state(session, principal.tenant_id, principal.agency)
    if state is not None and lifecycle.is_terminal(state):
        raise AuthError("AGENCY_REMOVED", f"The producer this token acts for was {state}; it can no longer act "
                        "for the agency.")
