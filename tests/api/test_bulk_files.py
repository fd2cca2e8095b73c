"""Bulk onboarding uploads: sample files, CSRF protection, file-level errors, tolerant parsing, replacing."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from app import tenants
from app.auth import mint_token
from app.bulk_file import BulkLimits, iter_bulk_rows
from app.tenant_config import default_config_dict
from tests.api.bulk_helpers import HEADER, csv_file, post_upload, upload, xlsx_file
from tests.api.registry_helpers import agency
from tests.conftest import settings_for_test


@pytest.fixture
async def admin(gql: Any, new_tenant: Any) -> str:
    tenant = await new_tenant()
    created = await agency(gql, tenant.admin)
    return str(gql.token(tenant.id, "AGENCY_ADMIN", agency=created["locator"], subject="admin@example.com"))


GOOD = ["Doe", "1234567", "jane.doe@example.com", "123-45-6789", "F"]


async def test_sample_files_are_downloadable_from_the_urls_given(gql, http, new_tenant):
    tenant = await new_tenant()
    urls = (await gql.ok("{ bulkOnboardingSampleFiles { csvUrl xlsxUrl } }",
                         token=tenant.admin))["bulkOnboardingSampleFiles"]
    auth = {"Authorization": f"Bearer {tenant.admin}"}
    as_csv = await http.get(urls["csvUrl"], headers=auth)
    as_xlsx = await http.get(urls["xlsxUrl"], headers=auth)
    assert as_csv.status_code == 200
    assert as_csv.content.decode("utf-8-sig").splitlines()[0] == ",".join(HEADER)
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert [c.value for c in sheet[1]] == HEADER
    assert sheet["B2"].number_format == "@" and sheet["D2"].number_format == "@"


async def test_multipart_upload_without_a_preflight_header_is_refused(http, admin):
    response = await post_upload(http, admin, csv_file([GOOD]), preflight=False)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_PREVENTED"


async def test_a_clean_csv_is_validated_into_a_report(http, admin):
    result = await upload(http, admin, csv_file([GOOD]))
    assert result["userErrors"] == []
    assert (result["job"]["status"], result["job"]["validRows"], result["job"]["fileFormat"]) == ("VALIDATED", 1, "CSV")


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (3 * 1024 * 1024))
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "content", "code"), [
    ("empty.csv", b"", "EMPTY_FILE"),
    ("header.csv", csv_file([]), "NO_DATA_ROWS"),
    ("columns.csv", csv_file([GOOD[:4]], header=HEADER[:4]), "MISSING_COLUMNS"),
    ("picture.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "UNSUPPORTED_FILE_TYPE"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "UNSUPPORTED_FILE_TYPE"),
    ("big.csv", csv_file([GOOD] * 250), "FILE_TOO_LARGE"),
    ("many.csv", csv_file([GOOD] * 6), "TOO_MANY_ROWS"),
    ("bomb.xlsx", _zip_bomb(), "XLSX_TOO_LARGE_UNCOMPRESSED"),
])
async def test_each_malformed_file_gets_its_error(app, http, admin, name, content, code):
    settings = app.state.settings
    saved = (settings.bulk_max_bytes, settings.bulk_max_rows, settings.bulk_max_uncompressed_bytes)
    settings.bulk_max_bytes, settings.bulk_max_rows, settings.bulk_max_uncompressed_bytes = 10_000, 5, 1024 * 1024
    try:
        result = await upload(http, admin, content, filename=name)
    finally:
        settings.bulk_max_bytes, settings.bulk_max_rows, settings.bulk_max_uncompressed_bytes = saved
    assert result["job"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, ["file"])]


async def test_missing_columns_are_named(http, admin):
    result = await upload(http, admin, csv_file([["Doe", "1234567"]], header=["Last Name", "NPN"]))
    message = result["userErrors"][0]["message"]
    assert "Email" in message and "SSN" in message and "Gender" in message


async def test_real_spreadsheet_quirks_are_tolerated(http, admin):
    # given an XLSX with columns shuffled, odd header case and spaces, an extra column, numbers for NPN and SSN,
    # an SSN that lost its leading zero, a blank row, capitals and spaces in the email
    header = ["  email ", "ssn", "GENDER", "Notes", "npn", "last name"]
    rows = [[" Jane.DOE@Example.com ", 12345678, "female", "x", 1234567, " Doe "],
            [None, None, None, None, None, None],
            ["sam@example.com", "234 56 7890", "m", "", 7654321.0, "Roe"]]
    result = await upload(http, admin, xlsx_file(rows, header=header), filename="producers.xlsx")
    job = result["job"]
    assert result["userErrors"] == []
    assert (job["totalRows"], job["validRows"], job["fileFormat"]) == (2, 2, "XLSX")


async def test_duplicates_inside_the_file_are_reported(gql, http, admin):
    second = ["Roe", "1234567", "JANE.doe@example.com", "123-45-6789", "M"]
    job = (await upload(http, admin, csv_file([GOOD, second])))["job"]
    data = await gql.ok("""query($id: ID!) { bulkOnboardingJob(id: $id) { rows(statuses: [INVALID]) {
        nodes { rowNumber problems { field code } } } } }""", {"id": job["id"]}, token=admin)
    nodes = data["bulkOnboardingJob"]["rows"]["nodes"]
    assert [n["rowNumber"] for n in nodes] == [3]
    assert sorted(p["field"] for p in nodes[0]["problems"]) == [["email"], ["npn"], ["ssn"]]
    assert {p["code"] for p in nodes[0]["problems"]} == {"DUPLICATE_IN_FILE"}


async def test_the_file_can_be_replaced_before_the_start(http, admin):
    job = (await upload(http, admin, csv_file([GOOD[:2] + ["bad", "", ""]])))["job"]
    assert job["invalidRows"] == 1
    replaced = await upload(http, admin, xlsx_file([GOOD]), filename="fixed.xlsx", job_id=job["id"])
    assert replaced["userErrors"] == []
    assert (replaced["job"]["id"], replaced["job"]["validRows"], replaced["job"]["invalidRows"]) == (job["id"], 1, 0)
    # a bad replacement keeps the previous file
    refused = await upload(http, admin, b"", job_id=job["id"])
    assert [e["code"] for e in refused["userErrors"]] == ["EMPTY_FILE"]


def test_the_sample_xlsx_parses_as_one_valid_row(tmp_path):
    from app.bulk_file import write_sample_xlsx

    path = tmp_path / "sample.xlsx"
    path.write_bytes(write_sample_xlsx())
    assert len(list(iter_bulk_rows(path, BulkLimits()))) == 1


SAMPLES = "{ bulkOnboardingSampleFiles { csvUrl xlsxUrl } }"


async def test_download_urls_never_come_from_the_requests_host_header(gql, http, new_tenant):
    # given a server without PUBLIC_BASE_URL; when a request forges its Host header
    tenant = await new_tenant()
    response = await http.post("/graphql", json={"query": SAMPLES},
                               headers={"Authorization": f"Bearer {tenant.admin}", "Host": "evil.example"})
    # then the URLs are paths relative to the server, naming no host at all
    urls = response.json()["data"]["bulkOnboardingSampleFiles"]
    assert urls == {"csvUrl": "/bulk-onboarding/sample.csv", "xlsxUrl": "/bulk-onboarding/sample.xlsx"}


async def test_download_urls_are_built_from_the_public_base_url(database_url):
    from app.runtime.server import create_app

    # given a server configured with its public address
    settings = settings_for_test(public_base_url="https://producers.example.com/api/")
    application = create_app(settings, database_url=database_url, migrate=False)
    async with application.router.lifespan_context(application):
        loaded = await tenants.create_tenant(application.state.sessions, "public-url", default_config_dict())
        token = mint_token(settings, tenant_id=loaded.id, roles=["TENANT_ADMIN"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            # when a request arrives with a forged Host header
            response = await client.post("/graphql", json={"query": SAMPLES},
                                         headers={"Authorization": f"Bearer {token}", "Host": "evil.example"})
    # then the URLs are under the configured address
    urls = response.json()["data"]["bulkOnboardingSampleFiles"]
    assert urls["csvUrl"] == "https://producers.example.com/api/bulk-onboarding/sample.csv"
    assert "evil" not in response.text


def test_a_public_base_url_must_be_an_absolute_http_url():
    with pytest.raises(ValueError):
        settings_for_test(public_base_url="producers.example.com")
    with pytest.raises(ValueError):
        settings_for_test(public_base_url="https://producers.example.com/?next=evil")
