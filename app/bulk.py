"""Bulk onboarding jobs: upload and validate a file into a report, set payment, start, cancel, retry, watch.

The rows are onboarded in the background by `app.runtime.bulk_worker`, in whichever server process claims them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import tempfile
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import tenants
from app.auth import Principal, Role
from app.bulk_file import BulkFileError, BulkLimits, iter_bulk_rows, sniff_format, write_rows_report
from app.context import ADMINS, ServiceContext
from app.errors import DomainError, NotFound, Problem
from app.onboarding import checked_states
from app.pii import SsnVault
from app.rules.bulk_rows import DuplicateTracker, RawRow, ValidatedRow, validate_row
from app.rules.identity import normalize_email
from app.settings import Settings
from persistence import bulk as store
from persistence import producers as producer_store
from persistence.base import new_locator, utcnow
from persistence.bulk import PROGRESS_CHANNEL, TERMINAL_JOB_STATES, WORK_CHANNEL, BulkJobRecord, BulkRowRecord
from persistence.db import transaction
from persistence.lengths import column_limits
from persistence.notify import NotifyHub
from persistence.pagination import Page, count, keyset_page

log = logging.getLogger("producer_graph.bulk")

JOB_NOT_FOUND = "BULK_JOB_NOT_FOUND"
ROW_NOT_FOUND = "BULK_ROW_NOT_FOUND"
CHUNK_ROWS = 2000
UPLOAD_CHUNK = 1 << 16
REPORT_COLUMNS = ["Row", "Last Name", "NPN", "Email", "SSN", "Gender", "Status", "Error"]
PAYERS = ("AGENCY", "PRODUCER")
WATCH_REFRESH_SECONDS = 5.0


class UploadedFile(Protocol):
    """What the API layer hands over for an upload: an async reader with the client's file name."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class Progress:
    """Where a job stands, as clients poll or receive it."""

    job_id: str
    status: str
    total: int
    processed: int
    succeeded: int
    failed: int
    rows_per_second: float
    estimated_seconds_left: float | None
    updated_at: datetime
    job: BulkJobRecord = field(compare=False, repr=False)  # the record the figures were read from

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_JOB_STATES


@dataclass
class RowChanges:
    """Corrections to one row; None keeps the current value."""

    last_name: str | None = None
    npn: str | None = None
    email: str | None = None
    ssn: str | None = None
    gender: str | None = None


def limits(settings: Settings) -> BulkLimits:
    return BulkLimits(settings.bulk_max_bytes, settings.bulk_max_rows, settings.bulk_max_uncompressed_bytes,
                      settings.bulk_max_shared_strings_bytes)


def vault(settings: Settings) -> SsnVault:
    return SsnVault.from_setting(settings.ssn_key_or_dev)


# ---- reading -----------------------------------------------------------------------------------

async def get_job(ctx: ServiceContext, job_id: str) -> BulkJobRecord:
    """The job when visible to the caller; otherwise BULK_JOB_NOT_FOUND."""
    async with ctx.sessions() as session:
        job = await store.job_in_scope(session, ctx.scope, job_id)
    if job is None:
        raise NotFound(JOB_NOT_FOUND, "No bulk onboarding job with that id is visible to you.", "jobId")
    return job


async def jobs_by_ids(ctx: ServiceContext, ids: list[str]) -> list[BulkJobRecord | None]:
    async with ctx.sessions() as session:
        found = {job.id: job for job in await store.jobs_by_ids(session, ctx.scope, ids)}
    return [found.get(i) for i in ids]


async def list_jobs(ctx: ServiceContext, first: int, after: str | None) -> tuple[Page, int]:
    stmt = store.jobs_in_scope(ctx.scope)
    async with ctx.sessions() as session:
        page = await keyset_page(session, stmt, BulkJobRecord.id, first=first, after=after, last=None, before=None)
        total = await count(session, stmt)
    return page, total


async def list_rows(ctx: ServiceContext, job: BulkJobRecord, *, statuses: list[str] | None,
                    row_numbers: list[int] | None, first: int, after: int | None) -> tuple[store.RowPage, int]:
    async with ctx.sessions() as session:
        page = await store.rows_page(session, job.id, statuses=statuses, row_numbers=row_numbers, first=first,
                                     after=after)
        total = await store.count_rows(session, job.id, statuses, row_numbers)
    return page, total


def progress(job: BulkJobRecord, now: datetime | None = None) -> Progress:
    """The job's figures with its throughput since the current run started and the time left at that pace."""
    started = job.status not in ("UPLOADED", "VALIDATED")
    total = job.queued_rows if started else job.valid_rows
    rate = 0.0
    left: float | None = None
    if job.started_at is not None and started:
        end = job.finished_at if job.status in TERMINAL_JOB_STATES and job.finished_at else (now or utcnow())
        elapsed = (end - job.started_at).total_seconds()
        done = max(job.processed_rows - job.rate_base, 0)
        if elapsed > 0 and done > 0:
            rate = round(done / elapsed, 2)
    if job.status in TERMINAL_JOB_STATES:
        left = 0.0
    elif job.status == "RUNNING" and rate > 0:
        left = round(max(total - job.processed_rows, 0) / rate, 1)
    return Progress(job.id, job.status, total, job.processed_rows, job.succeeded_rows, job.failed_rows, rate, left,
                    job.updated_at, job)


class _JobFeed:
    """One job's progress for every subscriber of this process: the job is read once per (coalesced)
    notification, or every WATCH_REFRESH_SECONDS, and the state shared; never one read per subscriber."""

    def __init__(self, hub: NotifyHub, sessions: async_sessionmaker[AsyncSession], job_id: str) -> None:
        self.job_id = job_id
        self.sessions = sessions
        self.hub = hub
        self.version = 0
        self.latest: Progress | None = None
        self.subscribers = 0
        self._changed = asyncio.Event()
        self._listening = hub.subscribe(PROGRESS_CHANNEL, job_id)
        self._signal = self._listening.__enter__()  # listen before anyone reads: no change slips in between
        self._task = asyncio.create_task(self._run(), name=f"bulk-progress-{job_id}")

    @property
    def closing(self) -> bool:
        return bool(getattr(self.hub, "closing", False))

    async def _run(self) -> None:
        while not self.closing:
            await self._signal.wait(WATCH_REFRESH_SECONDS)
            if not self.closing:
                try:
                    async with self.sessions() as session:
                        job = await store.get_job(session, self.job_id)
                except Exception:
                    log.warning("could not read bulk job progress", exc_info=True, extra={"job_id": self.job_id})
                    continue
                if job is None:
                    continue
                self.latest = progress(job)
            self.version += 1
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    async def after(self, version: int) -> Progress | None:
        """The first state read after `version`; None when the server is shutting down."""
        while self.version <= version:
            await self._changed.wait()
        return None if self.closing else self.latest

    def close(self) -> None:
        self._task.cancel()
        self._listening.__exit__(None, None, None)


_feeds: weakref.WeakKeyDictionary[NotifyHub, dict[str, _JobFeed]] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def _feed(hub: NotifyHub, sessions: async_sessionmaker[AsyncSession], job_id: str) -> Iterator[_JobFeed]:
    feeds = _feeds.setdefault(hub, {})
    feed = feeds.get(job_id)
    if feed is None:
        feed = feeds[job_id] = _JobFeed(hub, sessions, job_id)
    feed.subscribers += 1
    try:
        yield feed
    finally:
        feed.subscribers -= 1
        if feed.subscribers == 0 and feeds.get(job_id) is feed:
            del feeds[job_id]
            feed.close()


async def watch_progress(ctx: ServiceContext, hub: NotifyHub, job_id: str) -> AsyncIterator[Progress]:
    """The current progress, then a fresh one after each change (bursts coalesced), until the job ends."""
    with _feed(hub, ctx.sessions, job_id) as feed:
        seen = feed.version
        last = progress(await get_job(ctx, job_id))  # scoped: someone else's job is NOT FOUND
        yield last
        while not last.finished:
            current = await feed.after(seen)
            seen = feed.version
            if current is None:
                if feed.closing:
                    return
                continue
            went_back = current.status == last.status and current.processed < last.processed
            if went_back or (current.status, current.processed, current.total) == (
                    last.status, last.processed, last.total):
                continue
            last = current
            yield current


# ---- upload and validation -----------------------------------------------------------------------

@contextlib.asynccontextmanager
async def _spooled(upload: UploadedFile, max_bytes: int) -> AsyncIterator[Path]:
    """The upload copied to a temporary file, refused as soon as it passes `max_bytes`."""
    handle, name = tempfile.mkstemp(prefix="bulk-", suffix=".upload")
    path = Path(name)
    try:
        size = 0
        with os.fdopen(handle, "wb") as out:
            while chunk := await upload.read(UPLOAD_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise BulkFileError("FILE_TOO_LARGE", f"The file is larger than the {max_bytes:,} bytes "
                                                          "allowed; split it into smaller files.")
                out.write(chunk)
        yield path
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


def _problems_json(problems: list[Problem]) -> list[dict[str, Any]]:
    return [{"code": p.code, "message": p.message, "field": p.field} for p in problems]


def _record(job_id: str, row: ValidatedRow, ssn_vault: SsnVault, now: datetime) -> tuple[Any, ...]:
    ciphertext = digest = last4 = None
    if row.ssn:
        ciphertext, digest, last4 = ssn_vault.encrypt(row.ssn), ssn_vault.lookup_hash(row.ssn), row.ssn[-4:]
    return (job_id, row.row_number, "VALID" if row.ok else "INVALID", row.first_name, row.last_name, row.npn,
            row.email, ciphertext, digest, last4, row.gender, orjson.dumps(_problems_json(row.problems)).decode(),
            now)


async def _load_file(ctx: ServiceContext, session: AsyncSession, job: BulkJobRecord, upload: UploadedFile) -> None:
    """Stream the file into validated rows (COPY in chunks), flag producers already in the agency, count."""
    bounds = limits(ctx.settings)
    ssn_vault = vault(ctx.settings)
    async with _spooled(upload, bounds.max_bytes) as path:
        job.file_format = await asyncio.to_thread(sniff_format, path, bounds)
        rows: Iterator[RawRow] = await asyncio.to_thread(iter_bulk_rows, path, bounds)
        tracker = DuplicateTracker()
        row_limits = column_limits(BulkRowRecord)

        def next_chunk() -> list[tuple[Any, ...]]:
            now = utcnow()
            return [_record(job.id, tracker.track(validate_row(raw, row_limits)), ssn_vault, now)
                    for raw in itertools.islice(rows, CHUNK_ROWS)]

        # the next chunk is parsed and validated (in a thread) while PostgreSQL takes the previous one
        upcoming = asyncio.ensure_future(asyncio.to_thread(next_chunk))
        while chunk := await upcoming:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next_chunk))
            try:
                await store.copy_rows(session, chunk)
            except BaseException:
                with contextlib.suppress(BaseException):
                    await upcoming  # never leave the reader thread running on a closed file
                raise
    await store.flag_already_in_agency(session, job.id, job.tenant_id, job.agency_id)
    job.status = "VALIDATED"
    job.updated_at = utcnow()
    await session.flush()
    await store.recount(session, job.id)


async def _agency(ctx: ServiceContext, session: AsyncSession, agency_id: str | None) -> str:
    """The agency the producers join: the given one (visible to the caller) or the caller's own."""
    agency_id = agency_id or ctx.principal.agency
    if agency_id is None:
        raise DomainError("AGENCY_REQUIRED", "Say which agency the producers join (agencyId).", "agencyId")
    if not await producer_store.producers_by_ids(session, ctx.scope, [agency_id]):
        raise NotFound("AGENCY_NOT_FOUND", "No agency producer with that id is visible to you.", "agencyId")
    return agency_id


def _principal_json(principal: Principal) -> dict[str, Any]:
    return {"subject": principal.subject, "tenant": principal.tenant_id, "agency": principal.agency,
            "roles": sorted(r.value for r in principal.roles)}


def _address(value: str | None) -> str | None:
    try:
        return normalize_email(value) if value else None
    except DomainError:
        return None


def recipient(principal: Principal, given: str | None) -> tuple[str | None, str | None]:
    """Who gets the completion email, and from where: the address given at upload (checked), else the
    caller's `email` claim, else the subject when it is an address; (None, None) when there is none."""
    if given is not None and given.strip():
        return normalize_email(given), "UPLOAD"
    for address, source in ((_address(principal.email), "EMAIL_CLAIM"), (_address(principal.subject), "SUBJECT")):
        if address is not None:
            return address, source
    return None, None


def principal_of(job: BulkJobRecord) -> Principal:
    """The admin who created the job: the worker acts on their behalf."""
    data = job.principal
    return Principal(data["subject"], data["tenant"], frozenset(Role(r) for r in data["roles"]), data.get("agency"))


async def create_job(ctx: ServiceContext, upload: UploadedFile, agency_id: str | None = None,
                     notify_email: str | None = None) -> BulkJobRecord:
    """Upload a file: a new job whose rows are validated into the report (file-level errors refuse it whole)."""
    ctx.require(*ADMINS)
    address, source = recipient(ctx.principal, notify_email)
    async with transaction(ctx.sessions) as session:
        subject = ctx.principal.subject
        job = BulkJobRecord(id=new_locator(), tenant_id=ctx.tenant_id, created_by=subject,
                            agency_id=await _agency(ctx, session, agency_id),
                            principal=_principal_json(ctx.principal), file_name=(upload.filename or "")[:300],
                            notify_email=address, notify_email_source=source)
        session.add(job)
        await session.flush()
        await _load_file(ctx, session, job, upload)
    return await get_job(ctx, job.id)


async def _locked_job(ctx: ServiceContext, session: AsyncSession, job_id: str) -> BulkJobRecord:
    job = await store.job_in_scope(session, ctx.scope, job_id, lock=True)
    if job is None:
        raise NotFound(JOB_NOT_FOUND, "No bulk onboarding job with that id is visible to you.", "jobId")
    return job


def _not_started(job: BulkJobRecord, action: str) -> None:
    if job.status not in ("UPLOADED", "VALIDATED"):
        raise DomainError("JOB_ALREADY_STARTED", f"The job is {job.status}; {action} is only possible before "
                                                 "onboarding starts.", "jobId")


async def replace_file(ctx: ServiceContext, job_id: str, upload: UploadedFile) -> BulkJobRecord:
    """Replace the job's file before it starts; the old rows go, the new file is validated."""
    ctx.require(*ADMINS)
    async with transaction(ctx.sessions) as session:
        job = await _locked_job(ctx, session, job_id)
        _not_started(job, "replacing the file")
        await store.delete_rows(session, job.id)
        job.file_name = (upload.filename or "")[:300]
        await _load_file(ctx, session, job, upload)
    return await get_job(ctx, job_id)


# ---- the job's life -------------------------------------------------------------------------------

async def set_payment(ctx: ServiceContext, job_id: str, new_license_paid_by: str, renewal_paid_by: str,
                      auto_renewal: bool, states: list[tuple[str, list[str]]] | None = None) -> BulkJobRecord:
    """The payment setup, and the states with their lines of authority (none: no new state), applied to every
    producer of the job; each onboarded row is finished with them."""
    ctx.require(*ADMINS)
    for name, value in (("newLicensePaidBy", new_license_paid_by), ("renewalPaidBy", renewal_paid_by)):
        if value not in PAYERS:
            raise DomainError("INVALID_PAYMENT", f"{name} must be AGENCY or PRODUCER.", f"input.{name}")
    assigned = checked_states(ctx, states or [], no_new_states=not states)
    async with transaction(ctx.sessions) as session:
        job = await _locked_job(ctx, session, job_id)
        _not_started(job, "changing the payment details")
        job.payment = {"new_license_paid_by": new_license_paid_by, "renewal_paid_by": renewal_paid_by,
                       "auto_renewal": auto_renewal, "states": assigned}
        job.updated_at = utcnow()
    return await get_job(ctx, job_id)


async def _announce(session: AsyncSession, job_id: str, *, work: bool = False) -> None:
    await store.notify(session, PROGRESS_CHANNEL, job_id)
    if work:
        await store.notify(session, WORK_CHANNEL, job_id)


async def start(ctx: ServiceContext, job_id: str) -> BulkJobRecord:
    """Queue every valid row; the background workers onboard them."""
    ctx.require(*ADMINS)
    async with transaction(ctx.sessions) as session:
        job = await _locked_job(ctx, session, job_id)
        _not_started(job, "starting")
        if job.payment is None:
            raise DomainError("PAYMENT_REQUIRED", "Set the payment details (setBulkOnboardingPayment) before "
                                                  "starting.", "jobId")
        if job.valid_rows == 0:
            raise DomainError("NO_VALID_ROWS", "The file has no valid row to onboard; fix the rows or replace "
                                               "the file.", "jobId")
        await store.set_status(session, job.id, ["VALID"], "PENDING")
        job.status, job.started_at, job.finished_at, job.rate_base = "RUNNING", utcnow(), None, 0
        job.updated_at = utcnow()
        await session.flush()
        await store.recount(session, job.id)
        await _announce(session, job.id, work=True)
    return await get_job(ctx, job_id)


async def cancel(ctx: ServiceContext, job_id: str) -> BulkJobRecord:
    """Stop the job: rows not yet onboarded are skipped; rows already onboarded stay."""
    ctx.require(*ADMINS)
    async with transaction(ctx.sessions) as session:
        job = await _locked_job(ctx, session, job_id)
        if job.status in TERMINAL_JOB_STATES:
            raise DomainError("INVALID_JOB_STATE", f"The job is already {job.status}.", "jobId")
        await store.set_status(session, job.id, ["PENDING", "PROCESSING"], "SKIPPED")
        job.status, job.finished_at, job.updated_at = "CANCELLED", utcnow(), utcnow()
        await session.flush()
        await store.recount(session, job.id)
        await _announce(session, job.id)
    return await get_job(ctx, job_id)


async def retry_rows(ctx: ServiceContext, job_id: str, row_numbers: list[int]) -> BulkJobRecord:
    """Queue failed rows (and rows fixed since the job started) again, without a new upload."""
    ctx.require(*ADMINS)
    numbers = sorted(set(row_numbers))
    if not numbers:
        raise DomainError("NO_ROWS", "Name at least one row to retry.", "rowNumbers")
    async with transaction(ctx.sessions) as session:
        job = await _locked_job(ctx, session, job_id)
        if job.status not in ("RUNNING", "COMPLETED", "FAILED"):
            raise DomainError("INVALID_JOB_STATE", f"The job is {job.status}; only a started job's rows can be "
                                                   "retried.", "jobId")
        rows = await store.rows_for_update(session, job.id, numbers)
        found = {row.row_number: row for row in rows}
        missing = [n for n in numbers if n not in found]
        if missing:
            raise NotFound(ROW_NOT_FOUND, f"The job has no row {', '.join(map(str, missing))}.", "rowNumbers")
        refused = [row.row_number for row in rows if row.status not in ("FAILED", "VALID")]
        if refused:
            raise DomainError("ROW_NOT_RETRYABLE", f"Only failed (or fixed) rows can be retried; row"
                                                   f"{'s' if len(refused) > 1 else ''} "
                                                   f"{', '.join(map(str, refused))} cannot.", "rowNumbers")
        for row in rows:
            row.status, row.error, row.error_code, row.updated_at = "PENDING", None, None, utcnow()
            row.lease_owner = row.lease_expires_at = None
        await session.flush()
        await store.recount(session, job.id)
        fresh = await store.get_job(session, job.id)
        assert fresh is not None
        fresh.status, fresh.finished_at, fresh.started_at = "RUNNING", None, utcnow()
        fresh.rate_base, fresh.updated_at = fresh.processed_rows, utcnow()
        await _announce(session, job.id, work=True)
    return await get_job(ctx, job_id)


async def update_row(ctx: ServiceContext, job_id: str, row_number: int, changes: RowChanges) -> BulkRowRecord:
    """Correct a row in place; it is validated again (formats, duplicates in the job, producers in the agency)."""
    ctx.require(*ADMINS)
    ssn_vault = vault(ctx.settings)
    async with transaction(ctx.sessions) as session:
        job = await _locked_job(ctx, session, job_id)
        if job.status == "CANCELLED":
            raise DomainError("INVALID_JOB_STATE", "The job is cancelled; upload the file again.", "jobId")
        rows = await store.rows_for_update(session, job.id, [row_number])
        if not rows:
            raise NotFound(ROW_NOT_FOUND, f"The job has no row {row_number}.", "rowNumber")
        row = rows[0]
        if row.status not in ("INVALID", "VALID", "FAILED"):
            raise DomainError("ROW_NOT_EDITABLE", f"Row {row_number} is {row.status}; only invalid or failed rows "
                                                  "can be corrected.", "rowNumber")
        ssn = changes.ssn
        if ssn is None and row.ssn_ciphertext:
            ssn = ssn_vault.decrypt(row.ssn_ciphertext)
        raw = RawRow(row_number, {
            "last_name": changes.last_name if changes.last_name is not None else row.last_name,
            "npn": changes.npn if changes.npn is not None else row.npn,
            "email": changes.email if changes.email is not None else row.email,
            "ssn": ssn,
            "gender": changes.gender if changes.gender is not None else row.gender,
            "first_name": row.first_name,
        })
        checked = validate_row(raw, column_limits(BulkRowRecord))
        digest = ssn_vault.lookup_hash(checked.ssn) if checked.ssn else None
        checked.problems.extend(await _duplicates_in_job(session, job.id, row_number, checked, digest))
        row.last_name, row.npn, row.email, row.gender = checked.last_name, checked.npn, checked.email, checked.gender
        row.ssn_ciphertext = ssn_vault.encrypt(checked.ssn) if checked.ssn else None
        row.ssn_hash, row.ssn_last4 = digest, checked.ssn[-4:] if checked.ssn else None
        row.problems = _problems_json(checked.problems)
        row.status = "VALID" if checked.ok else "INVALID"
        row.error = row.error_code = None
        row.updated_at = utcnow()
        await session.flush()
        await store.flag_already_in_agency(session, job.id, job.tenant_id, job.agency_id, [row_number])
        await store.recount(session, job.id)
        await _announce(session, job.id)
    async with ctx.sessions() as session:
        fresh = await store.rows_page(session, job_id, statuses=None, row_numbers=[row_number], first=1, after=None)
    return fresh.rows[0]


async def _duplicates_in_job(session: AsyncSession, job_id: str, row_number: int, row: ValidatedRow,
                             ssn_hash: str | None) -> list[Problem]:
    others = await store.same_values(session, job_id, row_number, npn=row.npn, email=row.email, ssn_hash=ssn_hash)
    problems: list[Problem] = []
    for other in others:
        if row.npn and other.npn == row.npn:
            problems.append(Problem("DUPLICATE_IN_FILE", f"NPN {row.npn} also appears in row {other.row_number}.",
                                    "npn"))
        if ssn_hash and other.ssn_hash == ssn_hash:
            problems.append(Problem("DUPLICATE_IN_FILE", f"The same SSN also appears in row {other.row_number}.",
                                    "ssn"))
        if row.email and other.email == row.email:
            problems.append(Problem("DUPLICATE_IN_FILE", f"Email {row.email} also appears in row "
                                                         f"{other.row_number}.", "email"))
    return problems


# ---- reports and notices -----------------------------------------------------------------------------

def _error_text(row: BulkRowRecord) -> str:
    if row.error:
        return row.error
    return "; ".join(str(p.get("message", "")) for p in row.problems or [])


async def failed_rows_report(ctx: ServiceContext, job_id: str, fmt: str) -> bytes:
    """The invalid and failed rows as CSV or XLSX, with an Error column; SSNs masked. Admins only."""
    ctx.require(*ADMINS)
    job = await get_job(ctx, job_id)
    async with ctx.sessions() as session:
        rows = await store.rows_with_status(session, job.id, ["INVALID", "FAILED"])
    report: Iterator[dict[str, object]] = (
        {"Row": row.row_number, "Last Name": row.last_name, "NPN": row.npn, "Email": row.email,
         "SSN": f"***-**-{row.ssn_last4}" if row.ssn_last4 else None, "Gender": row.gender,
         "Status": row.status, "Error": _error_text(row)} for row in rows)
    return await asyncio.to_thread(write_rows_report, report, "xlsx" if fmt == "xlsx" else "csv", REPORT_COLUMNS)


async def context_for(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                      principal: Principal) -> ServiceContext | None:
    """A service context for `principal` outside a GraphQL request (worker, downloads); None without tenant."""
    loaded = await tenants.load_tenant(sessions, principal.tenant_id)
    if loaded is None:
        return None
    return ServiceContext(principal, settings, sessions, loaded.config, loaded.plugins)


def completion_email(job: BulkJobRecord) -> tuple[str, str, str] | None:
    """The email telling the admin who started the job how it went: (to, subject, body); None without address."""
    if not job.notify_email:
        log.info("bulk job finished; no email address for its creator", extra={"job_id": job.id})
        return None
    subject = f"Bulk onboarding {job.status.lower()}: {job.succeeded_rows} of {job.queued_rows} producers onboarded"
    body = (f"Your bulk onboarding job {job.id} ({job.file_name or 'uploaded file'}) is {job.status}.\n\n"
            f"Total rows: {job.total_rows}\n"
            f"Rows queued for onboarding: {job.queued_rows}\n"
            f"Succeeded: {job.succeeded_rows}\n"
            f"Failed: {job.failed_rows}\n"
            f"Invalid (not onboarded): {job.invalid_rows}\n\n"
            "Failed rows can be corrected and retried without uploading the file again; a report of them "
            "can be downloaded from the job.\n")
    return job.notify_email, subject, body
