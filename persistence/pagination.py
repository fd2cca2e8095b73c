"""Keyset pagination over a ULID key: stable under inserts, no OFFSET scans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select


@dataclass
class Page:
    rows: list[Any]
    has_next: bool
    has_previous: bool


async def keyset_page(session: AsyncSession, stmt: Select[Any], key: Any, *, first: int | None,
                      after: str | int | None, last: int | None, before: str | int | None) -> Page:
    """One page of `stmt` ordered by `key`: `first` after a key, or `last` before one."""
    if after is not None:
        stmt = stmt.where(key > after)
    if before is not None:
        stmt = stmt.where(key < before)
    if last is not None and first is None:
        rows = list((await session.execute(stmt.order_by(key.desc()).limit(last + 1))).scalars())
        has_previous = len(rows) > last
        rows = list(reversed(rows[:last]))
        return Page(rows, before is not None, has_previous)
    size = first if first is not None else 0
    rows = list((await session.execute(stmt.order_by(key).limit(size + 1))).scalars())
    return Page(rows[:size], len(rows) > size, after is not None)


async def count(session: AsyncSession, stmt: Select[Any]) -> int:
    return int((await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))).scalar_one())
