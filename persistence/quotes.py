"""Quotes, underwriting flags, policies and policy transactions: tables and the queries over them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, String, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlmodel import Field, SQLModel, col

from persistence.base import jsonb, locator_pk, tenant_fk, timestamp
from persistence.producers import ProducerCodeRecord, ProducerRecord, Scope


def _when(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class QuoteRecord(SQLModel, table=True):
    __tablename__ = "quotes"
    __table_args__ = (Index("ix_quotes_tenant_code", "tenant_id", "producer_code"),)

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    product: str = Field(max_length=200)
    jurisdiction: str = Field(max_length=10)
    effective_time: datetime = _when(nullable=False)
    producer_code: str | None = Field(default=None, max_length=100)
    state: str = Field(default="draft", max_length=20)
    policy_id: str | None = Field(default=None, max_length=26)
    data: dict[str, Any] = jsonb()
    created_at: datetime = timestamp()
    created_by: str = Field(default="system", max_length=200)
    updated_at: datetime = timestamp()
    updated_by: str = Field(default="system", max_length=200)
    version: int = 1


class UnderwritingFlagRecord(SQLModel, table=True):
    __tablename__ = "underwriting_flags"
    __table_args__ = (
        Index("ix_underwriting_flags_quote", "quote_id"),
        Index("ix_underwriting_flags_transaction", "transaction_id"),
    )

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    quote_id: str | None = Field(default=None, sa_column=Column(String(26), nullable=True))
    transaction_id: str | None = Field(default=None, sa_column=Column(String(26), nullable=True))
    level: str = Field(max_length=20)
    tag: str = Field(max_length=200)
    note: str | None = Field(default=None)
    source: str = Field(default="manual", max_length=20)  # producer | manual
    producer_code: str | None = Field(default=None, max_length=100)
    reasons: list[dict[str, Any]] = jsonb(default=list)
    created_at: datetime = timestamp()
    created_by: str = Field(default="system", max_length=200)
    cleared_at: datetime | None = _when()
    cleared_by: str | None = Field(default=None, max_length=200)


class PolicyRecord(SQLModel, table=True):
    __tablename__ = "policies"
    __table_args__ = (
        Index("ix_policies_tenant_code", "tenant_id", "producer_code"),
        Index("ix_policies_tenant_code_of_record", "tenant_id", "producer_code_of_record"),
    )

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    quote_id: str | None = Field(default=None, max_length=26)
    product: str = Field(max_length=200)
    jurisdiction: str = Field(max_length=10)
    producer_code: str | None = Field(default=None, max_length=100)
    producer_code_of_record: str | None = Field(default=None, max_length=100)
    created_at: datetime = timestamp()
    created_by: str = Field(default="system", max_length=200)
    updated_at: datetime = timestamp()
    updated_by: str = Field(default="system", max_length=200)
    version: int = 1


class PolicyTransactionRecord(SQLModel, table=True):
    __tablename__ = "policy_transactions"
    __table_args__ = (Index("ix_policy_transactions_policy", "policy_id"),)

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    policy_id: str = Field(foreign_key="policies.id", max_length=26)
    kind: str = Field(max_length=20)  # issuance | change | renewal
    state: str = Field(default="draft", max_length=20)  # draft | issued
    effective_time: datetime = _when(nullable=False)
    issued_time: datetime | None = _when()
    producers: dict[str, Any] = jsonb()
    created_at: datetime = timestamp()
    created_by: str = Field(default="system", max_length=200)
    updated_at: datetime = timestamp()
    updated_by: str = Field(default="system", max_length=200)


def _code_in_scope(column: Any, scope: Scope) -> Any:
    """`column` holds a code value whose producer is in the scope."""
    visible = (select(col(ProducerCodeRecord.code))
               .join(ProducerRecord, col(ProducerRecord.id) == col(ProducerCodeRecord.producer_id))
               .where(col(ProducerCodeRecord.tenant_id) == scope.tenant_id, scope.producers_clause()))
    return column.in_(visible)


def quotes_in_scope(scope: Scope) -> Select[QuoteRecord]:
    """Quotes of the tenant; agency-scoped callers see those whose code's producer is in their subtree."""
    stmt = select(QuoteRecord).where(col(QuoteRecord.tenant_id) == scope.tenant_id)
    if scope.root is None:
        return stmt
    return stmt.where(_code_in_scope(QuoteRecord.producer_code, scope))


def policies_in_scope(scope: Scope) -> Select[PolicyRecord]:
    stmt = select(PolicyRecord).where(col(PolicyRecord.tenant_id) == scope.tenant_id)
    if scope.root is None:
        return stmt
    return stmt.where(or_(_code_in_scope(PolicyRecord.producer_code, scope),
                          _code_in_scope(PolicyRecord.producer_code_of_record, scope)))


async def quotes_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[str], *,
                        lock: bool = False) -> list[QuoteRecord]:
    if not ids:
        return []
    stmt = quotes_in_scope(scope).where(col(QuoteRecord.id).in_(list(set(ids)))).order_by(col(QuoteRecord.id))
    if lock:
        stmt = stmt.with_for_update(of=QuoteRecord)
    return list((await session.execute(stmt)).scalars())


async def policies_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[str], *,
                          lock: bool = False) -> list[PolicyRecord]:
    if not ids:
        return []
    stmt = policies_in_scope(scope).where(col(PolicyRecord.id).in_(list(set(ids))))
    if lock:
        stmt = stmt.with_for_update(of=PolicyRecord)
    return list((await session.execute(stmt)).scalars())


async def transactions_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[str]) -> list[PolicyTransactionRecord]:
    """Transactions whose policy is in the scope."""
    if not ids:
        return []
    visible = policies_in_scope(scope).with_only_columns(col(PolicyRecord.id))
    stmt = select(PolicyTransactionRecord).where(col(PolicyTransactionRecord.tenant_id) == scope.tenant_id,
                                                 col(PolicyTransactionRecord.id).in_(list(set(ids))),
                                                 col(PolicyTransactionRecord.policy_id).in_(visible))
    return list((await session.execute(stmt)).scalars())


async def transactions_of_policies(session: AsyncSession, tenant_id: str,
                                   policy_ids: Sequence[str]) -> list[PolicyTransactionRecord]:
    if not policy_ids:
        return []
    stmt = (select(PolicyTransactionRecord)
            .where(col(PolicyTransactionRecord.tenant_id) == tenant_id,
                   col(PolicyTransactionRecord.policy_id).in_(list(set(policy_ids))))
            .order_by(PolicyTransactionRecord.id))
    return list((await session.execute(stmt)).scalars())


async def flags_of(session: AsyncSession, tenant_id: str, *, quote_ids: Sequence[str] = (),
                   transaction_ids: Sequence[str] = ()) -> list[UnderwritingFlagRecord]:
    """Every flag (cleared or not) on these quotes and transactions, oldest first."""
    if not quote_ids and not transaction_ids:
        return []
    stmt = (select(UnderwritingFlagRecord)
            .where(col(UnderwritingFlagRecord.tenant_id) == tenant_id,
                   or_(col(UnderwritingFlagRecord.quote_id).in_(list(set(quote_ids))),
                       col(UnderwritingFlagRecord.transaction_id).in_(list(set(transaction_ids)))))
            .order_by(UnderwritingFlagRecord.id))
    return list((await session.execute(stmt)).scalars())


async def flags_by_ids(session: AsyncSession, tenant_id: str, ids: Sequence[str]) -> list[UnderwritingFlagRecord]:
    if not ids:
        return []
    stmt = (select(UnderwritingFlagRecord)
            .where(col(UnderwritingFlagRecord.tenant_id) == tenant_id,
                   col(UnderwritingFlagRecord.id).in_(list(set(ids))))
            .with_for_update())
    return list((await session.execute(stmt)).scalars())


async def code_usage(session: AsyncSession, tenant_id: str, code: str) -> tuple[str, str, str] | None:
    """One quote beyond draft or one policy using `code`: (kind, locator, state), or None."""
    row = (await session.execute(text(
        "(SELECT 'quote' AS kind, id, state FROM quotes WHERE tenant_id = :t AND producer_code = :c"
        " AND state <> 'draft' LIMIT 1)"
        " UNION ALL (SELECT 'policy', id, 'issued' FROM policies WHERE tenant_id = :t"
        " AND (producer_code = :c OR producer_code_of_record = :c) LIMIT 1) LIMIT 1"),
        {"t": tenant_id, "c": code})).first()
    return (row[0], row[1], row[2]) if row else None


async def producers_with_ancestors(session: AsyncSession, tenant_id: str,
                                   producer_ids: Sequence[str]) -> list[ProducerRecord]:
    """The producers and every ancestor of each, in one statement (their chains, via `ancestry`)."""
    if not producer_ids:
        return []
    ids = list(set(producer_ids))
    chains = (select(func.unnest(ProducerRecord.ancestry))
              .where(col(ProducerRecord.tenant_id) == tenant_id, col(ProducerRecord.id).in_(ids)))
    stmt = select(ProducerRecord).where(col(ProducerRecord.tenant_id) == tenant_id,
                                        or_(col(ProducerRecord.id).in_(ids), col(ProducerRecord.id).in_(chains)))
    return list((await session.execute(stmt)).scalars())


async def codes_by_values(session: AsyncSession, tenant_id: str, values: Sequence[str]) -> list[ProducerCodeRecord]:
    if not values:
        return []
    stmt = select(ProducerCodeRecord).where(col(ProducerCodeRecord.tenant_id) == tenant_id,
                                            col(ProducerCodeRecord.code).in_(list(set(values))))
    return list((await session.execute(stmt)).scalars())
