"""Automatic persisted queries (Apollo's protocol): a client sends the sha256 of a document instead of its text.

`extensions.persistedQuery = {version: 1, sha256Hash}` alone asks for a stored document (PersistedQueryNotFound
until it is registered); with the text beside it, the hash must be the text's sha256 and the document is stored
once it has run. The store is PostgreSQL, so every server process behind a load balancer knows what any one of
them stored; it keeps the `max_entries` most recently used documents (older ones are evicted, and a client
whose hash was evicted simply registers it again). A small per-process LRU cache answers most look-ups with no
round trip; as a document is addressed by its own hash, a cached entry can never be stale.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import DomainError
from persistence import persisted_queries as store

VERSION = 1
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # the message and code Apollo's link looks for
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
TOUCH_SECONDS = 600.0  # a cached document is marked used in PostgreSQL at most this often, keeping it from eviction


class PersistedQueryError(DomainError):
    """A persisted-query request the server refuses (bad version or hash, hash mismatch, document too large)."""


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The sha256 the request names in `extensions.persistedQuery`, or None when it names none."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != VERSION:
        raise PersistedQueryError("PERSISTED_QUERY_VERSION_UNSUPPORTED",
                                  "extensions.persistedQuery must be {version: 1, sha256Hash: <hex>}; "
                                  "only version 1 is supported.")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not SHA256_HEX.match(sha256.lower()):
        raise PersistedQueryError("PERSISTED_QUERY_INVALID_HASH",
                                  "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits, the "
                                  "sha256 of the query text.")
    return sha256.lower()


def sha256_of(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def check_registration(sha256: str, query: str, max_query_bytes: int) -> None:
    """A document may be stored under the hash: the hash is its text's sha256 and it is not too large."""
    if sha256_of(query) != sha256:
        raise PersistedQueryError("PERSISTED_QUERY_HASH_MISMATCH",
                                  f"extensions.persistedQuery.sha256Hash {sha256} is not the sha256 of the query "
                                  "text sent: hash the exact text (UTF-8) and send both again.")
    size = len(query.encode())
    if size > max_query_bytes:
        raise PersistedQueryError("PERSISTED_QUERY_TOO_LARGE",
                                  f"The query text is {size} bytes; persisted queries may be at most "
                                  f"{max_query_bytes} bytes. Send it without extensions.persistedQuery.")


class PersistedQueries:
    """The shared store with this process's cache in front."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, max_entries: int, max_query_bytes: int,
                 cache_size: int) -> None:
        self.sessions = sessions
        self.max_entries = max_entries
        self.max_query_bytes = max_query_bytes
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[str, float]] = OrderedDict()  # sha256 -> (query, last touched)

    def check_registration(self, sha256: str, query: str) -> None:
        check_registration(sha256, query, self.max_query_bytes)

    async def lookup(self, sha256: str) -> str | None:
        """The document stored under the hash, or None (then the client registers it)."""
        cached = self._cache.get(sha256)
        now = time.monotonic()
        if cached is not None:
            self._cache.move_to_end(sha256)
            text, touched = cached
            if now - touched >= TOUCH_SECONDS:  # keep it among the recently used ones in the shared store
                await self.register(sha256, text)
            return text
        async with self.sessions() as session, session.begin():
            query = await store.use(session, sha256)
        if query is not None:
            self._remember(sha256, query, now)
        return query

    async def register(self, sha256: str, query: str) -> None:
        """Stores a document that has passed `check_registration` and run."""
        async with self.sessions() as session, session.begin():
            await store.put(session, sha256, query, self.max_entries)
        self._remember(sha256, query, time.monotonic())

    def _remember(self, sha256: str, query: str, touched: float) -> None:
        self._cache[sha256] = (query, touched)
        self._cache.move_to_end(sha256)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
