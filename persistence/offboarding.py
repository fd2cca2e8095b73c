"""Offboarding in sets: lock a subtree, end its producers, codes and appointments, cancel its onboardings.

Each function is one statement over every producer concerned, whatever the size of the subtree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from persistence.licenses import AppointmentRecord
from persistence.onboarding import OnboardingRecord
from persistence.producers import ProducerCodeRecord, ProducerRecord, Scope

TERMINAL = ("retired", "discarded")


async def lock_requested(session: AsyncSession, scope: Scope, ids: Sequence[str]) -> list[ProducerRecord]:
    """The requested producers visible to the caller, locked in locator order (no deadlocks between removals)."""
    if not ids:
        return []
    stmt = (select(ProducerRecord).where(scope.producers_clause(), col(ProducerRecord.id).in_(list(set(ids))))
            .order_by(col(ProducerRecord.id)).with_for_update())
    return list((await session.execute(stmt)).scalars())


async def lock_active_descendants(session: AsyncSession, tenant_id: str,
                                  ids: Sequence[str]) -> list[ProducerRecord]:
    """Every descendant of these producers that is not yet retired or discarded, locked in locator order."""
    if not ids:
        return []
    stmt = (select(ProducerRecord)
            .where(col(ProducerRecord.tenant_id) == tenant_id,
                   _ancestry().overlap(list(ids)),
                   col(ProducerRecord.state).not_in(TERMINAL))
            .order_by(col(ProducerRecord.id)).with_for_update())
    return list((await session.execute(stmt)).scalars())


def _ancestry() -> Any:
    return ProducerRecord.ancestry  # an ARRAY column: `overlap` is PostgreSQL's &&


def _ended(state_column: Any) -> Any:
    """Draft ends discarded; validated or suspended ends retired."""
    return case((state_column == "draft", "discarded"), else_="retired")


async def end_producers(session: AsyncSession, tenant_id: str, ids: Sequence[str], actor: str,
                        now: datetime) -> list[ProducerRecord]:
    """Retire (or discard, when draft) the producers and their live codes; the producers as they now are."""
    if not ids:
        return []
    await session.execute(
        update(ProducerCodeRecord)
        .where(col(ProducerCodeRecord.tenant_id) == tenant_id, col(ProducerCodeRecord.producer_id).in_(list(ids)),
               col(ProducerCodeRecord.state).not_in(TERMINAL))
        .values(state=_ended(col(ProducerCodeRecord.state)), updated_at=now, updated_by=actor,
                version=col(ProducerCodeRecord.version) + 1)
        .execution_options(synchronize_session=False))
    stmt = (update(ProducerRecord)
            .where(col(ProducerRecord.tenant_id) == tenant_id, col(ProducerRecord.id).in_(list(ids)),
                   col(ProducerRecord.state).not_in(TERMINAL))
            .values(state=_ended(col(ProducerRecord.state)), updated_at=now, updated_by=actor,
                    version=col(ProducerRecord.version) + 1)
            .returning(ProducerRecord)
            .execution_options(synchronize_session=False, populate_existing=True))
    return list((await session.execute(stmt)).scalars())


async def end_appointments(session: AsyncSession, tenant_id: str, ids: Sequence[str], reason: str, on: date,
                           actor: str, now: datetime) -> None:
    """Terminate the producers' validated appointments (with the reason and date); discard their drafts."""
    if not ids:
        return
    state = col(AppointmentRecord.state)
    terminated = state == "validated"
    await session.execute(
        update(AppointmentRecord)
        .where(col(AppointmentRecord.tenant_id) == tenant_id, col(AppointmentRecord.producer_id).in_(list(ids)),
               state.in_(("draft", "validated")))
        .values(state=case((terminated, "terminated"), else_="discarded"),
                termination_reason=case((terminated, reason), else_=None),
                terminated_on=case((terminated, on), else_=None),
                updated_at=now, updated_by=actor, version=col(AppointmentRecord.version) + 1)
        .execution_options(synchronize_session=False))


async def cancel_onboardings(session: AsyncSession, tenant_id: str, ids: Sequence[str], actor: str,
                             now: datetime) -> None:
    """Onboardings still in progress for these producers end CANCELLED."""
    if not ids:
        return
    await session.execute(
        update(OnboardingRecord)
        .where(col(OnboardingRecord.tenant_id) == tenant_id, col(OnboardingRecord.producer_id).in_(list(ids)),
               col(OnboardingRecord.status) == "IN_PROGRESS")
        .values(status="CANCELLED", updated_at=now, updated_by=actor)
        .execution_options(synchronize_session=False))
