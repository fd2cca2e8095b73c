"""Bulk onboarding jobs: report, start, background onboarding, fix and retry, failed-rows report, cancel."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.api.bulk_helpers import (
    JOB,
    RETRY,
    START,
    all_rows,
    bulk_setup,
    csv_file,
    file_rows,
    start_job,
    upload,
    wait_for_job,
)
from tests.api.registry_helpers import agency


async def test_mixed_file_onboards_good_rows_and_reports_bad_ones_with_row_numbers(app, gql, http, new_tenant):
    # given a file with four good rows, a row with a bad email (row 3) and a row not in the registry (row 6)
    s = await bulk_setup(app, gql, new_tenant, count=5)
    rows = file_rows(s.entries)
    rows[1][2] = "not-an-email"
    rows.append(["Nobody", "99999991", "nobody@example.com", "123-45-6780", "M"])
    job = (await upload(http, s.admin, csv_file(rows)))["job"]
    assert (job["status"], job["totalRows"], job["validRows"], job["invalidRows"]) == ("VALIDATED", 6, 5, 1)
    invalid = await all_rows(gql, s.admin, job["id"], ["INVALID"])
    assert [(r["rowNumber"], [p["code"] for p in r["problems"]]) for r in invalid] == [(3, ["INVALID_EMAIL"])]

    # when the admin sets payment and starts
    await start_job(gql, s.admin, job["id"])
    done = await wait_for_job(gql, s.admin, job["id"])

    # then the good rows are onboarded and the bad ones reported
    assert done["status"] == "COMPLETED"
    assert done["progress"]["processed"] == 5 and done["progress"]["succeeded"] == 4
    assert done["progress"]["failed"] == 1 and done["progress"]["estimatedSecondsLeft"] == 0
    failed = await all_rows(gql, s.admin, job["id"], ["FAILED"])
    assert [(r["rowNumber"], r["errorCode"]) for r in failed] == [(7, "REGISTRY_NOT_FOUND")]
    succeeded = await all_rows(gql, s.admin, job["id"], ["SUCCEEDED"])
    assert sorted(r["npn"] for r in succeeded) == sorted(e.npn for i, e in enumerate(s.entries) if i != 1)
    assert all(r["producer"]["npn"] == r["npn"] for r in succeeded)


async def test_fixed_rows_are_onboarded_when_retried(app, gql, http, new_tenant):
    # given a finished job with one invalid row and one row whose last name does not match the registry
    s = await bulk_setup(app, gql, new_tenant, count=4)
    rows = file_rows(s.entries)
    rows[0][1] = "12ab"
    rows[1][0] = "Wrongname"
    job = (await upload(http, s.admin, csv_file(rows)))["job"]
    await start_job(gql, s.admin, job["id"])
    done = await wait_for_job(gql, s.admin, job["id"])
    assert (done["succeededRows"], done["failedRows"], done["invalidRows"]) == (2, 1, 1)

    # when both rows are corrected and retried
    fix = """mutation($jobId: ID!, $row: Int!, $input: BulkOnboardingRowInput!) {
      updateBulkOnboardingRow(jobId: $jobId, rowNumber: $row, input: $input) {
        row { rowNumber status npn problems { code } } job { invalidRows } userErrors { code } } }"""
    fixed = await gql.ok(fix, {"jobId": job["id"], "row": 2, "input": {"npn": s.entries[0].npn}}, token=s.admin)
    assert fixed["updateBulkOnboardingRow"]["row"]["status"] == "VALID"
    assert fixed["updateBulkOnboardingRow"]["job"]["invalidRows"] == 0
    fixed = await gql.ok(fix, {"jobId": job["id"], "row": 3, "input": {"lastName": s.entries[1].last_name}},
                         token=s.admin)
    assert fixed["updateBulkOnboardingRow"]["userErrors"] == []
    retried = await gql.ok(RETRY, {"jobId": job["id"], "rows": [2, 3]}, token=s.admin)
    assert retried["retryBulkOnboardingRows"]["userErrors"] == []

    # then every row is onboarded, none twice
    done = await wait_for_job(gql, s.admin, job["id"])
    assert (done["status"], done["succeededRows"], done["failedRows"]) == ("COMPLETED", 4, 0)
    producers = await gql.ok("{ producers(first: 50) { nodes { npn } } }", token=s.admin)
    npns = [p["npn"] for p in producers["producers"]["nodes"] if p["npn"]]
    assert sorted(npns) == sorted(e.npn for e in s.entries)


async def test_only_failed_rows_can_be_retried(app, gql, http, new_tenant):
    s = await bulk_setup(app, gql, new_tenant, count=2)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]
    await start_job(gql, s.admin, job["id"])
    await wait_for_job(gql, s.admin, job["id"])
    data = await gql.ok(RETRY, {"jobId": job["id"], "rows": [2]}, token=s.admin)
    assert [e["code"] for e in data["retryBulkOnboardingRows"]["userErrors"]] == ["ROW_NOT_RETRYABLE"]


async def test_start_needs_payment_details(app, gql, http, new_tenant):
    s = await bulk_setup(app, gql, new_tenant, count=1)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]
    data = await gql.ok(START, {"jobId": job["id"]}, token=s.admin)
    assert [e["code"] for e in data["startBulkOnboarding"]["userErrors"]] == ["PAYMENT_REQUIRED"]


async def test_rows_already_in_the_agency_are_reported(app, gql, http, new_tenant):
    # given one producer already onboarded through an earlier job
    s = await bulk_setup(app, gql, new_tenant, count=3)
    first = (await upload(http, s.admin, csv_file(file_rows(s.entries[:1]))))["job"]
    await start_job(gql, s.admin, first["id"])
    await wait_for_job(gql, s.admin, first["id"])
    # when a file with that producer again is uploaded
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]
    # then its row is invalid as already in the agency
    invalid = await all_rows(gql, s.admin, job["id"], ["INVALID"])
    assert [(r["rowNumber"], [p["code"] for p in r["problems"]]) for r in invalid] == [(2, ["ALREADY_IN_AGENCY"])]


async def test_failed_rows_report_has_an_error_column(app, gql, http, new_tenant):
    # given a job with an invalid row and a failed row
    s = await bulk_setup(app, gql, new_tenant, count=2)
    rows = file_rows(s.entries)
    rows[0][4] = "Q"
    rows.append(["Nobody", "99999992", "nobody@example.com", "123-45-6781", "F"])
    job = (await upload(http, s.admin, csv_file(rows)))["job"]
    await start_job(gql, s.admin, job["id"])
    await wait_for_job(gql, s.admin, job["id"])
    url = (await gql.ok('query($id: ID!) { bulkOnboardingJob(id: $id) { csv: failedRowsReportUrl(format: CSV) '
                        'xlsx: failedRowsReportUrl(format: XLSX) } }', {"id": job["id"]},
                        token=s.admin))["bulkOnboardingJob"]
    auth = {"Authorization": f"Bearer {s.admin}"}

    # when both reports are downloaded
    as_csv = await http.get(url["csv"], headers=auth)
    as_xlsx = await http.get(url["xlsx"], headers=auth)

    # then each lists the two rows with their error, SSNs masked
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [(r["Row"], r["Status"]) for r in table] == [("2", "INVALID"), ("4", "FAILED")]
    assert "Gender" in table[0]["Error"] and "registry" in table[1]["Error"]
    assert table[1]["SSN"] == "***-**-6781"
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][-1] == "Error" and len(values) == 3
    # and without a token or from another agency it is refused
    assert (await http.get(url["csv"])).status_code == 401
    other = gql.token(s.tenant_id, "AGENCY_ADMIN", agency="01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert (await http.get(url["csv"], headers={"Authorization": f"Bearer {other}"})).status_code == 404


async def test_another_agency_cannot_see_the_job(app, gql, http, new_tenant):
    s = await bulk_setup(app, gql, new_tenant, count=1)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]
    tenant_admin = gql.token(s.tenant_id, "TENANT_ADMIN")
    other_agency = await agency(gql, tenant_admin, name="Other Agency")
    other = gql.token(s.tenant_id, "AGENCY_ADMIN", agency=other_agency["locator"])
    assert (await gql.ok(JOB, {"id": job["id"]}, token=other))["bulkOnboardingJob"] is None
    data = await gql.ok(START, {"jobId": job["id"]}, token=other)
    assert [e["code"] for e in data["startBulkOnboarding"]["userErrors"]] == ["BULK_JOB_NOT_FOUND"]
    assert (await gql.ok(JOB, {"id": job["id"]}, token=tenant_admin))["bulkOnboardingJob"]["id"] == job["id"]


async def test_cancel_skips_rows_not_yet_onboarded(app, gql, http, new_tenant):
    s = await bulk_setup(app, gql, new_tenant, count=3)
    job = (await upload(http, s.admin, csv_file(file_rows(s.entries))))["job"]
    cancel = "mutation($id: ID!) { cancelBulkOnboarding(jobId: $id) { job { status } userErrors { code } } }"
    data = await gql.ok(cancel, {"id": job["id"]}, token=s.admin)
    assert data["cancelBulkOnboarding"]["job"]["status"] == "CANCELLED"
    data = await gql.ok(START, {"jobId": job["id"]}, token=s.admin)
    assert [e["code"] for e in data["startBulkOnboarding"]["userErrors"]] == ["JOB_ALREADY_STARTED"]
