"""Per-request dataloaders: one statement per batch, each batch on its own session."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

from aiodataloader import DataLoader

from app.context import ServiceContext
from persistence import producers as store


def _loader(batch: Callable[[list[Any]], Awaitable[list[Any]]]) -> DataLoader:
    async def load(keys: list[Any]) -> list[Any]:
        return await batch(keys)

    return DataLoader(load, max_batch_size=1000)


def _by_key(rows: Sequence[Any], keys: Sequence[Hashable], attr: str = "id") -> list[Any]:
    index = {getattr(row, attr): row for row in rows}
    return [index.get(key) for key in keys]


def _grouped(rows: Sequence[Any], keys: Sequence[Hashable], attr: str) -> list[list[Any]]:
    groups: dict[Hashable, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, attr)].append(row)
    return [groups.get(key, []) for key in keys]


class Loaders:
    """The dataloaders of one request; created with the request, thrown away after it."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.producer = _loader(self._producers)
        self.code = _loader(self._codes)
        self.codes_by_producer = _loader(self._codes_by_producer)
        self.extra: dict[str, DataLoader] = {}

    def named(self, name: str, batch: Callable[[ServiceContext, list[Any]], Awaitable[list[Any]]]) -> DataLoader:
        """A loader registered by another domain (licenses, quotes...), created once per request."""
        if name not in self.extra:
            ctx = self.ctx

            async def load(keys: list[Any]) -> list[Any]:
                return await batch(ctx, keys)

            self.extra[name] = DataLoader(load, max_batch_size=1000)
        return self.extra[name]

    async def _producers(self, ids: list[str]) -> list[Any]:
        async with self.ctx.sessions() as session:
            rows = await store.producers_by_ids(session, self.ctx.scope, ids)
        return _by_key(rows, ids)

    async def _codes(self, ids: list[str]) -> list[Any]:
        async with self.ctx.sessions() as session:
            rows = await store.codes_by_ids(session, self.ctx.scope, ids)
        return _by_key(rows, ids)

    async def _codes_by_producer(self, producer_ids: list[str]) -> list[list[Any]]:
        async with self.ctx.sessions() as session:
            rows = await store.codes_by_producer_ids(session, self.ctx.tenant_id, producer_ids)
        return _grouped(rows, producer_ids, "producer_id")

    def prime_producers(self, rows: Sequence[Any]) -> None:
        for row in rows:
            self.producer.prime(row.id, row)
