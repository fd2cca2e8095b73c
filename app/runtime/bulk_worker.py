"""The background worker of bulk onboarding, one per server process.

It leases batches of pending rows (`FOR UPDATE SKIP LOCKED`) and onboards ~200 rows in one transaction
together with the rows' new states (so a crash never onboards a row twice; a unique constraint is the
backstop); a batch that fails goes again row by row, each row in its own transaction. It refreshes the
job's counters (throttled while the job runs) and announces progress with NOTIFY. Rows leased by a process that
died come back once their lease expires; a graceful stop hands its leases back at once.

A transient fault (the connection lost, the server starting up or shutting down, a serialization failure or
deadlock, too many connections) is nobody's row's fault: the rows in hand go back to the queue untouched and
the lane backs off (exponential, with jitter, capped) before it claims again. Only a row's own error fails it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import bulk, webhooks
from app.context import ServiceContext
from app.errors import DomainError
from app.onboarding import BatchOutcome, OnboardRequest, PaymentSetup, onboard_batch, onboard_producer
from app.runtime import mailer, metrics
from app.settings import Settings
from persistence import bulk as store
from persistence import onboarding as onboarding_store
from persistence.base import utcnow
from persistence.bulk import PROGRESS_CHANNEL, WORK_CHANNEL, BulkJobRecord, BulkRowRecord
from persistence.db import AuditStamp, audit_context, transaction, transient_fault
from persistence.notify import NotifyHub, Signal

log = logging.getLogger("producer_graph.bulk_worker")


@dataclass
class WorkerTuning:
    batch_size: int = 400  # rows claimed at once
    batch_rows: int = 200  # rows onboarded in one transaction
    batches_in_flight: int = 1  # per lane
    lanes: int = 2  # claim-and-onboard loops per process: one claims and recounts while another onboards
    concurrency: int = 16  # rows in flight when going row by row
    recount_seconds: float = 0.25  # a running job's counters are refreshed at most this often per process
    lease_seconds: float = 6.0
    poll_seconds: float = 0.2
    sweep_seconds: float = 2.0
    stop_grace_seconds: float = 10.0
    backoff_seconds: float = 0.25  # the first wait after a transient fault; doubled per fault in a row
    backoff_max_seconds: float = 8.0


class TransientFault(Exception):
    """The database failed for a moment (not because of a row): the rows in hand were given back."""


def backoff_delay(faults: int, tuning: WorkerTuning, rand: random.Random | None = None) -> float:
    """The wait after `faults` transient faults in a row: exponential, capped, with full jitter in its upper half."""
    ceiling = min(tuning.backoff_max_seconds, tuning.backoff_seconds * 2 ** max(0, faults - 1))
    return ceiling * (0.5 + 0.5 * (rand or random).random())


@dataclass
class _JobRun:
    job: BulkJobRecord
    ctx: ServiceContext | None


class BulkWorker:
    """Claims and onboards bulk rows until stopped; give it its own engine so it never starves requests."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], hub: NotifyHub | None,
                 tuning: WorkerTuning | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.hub = hub
        self.tuning = tuning or WorkerTuning()
        self.vault = bulk.vault(settings)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._last_sweep = 0.0
        self._recounted: dict[str, float] = {}
        self._give_back: dict[str, set[int]] = {}  # rows a transient fault left leased to us; released first

    @staticmethod
    def pool_size(tuning: WorkerTuning | None = None) -> int:
        """Connections the worker holds at most: rows in flight (lanes going row by row at once share them),
        a claim per lane and the lease heartbeat."""
        tuning = tuning or WorkerTuning()
        return max(tuning.concurrency, tuning.lanes * tuning.batches_in_flight) + tuning.lanes + 1

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bulk-worker")
        self._heartbeat = asyncio.create_task(self._keep_leases(), name="bulk-worker-heartbeat")

    async def stop(self) -> None:
        """Finish the row in hand, then give every leased row back to the queue."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, self.tuning.stop_grace_seconds)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        try:
            async with transaction(self.sessions) as session:
                for job_id in await store.release_leases(session, self.owner):
                    await store.notify(session, WORK_CHANNEL, job_id)
        except Exception:
            log.exception("could not hand bulk leases back; they expire on their own")

    # ---- the loop -------------------------------------------------------------------------------

    async def _run(self) -> None:
        wake: contextlib.AbstractContextManager[Signal | None] = (
            self.hub.subscribe(WORK_CHANNEL) if self.hub is not None else contextlib.nullcontext())
        with wake as signal:
            await asyncio.gather(*(self._lane(signal) for _ in range(max(1, self.tuning.lanes))))

    async def _lane(self, signal: Signal | None) -> None:
        """Claim and onboard until stopped; lanes overlap one's claim and recount with another's batches."""
        faults = 0
        while not self._stopping.is_set():
            try:
                await self._release_given_back()
                claimed = await self.run_once()
                faults = 0
                if claimed:
                    continue
                await self._sweep()
            except Exception as exc:
                if not isinstance(exc, TransientFault) and not transient_fault(exc):
                    log.exception("bulk worker iteration failed")
                    await asyncio.sleep(1)
                    continue
                faults += 1
                delay = backoff_delay(faults, self.tuning)
                log.warning("bulk worker: the database failed for a moment; rows in hand given back, backing off",
                            extra={"faults_in_a_row": faults, "retry_in_seconds": round(delay, 2),
                                   "error": type(exc).__name__})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                continue
            if signal is not None:
                await signal.wait(self.tuning.poll_seconds)
            else:
                await asyncio.sleep(self.tuning.poll_seconds)

    async def run_once(self) -> int:
        """Claim rows and onboard them in batches (row by row for a batch that fails); the rows claimed.

        On a transient fault every claimed row not yet finished is given back and TransientFault raised."""
        async with transaction(self.sessions) as session:
            claimed = await store.claim_rows(session, self.owner, self.tuning.batch_size, self.tuning.lease_seconds)
        if not claimed:
            return 0
        by_job: dict[str, list[int]] = {}
        for job_id, number in claimed:
            by_job.setdefault(job_id, []).append(number)
        try:
            await self._onboard_claimed(by_job)
        except Exception as exc:
            if not isinstance(exc, TransientFault) and not transient_fault(exc):
                raise
            for job_id, numbers in by_job.items():
                self._hand_back(job_id, numbers)  # rows already finished are not touched by the release
            if isinstance(exc, TransientFault):
                raise
            raise TransientFault("bulk rows given back") from exc
        return len(claimed)

    async def _onboard_claimed(self, by_job: dict[str, list[int]]) -> None:
        runs = {job_id: await self._job_run(job_id) for job_id in sorted(by_job)}
        size = max(1, self.tuning.batch_rows)
        batches = [(job_id, numbers[i:i + size]) for job_id, numbers in by_job.items()
                   for i in range(0, len(numbers), size)]
        limit = asyncio.Semaphore(max(1, self.tuning.batches_in_flight))
        faults: list[Exception] = []

        async def one(job_id: str, numbers: list[int]) -> None:
            async with limit:
                if faults or self._stopping.is_set():
                    return  # after a fault the batches left are given back by the caller
                try:
                    await self._process_batch(runs[job_id], numbers)
                except Exception as exc:
                    faults.append(exc)

        await asyncio.gather(*(one(job_id, numbers) for job_id, numbers in batches))
        if faults:
            raise faults[0]
        await self._finish_batch(list(runs))

    def _hand_back(self, job_id: str, numbers: Sequence[int]) -> None:
        """Remember rows to give back to the queue untouched; `_release_given_back` releases them."""
        self._give_back.setdefault(job_id, set()).update(numbers)

    async def _release_given_back(self) -> None:
        """Release the rows a transient fault left leased to this process, so that any process can take them."""
        while self._give_back:
            job_id, numbers = self._give_back.popitem()
            try:
                async with transaction(self.sessions) as session:
                    await store.release_rows(session, self.owner, job_id, sorted(numbers))
                    await store.notify(session, WORK_CHANNEL, job_id)
            except BaseException:
                self._give_back.setdefault(job_id, set()).update(numbers)
                raise

    async def _process_batch(self, run: _JobRun, numbers: list[int]) -> None:
        """Onboard the rows and record their outcomes in one transaction; on any error, row by row."""
        job = run.job
        audit_context.set(AuditStamp(request_id=f"bulk:{job.id}", actor=job.created_by))  # this task's changes
        singles: list[int] = []
        results: list[store.RowResult] = []
        try:
            async with transaction(self.sessions) as session:
                rows = await store.owned_rows_for_update(session, job.id, numbers, self.owner)
                if not rows:
                    return  # leases lost (expired and taken) or the job was cancelled
                if run.ctx is None:
                    results = [store.RowResult(row.row_number, error_code="TENANT_NOT_FOUND",
                                               error="The job's tenant no longer exists.") for row in rows]
                else:
                    outcomes = await onboard_batch(run.ctx, session, job.id,
                                                   [(row.row_number, self._request(job, row)) for row in rows])
                    singles = sorted(n for n, outcome in outcomes.items() if outcome.single)
                    results = [_result(n, outcome) for n, outcome in sorted(outcomes.items()) if not outcome.single]
                await store.mark_rows(session, job.id, results)
            for result in results:
                metrics.bulk_row_processed("failed" if result.error_code else "succeeded")
        except Exception as exc:
            if transient_fault(exc):
                raise TransientFault(f"a bulk batch of job {job.id} met a transient fault") from exc
            log.warning("bulk batch failed; onboarding its rows one by one", exc_info=True,
                        extra={"job_id": job.id, "rows": len(numbers)})
            singles = numbers
        if singles:
            limit = asyncio.Semaphore(self.tuning.concurrency)
            fault: list[BaseException] = []

            async def one(number: int) -> None:
                async with limit:
                    if not fault and not self._stopping.is_set():  # after a fault the rest go back untouched
                        try:
                            await self._process_row(run, number)
                        except TransientFault as exc:
                            fault.append(exc)

            await asyncio.gather(*(one(number) for number in singles))
            if fault:
                raise fault[0]

    async def _job_run(self, job_id: str) -> _JobRun:
        async with self.sessions() as session:
            job = await store.get_job(session, job_id)
        assert job is not None
        ctx = await bulk.context_for(self.settings, self.sessions, bulk.principal_of(job))
        return _JobRun(job, ctx)

    def _request(self, job: BulkJobRecord, row: BulkRowRecord) -> OnboardRequest:
        payment = job.payment or {}
        ssn = self.vault.decrypt(row.ssn_ciphertext) if row.ssn_ciphertext else None
        return OnboardRequest(
            email=row.email or "", agency_id=job.agency_id, ssn=ssn, last_name=row.last_name, npn=row.npn,
            gender=row.gender,
            payment=PaymentSetup(payment["new_license_paid_by"], payment["renewal_paid_by"],
                                 bool(payment["auto_renewal"])) if payment else None,
            states=[(s["jurisdiction"], list(s["linesOfAuthority"])) for s in payment.get("states") or []])

    async def _process_row(self, run: _JobRun, row_number: int) -> None:
        """Onboard the row and mark it SUCCEEDED in one transaction; a refusal rolls it back and marks FAILED."""
        job = run.job
        try:
            async with transaction(self.sessions) as session:
                row = await store.owned_row_for_update(session, job.id, row_number, self.owner)
                if row is None:
                    return  # the lease was lost (expired and taken) or the job was cancelled
                if run.ctx is None:
                    raise DomainError("TENANT_NOT_FOUND", "The job's tenant no longer exists.")
                record = await onboard_producer(run.ctx, self._request(job, row), session=session,
                                                bulk_job_id=job.id, bulk_row_number=row_number)
                _succeed(row, record.producer_id)
            metrics.bulk_row_processed("succeeded")
        except DomainError as exc:
            await self._record_refusal(job.id, row_number, exc)
        except Exception as exc:
            if transient_fault(exc):
                raise TransientFault(f"bulk row {row_number} of job {job.id} met a transient fault") from exc
            log.exception("bulk row failed unexpectedly", extra={"job_id": job.id, "row_number": row_number})
            await self._record_refusal(job.id, row_number, None)

    async def _record_refusal(self, job_id: str, row_number: int, error: DomainError | None) -> None:
        """Mark the row FAILED with the reason, unless an earlier attempt did onboard it."""
        try:
            async with transaction(self.sessions) as session:
                row = await store.owned_row_for_update(session, job_id, row_number, self.owner)
                if row is None:
                    return
                done = await onboarding_store.by_bulk_row(session, job_id, row_number)
                if done is not None:
                    _succeed(row, done.producer_id)
                elif error is not None:
                    _fail(row, error.code, error.message)
                else:
                    _fail(row, "INTERNAL_ERROR", "The row could not be onboarded because of an internal error; "
                                                 "retry it.")
            metrics.bulk_row_processed("succeeded" if done is not None else "failed")
        except Exception as exc:
            if transient_fault(exc):
                raise TransientFault(f"bulk row {row_number} of job {job_id} met a transient fault") from exc
            log.exception("could not record a bulk row failure; the lease will expire and the row be retried",
                          extra={"job_id": job_id, "row_number": row_number})

    async def _finish_batch(self, job_ids: Sequence[str]) -> None:
        """Complete the jobs that are done; refresh the counters of those (and, at most every
        `recount_seconds`, of the running ones) and announce; email the ones this call completed."""
        now = time.monotonic()
        async with transaction(self.sessions) as session:
            completed = await store.complete_if_done(session, job_ids)
            for job_id in sorted(job_ids):
                if job_id not in completed and now - self._recounted.get(job_id, 0.0) < self.tuning.recount_seconds:
                    continue
                self._recounted[job_id] = now
                await store.recount(session, job_id)
                await store.notify(session, PROGRESS_CHANNEL, job_id)
                if job_id in completed:
                    await webhooks.bulk_job_completed(session, job_id)  # with the completion: sent iff committed
        for job_id in completed:
            self._recounted.pop(job_id, None)
        await self._announce_completed(completed)

    async def _sweep(self) -> None:
        """Now and then, complete running jobs whose last rows were finished by a process that then died."""
        now = time.monotonic()
        if now - self._last_sweep < self.tuning.sweep_seconds:
            return
        self._last_sweep = now
        async with transaction(self.sessions) as session:
            completed = await store.complete_if_done(session)
            for job_id in completed:
                await store.recount(session, job_id)
                await store.notify(session, PROGRESS_CHANNEL, job_id)
                await webhooks.bulk_job_completed(session, job_id)
        await self._announce_completed(completed)

    async def _announce_completed(self, job_ids: Sequence[str]) -> None:
        for job_id in job_ids:
            async with self.sessions() as session:
                job = await store.get_job(session, job_id)
            if job is not None:
                log.info("bulk job completed", extra={"job_id": job.id, "succeeded": job.succeeded_rows,
                                                      "failed": job.failed_rows})
                email = bulk.completion_email(job)
                if email is not None:
                    await mailer.send_mail(self.settings, *email)

    async def _keep_leases(self) -> None:
        """Extend this process's leases while it lives, so only a dead process's rows expire."""
        while True:
            await asyncio.sleep(self.tuning.lease_seconds / 3)
            try:
                async with transaction(self.sessions) as session:
                    await store.extend_leases(session, self.owner, self.tuning.lease_seconds)
            except Exception:
                log.warning("could not extend bulk leases", exc_info=True)


def _result(row_number: int, outcome: BatchOutcome) -> store.RowResult:
    if outcome.error is not None:
        return store.RowResult(row_number, error_code=outcome.error.code, error=outcome.error.message)
    return store.RowResult(row_number, producer_id=outcome.producer_id)


def _succeed(row: BulkRowRecord, producer_id: str | None) -> None:
    row.status, row.producer_id, row.error, row.error_code = "SUCCEEDED", producer_id, None, None
    row.lease_owner = row.lease_expires_at = None
    row.updated_at = utcnow()


def _fail(row: BulkRowRecord, code: str, message: str) -> None:
    row.status, row.error, row.error_code = "FAILED", message, code
    row.lease_owner = row.lease_expires_at = None
    row.updated_at = utcnow()
