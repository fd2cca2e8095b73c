"""Persisted queries: GraphQL documents by the sha256 of their text, shared by every server process.

Global text, not tenant data: a document names no tenant and returns nothing by itself. The table is bounded
by the caller (`put` evicts the least recently used rows beyond `max_entries`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from persistence.base import timestamp


class PersistedQueryRecord(SQLModel, table=True):
    __tablename__ = "persisted_queries"
    __table_args__ = (Index("ix_persisted_queries_last_used_at", "last_used_at"),)

    sha256: str = Field(primary_key=True, max_length=64)
    query: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = timestamp()
    last_used_at: datetime = timestamp()


async def use(session: AsyncSession, sha256: str) -> str | None:
    """The document stored under the hash, marked as used now; None when there is none."""
    result = await session.execute(
        text("UPDATE persisted_queries SET last_used_at = now() WHERE sha256 = :sha256 RETURNING query"),
        {"sha256": sha256})
    return result.scalar_one_or_none()


async def put(session: AsyncSession, sha256: str, query: str, max_entries: int) -> int:
    """Stores (or marks as used) a document, then evicts the least recently used beyond `max_entries`.

    Returns how many were evicted."""
    await session.execute(
        text("INSERT INTO persisted_queries (sha256, query, created_at, last_used_at) "
             "VALUES (:sha256, :query, now(), now()) "
             "ON CONFLICT (sha256) DO UPDATE SET last_used_at = now()"),
        {"sha256": sha256, "query": query})
    evicted = await session.execute(
        text("DELETE FROM persisted_queries WHERE sha256 IN ("
             "SELECT sha256 FROM persisted_queries ORDER BY last_used_at DESC, sha256 OFFSET :keep)"),
        {"keep": max_entries})
    return int(evicted.rowcount or 0)  # type: ignore[attr-defined]


async def count(session: AsyncSession) -> int:
    result = await session.execute(text("SELECT count(*) FROM persisted_queries"))
    return int(result.scalar_one())
