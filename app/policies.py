"""Policy services: changes and renewals with the producers instruction, issuing them, and snapshots."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.context import ServiceContext
from app.errors import DomainError, NotFound, Problem
from app.queries import PageRequest, paged
from app.quotes import UNDERWRITERS, usable_code
from app.rules.snapshot import ProducersInstruction, Snapshot, Transaction, apply, latest, normalize, snapshot_at
from app.underwriting import CheckRequest, check_producers, decide
from persistence import quotes as store
from persistence.base import utcnow
from persistence.db import transaction
from persistence.pagination import Page
from persistence.quotes import PolicyRecord, PolicyTransactionRecord

RECORD_STATES = ("validated", "suspended", "retired")


def not_found() -> NotFound:
    return NotFound("POLICY_NOT_FOUND", "No policy with that id is visible to you.", "policyId")


def transaction_not_found() -> NotFound:
    return NotFound("POLICY_TRANSACTION_NOT_FOUND", "No policy transaction with that id is visible to you.",
                    "transactionId")


def instruction_of(raw: dict[str, Any] | None) -> ProducersInstruction:
    raw = raw or {}
    return ProducersInstruction(raw.get("setProducerCode"), bool(raw.get("clearProducerCode")),
                                raw.get("setProducerCodeOfRecord"), bool(raw.get("revertProducerCodeOfRecord")))


def raw_of(step: ProducersInstruction) -> dict[str, Any]:
    return {"setProducerCode": step.set_producer_code, "clearProducerCode": step.clear_producer_code,
            "setProducerCodeOfRecord": step.set_producer_code_of_record,
            "revertProducerCodeOfRecord": step.revert_producer_code_of_record}


def rule_view(record: PolicyTransactionRecord) -> Transaction:
    return Transaction(record.kind, record.effective_time, record.issued_time or record.effective_time,  # type: ignore[arg-type]
                       instruction_of(record.producers))


def issued(records: Sequence[PolicyTransactionRecord]) -> list[Transaction]:
    return [rule_view(r) for r in records if r.state == "issued"]


async def _check_instruction(ctx: ServiceContext, session: AsyncSession, step: ProducersInstruction) -> None:
    """The code must be validated; the code of record may be validated, suspended or retired."""
    if step.set_producer_code is not None and step.clear_producer_code:
        raise DomainError("CONFLICTING_INSTRUCTION", "Set the producer code or clear it, not both.",
                          "producers.clearProducerCode")
    if step.set_producer_code_of_record is not None and step.revert_producer_code_of_record:
        raise DomainError("CONFLICTING_INSTRUCTION", "Set the code of record or revert it, not both.",
                          "producers.revertProducerCodeOfRecord")
    if step.set_producer_code is not None:
        await usable_code(ctx, session, step.set_producer_code, "producers.setProducerCode")
    if step.set_producer_code_of_record is not None:
        await usable_code(ctx, session, step.set_producer_code_of_record, "producers.setProducerCodeOfRecord",
                          RECORD_STATES)


async def _policy(ctx: ServiceContext, session: AsyncSession, policy_id: str, *, lock: bool) -> PolicyRecord:
    found = await store.policies_by_ids(session, ctx.scope, [policy_id], lock=lock)
    if not found:
        raise not_found()
    return found[0]


async def create_transaction(ctx: ServiceContext, policy_id: str, kind: str, effective_time: datetime,
                             step: ProducersInstruction) -> PolicyTransactionRecord:
    """A draft change or renewal; it applies when issued."""
    ctx.require(*UNDERWRITERS)
    async with transaction(ctx.sessions) as session:
        policy = await _policy(ctx, session, policy_id, lock=True)
        await _check_instruction(ctx, session, step)
        record = PolicyTransactionRecord(tenant_id=ctx.tenant_id, policy_id=policy.id, kind=kind, state="draft",
                                         effective_time=effective_time, producers=raw_of(step),
                                         created_by=ctx.actor, updated_by=ctx.actor)
        session.add(record)
    return record


async def issue_transaction(ctx: ServiceContext, transaction_id: str,
                            issued_time: datetime | None = None) -> tuple[PolicyTransactionRecord, list[Problem]]:
    """Issue a draft transaction after the producer underwriting check for the code it leaves in force."""
    ctx.require(*UNDERWRITERS)
    async with transaction(ctx.sessions) as session:
        found = await store.transactions_by_ids(session, ctx.scope, [transaction_id])
        if not found:
            raise transaction_not_found()
        policy = await _policy(ctx, session, found[0].policy_id, lock=True)
        txns = await store.transactions_of_policies(session, ctx.tenant_id, [policy.id])
        record = next(t for t in txns if t.id == transaction_id)
        if record.state != "draft":
            raise DomainError("TRANSACTION_ISSUED", "The transaction is already issued.", "transactionId")
        history = issued(txns)
        before = snapshot_at(history, record.effective_time)
        step = normalize(instruction_of(record.producers), before.producer_code)
        await _check_instruction(ctx, session, step)
        when = issued_time or utcnow()
        candidate = Transaction(record.kind, record.effective_time, when, step)  # type: ignore[arg-type]
        in_force = apply(before, candidate).producer_code
        check = None
        if in_force is not None:
            check = (await check_producers(session, ctx.config, ctx.tenant_id, [
                CheckRequest(in_force, policy.product, policy.jurisdiction, record.effective_time)]))[0]
        flags = await store.flags_of(session, ctx.tenant_id, transaction_ids=[record.id])
        verdict = decide(ctx.config, check, flags, tenant_id=ctx.tenant_id, actor=ctx.actor,
                         transaction_id=record.id)
        if verdict.new_flag is not None:
            session.add(verdict.new_flag)
        if verdict.decision != "proceed":
            return record, verdict.problems
        record.producers = raw_of(step)
        record.state = "issued"
        record.issued_time = when
        record.updated_at = utcnow()
        record.updated_by = ctx.actor
        now = latest([*history, candidate])
        policy.producer_code = now.producer_code
        policy.producer_code_of_record = now.producer_code_of_record
        policy.updated_at = utcnow()
        policy.updated_by = ctx.actor
        policy.version += 1
    return record, []


# ---- reads ------------------------------------------------------------------------------------

async def policies_by_ids(ctx: ServiceContext, ids: list[str]) -> list[PolicyRecord]:
    async with ctx.sessions() as session:
        return await store.policies_by_ids(session, ctx.scope, ids)


async def transactions_by_ids(ctx: ServiceContext, ids: list[str]) -> list[PolicyTransactionRecord]:
    async with ctx.sessions() as session:
        return await store.transactions_by_ids(session, ctx.scope, ids)


async def transactions_of(ctx: ServiceContext, policy_ids: list[str]) -> list[PolicyTransactionRecord]:
    """The transactions of policies already visible to the caller, in one statement."""
    async with ctx.sessions() as session:
        return await store.transactions_of_policies(session, ctx.tenant_id, policy_ids)


def snapshot(records: Sequence[PolicyTransactionRecord], at: datetime) -> Snapshot:
    return snapshot_at(issued(records), at)


async def list_policies(ctx: ServiceContext, producer_code: str | None,
                        page: PageRequest) -> tuple[Page, Callable[[], Awaitable[int]]]:
    stmt = store.policies_in_scope(ctx.scope)
    if producer_code:
        stmt = stmt.where(col(PolicyRecord.producer_code) == producer_code)
    return await paged(ctx, stmt, PolicyRecord.id, page)
