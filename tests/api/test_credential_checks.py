"""Licenses and appointments refuse what cannot be right: an unknown product, a license number held twice."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import create_producer
from tests.api.test_quotes_underwriting import CREATE_LICENSE

UPDATE_LICENSE = """mutation($id: ID!, $input: UpdateLicenseInput!) { updateLicense(id: $id, input: $input) {
  license { id licenseNumber } userErrors { field code message } } }"""
CREATE_APPOINTMENT = """mutation($input: CreateAppointmentInput!) { createAppointment(input: $input) {
  appointment { id } userErrors { field code message } } }"""
UPDATE_APPOINTMENT = """mutation($id: ID!, $input: UpdateAppointmentInput!) { updateAppointment(id: $id, input: $input) {
  appointment { id } userErrors { field code message } } }"""


def a_license(producer_id: str, **overrides: Any) -> dict[str, Any]:
    return {"input": {"type": "StateLicense", "producerId": producer_id, "licenseNumber": "0A12345",
                      "jurisdictions": ["CA"], "linesOfAuthority": ["Property"], **overrides}}


def an_appointment(producer_id: str, **overrides: Any) -> dict[str, Any]:
    return {"input": {"type": "CarrierAppointment", "producerId": producer_id, "appointmentNumber": "AP-1",
                      "jurisdictions": ["CA"], "data": {"carrierName": "Acme Mutual"}, **overrides}}


def errors(payload: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def test_a_license_naming_an_unknown_product_is_refused_on_create_and_update(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)

    created = (await gql.ok(CREATE_LICENSE, a_license(agent["id"], products=["Yachts"]),
                            token=tenant.admin))["createLicense"]
    good = (await gql.ok(CREATE_LICENSE, a_license(agent["id"], products=["PersonalAuto"]),
                         token=tenant.admin))["createLicense"]
    updated = (await gql.ok(UPDATE_LICENSE, {"id": good["license"]["id"], "input": {"products": ["Yachts"]}},
                            token=tenant.admin))["updateLicense"]

    assert errors(created) == [("UNKNOWN_PRODUCT", ["input", "products"])] and "Yachts" in created["userErrors"][0]["message"]
    assert good["userErrors"] == []
    assert errors(updated) == [("UNKNOWN_PRODUCT", ["input", "products"])]


async def test_an_appointment_naming_an_unknown_product_is_refused_on_create_and_update(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)

    created = (await gql.ok(CREATE_APPOINTMENT, an_appointment(agent["id"], products=["Yachts"]),
                            token=tenant.admin))["createAppointment"]
    good = (await gql.ok(CREATE_APPOINTMENT, an_appointment(agent["id"], products=["CommercialAuto"]),
                         token=tenant.admin))["createAppointment"]
    updated = (await gql.ok(UPDATE_APPOINTMENT, {"id": good["appointment"]["id"], "input": {"products": ["Yachts"]}},
                            token=tenant.admin))["updateAppointment"]

    assert errors(created) == [("UNKNOWN_PRODUCT", ["input", "products"])]
    assert good["userErrors"] == []
    assert errors(updated) == [("UNKNOWN_PRODUCT", ["input", "products"])]


async def test_a_second_license_with_the_same_number_in_the_same_jurisdiction_is_refused(gql, new_tenant):
    # given a producer holding license 0A12345 in CA
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    other = await create_producer(gql, tenant.admin, lastName="Other")
    first = (await gql.ok(CREATE_LICENSE, a_license(agent["id"]), token=tenant.admin))["createLicense"]
    assert first["userErrors"] == []

    # when the same number is added again in CA (any case), in NY, and for another producer
    again = (await gql.ok(CREATE_LICENSE, a_license(agent["id"], licenseNumber="0a12345",
                                                    jurisdictions=["CA", "NV"]), token=tenant.admin))["createLicense"]
    elsewhere = (await gql.ok(CREATE_LICENSE, a_license(agent["id"], jurisdictions=["NY"]),
                              token=tenant.admin))["createLicense"]
    someone_else = (await gql.ok(CREATE_LICENSE, a_license(other["id"]), token=tenant.admin))["createLicense"]

    # then only the same jurisdiction for the same producer is refused, naming the license held
    assert errors(again) == [("LICENSE_NUMBER_TAKEN", ["input", "licenseNumber"])]
    assert "0A12345" in again["userErrors"][0]["message"] and "CA" in again["userErrors"][0]["message"]
    assert elsewhere["userErrors"] == [] and someone_else["userErrors"] == []


async def test_a_license_cannot_be_updated_onto_a_number_the_producer_holds_in_that_jurisdiction(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    await gql.ok(CREATE_LICENSE, a_license(agent["id"]), token=tenant.admin)
    second = (await gql.ok(CREATE_LICENSE, a_license(agent["id"], licenseNumber="0B99999"),
                           token=tenant.admin))["createLicense"]["license"]

    clash = (await gql.ok(UPDATE_LICENSE, {"id": second["id"], "input": {"licenseNumber": "0A12345"}},
                          token=tenant.admin))["updateLicense"]
    unchanged = (await gql.ok(UPDATE_LICENSE, {"id": second["id"], "input": {"licenseNumber": "0B99999"}},
                              token=tenant.admin))["updateLicense"]

    assert errors(clash) == [("LICENSE_NUMBER_TAKEN", ["input", "licenseNumber"])]
    assert unchanged["userErrors"] == []  # keeping its own number is no clash


async def test_a_discarded_license_frees_its_number(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    first = (await gql.ok(CREATE_LICENSE, a_license(agent["id"]), token=tenant.admin))["createLicense"]["license"]
    await gql.ok("mutation($id: ID!) { discardLicense(id: $id) { userErrors { code } } }", {"id": first["id"]},
                 token=tenant.admin)

    again = (await gql.ok(CREATE_LICENSE, a_license(agent["id"]), token=tenant.admin))["createLicense"]

    assert again["userErrors"] == []
