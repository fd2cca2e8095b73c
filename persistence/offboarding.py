"""Offboarding in sets: lock a subtree, end its producers, codes and appointments, cancel its onboardings.

Each function is one statement over every producer concerned, whatever the size of the subtree: the subtree is
named by its roots (the producers removed) and found through `ancestry`, never sent as a list of ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from persistence.licenses import AppointmentRecord, LicenseRecord
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


def _subtree(tenant_id: str, roots: Sequence[str]) -> Any:
    """The ids of the roots and of every producer below them that is not yet retired or discarded."""
    return select(col(ProducerRecord.id)).where(
        col(ProducerRecord.tenant_id) == tenant_id,
        or_(col(ProducerRecord.id).in_(list(roots)), _ancestry().overlap(list(roots))),
        col(ProducerRecord.state).not_in(TERMINAL))


def _ended(state_column: Any) -> Any:
    """Draft ends discarded; validated or suspended ends retired."""
    return case((state_column == "draft", "discarded"), else_="retired")


async def end_producers(session: AsyncSession, tenant_id: str, roots: Sequence[str], actor: str,
                        now: datetime) -> list[ProducerRecord]:
    """Retire (or discard, when draft) the subtrees of `roots` and their live codes; the producers as they now are.
    Run it last: the other statements find the subtree by the producers' states."""
    if not roots:
        return []
    await session.execute(
        update(ProducerCodeRecord)
        .where(col(ProducerCodeRecord.tenant_id) == tenant_id,
               col(ProducerCodeRecord.producer_id).in_(_subtree(tenant_id, roots)),
               col(ProducerCodeRecord.state).not_in(TERMINAL))
        .values(state=_ended(col(ProducerCodeRecord.state)), updated_at=now, updated_by=actor,
                version=col(ProducerCodeRecord.version) + 1)
        .execution_options(synchronize_session=False))
    stmt = (update(ProducerRecord)
            .where(col(ProducerRecord.tenant_id) == tenant_id, col(ProducerRecord.id).in_(_subtree(tenant_id, roots)))
            .values(state=_ended(col(ProducerRecord.state)), updated_at=now, updated_by=actor,
                    version=col(ProducerRecord.version) + 1)
            .returning(ProducerRecord)
            .execution_options(synchronize_session=False, populate_existing=True))
    return list((await session.execute(stmt)).scalars())


async def end_appointments(session: AsyncSession, tenant_id: str, roots: Sequence[str], reason: str, on: date,
                           actor: str, now: datetime) -> None:
    """Terminate the validated appointments in the subtrees of `roots` (with the reason and date); discard drafts."""
    if not roots:
        return
    state = col(AppointmentRecord.state)
    terminated = state == "validated"
    await session.execute(
        update(AppointmentRecord)
        .where(col(AppointmentRecord.tenant_id) == tenant_id,
               col(AppointmentRecord.producer_id).in_(_subtree(tenant_id, roots)), state.in_(("draft", "validated")))
        .values(state=case((terminated, "terminated"), else_="discarded"),
                termination_reason=case((terminated, reason), else_=None),
                terminated_on=case((terminated, on), else_=None),
                updated_at=now, updated_by=actor, version=col(AppointmentRecord.version) + 1)
        .execution_options(synchronize_session=False))


async def withdraw_licenses(session: AsyncSession, tenant_id: str, roots: Sequence[str], actor: str,
                            now: datetime) -> None:
    """License applications and draft licenses in the subtrees of `roots` end discarded, saying why; validated
    licenses stay as the state issued them (the producer's retirement stops them qualifying)."""
    if not roots:
        return
    await session.execute(
        update(LicenseRecord)
        .where(col(LicenseRecord.tenant_id) == tenant_id,
               col(LicenseRecord.producer_id).in_(_subtree(tenant_id, roots)),
               col(LicenseRecord.state).in_(("draft", "applied")))
        .values(state="discarded", state_reason="Withdrawn: the producer was offboarded.", updated_at=now,
                updated_by=actor, version=col(LicenseRecord.version) + 1)
        .execution_options(synchronize_session=False))


async def cancel_onboardings(session: AsyncSession, tenant_id: str, roots: Sequence[str], actor: str,
                             now: datetime) -> None:
    """Onboardings still in progress in the subtrees of `roots` end CANCELLED."""
    if not roots:
        return
    await session.execute(
        update(OnboardingRecord)
        .where(col(OnboardingRecord.tenant_id) == tenant_id,
               col(OnboardingRecord.producer_id).in_(_subtree(tenant_id, roots)),
               col(OnboardingRecord.status) == "IN_PROGRESS")
        .values(status="CANCELLED", updated_at=now, updated_by=actor)
        .execution_options(synchronize_session=False))
