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


@dataclass
class EdgeData:
    cursor: str
    node: Any


@dataclass
class PageInfoData:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@dataclass
class ConnectionData:
    edges: list[EdgeData]
    page_info: PageInfoData
    total_count_value: Any = None


def connection(page: Page, total: Callable[[], Awaitable[int]] | int,
               key: Callable[[Any], str] = lambda row: row.id) -> ConnectionData:
    edges = [EdgeData(encode_cursor(key(row)), row) for row in page.rows]
    info = PageInfoData(page.has_next, page.has_previous, edges[0].cursor if edges else None,
                        edges[-1].cursor if edges else None)
    return ConnectionData(edges, info, total)


def list_connection(rows: list[Any], first: int | None, after: str | None,
                    key: Callable[[Any], str] = lambda row: row.id) -> ConnectionData:
    """A connection over an already loaded list (small, bounded lists such as a producer's codes)."""
    after_key = decode_cursor(after, "after")
    items = [row for row in rows if after_key is None or key(row) > after_key]
    size = len(items) if first is None else max(first, 0)
    page = Page(items[:size], len(items) > size, after_key is not None)
    return connection(page, len(rows), key)
