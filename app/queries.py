"""Read services: scoped lists and look-ups that the API pages through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, or_
from sqlmodel import col

from app.context import ServiceContext
from app.errors import DomainError
from persistence import json_read
from persistence import producers as store
from persistence.db import read_only
from persistence.licenses import AppointmentRecord, LicenseRecord
from persistence.pagination import Page, count, keyset_page
from persistence.producers import ProducerCodeRecord, ProducerRecord

DEFAULT_PAGE_SIZE = 20


@dataclass
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


@dataclass
class ProducerFilter:
    states: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    parent_id: str | None = None
    root_only: bool = False
    subtree_of: str | None = None
    descendants_of: str | None = None
    search: str | None = None
    npn: str | None = None


def bounded(page: PageRequest, max_size: int) -> PageRequest:
    """Default and cap page sizes; refuse negative ones."""
    for name in ("first", "last"):
        value = getattr(page, name)
        if value is not None and value < 0:
            raise DomainError("INVALID_PAGE_SIZE", f"`{name}` must be zero or more.", name)
        if value is not None and value > max_size:
            raise DomainError("PAGE_TOO_LARGE", f"`{name}` is {value}; at most {max_size} items per page.", name)
    if page.first is None and page.last is None:
        page.first = min(DEFAULT_PAGE_SIZE, max_size)
    return page


Counted = tuple[Page, Callable[[], Awaitable[int]]]


def int_key(key: str | None) -> int | None:
    """A cursor key of an integer-keyed list (audit events, webhook deliveries); INVALID_CURSOR otherwise."""
    if key is None:
        return None
    if not key.isdigit():
        raise DomainError("INVALID_CURSOR", "The cursor is not one this API returned.", "after")
    return int(key)


async def paged(ctx: ServiceContext, stmt: Any, key: Any, page: PageRequest,
                convert: Callable[[str | None], Any] = lambda cursor_key: cursor_key) -> Counted:
    """One bounded keyset page of a scoped statement, and a function that counts the whole list when asked."""
    page = bounded(page, ctx.settings.max_page_size)
    async with ctx.sessions() as session:
        result = await keyset_page(session, stmt, key, first=page.first, after=convert(page.after),
                                   last=page.last, before=convert(page.before))

    async def total() -> int:
        async with ctx.sessions() as session:
            return await count(session, stmt)

    return result, total


def _producer_stmt(ctx: ServiceContext, flt: ProducerFilter) -> Any:
    stmt = store.producers_in_scope(ctx.scope)
    if flt.states:
        stmt = stmt.where(col(ProducerRecord.state).in_(flt.states))
    if flt.types:
        stmt = stmt.where(col(ProducerRecord.type).in_(flt.types))
    if flt.parent_id is not None:
        stmt = stmt.where(col(ProducerRecord.parent_id) == flt.parent_id)
    if flt.root_only:
        stmt = stmt.where(col(ProducerRecord.parent_id).is_(None))
    if flt.descendants_of is not None:
        stmt = stmt.where(col(ProducerRecord.ancestry).contains([flt.descendants_of]))
    if flt.subtree_of is not None:
        stmt = stmt.where(or_(col(ProducerRecord.id) == flt.subtree_of,
                              col(ProducerRecord.ancestry).contains([flt.subtree_of])))
    if flt.npn:
        stmt = stmt.where(col(ProducerRecord.npn) == flt.npn)
    for pattern in _search_patterns(flt.search):
        stmt = stmt.where(or_(col(ProducerRecord.search_text).like(pattern), *(
            exists().where(table.tenant_id == ProducerRecord.tenant_id, table.producer_id == ProducerRecord.id,
                           or_(func.lower(number).like(pattern), table.search_text.like(pattern)))
            for table, number in _HELD)))
    return stmt


# what a producer holds that its search also looks at: codes by value, licenses and appointments by number,
# each with its type's searchable data (their search_text)
_HELD: tuple[tuple[Any, Any], ...] = ((ProducerCodeRecord, ProducerCodeRecord.code),
                                      (LicenseRecord, LicenseRecord.license_number),
                                      (AppointmentRecord, AppointmentRecord.appointment_number))


def _search_patterns(search: str | None) -> list[str]:
    """LIKE patterns of the first eight words of a free-text search, lower-cased and escaped."""
    terms = [t for t in (search or "").lower().split() if t][:8]
    return ["%" + t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for t in terms]


async def list_producers(ctx: ServiceContext, flt: ProducerFilter,
                         page: PageRequest) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """A page of producers in the caller's scope, and a function that counts them all."""
    stmt = _producer_stmt(ctx, flt)
    return await paged(ctx, stmt, ProducerRecord.id, page)


@dataclass(frozen=True)
class ProducerPageRead:
    """A page of producers, as `list_producers` would give it, to be read as JSON of `shape` (json_read.Page)."""

    filter: ProducerFilter
    page: PageRequest
    shape: Any


async def read_producer_document(ctx: ServiceContext, parts: tuple[tuple[str, Any], ...],
                                 parameters: dict[str, Any]) -> str:
    """The JSON text of a document whose values are pages of producers (`ProducerPageRead`) or json_read values.

    An unfiltered page is chosen inside the document's statement (scope, bounds, keyset order, total), so such a
    document is one statement. A filtered page is chosen as `list_producers` chooses it (one statement, a second
    for the total when asked), then the document is built by one cached statement. The statements run outside
    a transaction (each is its own snapshot, as under READ COMMITTED): no BEGIN and ROLLBACK round trips."""
    fields: list[tuple[str, Any]] = []
    values = dict(parameters)
    async with read_only(ctx.sessions) as session:
        for key, part in parts:
            if isinstance(part, ProducerPageRead):
                if part.page.last is not None or part.page.before is not None:
                    raise ValueError("only forward pages are read as documents")
                page = bounded(part.page, ctx.settings.max_page_size)
                if part.filter == ProducerFilter():  # the page, its bounds and total in the document itself
                    values[f"{key}__first"] = page.first
                    if page.after is not None:
                        values[f"{key}__after"] = page.after
                    fields.append((key, json_read.ScopePage(
                        json_read.Param(f"{key}__first"),
                        None if page.after is None else json_read.Param(f"{key}__after"), part.shape)))
                    continue
                stmt = _producer_stmt(ctx, part.filter)
                ids = await keyset_page(session, stmt.with_only_columns(col(ProducerRecord.id)),
                                        col(ProducerRecord.id), first=page.first, after=page.after, last=None,
                                        before=None)
                values.update({f"{key}__ids": ids.rows, f"{key}__next": ids.has_next,
                               f"{key}__previous": ids.has_previous})
                if json_read.wants_total(part.shape):
                    values[f"{key}__total"] = await count(session, stmt)
                part = json_read.RootPage(part.shape)
            fields.append((key, part))
        return await json_read.read_document(session, ctx.scope, tuple(fields), values,
                                             ctx.settings.compiled_reads_max_shapes)


async def list_codes(ctx: ServiceContext, producer_id: str | None, states: list[str],
                     page: PageRequest, search: str | None = None) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """A page of producer codes in the caller's scope; `search` matches the code and its searchable data."""
    stmt = store.codes_in_scope(ctx.scope)
    if producer_id is not None:
        stmt = stmt.where(col(ProducerCodeRecord.producer_id) == producer_id)
    if states:
        stmt = stmt.where(col(ProducerCodeRecord.state).in_(states))
    for pattern in _search_patterns(search):
        stmt = stmt.where(or_(func.lower(col(ProducerCodeRecord.code)).like(pattern),
                              col(ProducerCodeRecord.search_text).like(pattern)))
    return await paged(ctx, stmt, ProducerCodeRecord.id, page)


async def code_by_value(ctx: ServiceContext, code: str) -> ProducerCodeRecord | None:
    async with ctx.sessions() as session:
        return await store.code_by_value(session, ctx.scope, code)


async def children_first_pages(ctx: ServiceContext, parent_ids: list[str],
                               size: int) -> tuple[dict[str, list[ProducerRecord]], dict[str, int]]:
    """The first `size` + 1 visible children of each parent and every parent's child count, in two statements."""
    page = bounded(PageRequest(first=size), ctx.settings.max_page_size)
    async with ctx.sessions() as session:
        rows = await store.first_children(session, ctx.scope, parent_ids, (page.first or 0) + 1)
        counts = await store.child_counts(session, ctx.scope, parent_ids)
    pages: dict[str, list[ProducerRecord]] = {pid: [] for pid in parent_ids}
    for row in rows:
        if row.parent_id is not None:
            pages[row.parent_id].append(row)
    return pages, counts
