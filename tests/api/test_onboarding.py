"""Single onboarding through the GraphQL API: by SSN, NPN or license, its errors, and agency isolation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.registry_helpers import agency, entry_with, licenses_of, load_registry, onboard, onboarded

SSN_RIVERA = "212-34-5678"
SSN_TWIN = "318-22-4455"


@dataclass
class World:
    tenant: Any
    agency: dict[str, Any]
    admin: str  # AGENCY_ADMIN of `agency`


@pytest.fixture
def world(app, gql, new_tenant, tmp_path):
    async def build() -> World:
        tenant = await new_tenant()
        acme = await agency(gql, tenant.admin)
        registry = [
            entry_with("1001", SSN_RIVERA, "Rivera", ("CA", "0A12345", ["Life", "Accident & Health"]),
                       ("NV", "NV-778", ["Property"]), first_name="Ana"),
            entry_with("1002", "401-55-1234", "O'Neil", ("TX", "TX-1", ["Life"]), first_name="Sean"),
            entry_with("1003", SSN_TWIN, "Lee", ("NY", "NY-9", ["Life"]), first_name="Kim"),
            entry_with("1004", SSN_TWIN, "Lee", ("NJ", "NJ-9", ["Life"]), first_name="Jo"),
        ]
        await load_registry(app, tenant.id, registry, tmp_path)
        admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])
        return World(tenant, acme, admin)

    return build


async def test_onboarding_by_ssn_and_last_name_creates_a_draft_agent_with_registry_details_and_licenses(
        app, gql, world):
    w = await world()

    onboarding = await onboarded(gql, w.admin, ssn=SSN_RIVERA, lastName="rivera", email="Ana.Rivera@Example.com")

    producer = onboarding["producer"]
    assert onboarding["status"] == "IN_PROGRESS" and onboarding["currentStep"] == "DETAILS"
    assert onboarding["identifiedBy"] == "SSN" and onboarding["agency"]["id"] == w.agency["id"]
    assert (producer["npn"], producer["firstName"], producer["lastName"]) == ("1001", "Ana", "Rivera")
    assert producer["email"] == "ana.rivera@example.com" and producer["gender"] == "FEMALE"
    assert producer["ssnLastFour"] == "5678"
    assert (producer["state"], producer["type"], producer["kind"]) == ("DRAFT", "Agent", "INDIVIDUAL")
    assert producer["parent"]["id"] == w.agency["id"]
    licenses = await licenses_of(app, w.tenant.id, producer["locator"])
    assert sorted((lic.jurisdictions[0], lic.license_number, lic.state) for lic in licenses) == [
        ("CA", "0A12345", "validated"), ("NV", "NV-778", "validated")]
    ca = next(lic for lic in licenses if lic.jurisdictions == ["CA"])
    assert ca.lines_of_authority == ["Life", "Accident & Health"] and ca.residency == "resident"


async def test_onboarding_by_npn(gql, world):
    w = await world()

    onboarding = await onboarded(gql, w.admin, npn="1002", email="sean@example.com")

    assert onboarding["identifiedBy"] == "NPN"
    assert onboarding["producer"]["lastName"] == "O'Neil"


async def test_onboarding_by_npn_with_the_ssn_as_a_check(gql, world):
    # given a registry producer with NPN 1001 and a known SSN
    w = await world()

    # when it is onboarded by NPN with that SSN
    onboarding = await onboarded(gql, w.admin, npn="1001", ssn=SSN_RIVERA, email="ana@example.com")

    # then the SSN verified the NPN
    assert onboarding["identifiedBy"] == "NPN_VERIFIED_BY_SSN"
    assert (onboarding["producer"]["npn"], onboarding["producer"]["ssnLastFour"]) == ("1001", "5678")


async def test_onboarding_by_license_number_and_state(gql, world):
    w = await world()

    onboarding = await onboarded(gql, w.admin, licenseNumber="nv-778", state="nv", email="ana@example.com")

    assert onboarding["identifiedBy"] == "LICENSE"
    assert onboarding["producer"]["npn"] == "1001"


@pytest.mark.parametrize(("fields", "code"), [
    ({"npn": "9999"}, "REGISTRY_NOT_FOUND"),
    ({"ssn": "219-99-0001", "lastName": "Rivera"}, "REGISTRY_NOT_FOUND"),
    ({"licenseNumber": "0A12345", "state": "TX"}, "REGISTRY_NOT_FOUND"),
    ({"ssn": SSN_RIVERA, "lastName": "Smith"}, "LAST_NAME_MISMATCH"),
    ({"ssn": SSN_TWIN, "lastName": "Lee"}, "AMBIGUOUS_MATCH"),
    ({"ssn": "666-12-3456", "lastName": "Rivera"}, "INVALID_SSN"),
    ({"ssn": "212-00-5678", "lastName": "Rivera"}, "INVALID_SSN"),
    ({"ssn": "212-34-0000", "lastName": "Rivera"}, "INVALID_SSN"),
    ({"ssn": "21234567", "lastName": "Rivera", "npn": None}, "REGISTRY_NOT_FOUND"),
    ({"npn": "12345678901"}, "INVALID_NPN"),
    ({"npn": "12a4"}, "INVALID_NPN"),
    ({"npn": "1001", "email": "not-an-email"}, "INVALID_EMAIL"),
    ({"npn": "1001", "ssn": "401-55-1234"}, "SSN_MISMATCH"),
    ({"npn": "1001", "ssn": SSN_RIVERA, "lastName": "Smith"}, "LAST_NAME_MISMATCH"),
    ({"npn": "1001", "ssn": SSN_RIVERA, "licenseNumber": "0A12345", "state": "CA"}, "MULTIPLE_IDENTIFICATIONS"),
    ({"npn": "1001", "licenseNumber": "0A12345", "state": "CA"}, "MULTIPLE_IDENTIFICATIONS"),
    ({}, "MISSING_IDENTIFICATION"),
    ({"ssn": SSN_RIVERA}, "MISSING_LAST_NAME"),
    ({"licenseNumber": "0A12345"}, "MISSING_STATE"),
])
async def test_onboarding_refusals_have_typed_codes_and_create_nothing(gql, world, fields, code):
    w = await world()

    result = await onboard(gql, w.admin, **{k: v for k, v in fields.items() if v is not None})

    assert [e["code"] for e in result["userErrors"]] == [code]
    assert result["onboarding"] is None
    assert all(SSN_RIVERA not in e["message"] and "212345678" not in e["message"] for e in result["userErrors"])
    data = await gql.ok("{ producers(filter: {types: [\"Agent\"]}) { totalCount } }", token=w.admin)
    assert data["producers"]["totalCount"] == 0


async def test_an_active_producer_cannot_be_onboarded_twice_into_the_same_agency(gql, world):
    w = await world()
    await onboarded(gql, w.admin, npn="1001", email="ana@example.com")

    again = await onboard(gql, w.admin, ssn=SSN_RIVERA, lastName="Rivera", email="ana@example.com")

    assert [e["code"] for e in again["userErrors"]] == ["ALREADY_ONBOARDED"]


async def test_the_same_producer_may_join_another_agency(gql, world):
    w = await world()
    other = await agency(gql, w.tenant.admin, name="Other Agency")
    await onboarded(gql, w.admin, npn="1001", email="ana@example.com")

    second = await onboarded(gql, w.tenant.admin, npn="1001", email="ana@example.com", agencyId=other["id"])

    assert second["agency"]["id"] == other["id"]


async def test_a_tenant_admin_must_say_which_agency(gql, world):
    w = await world()

    result = await onboard(gql, w.tenant.admin, npn="1001")
    chosen = await onboarded(gql, w.tenant.admin, npn="1001", agencyId=w.agency["id"])

    assert [e["code"] for e in result["userErrors"]] == ["AGENCY_REQUIRED"]
    assert chosen["producer"]["parent"]["id"] == w.agency["id"]


async def test_an_agency_admin_onboards_into_a_sub_agency_of_its_own(gql, world):
    w = await world()
    branch = await agency(gql, w.tenant.admin, name="Acme West", parent=w.agency["id"])

    onboarding = await onboarded(gql, w.admin, npn="1002", agencyId=branch["id"])

    assert onboarding["producer"]["parent"]["id"] == branch["id"]


async def test_an_agency_admin_cannot_onboard_into_or_see_another_agency(gql, world):
    w = await world()
    other = await agency(gql, w.tenant.admin, name="Other Agency")
    theirs = await onboarded(gql, w.tenant.admin, npn="1002", agencyId=other["id"])

    refused = await onboard(gql, w.admin, npn="1001", agencyId=other["id"])
    seen = await gql.ok("query($id: ID!) { onboarding(id: $id) { id } }", {"id": theirs["id"]}, token=w.admin)
    listed = await gql.ok("{ onboardings { totalCount } }", token=w.admin)

    assert [e["code"] for e in refused["userErrors"]] == ["AGENCY_NOT_FOUND"]
    assert seen["onboarding"] is None
    assert listed["onboardings"]["totalCount"] == 0


async def test_producers_and_read_only_callers_cannot_onboard(gql, world):
    w = await world()
    token = gql.token(w.tenant.id, "READ_ONLY")

    body = await gql("mutation { onboardProducer(input: {npn: \"1001\", email: \"a@example.com\"}) { "
                     "userErrors { code } } }", token=token)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
