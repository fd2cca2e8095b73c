"""The webhook delivery worker, one per server process.

It leases due deliveries of the outbox (`FOR UPDATE SKIP LOCKED`, so processes share the work) in a short
transaction, sends each one signed (Standard Webhooks) with httpx outside any transaction, and records the
attempt: delivered on a 2xx, otherwise due again after an exponential backoff with jitter, given up after
WEBHOOK_MAX_ATTEMPTS; an endpoint failing WEBHOOK_DISABLE_AFTER_FAILURES times in a row is disabled. A process
killed mid-delivery leaves its leases to expire: the delivery goes again, with the same webhook-id (at least once).
It has its own small engine and never holds a connection while waiting on a receiver, so requests never wait on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import webhooks
from app.rules import webhooks as rules
from app.runtime import metrics
from app.settings import Settings
from persistence import webhooks as store
from persistence.db import transaction
from persistence.notify import NotifyHub
from persistence.webhooks import OUTBOX_CHANNEL, Claimed, Outcome

log = logging.getLogger("producer_graph.webhooks")

MAX_ERROR = 300
PURGE_EVERY_SECONDS = 600.0


class WebhookWorker:
    """Delivers the outbox until stopped."""

    POOL_SIZE = 3  # the claim and the recording of outcomes, each a short transaction

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], hub: NotifyHub | None,
                 ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.hub = hub
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # long enough for one send and its recording; a dead process's deliveries are due again after it
        self.lease_seconds = settings.webhook_timeout_seconds * 2 + 5
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._last_purge = 0.0

    async def start(self) -> None:
        timeout = httpx.Timeout(self.settings.webhook_timeout_seconds)
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False,
                                         limits=httpx.Limits(max_connections=self.settings.webhook_concurrency * 2))
        self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        """Stop claiming; deliveries in flight get a moment, then their leases simply expire."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, self.settings.webhook_timeout_seconds + 1)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        wake = self.hub.subscribe(OUTBOX_CHANNEL) if self.hub is not None else contextlib.nullcontext()
        with wake as signal:
            while not self._stopping.is_set():
                try:
                    sent = await self.run_once()
                    if not sent and time.monotonic() - self._last_purge >= PURGE_EVERY_SECONDS:
                        await self.purge()
                except Exception:
                    log.warning("webhook worker iteration failed; retrying", exc_info=True)
                    sent = 0
                if sent:
                    continue
                if signal is not None:
                    await signal.wait(self.settings.webhook_poll_seconds)
                else:
                    await asyncio.sleep(self.settings.webhook_poll_seconds)

    async def purge(self) -> int:
        """Delete deliveries delivered or failed more than WEBHOOK_RETENTION_DAYS ago; the number deleted."""
        self._last_purge = time.monotonic()
        removed = 0
        while True:
            async with transaction(self.sessions) as session:
                batch = await store.purge(session, self.settings.webhook_retention_days * 86400)
            removed += batch
            if batch < 1000 or self._stopping.is_set():
                return removed

    async def run_once(self) -> int:
        """Claim due deliveries, send them concurrently and record each outcome; the deliveries claimed."""
        async with transaction(self.sessions) as session:
            claimed = await store.claim(session, self.owner, self.settings.webhook_concurrency, self.lease_seconds)
        if claimed:
            await asyncio.gather(*(self._deliver(item) for item in claimed))
        return len(claimed)

    async def _deliver(self, item: Claimed) -> None:
        outcome = await self._send(item)
        metrics.webhook_attempted("delivered" if outcome.delivered else
                                  "retry" if outcome.retry_in_seconds is not None else "failed")
        try:
            async with transaction(self.sessions) as session:
                disabled = await store.record(session, self.owner, outcome,
                                              self.settings.webhook_disable_after_failures)
        except Exception:
            log.warning("could not record a webhook attempt; its lease expires and it goes again", exc_info=True,
                        extra={"delivery_id": item.id})
            return
        if disabled is not None:
            log.warning("webhook endpoint disabled after failures in a row",
                        extra={"endpoint_id": disabled, "failures": self.settings.webhook_disable_after_failures})

    async def _send(self, item: Claimed) -> Outcome:
        assert self._client is not None
        attempt = item.attempts + 1
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            refused = await webhooks.refused_address(self.settings, item.url)  # resolved again: DNS may change
            if refused is not None:
                error = refused
            else:
                body = webhooks.message_body(item)
                headers = webhooks.signed_headers(item.secrets, item.message_id, body)
                async with asyncio.timeout(self.settings.webhook_timeout_seconds):  # in all, however it trickles
                    # the status is all we need: the response body is never read (a huge one costs nothing)
                    async with self._client.stream("POST", item.url, content=body.encode(), headers=headers) as reply:
                        status = reply.status_code
                if not 200 <= status < 300:
                    error = f"The receiver answered {status}."
        except TimeoutError:
            error = f"No answer within {self.settings.webhook_timeout_seconds:g} s."
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR] or type(exc).__name__
        except Exception as exc:  # a bad URL stored before a rule changed, ...: the attempt failed, not the worker
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
        elapsed = int((time.monotonic() - started) * 1000)
        delivered = error is None
        retry = None
        if not delivered and attempt < self.settings.webhook_max_attempts:
            retry = rules.retry_delay(attempt, self.settings.webhook_retry_base_seconds,
                                      self.settings.webhook_retry_max_seconds)
        return Outcome(item.id, delivered, status, error, elapsed, retry)
