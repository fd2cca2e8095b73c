"""Per-request dataloaders: one statement per batch, each batch on its own session."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any

from aiodataloader import DataLoader
from strawberry.types.nodes import SelectedField

from app.context import ServiceContext
from persistence import producers as store


class SharedLoader(DataLoader):
    """A DataLoader whose futures survive one waiter's cancellation.

    Several fields await the same key's future; when a non-null field fails, GraphQL execution cancels its
    siblings, and an unshielded await would cancel the shared future under every other waiter too
    (a CancelledError escaping the whole request).
    """

    def load(self, key: Any) -> asyncio.Future[Any]:
        return asyncio.shield(super().load(key))

    def load_many(self, keys: Iterable[Any]) -> asyncio.Future[list[Any]]:
        # one shield around the gathered keys, not one per key (a page prefetch loads hundreds)
        return asyncio.shield(asyncio.gather(*(DataLoader.load(self, key) for key in keys)))


def _loader(batch: Callable[[list[Any]], Awaitable[list[Any]]]) -> DataLoader:
    async def load(keys: list[Any]) -> list[Any]:
        return await batch(keys)

    return SharedLoader(load, max_batch_size=1000)


def ready(loaded: asyncio.Future[Any]) -> Any:
    """The loaded value when it is already there (a primed or prefetched key), else the future to await.

    A resolver returning a plain value costs GraphQL execution no task; a page of 100 producers has hundreds.
    """
    if loaded.done() and not loaded.cancelled() and loaded.exception() is None:
        return loaded.result()
    return loaded


def ready_many(loader: DataLoader, keys: Iterable[Any]) -> Any:
    """`ready` for several keys: the list of values, or an awaitable of it."""
    futures = [loader.load(key) for key in keys]
    if all(f.done() and not f.cancelled() and f.exception() is None for f in futures):
        return [f.result() for f in futures]
    return asyncio.gather(*futures)


def node_fields(info: Any) -> set[str]:
    """Names of the fields selected on the nodes of a connection field (`edges { node }` or `nodes`),
    fragments included: what a list resolver may fetch for the whole page at once."""
    names: set[str] = set()

    def children(selections: Iterable[Any]) -> Iterable[Any]:
        for selection in selections:
            if isinstance(selection, SelectedField):
                yield selection
            else:
                yield from children(selection.selections)  # fragment spreads and inline fragments

    for field in info.selected_fields:
        for part in children(field.selections):
            if part.name == "nodes":
                names.update(f.name for f in children(part.selections))
            elif part.name == "edges":
                for edge in children(part.selections):
                    if edge.name == "node":
                        names.update(f.name for f in children(edge.selections))
    return names


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

            self.extra[name] = SharedLoader(load, max_batch_size=1000)
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
