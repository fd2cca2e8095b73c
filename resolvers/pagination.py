"""Cursor encoding and the plain connection objects the Connection type reads."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.errors import DomainError
from app.queries import PageRequest
from persistence.pagination import Page

CURSOR_PREFIX = "cursor:"


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{key}".encode()).decode()


def decode_cursor(cursor: str | None, name: str) -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise DomainError("INVALID_CURSOR", f"`{name}` is not a cursor this API returned.", name) from exc
    if not raw.startswith(CURSOR_PREFIX):
        raise DomainError("INVALID_CURSOR", f"`{name}` is not a cursor this API returned.", name)
    return raw[len(CURSOR_PREFIX):]


def page_request(first: int | None, after: str | None, last: int | None, before: str | None) -> PageRequest:
    return PageRequest(first=first, after=decode_cursor(after, "after"), last=last,
                       before=decode_cursor(before, "before"))


@dataclass(slots=True)
class EdgeData:
    """An edge; its cursor is encoded only when read (most queries select `nodes` or `edges { node }`)."""

    key: str
    node: Any

    @property
    def cursor(self) -> str:
        return encode_cursor(self.key)


@dataclass(slots=True)
class PageInfoData:
    """Paging position; the cursors, like the edges', are encoded only when read."""

    has_next_page: bool
    has_previous_page: bool
    start_key: str | None
    end_key: str | None

    @property
    def start_cursor(self) -> str | None:
        return None if self.start_key is None else encode_cursor(self.start_key)

    @property
    def end_cursor(self) -> str | None:
        return None if self.end_key is None else encode_cursor(self.end_key)


@dataclass
class ConnectionData:
    edges: list[EdgeData]
    page_info: PageInfoData
    total_count_value: Any = None


def connection(page: Page, total: Callable[[], Awaitable[int]] | int,
               key: Callable[[Any], str] = lambda row: row.id) -> ConnectionData:
    edges = [EdgeData(key(row), row) for row in page.rows]
    info = PageInfoData(page.has_next, page.has_previous, edges[0].key if edges else None,
                        edges[-1].key if edges else None)
    return ConnectionData(edges, info, total)


def list_connection(rows: list[Any], first: int | None, after: str | None,
                    key: Callable[[Any], str] = lambda row: row.id) -> ConnectionData:
    """A connection over an already loaded list (small, bounded lists such as a producer's codes)."""
    after_key = decode_cursor(after, "after")
    items = [row for row in rows if after_key is None or key(row) > after_key]
    size = len(items) if first is None else max(first, 0)
    page = Page(items[:size], len(items) > size, after_key is not None)
    return connection(page, len(rows), key)
