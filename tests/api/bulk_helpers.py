"""Builders for bulk onboarding tests: registry producers, upload files, multipart uploads, waiting for jobs."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook

from app.pii import SsnVault
from app.registry import RegistryEntry, sample_entries, store_entries
from persistence.db import transaction
from tests.api.registry_helpers import agency

HEADER = ["Last Name", "NPN", "Email", "SSN", "Gender"]
GENDER_LETTER = {"MALE": "M", "FEMALE": "F", "NON_BINARY": "X", None: "F"}

UPLOAD = """
mutation($file: Upload!, $agencyId: ID, $notifyEmail: String) {
  uploadBulkOnboardingFile(file: $file, agencyId: $agencyId, notifyEmail: $notifyEmail) {
    job { id locator status totalRows validRows invalidRows fileFormat notifyEmail notifyEmailSource }
    userErrors { field message code }
  }
}"""

REPLACE = """
mutation($jobId: ID!, $file: Upload!) {
  replaceBulkOnboardingFile(jobId: $jobId, file: $file) {
    job { id status totalRows validRows invalidRows fileFormat }
    userErrors { field message code }
  }
}"""

JOB_FIELDS = """id locator status totalRows validRows invalidRows succeededRows failedRows
  payment { newLicensePaidBy renewalPaidBy autoRenewal }
  progress { jobId status total processed succeeded failed rowsPerSecond estimatedSecondsLeft }"""

SET_PAYMENT = """
mutation($jobId: ID!) {
  setBulkOnboardingPayment(jobId: $jobId, input: {newLicensePaidBy: AGENCY, renewalPaidBy: PRODUCER,
                                                  autoRenewal: true}) {
    job { id payment { newLicensePaidBy renewalPaidBy autoRenewal } }
    userErrors { field message code }
  }
}"""

START = """
mutation($jobId: ID!) {
  startBulkOnboarding(jobId: $jobId) { job { id status } userErrors { field message code } }
}"""

RETRY = """
mutation($jobId: ID!, $rows: [Int!]!) {
  retryBulkOnboardingRows(jobId: $jobId, rowNumbers: $rows) { job { id status } userErrors { field message code } }
}"""

JOB = f"query($id: ID!) {{ bulkOnboardingJob(id: $id) {{ {JOB_FIELDS} }} }}"

ROWS = """
query($id: ID!, $statuses: [BulkOnboardingRowStatus!], $first: Int, $after: String) {
  bulkOnboardingJob(id: $id) {
    rows(statuses: $statuses, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { rowNumber status npn email lastName ssnLastFour gender error errorCode attempts
              problems { field code message } producer { id npn } }
    }
  }
}"""


def registry_entries(count: int, *, seed: int, first_npn: int) -> list[RegistryEntry]:
    """Registry producers without licenses (fast to onboard), with unique NPNs and SSNs."""
    entries = sample_entries(count, seed=seed, first_npn=first_npn)
    for entry in entries:
        entry.licenses = []
    return entries


async def seed_registry(app: Any, tenant_id: str, entries: Sequence[RegistryEntry]) -> None:
    await store_registry(app.state.sessions, app.state.settings, tenant_id, entries)


async def store_registry(sessions: Any, settings: Any, tenant_id: str, entries: Sequence[RegistryEntry]) -> None:
    vault = SsnVault.from_setting(settings.ssn_key_or_dev)
    async with transaction(sessions) as session:
        await store_entries(session, tenant_id, entries, vault)


def file_rows(entries: Iterable[RegistryEntry]) -> list[list[Any]]:
    """One upload row per registry producer: last name, NPN, email, SSN (dashed), gender letter."""
    rows = []
    for e in entries:
        ssn = e.ssn or ""
        rows.append([e.last_name, e.npn, e.email or f"p{e.npn}@example.com",
                     f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}", GENDER_LETTER.get(e.gender, "F")])
    return rows


def csv_file(rows: Iterable[Sequence[Any]], header: Sequence[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_file(rows: Iterable[Sequence[Any]], header: Sequence[str] = HEADER, sheet: str = "Producers") -> bytes:
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(list(header))
    for row in rows:
        worksheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def post_upload(http: Any, token: str, content: bytes, *, filename: str = "producers.csv",
                      agency_id: str | None = None, job_id: str | None = None,
                      preflight: bool = True, notify_email: str | None = None) -> Any:
    """A GraphQL multipart request (upload, or replace when `job_id` is given); the raw HTTP response."""
    if job_id is None:
        operations = {"query": UPLOAD, "variables": {"file": None, "agencyId": agency_id,
                                                     "notifyEmail": notify_email}}
    else:
        operations = {"query": REPLACE, "variables": {"file": None, "jobId": job_id}}
    headers = {"Authorization": f"Bearer {token}"}
    if preflight:
        headers["Apollo-Require-Preflight"] = "true"
    return await http.post("/graphql", headers=headers,
                           data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
                           files={"0": (filename, content, "application/octet-stream")})


async def upload(http: Any, token: str, content: bytes, **kwargs: Any) -> dict[str, Any]:
    """The upload (or replace) payload: job and userErrors."""
    response = await post_upload(http, token, content, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    data = body["data"]
    return data["uploadBulkOnboardingFile"] if "uploadBulkOnboardingFile" in data else \
        data["replaceBulkOnboardingFile"]


async def start_job(gql: Any, token: str, job_id: str) -> None:
    data = await gql.ok(SET_PAYMENT, {"jobId": job_id}, token=token)
    assert data["setBulkOnboardingPayment"]["userErrors"] == []
    data = await gql.ok(START, {"jobId": job_id}, token=token)
    assert data["startBulkOnboarding"]["userErrors"] == [], data


async def wait_for_job(gql: Any, token: str, job_id: str, seconds: float = 60.0) -> dict[str, Any]:
    """Poll the job until it has ended; its fields."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        job = (await gql.ok(JOB, {"id": job_id}, token=token))["bulkOnboardingJob"]
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return job  # type: ignore[no-any-return]
        assert asyncio.get_running_loop().time() < deadline, f"job still {job['status']}: {job['progress']}"
        await asyncio.sleep(0.25)


async def all_rows(gql: Any, token: str, job_id: str, statuses: list[str] | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        data = await gql.ok(ROWS, {"id": job_id, "statuses": statuses, "first": 100, "after": after}, token=token)
        page = data["bulkOnboardingJob"]["rows"]
        rows.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return rows
        after = page["pageInfo"]["endCursor"]


_npns = itertools.count(30_000_000, 100_000)


@dataclass
class Setup:
    tenant_id: str
    admin: str  # agency admin of `agency`
    agency_id: str
    entries: list[Any]
    agency_locator: str


async def bulk_setup(app: Any, gql: Any, new_tenant: Any, count: int = 6) -> Setup:
    tenant = await new_tenant()
    created = await agency(gql, tenant.admin)
    token = gql.token(tenant.id, "AGENCY_ADMIN", agency=created["locator"], subject="admin@example.com")
    entries = registry_entries(count, seed=count, first_npn=next(_npns))
    await seed_registry(app, tenant.id, entries)
    return Setup(tenant.id, token, created["id"], entries, created["locator"])
