"""Bulk onboarding jobs and their rows: tables, the row-claiming queue, counters and pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Column, Index, LargeBinary, PrimaryKeyConstraint, String, Text, func, or_, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from persistence.base import jsonb, locator_pk, tenant_fk, timestamp
from persistence.producers import ProducerRecord, Scope

JOB_STATES = ("UPLOADED", "VALIDATED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")
ROW_STATES = ("INVALID", "VALID", "PENDING", "PROCESSING", "SUCCEEDED", "FAILED", "SKIPPED")
TERMINAL_JOB_STATES = ("COMPLETED", "FAILED", "CANCELLED")
QUEUED_ROW_STATES = ("PENDING", "PROCESSING", "SUCCEEDED", "FAILED", "SKIPPED")
PROGRESS_CHANNEL = "bulk_progress"
WORK_CHANNEL = "bulk_work"


class BulkJobRecord(SQLModel, table=True):
    __tablename__ = "bulk_jobs"
    __table_args__ = (Index("ix_bulk_jobs_tenant_status", "tenant_id", "status"),)

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    agency_id: str | None = Field(default=None, max_length=26)
    created_by: str = Field(max_length=200)
    principal: dict[str, Any] = jsonb()
    notify_email: str | None = Field(default=None, max_length=320)
    notify_email_source: str | None = Field(default=None, max_length=20)  # UPLOAD | EMAIL_CLAIM | SUBJECT
    status: str = Field(default="UPLOADED", max_length=20)
    file_name: str = Field(default="", max_length=300)
    file_format: str = Field(default="csv", max_length=10)
    total_rows: int = 0
    valid_rows: int = 0
    invalid_rows: int = 0
    queued_rows: int = 0
    processed_rows: int = 0
    succeeded_rows: int = 0
    failed_rows: int = 0
    rate_base: int = Field(default=0, description="Rows already processed when the current run started.")
    payment: dict[str, Any] | None = jsonb(default=None)
    started_at: datetime | None = timestamp(nullable=True)
    finished_at: datetime | None = timestamp(nullable=True)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class BulkRowRecord(SQLModel, table=True):
    __tablename__ = "bulk_rows"
    __table_args__ = (
        PrimaryKeyConstraint("job_id", "row_number"),
        Index("ix_bulk_rows_job_status", "job_id", "status"),
        Index("ix_bulk_rows_claimable", "status", "job_id", "row_number",
              postgresql_where=text("status IN ('PENDING', 'PROCESSING')")),
        # claims walk the job's pending rows in order (migration 0007)
        Index("ix_bulk_rows_pending_in_order", "job_id", "row_number",
              postgresql_where=text("status IN ('PENDING', 'PROCESSING')")),
    )

    job_id: str = Field(foreign_key="bulk_jobs.id", max_length=26)
    row_number: int
    status: str = Field(max_length=20)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    npn: str | None = Field(default=None, max_length=10)
    email: str | None = Field(default=None, max_length=320)
    ssn_ciphertext: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    ssn_hash: str | None = Field(default=None, max_length=64)
    ssn_last4: str | None = Field(default=None, max_length=4)
    gender: str | None = Field(default=None, max_length=20)
    problems: list[dict[str, Any]] = jsonb(default=list)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error_code: str | None = Field(default=None, max_length=100)
    lease_owner: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    lease_expires_at: datetime | None = timestamp(nullable=True)
    attempts: int = 0
    producer_id: str | None = Field(default=None, max_length=26)
    updated_at: datetime = timestamp()


ROW_COLUMNS = ("job_id", "row_number", "status", "first_name", "last_name", "npn", "email", "ssn_ciphertext",
               "ssn_hash", "ssn_last4", "gender", "problems", "updated_at")


# ---- jobs ------------------------------------------------------------------------------------

def jobs_in_scope(scope: Scope) -> Any:
    """Jobs of the scope's tenant whose agency lies in the scope's subtree (all of them for tenant-wide)."""
    stmt = select(BulkJobRecord).where(col(BulkJobRecord.tenant_id) == scope.tenant_id)
    if scope.root is None:
        return stmt
    visible = select(col(ProducerRecord.id)).where(scope.producers_clause())
    return stmt.where(col(BulkJobRecord.agency_id).in_(visible))


async def job_in_scope(session: AsyncSession, scope: Scope, job_id: str, *, lock: bool = False) -> BulkJobRecord | None:
    stmt = jobs_in_scope(scope).where(BulkJobRecord.id == job_id)
    if lock:
        stmt = stmt.with_for_update(of=BulkJobRecord)
    return (await session.execute(stmt)).scalar_one_or_none()


async def jobs_by_ids(session: AsyncSession, scope: Scope, ids: Sequence[str]) -> list[BulkJobRecord]:
    if not ids:
        return []
    stmt = jobs_in_scope(scope).where(col(BulkJobRecord.id).in_(list(set(ids))))
    return list((await session.execute(stmt)).scalars())


async def get_job(session: AsyncSession, job_id: str) -> BulkJobRecord | None:
    return (await session.execute(select(BulkJobRecord).where(col(BulkJobRecord.id) == job_id)
                                  .execution_options(populate_existing=True))).scalar_one_or_none()


_RECOUNT = text("""
UPDATE bulk_jobs j SET
  total_rows = c.total, invalid_rows = c.invalid, valid_rows = c.total - c.invalid, queued_rows = c.queued,
  processed_rows = c.processed, succeeded_rows = c.succeeded, failed_rows = c.failed, updated_at = clock_timestamp()
FROM (
  SELECT count(*) AS total,
         count(*) FILTER (WHERE status = 'INVALID') AS invalid,
         count(*) FILTER (WHERE status IN ('PENDING', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'SKIPPED')) AS queued,
         count(*) FILTER (WHERE status IN ('SUCCEEDED', 'FAILED', 'SKIPPED')) AS processed,
         count(*) FILTER (WHERE status = 'SUCCEEDED') AS succeeded,
         count(*) FILTER (WHERE status = 'FAILED') AS failed
  FROM bulk_rows WHERE job_id = :job_id
) c
WHERE j.id = :job_id
""")


async def recount(session: AsyncSession, job_id: str) -> None:
    """Refresh the job's counters from its rows. Locks the job first, so the counts never go backwards."""
    await session.execute(text("SELECT 1 FROM bulk_jobs WHERE id = :job_id FOR UPDATE"), {"job_id": job_id})
    await session.execute(_RECOUNT, {"job_id": job_id})


async def notify(session: AsyncSession, channel: str, payload: str) -> None:
    """Queue a NOTIFY, delivered when the transaction commits."""
    await session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})


async def complete_if_done(session: AsyncSession, job_ids: Sequence[str] | None = None) -> list[str]:
    """Mark RUNNING jobs with no pending or processing row COMPLETED; only the caller that flips one gets its id."""
    where = "AND j.id = ANY(:ids)" if job_ids is not None else ""
    stmt = text(f"""
        UPDATE bulk_jobs j SET status = 'COMPLETED', finished_at = now(), updated_at = now()
        WHERE j.status = 'RUNNING' {where}
          AND NOT EXISTS (SELECT 1 FROM bulk_rows r WHERE r.job_id = j.id AND r.status IN ('PENDING', 'PROCESSING'))
        RETURNING j.id""")
    params = {"ids": list(job_ids)} if job_ids is not None else {}
    return [row[0] for row in await session.execute(stmt, params)]


# ---- rows ------------------------------------------------------------------------------------

async def copy_rows(session: AsyncSession, records: Sequence[tuple[Any, ...]]) -> None:
    """Insert many rows at once with COPY, on the session's connection and transaction."""
    if not records:
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table("bulk_rows", records=list(records), columns=list(ROW_COLUMNS))


async def copy_values(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows of a table model's table (dicts by attribute name; a missing key is NULL) with one COPY in
    the session's transaction; a unique violation fails the whole COPY, as a multi-row INSERT would."""
    if not rows:
        return
    table: Any = model.__table__
    columns = list(table.columns)
    json_keys = [c.key for c in columns if isinstance(c.type, JSONB)]
    # a missing NOT NULL text column with a literal server default (a search text) gets that default
    missing = {c.key: c.server_default.arg if c.server_default is not None and isinstance(c.type, Text)
               and not c.nullable and isinstance(getattr(c.server_default, "arg", None), str) else None
               for c in columns}
    records = []
    for row in rows:
        values = dict(missing)
        values.update(row)
        for key in json_keys:
            if values[key] is not None:
                values[key] = orjson.dumps(values[key]).decode()  # the driver's jsonb codec takes text
        records.append(tuple(values.values()))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(table.name, records=records, columns=[c.name for c in columns])


async def delete_rows(session: AsyncSession, job_id: str) -> None:
    await session.execute(text("DELETE FROM bulk_rows WHERE job_id = :job_id"), {"job_id": job_id})


async def flag_already_in_agency(session: AsyncSession, job_id: str, tenant_id: str, agency_id: str | None,
                                 row_numbers: Sequence[int] | None = None) -> None:
    """One statement: rows whose NPN or SSN belongs to a live producer of the agency's subtree become INVALID."""
    subtree = "" if agency_id is None else "AND (p.id = :agency OR p.ancestry @> ARRAY[CAST(:agency AS text)])"
    if row_numbers is not None:
        subtree += " AND r.row_number = ANY(:numbers)"
    stmt = text(f"""
        UPDATE bulk_rows r SET status = 'INVALID', updated_at = now(),
          problems = r.problems || jsonb_build_array(jsonb_build_object(
            'code', 'ALREADY_IN_AGENCY',
            'field', CASE WHEN p.npn = r.npn THEN 'npn' ELSE 'ssn' END,
            'message', CASE WHEN p.npn = r.npn THEN 'NPN ' || r.npn || ' already belongs to a producer in the agency.'
                            ELSE 'A producer with this SSN is already in the agency.' END))
        FROM producers p
        WHERE r.job_id = :job_id AND p.tenant_id = :tenant {subtree}
          AND p.state NOT IN ('retired', 'discarded')
          AND ((r.npn IS NOT NULL AND p.npn = r.npn) OR (r.ssn_hash IS NOT NULL AND p.ssn_hash = r.ssn_hash))""")
    params: dict[str, Any] = {"job_id": job_id, "tenant": tenant_id}
    if agency_id is not None:
        params["agency"] = agency_id
    if row_numbers is not None:
        params["numbers"] = list(row_numbers)
    await session.execute(stmt, params)


async def same_values(session: AsyncSession, job_id: str, row_number: int, *, npn: str | None, email: str | None,
                      ssn_hash: str | None) -> list[BulkRowRecord]:
    """Other rows of the job sharing this NPN, email or SSN hash (for duplicates after a correction)."""
    clauses = [col(column) == value for column, value in ((BulkRowRecord.npn, npn), (BulkRowRecord.email, email),
                                                          (BulkRowRecord.ssn_hash, ssn_hash)) if value]
    if not clauses:
        return []
    stmt = (select(BulkRowRecord)
            .where(col(BulkRowRecord.job_id) == job_id, col(BulkRowRecord.row_number) != row_number, or_(*clauses))
            .order_by(col(BulkRowRecord.row_number)))
    return list((await session.execute(stmt)).scalars())


@dataclass
class RowPage:
    rows: list[BulkRowRecord]
    has_next: bool
    has_previous: bool


def _rows_stmt(job_id: str, statuses: Sequence[str] | None, row_numbers: Sequence[int] | None) -> Any:
    stmt = select(BulkRowRecord).where(col(BulkRowRecord.job_id) == job_id)
    if statuses:
        stmt = stmt.where(col(BulkRowRecord.status).in_(list(statuses)))
    if row_numbers:
        stmt = stmt.where(col(BulkRowRecord.row_number).in_(list(row_numbers)))
    return stmt


async def rows_page(session: AsyncSession, job_id: str, *, statuses: Sequence[str] | None,
                    row_numbers: Sequence[int] | None, first: int, after: int | None) -> RowPage:
    """A keyset page of a job's rows in row-number order."""
    stmt = _rows_stmt(job_id, statuses, row_numbers)
    if after is not None:
        stmt = stmt.where(BulkRowRecord.row_number > after)
    found = list((await session.execute(stmt.order_by(BulkRowRecord.row_number).limit(first + 1))).scalars())
    return RowPage(found[:first], len(found) > first, after is not None)


async def count_rows(session: AsyncSession, job_id: str, statuses: Sequence[str] | None,
                     row_numbers: Sequence[int] | None) -> int:
    stmt = _rows_stmt(job_id, statuses, row_numbers).with_only_columns(func.count())
    return int((await session.execute(stmt)).scalar_one())


async def rows_for_update(session: AsyncSession, job_id: str, row_numbers: Sequence[int]) -> list[BulkRowRecord]:
    stmt = (_rows_stmt(job_id, None, row_numbers).order_by(BulkRowRecord.row_number).with_for_update()
            .execution_options(populate_existing=True))
    return list((await session.execute(stmt)).scalars())


async def rows_with_status(session: AsyncSession, job_id: str, statuses: Sequence[str]) -> list[BulkRowRecord]:
    stmt = _rows_stmt(job_id, statuses, None).order_by(BulkRowRecord.row_number)
    return list((await session.execute(stmt)).scalars())


async def set_status(session: AsyncSession, job_id: str, from_statuses: Sequence[str], to_status: str,
                     row_numbers: Sequence[int] | None = None) -> int:
    only = "AND row_number = ANY(:numbers)" if row_numbers is not None else ""
    stmt = text(f"""UPDATE bulk_rows SET status = :to, lease_owner = NULL, lease_expires_at = NULL,
                    updated_at = now() WHERE job_id = :job_id AND status = ANY(:from) {only}""")
    params: dict[str, Any] = {"to": to_status, "job_id": job_id, "from": list(from_statuses)}
    if row_numbers is not None:
        params["numbers"] = list(row_numbers)
    result: Any = await session.execute(stmt, params)
    return int(result.rowcount or 0)


# ---- the queue -------------------------------------------------------------------------------

_CLAIM = text("""
WITH claimable AS (
  SELECT r.job_id, r.row_number FROM bulk_rows r JOIN bulk_jobs j ON j.id = r.job_id
  WHERE j.status = 'RUNNING' AND r.status IN ('PENDING', 'PROCESSING')  -- ix_bulk_rows_pending_in_order
    AND (r.status = 'PENDING' OR r.lease_expires_at < now())
  ORDER BY r.job_id, r.row_number
  LIMIT :limit
  FOR UPDATE OF r SKIP LOCKED
)
UPDATE bulk_rows b SET status = 'PROCESSING', lease_owner = :owner,
  lease_expires_at = now() + make_interval(secs => :lease), attempts = b.attempts + 1, updated_at = now()
FROM claimable c WHERE b.job_id = c.job_id AND b.row_number = c.row_number
RETURNING b.job_id, b.row_number
""")


async def claim_rows(session: AsyncSession, owner: str, limit: int, lease_seconds: float) -> list[tuple[str, int]]:
    """Lease up to `limit` pending rows (or rows whose lease expired) of running jobs to `owner`."""
    result = await session.execute(_CLAIM, {"owner": owner, "limit": limit, "lease": lease_seconds})
    return sorted((row[0], row[1]) for row in result)


async def owned_row_for_update(session: AsyncSession, job_id: str, row_number: int, owner: str) -> BulkRowRecord | None:
    """The row, locked, when `owner` still holds its lease; None when it was lost or the row moved on."""
    stmt = (select(BulkRowRecord)
            .where(col(BulkRowRecord.job_id) == job_id, col(BulkRowRecord.row_number) == row_number,
                   col(BulkRowRecord.status) == "PROCESSING", col(BulkRowRecord.lease_owner) == owner)
            .with_for_update().execution_options(populate_existing=True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def owned_rows_for_update(session: AsyncSession, job_id: str, row_numbers: Sequence[int],
                                owner: str) -> list[Any]:
    """`owned_row_for_update` for a batch: the rows `owner` still holds, locked, in row order (one statement),
    as plain rows with the record's attribute names."""
    table: Any = BulkRowRecord.__table__  # type: ignore[attr-defined]
    stmt = (select(*table.columns)
            .where(table.c.job_id == job_id, table.c.row_number.in_(list(row_numbers)),
                   table.c.status == "PROCESSING", table.c.lease_owner == owner)
            .order_by(table.c.row_number).with_for_update())
    return list((await session.execute(stmt)).all())


@dataclass(frozen=True)
class RowResult:
    """The end of one row's processing: SUCCEEDED with its producer, or FAILED with the reason."""

    row_number: int
    producer_id: str | None = None
    error_code: str | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        return "FAILED" if self.error_code else "SUCCEEDED"


_MARK = text("""
UPDATE bulk_rows b SET status = v.status, producer_id = v.producer_id, error = v.error, error_code = v.error_code,
  lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
FROM unnest(CAST(:numbers AS int[]), CAST(:statuses AS text[]), CAST(:producers AS text[]),
            CAST(:errors AS text[]), CAST(:codes AS text[])) AS v(row_number, status, producer_id, error, error_code)
WHERE b.job_id = :job_id AND b.row_number = v.row_number
""")


async def mark_rows(session: AsyncSession, job_id: str, results: Sequence[RowResult]) -> None:
    """Record the outcome of many rows in one statement (the rows were locked by `owned_rows_for_update`)."""
    if not results:
        return
    await session.execute(_MARK, {
        "job_id": job_id, "numbers": [r.row_number for r in results], "statuses": [r.status for r in results],
        "producers": [r.producer_id for r in results], "errors": [r.error for r in results],
        "codes": [r.error_code for r in results]})


async def extend_leases(session: AsyncSession, owner: str, lease_seconds: float) -> None:
    await session.execute(text("""UPDATE bulk_rows SET lease_expires_at = now() + make_interval(secs => :lease)
                                  WHERE lease_owner = :owner AND status = 'PROCESSING'"""),
                          {"owner": owner, "lease": lease_seconds})


async def release_leases(session: AsyncSession, owner: str) -> list[str]:
    """Hand this owner's processing rows back to the queue; the jobs touched."""
    result = await session.execute(text("""UPDATE bulk_rows SET status = 'PENDING', lease_owner = NULL,
                                           lease_expires_at = NULL, updated_at = now()
                                           WHERE lease_owner = :owner AND status = 'PROCESSING'
                                           RETURNING job_id"""), {"owner": owner})
    return sorted({row[0] for row in result})


async def release_rows(session: AsyncSession, owner: str, job_id: str, row_numbers: Sequence[int]) -> int:
    """Hand these rows back to the queue untouched when `owner` still holds them; how many went back."""
    result = await session.execute(text("""UPDATE bulk_rows SET status = 'PENDING', lease_owner = NULL,
                                           lease_expires_at = NULL, updated_at = now()
                                           WHERE job_id = :job_id AND row_number = ANY(:numbers)
                                             AND lease_owner = :owner AND status = 'PROCESSING'"""),
                                   {"owner": owner, "job_id": job_id, "numbers": list(row_numbers)})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
