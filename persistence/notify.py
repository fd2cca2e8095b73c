"""PostgreSQL LISTEN/NOTIFY: one listening connection per process, fanned out to in-process subscribers.

Events are hints ("something about job X changed"); subscribers re-read the state from the database, so a
lost or coalesced notification costs a little latency, never correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import asyncpg

from persistence.db import sync_url

log = logging.getLogger("producer_graph.notify")

RECONNECT_SECONDS = 1.0


class Signal:
    """A coalescing wake-up: any number of notifications before `wait` returns count as one."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()

    async def wait(self, at_most: float | None = None) -> bool:
        """True when fired (and re-armed), False after `at_most` seconds without a notification."""
        try:
            await asyncio.wait_for(self._event.wait(), at_most)
        except TimeoutError:
            return False
        self._event.clear()
        return True


class NotifyHub:
    """Listens on a fixed set of channels with one asyncpg connection and wakes the matching subscribers.

    A subscriber registers for (channel, key): it fires on a notification whose payload equals `key`, or on
    any payload of the channel when `key` is None. After a reconnect everyone fires, as events may be lost.
    """

    def __init__(self, url: str, channels: tuple[str, ...]) -> None:
        self.url = sync_url(url)
        self.channels = channels
        self._subscribers: dict[tuple[str, str | None], set[Signal]] = defaultdict(set)
        self._connection: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.connected = asyncio.Event()
        self.closing = False  # set at shutdown: long-lived watchers end instead of waiting on

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notify-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 10)

    async def stop(self) -> None:
        self.closing = True
        self._fire_all()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()

    @contextlib.contextmanager
    def subscribe(self, channel: str, key: str | None = None) -> Iterator[Signal]:
        """A signal fired for each notification on `channel` (with payload `key`, when given)."""
        signal = Signal()
        self._subscribers[(channel, key)].add(signal)
        try:
            yield signal
        finally:
            subscribers = self._subscribers.get((channel, key))
            if subscribers is not None:
                subscribers.discard(signal)
                if not subscribers:
                    self._subscribers.pop((channel, key), None)

    def _dispatch(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        for key in (payload, None):
            for signal in list(self._subscribers.get((channel, key), ())):
                signal.fire()

    def _fire_all(self) -> None:
        for signals in list(self._subscribers.values()):
            for signal in list(signals):
                signal.fire()

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
                await self._lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("notify listener unavailable; retrying", extra={"error": str(exc)})
            self.connected.clear()
            await self._close()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self) -> None:
        self._lost.clear()
        connection = await asyncpg.connect(self.url, server_settings={"application_name": "producer-graph-listen"})
        self._connection = connection
        connection.add_termination_listener(lambda _c: self._lost.set())
        for channel in self.channels:
            await connection.add_listener(channel, self._dispatch)
        self.connected.set()
        self._fire_all()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)
