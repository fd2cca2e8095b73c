"""The daily compliance loop, a sibling of the bulk worker: every few minutes each server process looks for the
tenants' alert sweeps due (from `compliance_alert_sweep_hour` UTC) and the agencies' digests due (from
`compliance_digest_hour` UTC); the leases in PostgreSQL make one of them run each sweep and send each digest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.compliance import send_all_digests, sweep_all_alerts
from app.runtime.mailer import send_mail
from app.settings import Settings
from persistence.base import utcnow

log = logging.getLogger("producer_graph.compliance")


class ComplianceDigests:
    """Runs the tenants' daily alert sweeps and sends the agencies' daily digests that are due, until stopped."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _send(self, to: str, subject: str, body: str) -> bool:
        return await send_mail(self.settings, to, subject, body)

    async def run_once(self, now: datetime | None = None, *, any_hour: bool = False) -> int:
        """Run the alert sweeps, then send the digests, due now (none before their hour, unless `any_hour`); how many
        digests this process sent."""
        now = now or utcnow()
        await self.sweep_once(now, any_hour=any_hour)
        if now.hour < self.settings.compliance_digest_hour and not any_hour:
            return 0
        return await send_all_digests(self.settings, self.sessions, self._send, self.owner, now=now)

    async def sweep_once(self, now: datetime | None = None, *, any_hour: bool = False, force: bool = False) -> int:
        """Run the tenants' alert sweeps of the day not run yet (none before the sweep hour, unless `any_hour`; all
        again with `force`); how many alerts this process raised."""
        now = now or utcnow()
        if now.hour < self.settings.compliance_alert_sweep_hour and not (any_hour or force):
            return 0
        return await sweep_all_alerts(self.settings, self.sessions, self.owner, now=now, force=force)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # a failed round (database away) is retried next round
                log.warning("compliance digest round failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.compliance_digest_interval_seconds)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="compliance-digests")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
