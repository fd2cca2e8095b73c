"""Producers and producer codes: tables and the queries over them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Column, ForeignKey, Index, LargeBinary, String, Text, and_, cast, func, or_, select, text
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Field, SQLModel, col

from persistence.base import jsonb, locator_pk, tenant_fk, text_array, timestamp


class ProducerRecord(SQLModel, table=True):
    __tablename__ = "producers"
    __table_args__ = (
        Index("ix_producers_tenant_state", "tenant_id", "state"),
        Index("ix_producers_tenant_parent", "tenant_id", "parent_id"),
        Index("ix_producers_tenant_npn", "tenant_id", "npn"),
        Index("ix_producers_tenant_ssn_hash", "tenant_id", "ssn_hash"),
        Index("ix_producers_ancestry", "ancestry", postgresql_using="gin"),
    )

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    type: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    state: str = Field(default="draft", max_length=20)
    parent_id: str | None = Field(
        default=None, sa_column=Column(String(26), ForeignKey("producers.id"), nullable=True)
    )
    ancestry: list[str] = text_array()
    npn: str | None = Field(default=None, max_length=10)
    first_name: str | None = Field(default=None, max_length=200)
    middle_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    organization_name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320)
    gender: str | None = Field(default=None, max_length=20)
    ssn_ciphertext: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    ssn_hash: str | None = Field(default=None, max_length=64)
    ssn_last4: str | None = Field(default=None, max_length=4)
    fein: str | None = Field(default=None, max_length=20)
    data: dict[str, Any] = jsonb()
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    validation_result: dict[str, Any] | None = jsonb(default=None)
    created_at: datetime = timestamp()
    created_by: str = Field(default="system", max_length=200)
    updated_at: datetime = timestamp()
    updated_by: str = Field(default="system", max_length=200)
    version: int = 1


class ProducerCodeRecord(SQLModel, table=True):
    __tablename__ = "producer_codes"
    __table_args__ = (
        Index("uq_producer_codes_tenant_code", "tenant_id", "code", unique=True),
        Index("ix_producer_codes_producer", "producer_id"),
    )

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    producer_id: str = Field(foreign_key="producers.id", max_length=26)
    type: str = Field(max_length=200)
    code: str | None = Field(default=None, max_length=100)
    state: str = Field(default="draft", max_length=20)
    data: dict[str, Any] = jsonb()
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    validation_result: dict[str, Any] | None = jsonb(default=None)
    created_at: datetime = timestamp()
    created_by: str = Field(default="system", max_length=200)
    updated_at: datetime = timestamp()
    updated_by: str = Field(default="system", max_length=200)
    version: int = 1


class Scope:
    """Which producers a caller may see: the tenant, optionally narrowed to one subtree or one producer.

    The tenant and root may be bound parameters (`bindparam`) for a statement built once and run many times.
    """

    def __init__(self, tenant_id: str, root: str | None = None, only_root: bool = False) -> None:
        self.tenant_id = tenant_id
        self.root = root
        self.only_root = only_root

    def producers_clause(self, table: Any = ProducerRecord) -> Any:
        clause = table.tenant_id == self.tenant_id
        if self.root is None:
            return clause
        if self.only_root:
            return and_(clause, table.id == self.root)
        below = cast(array([self.root]), ARRAY(Text)) if isinstance(self.root, BindParameter) else [self.root]
        return and_(clause, or_(table.id == self.root, table.ancestry.contains(below)))

    def contains(self, producer: ProducerRecord) -> bool:
        if producer.tenant_id != self.tenant_id:
            return False
        if self.root is None:
            return True
        if self.only_root:
            return producer.id == self.root
        return producer.id == self.root or self.root in (producer.ancestry or [])


def producers_in_scope(scope: Scope) -> Select[ProducerRecord]:
    return select(ProducerRecord).where(scope.producers_clause())


async def first_children(session: AsyncSession, scope: Scope, parent_ids: Sequence[str],
                         limit: int) -> list[ProducerRecord]:
    """The first `limit` visible children of each parent (by locator), for all parents in one statement."""
    if not parent_ids:
        return []
    rank = func.row_number().over(partition_by=col(ProducerRecord.parent_id), order_by=col(ProducerRecord.id))
    ranked = (select(col(ProducerRecord.id).label("id"), rank.label("rank"))
              .where(scope.producers_clause(), col(ProducerRecord.parent_id).in_(list(set(parent_ids))))
              .subquery())
    stmt = (select(ProducerRecord).join(ranked, ranked.c.id == col(ProducerRecord.id))
            .where(ranked.c.rank <= limit).order_by(col(ProducerRecord.parent_id), col(ProducerRecord.id)))
    return list((await session.execute(stmt)).scalars())


async def child_counts(session: AsyncSession, scope: Scope, parent_ids: Sequence[str]) -> dict[str, int]:
    """How many visible children each parent has (parents without children are absent)."""
    if not parent_ids:
        return {}
    stmt = (select(col(ProducerRecord.parent_id), func.count())
            .where(scope.producers_clause(), col(ProducerRecord.parent_id).in_(list(set(parent_ids))))
            .group_by(col(ProducerRecord.parent_id)))
    return {str(pid): int(n) for pid, n in (await session.execute(stmt)).all()}


async def producers_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[str]) -> list[ProducerRecord]:
    if not ids:
        return []
    stmt = producers_in_scope(scope).where(col(ProducerRecord.id).in_(list(set(ids))))
    return list((await session.execute(stmt)).scalars())


async def producer_for_update(session: AsyncSession, scope: Scope, producer_id: str) -> ProducerRecord | None:
    stmt = producers_in_scope(scope).where(col(ProducerRecord.id) == producer_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def codes_by_producer_ids(
    session: AsyncSession, tenant_id: str, producer_ids: Sequence[str]
) -> list[ProducerCodeRecord]:
    stmt = (
        select(ProducerCodeRecord)
        .where(col(ProducerCodeRecord.tenant_id) == tenant_id,
               col(ProducerCodeRecord.producer_id).in_(list(producer_ids)))
        .order_by(ProducerCodeRecord.id)
    )
    return list((await session.execute(stmt)).scalars())


def codes_in_scope(scope: Scope) -> Select[ProducerCodeRecord]:
    """Codes whose producer is in the scope."""
    stmt = select(ProducerCodeRecord).where(col(ProducerCodeRecord.tenant_id) == scope.tenant_id)
    if scope.root is None:
        return stmt
    return stmt.join(ProducerRecord, col(ProducerRecord.id) == col(ProducerCodeRecord.producer_id)).where(
        scope.producers_clause()
    )


async def codes_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[str]) -> list[ProducerCodeRecord]:
    if not ids:
        return []
    stmt = codes_in_scope(scope).where(col(ProducerCodeRecord.id).in_(list(set(ids))))
    return list((await session.execute(stmt)).scalars())


async def code_taken(session: AsyncSession, tenant_id: str, code: str) -> bool:
    """Whether any producer code of the tenant (visible to the caller or not) already has this value."""
    stmt = select(col(ProducerCodeRecord.id)).where(col(ProducerCodeRecord.tenant_id) == tenant_id,
                                                    col(ProducerCodeRecord.code) == code).limit(1)
    return (await session.execute(stmt)).first() is not None


async def code_by_value(session: AsyncSession, scope: Scope, code: str) -> ProducerCodeRecord | None:
    stmt = codes_in_scope(scope).where(col(ProducerCodeRecord.code) == code)
    return (await session.execute(stmt)).scalar_one_or_none()


async def code_for_update(session: AsyncSession, scope: Scope, code_id: str) -> ProducerCodeRecord | None:
    stmt = codes_in_scope(scope).where(col(ProducerCodeRecord.id) == code_id).with_for_update(
        of=ProducerCodeRecord
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def children_exist(session: AsyncSession, tenant_id: str, producer_id: str) -> bool:
    stmt = select(func.count()).select_from(ProducerRecord).where(
        col(ProducerRecord.tenant_id) == tenant_id, col(ProducerRecord.parent_id) == producer_id
    )
    return bool((await session.execute(stmt)).scalar_one())


async def move_subtree(session: AsyncSession, tenant_id: str, producer_id: str,
                       old_prefix: list[str], new_prefix: list[str]) -> None:
    """Rewrite the ancestry of every descendant of `producer_id` after it moved."""
    cut = len(old_prefix) + 1
    await session.execute(
        text(
            "UPDATE producers SET ancestry = CAST(:new_prefix AS text[]) || ARRAY[:pid]::text[]"
            " || ancestry[:cut + 1:] WHERE tenant_id = :tenant AND ancestry @> ARRAY[:pid]::text[]"
        ),
        {"new_prefix": new_prefix, "pid": producer_id, "cut": cut, "tenant": tenant_id},
    )


def sequence_name(tenant_id: str, plan: str) -> str:
    """The PostgreSQL sequence behind one tenant's numbering plan (an identifier safe to quote)."""
    digest = hashlib.sha1(plan.encode()).hexdigest()[:10]
    return f"numbering_{tenant_id.lower()}_{digest}"


async def ensure_sequence(session: AsyncSession, name: str, start: int) -> None:
    """Create a numbering sequence if it is missing (called when a tenant's configuration is stored)."""
    await session.execute(text(f'CREATE SEQUENCE IF NOT EXISTS "{name}" START WITH {int(start)} MINVALUE 0'))


async def next_sequence_values(session: AsyncSession, name: str, count: int) -> list[int]:
    """`count` next core numbers of a numbering plan in one statement."""
    if count <= 0:
        return []
    stmt = text("SELECT nextval(CAST(:name AS regclass)) FROM generate_series(1, :count)")
    return [int(v) for v in (await session.execute(stmt, {"name": f'"{name}"', "count": count})).scalars()]


async def next_sequence_value(session: AsyncSession, name: str) -> int:
    """The next core number of a numbering plan: unique under any concurrency."""
    return int((await session.execute(text("SELECT nextval(CAST(:name AS regclass))"), {"name": f'"{name}"'})).scalar_one())
