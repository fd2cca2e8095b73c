"""Quote services: create, update, underwrite (one or a batch), issue; underwriting flags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth import Role
from app.codes import DISCARD_GUARDS
from app.context import ServiceContext
from app.errors import DomainError, NotFound, Problem
from app.producers import UNSET
from app.queries import PageRequest, paged
from app.rules import flags as flag_rules
from app.rules import lifecycle
from app.underwriting import CheckRequest, check_producers, decide
from persistence import quotes as store
from persistence.base import utcnow
from persistence.db import transaction
from persistence.pagination import Page
from persistence.producers import ProducerCodeRecord
from persistence.producers import code_by_value as scoped_code_by_value
from persistence.quotes import PolicyRecord, PolicyTransactionRecord, QuoteRecord, UnderwritingFlagRecord

UNDERWRITERS = (Role.TENANT_ADMIN, Role.UNDERWRITER)
QUOTE_STATES = ("draft", "underwritten", "issued", "declined", "rejected")
EDITABLE = ("draft", "underwritten", "declined")


@dataclass
class QuoteChanges:
    product: Any = UNSET
    jurisdiction: Any = UNSET
    effective_time: Any = UNSET
    producer_code: Any = UNSET
    data: dict[str, Any] | None = None


@dataclass
class UnderwriteOutcome:
    record: QuoteRecord
    problems: list[Problem]


def not_found() -> NotFound:
    return NotFound("QUOTE_NOT_FOUND", "No quote with that id is visible to you.", "id")


def check_jurisdiction(ctx: ServiceContext, jurisdiction: str) -> str:
    value = (jurisdiction or "").strip().upper()
    if value not in ctx.config.jurisdictions:
        raise DomainError("UNKNOWN_JURISDICTION", f"Unknown jurisdiction {jurisdiction!r}; use a configured "
                          "jurisdiction code such as CA or NY.", "jurisdiction")
    return value


async def usable_code(ctx: ServiceContext, session: AsyncSession, value: str, field: str = "producerCode",
                      states: tuple[str, ...] = ("validated",)) -> ProducerCodeRecord:
    """A code value the caller can see, in one of `states` (validated for a producer code)."""
    code = await scoped_code_by_value(session, ctx.scope, value)
    if code is None:
        raise DomainError("PRODUCER_CODE_NOT_FOUND", f"No producer code {value!r} is visible to you.", field)
    if states == ("validated",):
        await _refuse_removed(session, code, field)
    if code.state not in states:
        what = "must be validated" if states == ("validated",) else f"must be {', '.join(states)}"
        error = "PRODUCER_CODE_NOT_VALIDATED" if states == ("validated",) else "PRODUCER_CODE_NOT_USABLE"
        raise DomainError(error, f"The producer code {value} is {code.state}; it {what}.", field)
    return code


async def _refuse_removed(session: AsyncSession, code: ProducerCodeRecord, field: str) -> None:
    """No business through a code whose producer, or a producer above it, was removed (retired or discarded)."""
    chain = {p.id: p for p in await store.producers_with_ancestors(session, code.tenant_id, [code.producer_id])}
    owner = chain.get(code.producer_id)
    if owner is None:
        return
    for producer_id in [owner.id, *reversed(owner.ancestry or [])]:
        producer = chain.get(producer_id)
        if producer is not None and lifecycle.is_terminal(producer.state):
            whose = "its producer" if producer_id == owner.id else "a producer above its producer"
            raise DomainError("PRODUCER_REMOVED", f"The producer code {code.code} cannot write business: {whose} "
                              f"({producer.id}) is {producer.state}.", field)


async def _apply(ctx: ServiceContext, session: AsyncSession, record: QuoteRecord, changes: QuoteChanges) -> None:
    if changes.product is not UNSET:
        if not str(changes.product or "").strip():
            raise DomainError("PRODUCT_REQUIRED", "A quote needs a product name.", "product")
        record.product = str(changes.product).strip()
    if changes.jurisdiction is not UNSET:
        record.jurisdiction = check_jurisdiction(ctx, changes.jurisdiction)
    if changes.effective_time is not UNSET:
        if changes.effective_time is None:
            raise DomainError("EFFECTIVE_TIME_REQUIRED", "A quote needs an effective time.", "effectiveTime")
        record.effective_time = changes.effective_time
    if changes.producer_code is not UNSET:
        value = (changes.producer_code or "").strip() or None
        if value is not None:
            await usable_code(ctx, session, value)
        record.producer_code = value
    if changes.data is not None:
        record.data = dict(changes.data)


async def create_quote(ctx: ServiceContext, changes: QuoteChanges) -> QuoteRecord:
    """A draft quote; its producer code, when set, must be validated."""
    ctx.require(*UNDERWRITERS)
    async with transaction(ctx.sessions) as session:
        record = QuoteRecord(tenant_id=ctx.tenant_id, product="", jurisdiction="", created_by=ctx.actor,
                             updated_by=ctx.actor)
        for name in ("product", "jurisdiction", "effective_time"):
            if getattr(changes, name) is UNSET:
                setattr(changes, name, None)
        await _apply(ctx, session, record, changes)
        session.add(record)
    return record


async def _locked(ctx: ServiceContext, session: AsyncSession, quote_id: str) -> QuoteRecord:
    found = await store.quotes_by_ids(session, ctx.scope, [quote_id], lock=True)
    if not found:
        raise not_found()
    return found[0]


async def update_quote(ctx: ServiceContext, quote_id: str, changes: QuoteChanges) -> QuoteRecord:
    """Change a quote not yet issued or rejected; it goes back to draft and must be underwritten again."""
    ctx.require(*UNDERWRITERS)
    async with transaction(ctx.sessions) as session:
        record = await _locked(ctx, session, quote_id)
        if record.state not in EDITABLE:
            raise DomainError("QUOTE_LOCKED", f"The quote is {record.state}; it can no longer change.", "id")
        await _apply(ctx, session, record, changes)
        record.state = "draft"
        record.updated_at = utcnow()
        record.updated_by = ctx.actor
        record.version += 1
    return record


async def underwrite_quotes(ctx: ServiceContext, quote_ids: list[str]) -> list[UnderwriteOutcome | None]:
    """Underwrite a batch of quotes in one transaction and a constant number of statements.

    Per quote: the producer check (when a code is set), the configured flag for a failure, then the
    active flags decide: underwritten, declined, rejected, or left as it was (blocked)."""
    ctx.require(*UNDERWRITERS)
    async with transaction(ctx.sessions) as session:
        quotes = {q.id: q for q in await store.quotes_by_ids(session, ctx.scope, quote_ids, lock=True)}
        existing: dict[str, list[UnderwritingFlagRecord]] = {}
        for flag in await store.flags_of(session, ctx.tenant_id, quote_ids=list(quotes)):
            existing.setdefault(flag.quote_id or "", []).append(flag)
        open_quotes = [q for q in quotes.values() if q.state not in ("issued", "rejected")]
        requests = [CheckRequest(q.producer_code, q.product, q.jurisdiction, q.effective_time)
                    for q in open_quotes if q.producer_code]
        checks = {c.request: c for c in await check_producers(session, ctx.config, ctx.tenant_id, requests)}
        now = utcnow()
        outcomes: dict[str, UnderwriteOutcome] = {}
        for quote in quotes.values():
            if quote.state in ("issued", "rejected"):
                why = "rejection is permanent" if quote.state == "rejected" else "it is already issued"
                outcomes[quote.id] = UnderwriteOutcome(quote, [Problem(
                    "INVALID_TRANSITION", f"Cannot underwrite a {quote.state} quote: {why}.", "state")])
                continue
            check = (checks.get(CheckRequest(quote.producer_code, quote.product, quote.jurisdiction,
                                             quote.effective_time)) if quote.producer_code else None)
            verdict = decide(ctx.config, check, existing.get(quote.id, []), tenant_id=ctx.tenant_id,
                             actor=ctx.actor, quote_id=quote.id)
            if verdict.new_flag is not None:
                session.add(verdict.new_flag)
            target = {"proceed": "underwritten", "declined": "declined", "rejected": "rejected"}.get(
                verdict.decision, quote.state)
            if target != quote.state:
                quote.state = target
                quote.updated_at = now
                quote.updated_by = ctx.actor
                quote.version += 1
            outcomes[quote.id] = UnderwriteOutcome(quote, verdict.problems)
    return [outcomes.get(i) for i in quote_ids]


async def underwrite_quote(ctx: ServiceContext, quote_id: str) -> UnderwriteOutcome:
    outcome = (await underwrite_quotes(ctx, [quote_id]))[0]
    if outcome is None:
        raise not_found()
    return outcome


async def issue_quote(ctx: ServiceContext, quote_id: str) -> tuple[QuoteRecord, PolicyRecord]:
    """Issue an underwritten quote: a policy with its issuance transaction, carrying the quote's code."""
    ctx.require(*UNDERWRITERS)
    async with transaction(ctx.sessions) as session:
        quote = await _locked(ctx, session, quote_id)
        if quote.state != "underwritten":
            raise DomainError("INVALID_TRANSITION", f"Only an underwritten quote can be issued; this one is "
                              f"{quote.state}.", "state")
        flags = await store.flags_of(session, ctx.tenant_id, quote_ids=[quote.id])
        held = [f for f in flags if f.cleared_at is None and flag_rules.holds(f.level)]
        if held:
            raise DomainError("UNDERWRITING_FLAG", f"The {held[0].level} flag {held[0].tag!r} holds the quote "
                              "until it is cleared.", "flags")
        now = utcnow()
        policy = PolicyRecord(tenant_id=ctx.tenant_id, quote_id=quote.id, product=quote.product,
                              jurisdiction=quote.jurisdiction, producer_code=quote.producer_code,
                              producer_code_of_record=quote.producer_code, created_by=ctx.actor,
                              updated_by=ctx.actor)
        session.add(policy)
        await session.flush()
        session.add(PolicyTransactionRecord(
            tenant_id=ctx.tenant_id, policy_id=policy.id, kind="issuance", state="issued",
            effective_time=quote.effective_time, issued_time=now, created_by=ctx.actor, updated_by=ctx.actor,
            producers={"setProducerCode": quote.producer_code}))
        quote.state = "issued"
        quote.policy_id = policy.id
        quote.updated_at = now
        quote.updated_by = ctx.actor
        quote.version += 1
    return quote, policy


# ---- flags ------------------------------------------------------------------------------------

@dataclass
class NewFlag:
    level: str
    tag: str
    note: str | None = None


async def add_flags(ctx: ServiceContext, new: list[NewFlag], *, quote_id: str | None = None,
                    transaction_id: str | None = None) -> list[UnderwritingFlagRecord]:
    """Add flags by hand to a quote or a draft policy transaction."""
    ctx.require(*UNDERWRITERS)
    if (quote_id is None) == (transaction_id is None):
        raise DomainError("SUBJECT_REQUIRED", "Flag either a quote or a policy transaction.", "quoteId")
    for i, item in enumerate(new):
        if item.level not in flag_rules.LEVELS or item.level == "none":
            raise DomainError("INVALID_FLAG_LEVEL", f"Flag level {item.level!r} is not allowed; use info, block, "
                              "decline or reject.", f"flags[{i}].level")
        if not item.tag.strip():
            raise DomainError("TAG_REQUIRED", "A flag needs a tag.", f"flags[{i}].tag")
    async with transaction(ctx.sessions) as session:
        if quote_id is not None:
            quote = await _locked(ctx, session, quote_id)
            if quote.state in ("issued", "rejected"):
                raise DomainError("QUOTE_LOCKED", f"The quote is {quote.state}; it takes no more flags.", "quoteId")
        else:
            txns = await store.transactions_by_ids(session, ctx.scope, [transaction_id or ""])
            if not txns:
                raise NotFound("POLICY_TRANSACTION_NOT_FOUND", "No policy transaction with that id is visible "
                               "to you.", "transactionId")
            if txns[0].state != "draft":
                raise DomainError("TRANSACTION_ISSUED", "The transaction is issued; it takes no more flags.",
                                  "transactionId")
        records = [UnderwritingFlagRecord(tenant_id=ctx.tenant_id, quote_id=quote_id, transaction_id=transaction_id,
                                          level=item.level, tag=item.tag.strip(), note=item.note, source="manual",
                                          created_by=ctx.actor) for item in new]
        session.add_all(records)
    return records


async def clear_flags(ctx: ServiceContext, flag_ids: list[str]) -> list[UnderwritingFlagRecord]:
    """Clear flags (a cleared producer flag overrides the producer check for its code); reject is permanent."""
    ctx.require(*UNDERWRITERS)
    async with transaction(ctx.sessions) as session:
        flags = {f.id: f for f in await store.flags_by_ids(session, ctx.tenant_id, flag_ids)}
        quote_ids = [f.quote_id for f in flags.values() if f.quote_id]
        txn_ids = [f.transaction_id for f in flags.values() if f.transaction_id]
        visible = {q.id for q in await store.quotes_by_ids(session, ctx.scope, quote_ids)}
        visible |= {t.id for t in await store.transactions_by_ids(session, ctx.scope, txn_ids)}
        now = utcnow()
        for flag_id in flag_ids:
            flag = flags.get(flag_id)
            if flag is None or (flag.quote_id or flag.transaction_id) not in visible:
                raise NotFound("FLAG_NOT_FOUND", "No underwriting flag with that id is visible to you.", "ids")
            if not flag_rules.can_clear(flag.level):
                raise DomainError("FLAG_PERMANENT", f"The reject flag {flag.tag!r} is permanent; it cannot be "
                                  "cleared.", "ids")
            if flag.cleared_at is None:
                flag.cleared_at = now
                flag.cleared_by = ctx.actor
    return [flags[i] for i in flag_ids]


async def flags_for(ctx: ServiceContext, *, quote_ids: Sequence[str] = (),
                    transaction_ids: Sequence[str] = ()) -> list[UnderwritingFlagRecord]:
    async with ctx.sessions() as session:
        return await store.flags_of(session, ctx.tenant_id, quote_ids=quote_ids, transaction_ids=transaction_ids)


# ---- reads ------------------------------------------------------------------------------------

async def quotes_by_ids(ctx: ServiceContext, ids: list[str]) -> list[QuoteRecord]:
    async with ctx.sessions() as session:
        return await store.quotes_by_ids(session, ctx.scope, ids)


async def list_quotes(ctx: ServiceContext, states: list[str], producer_code: str | None,
                      page: PageRequest) -> tuple[Page, Callable[[], Awaitable[int]]]:
    stmt = store.quotes_in_scope(ctx.scope)
    if states:
        stmt = stmt.where(col(QuoteRecord.state).in_(states))
    if producer_code:
        stmt = stmt.where(col(QuoteRecord.producer_code) == producer_code)
    return await paged(ctx, stmt, QuoteRecord.id, page)


async def producer_checks(ctx: ServiceContext, requests: list[CheckRequest]) -> list[Any]:
    """The producer check for many quotes at once (read-only; adds no flags)."""
    async with ctx.sessions() as session:
        return await check_producers(session, ctx.config, ctx.tenant_id, requests)


# ---- the discard guard --------------------------------------------------------------------------

async def code_in_use(session: AsyncSession, code: ProducerCodeRecord) -> str | None:
    """Refuse discarding a code used by a quote beyond draft or by any policy, naming one of them."""
    if not code.code:
        return None
    usage = await store.code_usage(session, code.tenant_id, code.code)
    if usage is None:
        return None
    kind, locator, state = usage
    return (f"The producer code {code.code} is used by {kind} {locator} ({state}); a code used by a quote "
            "beyond draft or by a policy cannot be discarded. Retire it instead.")


if code_in_use not in DISCARD_GUARDS:
    DISCARD_GUARDS.append(code_in_use)
