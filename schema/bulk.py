"""GraphQL shapes for bulk onboarding: jobs, their rows and progress, with queries, mutations, subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry import relay

from persistence.bulk import BulkJobRecord
from resolvers import bulk as r
from resolvers.ids import global_id
from schema.common import Connection, UserError
from schema.error_codes import ErrorCode
from schema.onboarding import Payer, StateAssignment, StateAssignmentInput
from schema.permissions import ADMINS
from schema.producers import Gender, Producer


@strawberry.enum(description="Where a bulk onboarding job stands.")
class BulkOnboardingJobStatus(Enum):
    UPLOADED = strawberry.enum_value(
        "UPLOADED", description="The file is received; its rows are being read and validated.")
    VALIDATED = strawberry.enum_value(
        "VALIDATED", description="Every row is validated (see rows); set the payment details, then start the job.")
    RUNNING = strawberry.enum_value("RUNNING", description="Valid rows are being onboarded in the background.")
    COMPLETED = strawberry.enum_value(
        "COMPLETED", description="Every row was handled (some may have failed; they can be retried).")
    FAILED = strawberry.enum_value("FAILED", description="The job stopped on an error before every row was handled.")
    CANCELLED = strawberry.enum_value(
        "CANCELLED", description="Cancelled; rows not yet onboarded were skipped (final).")


@strawberry.enum(description="Where one row of a bulk onboarding file stands.")
class BulkOnboardingRowStatus(Enum):
    INVALID = strawberry.enum_value(
        "INVALID", description="The row has validation problems (see problems); it is not onboarded until corrected.")
    VALID = strawberry.enum_value("VALID", description="The row passed validation and waits for the job to start.")
    PENDING = strawberry.enum_value("PENDING", description="Queued for onboarding in the current run.")
    PROCESSING = strawberry.enum_value("PROCESSING", description="Being onboarded right now.")
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="Onboarded: its producer exists (see producer).")
    FAILED = strawberry.enum_value(
        "FAILED", description="Onboarding failed (see error and errorCode); it can be corrected and retried.")
    SKIPPED = strawberry.enum_value("SKIPPED", description="Not onboarded because the job was cancelled.")


@strawberry.enum(description="File format of a downloadable report.")
class BulkReportFormat(Enum):
    CSV = strawberry.enum_value("csv", description="Comma-separated values, UTF-8.")
    XLSX = strawberry.enum_value("xlsx", description="An Excel workbook.")


@strawberry.type(description="Progress of a bulk onboarding job, as polled or streamed.")
class BulkOnboardingProgress:
    status: BulkOnboardingJobStatus = strawberry.field(description="The job's status.")
    total: int = strawberry.field(description="Rows to onboard (valid rows before the start).")
    processed: int = strawberry.field(description="Rows done, successfully or not.")
    succeeded: int = strawberry.field(description="Rows onboarded.")
    failed: int = strawberry.field(description="Rows whose onboarding failed.")
    rows_per_second: float = strawberry.field(description="Throughput of the current run.")
    estimated_seconds_left: float | None = strawberry.field(
        description="Time left at the current pace; null while unknown, 0 once the job has ended.")
    updated_at: datetime = strawberry.field(description="When the job's figures were last refreshed (server time).")

    @strawberry.field(description="Global id of the job.")
    def job_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("BulkOnboardingJob", self.job_id))  # type: ignore[arg-type]

    job: Annotated[BulkOnboardingJob, strawberry.lazy("schema.bulk")] = strawberry.field(
        resolver=r.progress_job, description="The job these figures are of, as read with them (its id, status and "
                                             "counters): a normalised client cache updates the job from each "
                                             "progress event without a refetch.")


@strawberry.type(description="Payment setup applied to every producer of a bulk job.")
class BulkPayment:
    new_license_paid_by: Payer = strawberry.field(description="Who pays for new licenses.")
    renewal_paid_by: Payer = strawberry.field(description="Who pays for renewals.")
    auto_renewal: bool = strawberry.field(description="Whether licenses renew automatically.")


@strawberry.type(description="Where to download the sample upload files (send the bearer token): absolute under "
                             "PUBLIC_BASE_URL, or paths relative to the server when none is configured.")
class BulkOnboardingSampleFiles:
    csv_url: str = strawberry.field(description="The CSV sample (UTF-8 with BOM).")
    xlsx_url: str = strawberry.field(description="The Excel sample, NPN and SSN columns formatted as text.")


@strawberry.type(description="One producer row of a bulk onboarding file, with its validation and outcome.")
class BulkOnboardingRow:
    row_number: int = strawberry.field(description="Spreadsheet row number (the header is row 1).")
    status: BulkOnboardingRowStatus = strawberry.field(description="Validation or onboarding state.")
    last_name: str | None = strawberry.field(description="Last name, normalised; null when invalid.")
    npn: str | None = strawberry.field(description="National Producer Number; null when invalid.")
    email: str | None = strawberry.field(description="Email, lower case; null when invalid.")
    ssn_last4: str | None = strawberry.field(name="ssnLastFour", description="Last four digits of the SSN.")
    gender: Gender | None = strawberry.field(description="Gender, when valid.")
    error: str | None = strawberry.field(description="Why onboarding failed, for FAILED rows.")
    error_code: ErrorCode | None = strawberry.field(description="Machine code of the onboarding failure, for FAILED "
                                                                "rows.")
    attempts: int = strawberry.field(description="How many times the row was claimed for onboarding.")
    problems: list[UserError] = strawberry.field(resolver=r.row_problems,  # type: ignore[assignment]
                                                 description="Validation problems, each with its field and code.")
    producer: Producer | None = strawberry.field(resolver=r.row_producer,
                                                 description="The producer created from this row.")


@strawberry.enum(description="Where the address of a bulk job's completion email came from.")
class NotifyEmailSource(Enum):
    UPLOAD = strawberry.enum_value("UPLOAD", description="Given as notifyEmail when the file was uploaded.")
    EMAIL_CLAIM = strawberry.enum_value("EMAIL_CLAIM", description="The `email` claim of the uploader's token.")
    SUBJECT = strawberry.enum_value("SUBJECT", description="The uploader's token subject, which is an email address.")


@strawberry.type(description="An upload of producers to onboard in bulk: its report, payment and progress.")
class BulkOnboardingJob(relay.Node):
    id: relay.NodeID[str]

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, (cls, BulkJobRecord))

    @classmethod
    def resolve_nodes(cls, *, info: Any, node_ids: Any, required: bool = False) -> Any:
        return r.job_loader(info).load_many(list(node_ids))

    @strawberry.field(description="The job's ULID locator.")
    def locator(self) -> str:
        return self.id

    status: BulkOnboardingJobStatus = strawberry.field(description="Where the job stands.")
    file_name: str = strawberry.field(description="Name of the uploaded file.")
    file_format: BulkReportFormat = strawberry.field(description="Format of the uploaded file.")
    total_rows: int = strawberry.field(description="Producer rows in the file (blank rows skipped).")
    valid_rows: int = strawberry.field(description="Rows without a problem.")
    invalid_rows: int = strawberry.field(description="Rows with at least one problem; they are not onboarded.")
    succeeded_rows: int = strawberry.field(description="Rows onboarded.")
    failed_rows: int = strawberry.field(description="Rows whose onboarding failed.")
    created_by: str = strawberry.field(description="Subject of the admin who uploaded the file.")
    created_at: datetime = strawberry.field(description="When the file was uploaded.")
    updated_at: datetime = strawberry.field(description="When the job last changed.")
    started_at: datetime | None = strawberry.field(description="When the current run started.")
    finished_at: datetime | None = strawberry.field(description="When the job ended.")

    @strawberry.field(description="Payment setup for every producer; null until set.")
    def payment(self) -> BulkPayment | None:
        raw: dict[str, Any] | None = self.payment  # type: ignore[assignment]
        if not raw:
            return None
        return BulkPayment(new_license_paid_by=Payer(raw["new_license_paid_by"]),
                           renewal_paid_by=Payer(raw["renewal_paid_by"]), auto_renewal=bool(raw["auto_renewal"]))

    @strawberry.field(description="The states and lines of authority every producer of the job is assigned when "
                                  "its row is finished; empty: no new state.")
    def states(self) -> list[StateAssignment]:
        raw: dict[str, Any] | None = self.payment  # type: ignore[assignment]
        return [StateAssignment(jurisdiction=a["jurisdiction"], lines_of_authority=list(a["linesOfAuthority"]))
                for a in (raw or {}).get("states") or []]

    notify_email: str | None = strawberry.field(
        description="Where the completion email goes; null: no address is known (none given at upload, no `email` "
                    "claim, a subject that is not an address), so no email is sent.")

    @strawberry.field(description="Where notifyEmail came from; null when there is no address.")
    def notify_email_source(self) -> NotifyEmailSource | None:
        source: str | None = self.notify_email_source  # type: ignore[assignment]
        return NotifyEmailSource(source) if source else None

    progress: BulkOnboardingProgress = strawberry.field(  # type: ignore[assignment]
        resolver=r.progress, description="Progress figures.")
    agency: Producer | None = strawberry.field(resolver=r.agency, description="The agency the producers join.")
    rows: Connection[BulkOnboardingRow] = strawberry.field(  # type: ignore[assignment]
        resolver=r.rows, description="The file's rows in order, optionally only some statuses or row numbers.")
    failed_rows_report_url: str = strawberry.field(
        resolver=r.failed_rows_report_url,
        description="Download URL of the invalid and failed rows with an Error column (send the bearer token): "
                    "absolute under the server's configured PUBLIC_BASE_URL, or a path relative to the server "
                    "when none is configured.")


@strawberry.input(description="Payment setup for every producer of a bulk job.")
class BulkPaymentInput:
    new_license_paid_by: Payer = strawberry.field(description="Who pays for new licenses.")
    renewal_paid_by: Payer = strawberry.field(description="Who pays for renewals.")
    auto_renewal: bool = strawberry.field(description="Whether licenses renew automatically.")
    states: list[StateAssignmentInput] | None = strawberry.field(
        default=None, description="States and territories, each once with its lines of authority, assigned to every "
                                  "producer of the job (license applications where not licensed); omit for none.")


@strawberry.input(description="Corrections to one row; omitted fields keep their value.")
class BulkOnboardingRowInput:
    last_name: str | None = strawberry.field(default=None, description="Last name.")
    npn: str | None = strawberry.field(default=None, description="National Producer Number.")
    email: str | None = strawberry.field(default=None, description="Email address.")
    ssn: str | None = strawberry.field(default=None, description="SSN, 9 digits (dashes allowed).")
    gender: Gender | None = strawberry.field(default=None, description="Gender.")


@strawberry.type(description="Result of a bulk onboarding job mutation.")
class BulkOnboardingJobPayload:
    job: BulkOnboardingJob | None = strawberry.field(description="The job after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="Result of correcting a row of a bulk onboarding job.")
class BulkOnboardingRowPayload:
    row: BulkOnboardingRow | None = strawberry.field(description="The row after revalidation.")
    job: BulkOnboardingJob | None = strawberry.field(description="The job, with refreshed counts.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _f(resolver: Any, description: str) -> Any:
    return strawberry.field(resolver=resolver, description=description, permission_classes=[ADMINS])


@strawberry.type
class BulkQuery:
    bulk_onboarding_job: BulkOnboardingJob | None = _f(
        r.bulk_onboarding_job, "A bulk onboarding job by id; null when not visible.")
    bulk_onboarding_jobs: Connection[BulkOnboardingJob] | None = _f(
        r.bulk_onboarding_jobs, "Bulk onboarding jobs visible to you, oldest first. Null (with a FORBIDDEN error) "
        "when your roles do not allow it.")
    bulk_onboarding_sample_files: BulkOnboardingSampleFiles | None = _f(
        r.bulk_onboarding_sample_files, "Where to download the sample CSV and XLSX files. Null (with a FORBIDDEN "
        "error) when your roles do not allow it.")


@strawberry.type
class BulkMutation:
    upload_bulk_onboarding_file: BulkOnboardingJobPayload = _f(
        r.upload_bulk_onboarding_file,
        "Upload a CSV or XLSX of producers (multipart request; send an Apollo-Require-Preflight header). "
        "Every row is validated into the job's report.")
    replace_bulk_onboarding_file: BulkOnboardingJobPayload = _f(
        r.replace_bulk_onboarding_file, "Replace the job's file before onboarding starts.")
    set_bulk_onboarding_payment: BulkOnboardingJobPayload = _f(
        r.set_bulk_onboarding_payment, "Set the payment details (and the states) applied to every producer of the "
                                       "job.")
    start_bulk_onboarding: BulkOnboardingJobPayload = _f(
        r.start_bulk_onboarding, "Onboard every valid row in the background (payment details required).")
    cancel_bulk_onboarding: BulkOnboardingJobPayload = _f(
        r.cancel_bulk_onboarding, "Cancel the job; rows not yet onboarded are skipped.")
    retry_bulk_onboarding_rows: BulkOnboardingJobPayload = _f(
        r.retry_bulk_onboarding_rows, "Onboard failed (or corrected) rows again, without a new upload.")
    update_bulk_onboarding_row: BulkOnboardingRowPayload = _f(
        r.update_bulk_onboarding_row, "Correct a row in place; it is validated again.")


@strawberry.type
class BulkSubscription:
    @strawberry.subscription(description="Progress of a bulk onboarding job: the current state first, then each "
                                         "change, until the job ends.", permission_classes=[ADMINS])
    async def bulk_onboarding_progress(
        self, info: strawberry.Info,
        job_id: Annotated[strawberry.ID, strawberry.argument(description="The job to watch.")],
    ) -> AsyncGenerator[BulkOnboardingProgress, None]:
        async for state in r.watch_progress(info, job_id):
            yield state  # type: ignore[misc]
