"""Bulk onboarding fields: thin calls into app.bulk; uploads arrive as strawberry `Upload` files."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry import Info
from strawberry.file_uploads import Upload

from app import bulk as service
from app.errors import DomainError, Problem
from app.queries import PageRequest, bounded
from app.runtime.routes_bulk import SAMPLE_CSV_PATH, SAMPLE_XLSX_PATH, failed_rows_path
from resolvers.context import GraphQLContext
from resolvers.ids import locator_of
from resolvers.pagination import ConnectionData, connection, decode_cursor
from resolvers.payloads import Payload, ok, payload
from resolvers.producers import producer_locator

if TYPE_CHECKING:
    from schema.bulk import BulkOnboardingRowInput, BulkOnboardingRowStatus, BulkPaymentInput, BulkReportFormat

Ctx = Info[GraphQLContext, None]
PaymentArg = Annotated["BulkPaymentInput", strawberry.lazy("schema.bulk")]
RowInputArg = Annotated["BulkOnboardingRowInput", strawberry.lazy("schema.bulk")]
RowStatusArg = Annotated["BulkOnboardingRowStatus", strawberry.lazy("schema.bulk")]
FormatArg = Annotated["BulkReportFormat", strawberry.lazy("schema.bulk")]

JobId = Annotated[strawberry.ID, strawberry.argument(description="Global id (or locator) of the bulk onboarding job.")]
First = Annotated[int | None, strawberry.argument(description="Page size counted from the start (or `after`); "
                                                              "capped by the server's maximum page size.")]
After = Annotated[str | None, strawberry.argument(description="Return items after this cursor (an `endCursor` or "
                                                              "`cursor` from an earlier page).")]
FileArg = Annotated[Upload, strawberry.argument(description="The CSV or XLSX file (multipart upload field), one "
                                                            "producer per row under the sample's header row.")]


def job_locator(value: object, field: str = "jobId") -> str:
    return locator_of(value, "BulkOnboardingJob", code=service.JOB_NOT_FOUND, field=field)


def job_loader(info: Ctx) -> Any:
    return info.context.load.named("bulk_job", service.jobs_by_ids)


def _base_url(info: Ctx) -> str:
    """PUBLIC_BASE_URL, or nothing (URLs relative to the server): never the request's Host header."""
    return info.context.svc.settings.public_base_url or ""


# ---- queries -------------------------------------------------------------------------------------

async def bulk_onboarding_job(info: Ctx, id: JobId) -> Any:
    try:
        locator = job_locator(id, "id")
    except DomainError:
        return None
    return await job_loader(info).load(locator)


async def bulk_onboarding_jobs(info: Ctx, first: First = None, after: After = None) -> ConnectionData:
    ctx = info.context.svc
    size = bounded(PageRequest(first=first), ctx.settings.max_page_size).first or 0
    page, total = await service.list_jobs(ctx, size, decode_cursor(after, "after"))
    return connection(page, total)


@dataclass
class SampleFiles:
    csv_url: str
    xlsx_url: str


def bulk_onboarding_sample_files(info: Ctx) -> SampleFiles:
    base = _base_url(info)
    return SampleFiles(base + SAMPLE_CSV_PATH, base + SAMPLE_XLSX_PATH)


# ---- job fields ------------------------------------------------------------------------------------

def progress(root: Any) -> service.Progress:
    return service.progress(root)


def progress_job(root: service.Progress) -> Any:
    """The record the figures were read from. A watched job was visible to the subscriber when it subscribed
    (app.bulk.watch_progress reads it in the caller's scope) and never changes agency; a connection whose
    agency is removed is closed (resolvers/revocation.py)."""
    return root.job


async def rows(root: Any, info: Ctx, first: First = None, after: After = None,
               statuses: Annotated[list[RowStatusArg] | None, strawberry.argument(
                   description="Only rows in one of these statuses; omit for every row.")] = None,
               row_numbers: Annotated[list[int] | None, strawberry.argument(
                   description="Only these spreadsheet row numbers (the header is row 1); omit for every row.")]
               = None) -> ConnectionData:
    ctx = info.context.svc
    size = bounded(PageRequest(first=first), ctx.settings.max_page_size).first or 0
    after_key = decode_cursor(after, "after")
    try:
        after_number = int(after_key) if after_key is not None else None
    except ValueError as exc:
        raise DomainError("INVALID_CURSOR", "`after` is not a cursor this API returned.", "after") from exc
    page, total = await service.list_rows(ctx, root, statuses=[str(s.value) for s in statuses or []] or None,
                                          row_numbers=row_numbers, first=size, after=after_number)
    return connection(page, total, key=lambda row: str(row.row_number))  # type: ignore[arg-type]


def failed_rows_report_url(root: Any, info: Ctx, format: Annotated[FormatArg, strawberry.argument(
        description="The report's file format: CSV, or XLSX with NPN and SSN columns formatted as text.")]) -> str:
    return _base_url(info) + failed_rows_path(root.id, str(format.value))


async def agency(root: Any, info: Ctx) -> Any:
    if root.agency_id is None:
        return None
    return await info.context.load.producer.load(root.agency_id)


async def row_producer(root: Any, info: Ctx) -> Any:
    if root.producer_id is None:
        return None
    return await info.context.load.producer.load(root.producer_id)


def row_problems(root: Any) -> list[Problem]:
    return [Problem(p.get("code", ""), p.get("message", ""), p.get("field")) for p in root.problems or []]


# ---- mutations -------------------------------------------------------------------------------------

@payload
async def upload_bulk_onboarding_file(info: Ctx, file: FileArg, agency_id: Annotated[
                                          strawberry.ID | None, strawberry.argument(
                                              description="Global id (or locator) of the agency every producer "
                                                          "of the file joins; omit for none.")] = None,
                                      notify_email: Annotated[str | None, strawberry.argument(
                                          description="Where to send the completion email; default: your token's "
                                                      "`email` claim, else your subject when it is an address.")]
                                      = None) -> Payload:
    agency = producer_locator(agency_id, "agencyId") if agency_id else None
    return ok(job=await service.create_job(info.context.svc, cast(service.UploadedFile, file), agency,
                                           notify_email))


@payload
async def replace_bulk_onboarding_file(info: Ctx, job_id: JobId, file: FileArg) -> Payload:
    return ok(job=await service.replace_file(info.context.svc, job_locator(job_id),
                                                 cast(service.UploadedFile, file)))


@payload
async def set_bulk_onboarding_payment(info: Ctx, job_id: JobId, input: Annotated[PaymentArg, strawberry.argument(
        description="Who pays for new licenses and renewals, auto-renewal, and the states assigned to every "
                    "producer.")]) -> Payload:
    states = [(s.jurisdiction, list(s.lines_of_authority)) for s in input.states or []]
    job = await service.set_payment(info.context.svc, job_locator(job_id), str(input.new_license_paid_by.value),
                                    str(input.renewal_paid_by.value), input.auto_renewal, states)
    return ok(job=job)


@payload
async def start_bulk_onboarding(info: Ctx, job_id: JobId) -> Payload:
    return ok(job=await service.start(info.context.svc, job_locator(job_id)))


@payload
async def cancel_bulk_onboarding(info: Ctx, job_id: JobId) -> Payload:
    return ok(job=await service.cancel(info.context.svc, job_locator(job_id)))


@payload
async def retry_bulk_onboarding_rows(info: Ctx, job_id: JobId, row_numbers: Annotated[
        list[int], strawberry.argument(description="Spreadsheet row numbers (the header is row 1) of the failed "
                                                   "or corrected rows to onboard again.")]) -> Payload:
    return ok(job=await service.retry_rows(info.context.svc, job_locator(job_id), row_numbers))


@payload
async def update_bulk_onboarding_row(info: Ctx, job_id: JobId, row_number: Annotated[
        int, strawberry.argument(description="Spreadsheet row number of the row to correct (the header is row 1).")],
                                     input: Annotated[RowInputArg, strawberry.argument(
                                         description="The corrected values; omitted fields keep their value.")]) -> Payload:
    changes = service.RowChanges(last_name=input.last_name, npn=input.npn, email=input.email, ssn=input.ssn,
                                 gender=input.gender.name if input.gender else None)
    locator = job_locator(job_id)
    row = await service.update_row(info.context.svc, locator, row_number, changes)
    return ok(row=row, job=await service.get_job(info.context.svc, locator))


# ---- subscription ----------------------------------------------------------------------------------

async def watch_progress(info: Ctx, job_id: strawberry.ID) -> AsyncIterator[service.Progress]:
    hub = info.context.request.app.state.notify
    async for state in service.watch_progress(info.context.svc, hub, job_locator(job_id)):
        info.context.renew_loaders()
        yield state
