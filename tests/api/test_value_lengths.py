"""Text longer than its column allows is refused with VALUE_TOO_LONG naming the field and the limit (read from
the table definitions, so the two cannot drift), never an internal error."""

from __future__ import annotations

from typing import Any

import pytest

from persistence.lengths import column_limits
from persistence.licenses import LicenseRecord
from persistence.producers import ProducerRecord
from tests.api.helpers import create_producer

CREATE = """mutation($input: CreateProducerInput!) { createProducer(input: $input) {
  producer { id } userErrors { code field message } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateProducerInput!) { updateProducer(id: $id, input: $input) {
  producer { id } userErrors { code field message } } }"""
CREATE_LICENSE = """mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
  license { id } userErrors { code field message } } }"""


def too_long(model: Any, column: str) -> str:
    return "x" * (column_limits(model)[column] + 1)


def assert_too_long(errors: list[dict[str, Any]], field: str, limit: int) -> None:
    assert [(e["code"], e["field"]) for e in errors] == [("VALUE_TOO_LONG", ["input", field])], errors
    assert str(limit) in errors[0]["message"] and "xxxxxxxx" not in errors[0]["message"]


def test_the_limits_come_from_the_columns():
    limits = column_limits(ProducerRecord)
    assert limits["last_name"] == 200 and limits["fein"] == 20 and limits["organization_name"] == 300
    assert column_limits(LicenseRecord)["license_number"] == 100


@pytest.mark.parametrize("field,column,type_", [
    ("lastName", "last_name", "Agent"), ("firstName", "first_name", "Agent"), ("middleName", "middle_name", "Agent"),
    ("organizationName", "organization_name", "Agency"), ("fein", "fein", "Agency")])
async def test_creating_a_producer_with_a_value_too_long_is_refused(gql, new_tenant, field, column, type_):
    tenant = await new_tenant()
    values = {"type": type_, **({"lastName": "Rivera"} if type_ == "Agent" else {"organizationName": "Acme"})}
    values[field] = too_long(ProducerRecord, column)
    body = await gql(CREATE, {"input": values}, token=tenant.admin)
    assert not body.get("errors"), body
    assert_too_long(body["data"]["createProducer"]["userErrors"], field, column_limits(ProducerRecord)[column])


async def test_updating_a_producer_with_a_value_too_long_is_refused(gql, new_tenant):
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    body = await gql(UPDATE, {"id": producer["id"], "input": {"lastName": too_long(ProducerRecord, "last_name")}},
                     token=tenant.admin)
    assert not body.get("errors"), body
    assert_too_long(body["data"]["updateProducer"]["userErrors"], "lastName", 200)


@pytest.mark.parametrize("field,column", [("licenseNumber", "license_number"), ("licenseClass", "license_class")])
async def test_creating_a_license_with_a_value_too_long_is_refused(gql, new_tenant, field, column):
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    values = {"type": "StateLicense", "producerId": producer["id"], "licenseNumber": "L-1", "jurisdictions": ["CA"],
              "linesOfAuthority": ["Property"], field: too_long(LicenseRecord, column)}
    body = await gql(CREATE_LICENSE, {"input": values}, token=tenant.admin)
    assert not body.get("errors"), body
    assert_too_long(body["data"]["createLicense"]["userErrors"], field, 100)


async def test_one_over_long_cell_marks_its_row_invalid_not_the_upload(app, gql, http, new_tenant):
    from tests.api.bulk_helpers import all_rows, bulk_setup, csv_file, file_rows, upload

    # given a file whose second row has a last name longer than the row table holds
    s = await bulk_setup(app, gql, new_tenant, count=3)
    rows = file_rows(s.entries)
    rows[1][0] = "L" * 201
    # when it is uploaded
    job = (await upload(http, s.admin, csv_file(rows)))["job"]
    # then the upload succeeds with that row invalid (VALUE_TOO_LONG on lastName) and the others valid
    assert (job["totalRows"], job["validRows"], job["invalidRows"]) == (3, 2, 1)
    invalid = await all_rows(gql, s.admin, job["id"], ["INVALID"])
    assert [(r["rowNumber"], [(p["code"], p["field"]) for p in r["problems"]]) for r in invalid] == [
        (3, [("VALUE_TOO_LONG", ["lastName"])])]
