"""Licenses, appointments and producer qualification through the API, plus tenancy of every new operation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.helpers import create_producer, validated_producer
from tests.api.test_quotes_underwriting import CREATE_LICENSE, VALIDATE_LICENSE, chain, license_for, quote

QUALIFICATION = """query($id: ID!, $product: String!, $at: DateTime, $code: String) { producer(id: $id) {
  qualification(product: $product, jurisdiction: "CA", at: $at, producerCode: $code) {
    qualified requirement reasons { code credential } }
  licenses { totalCount nodes { licenseNumber state } } } }"""
CREATE_APPOINTMENT = """mutation($input: CreateAppointmentInput!) { createAppointment(input: $input) {
  appointment { id state licenses { id } } userErrors { code field } } }"""
EXPIRING = """query($days: Int!) { licenses(expiringWithin: $days) { totalCount nodes { licenseNumber } } }"""


def create(producer_id: str, **overrides: Any) -> dict[str, Any]:
    return {"input": {"type": "StateLicense", "producerId": producer_id, "licenseNumber": "L-9",
                      "jurisdictions": ["CA"], "linesOfAuthority": ["Property"], **overrides}}


async def test_license_lifecycle_draft_validated_discarded(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    lid = await license_for(gql, tenant.admin, agent["id"])
    discarded = await gql.ok("""mutation($id: ID!) { discardLicense(id: $id) { license { state } userErrors { code } } }""",
                             {"id": lid}, token=tenant.admin)
    assert discarded["discardLicense"]["license"]["state"] == "DISCARDED"
    again = await gql.ok(VALIDATE_LICENSE, {"id": lid}, token=tenant.admin)
    assert [e["code"] for e in again["validateLicense"]["userErrors"]] == ["INVALID_TRANSITION"]


async def test_unknown_jurisdiction_and_line_of_authority_are_refused(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    bad_state = await gql.ok(CREATE_LICENSE, create(agent["id"], jurisdictions=["ZZ"]), token=tenant.admin)
    assert [e["code"] for e in bad_state["createLicense"]["userErrors"]] == ["UNKNOWN_JURISDICTION"]
    bad_loa = await gql.ok(CREATE_LICENSE, create(agent["id"], linesOfAuthority=["Astrology"]), token=tenant.admin)
    assert [e["code"] for e in bad_loa["createLicense"]["userErrors"]] == ["UNKNOWN_LINE_OF_AUTHORITY"]


async def test_abstract_license_type_cannot_be_created(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    data = await gql.ok(CREATE_LICENSE, create(agent["id"], type="License"), token=tenant.admin)
    assert [e["code"] for e in data["createLicense"]["userErrors"]] == ["ABSTRACT_TYPE"]


async def test_update_and_replace_license(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    lid = await license_for(gql, tenant.admin, agent["id"])
    updated = await gql.ok("""mutation($id: ID!) { updateLicense(id: $id, input: {licenseNumber: "L-2"}) {
        license { licenseNumber jurisdictions } userErrors { code } } }""", {"id": lid}, token=tenant.admin)
    assert updated["updateLicense"]["license"] == {"licenseNumber": "L-2", "jurisdictions": ["CA"]}
    replaced = await gql.ok("""mutation($id: ID!) { replaceLicense(id: $id, input: {type: "StateLicense",
        licenseNumber: "L-3"}) { license { licenseNumber jurisdictions } userErrors { code } } }""", {"id": lid},
                            token=tenant.admin)
    assert replaced["replaceLicense"]["license"] == {"licenseNumber": "L-3", "jurisdictions": []}


async def test_appointment_links_licenses_of_the_same_producer(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    other = await create_producer(gql, tenant.admin)
    mine = await license_for(gql, tenant.admin, agent["id"])
    theirs = await license_for(gql, tenant.admin, other["id"])
    payload = {"type": "CarrierAppointment", "producerId": agent["id"], "appointmentNumber": "AP-1",
               "jurisdictions": ["CA"], "licenseIds": [mine]}
    ok = await gql.ok(CREATE_APPOINTMENT, {"input": payload}, token=tenant.admin)
    assert ok["createAppointment"]["appointment"]["licenses"] == [{"id": mine}]
    refused = await gql.ok(CREATE_APPOINTMENT, {"input": {**payload, "licenseIds": [theirs]}}, token=tenant.admin)
    assert [e["code"] for e in refused["createAppointment"]["userErrors"]] == ["LICENSE_NOT_FOUND"]


async def test_qualification_explains_every_reason(gql, new_tenant):
    tenant = await new_tenant()
    agent = await validated_producer(gql, tenant.admin)
    none = await gql.ok(QUALIFICATION, {"id": agent["id"], "product": "PersonalAuto"}, token=tenant.admin)
    assert none["producer"]["qualification"]["qualified"] is False
    assert [r["code"] for r in none["producer"]["qualification"]["reasons"]] == ["NO_LICENSE"]
    lid = await license_for(gql, tenant.admin, agent["id"], expirationTime="2026-06-01T00:00:00Z",
                            effectiveTime="2026-01-01T00:00:00Z")
    cases = [("2026-03-01T00:00:00Z", True, []), ("2026-06-01T00:00:00Z", False, ["EXPIRED"]),
             ("2025-12-31T00:00:00Z", False, ["NOT_YET_EFFECTIVE"])]
    for at, qualified, codes in cases:
        data = await gql.ok(QUALIFICATION, {"id": agent["id"], "product": "PersonalAuto", "at": at},
                            token=tenant.admin)
        result = data["producer"]["qualification"]
        assert result["qualified"] is qualified, at
        assert [r["code"] for r in result["reasons"]] == codes
        assert all(r["credential"] == lid.split(":")[-1] or r["credential"] for r in result["reasons"])
    travel = await gql.ok(QUALIFICATION, {"id": agent["id"], "product": "Travel"}, token=tenant.admin)
    assert travel["producer"]["qualification"] == {"qualified": True, "requirement": "NONE", "reasons": []}
    appointment = await gql.ok(QUALIFICATION, {"id": agent["id"], "product": "CommercialAuto",
                                               "at": "2026-03-01T00:00:00Z"}, token=tenant.admin)
    assert [r["code"] for r in appointment["producer"]["qualification"]["reasons"]] == ["NO_APPOINTMENT"]


async def test_missing_line_of_authority_fails_qualification(gql, new_tenant):
    tenant = await new_tenant()
    agent = await validated_producer(gql, tenant.admin)
    await license_for(gql, tenant.admin, agent["id"], linesOfAuthority=["Property"])
    data = await gql.ok(QUALIFICATION, {"id": agent["id"], "product": "PersonalAuto"}, token=tenant.admin)
    assert [r["code"] for r in data["producer"]["qualification"]["reasons"]] == ["LINES_OF_AUTHORITY_MISSING"]


async def test_license_limited_to_other_codes_does_not_qualify_for_this_code(gql, new_tenant):
    tenant = await new_tenant()
    producers = await chain(gql, tenant.admin, "Q-1", depth=1)
    await license_for(gql, tenant.admin, producers[0]["id"], producerCodes=["Q-1"])
    ok = await gql.ok(QUALIFICATION, {"id": producers[0]["id"], "product": "PersonalAuto", "code": "Q-1"},
                      token=tenant.admin)
    assert ok["producer"]["qualification"]["qualified"] is True
    other = await gql.ok(QUALIFICATION, {"id": producers[0]["id"], "product": "PersonalAuto", "code": "Q-2"},
                         token=tenant.admin)
    assert [r["code"] for r in other["producer"]["qualification"]["reasons"]] == ["PRODUCER_CODE_NOT_COVERED"]


async def test_expiring_licenses_for_renewal_dashboards(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    soon = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=100)).isoformat()
    await license_for(gql, tenant.admin, agent["id"], licenseNumber="SOON", expirationTime=soon)
    await license_for(gql, tenant.admin, agent["id"], licenseNumber="LATER", expirationTime=later)
    data = await gql.ok(EXPIRING, {"days": 30}, token=tenant.admin)
    assert [n["licenseNumber"] for n in data["licenses"]["nodes"]] == ["SOON"]


# ---- tenancy ---------------------------------------------------------------------------------

async def test_every_new_operation_is_denied_across_tenants(gql, new_tenant):
    # given a license, a quote and a policy in tenant A
    a = await new_tenant()
    b = await new_tenant()
    producers = await chain(gql, a.admin, "T-1", depth=1)
    lid = await license_for(gql, a.admin, producers[0]["id"])
    q = await quote(gql, a.admin, "T-1")
    # then tenant B's admin sees none of them and can change none of them
    for query, variables, key in (
        ("query($id: ID!) { license(id: $id) { id } }", {"id": lid}, "license"),
        ("query($id: ID!) { quote(id: $id) { id } }", {"id": q["id"]}, "quote"),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": lid}, "node"),
    ):
        assert (await gql.ok(query, variables, token=b.admin))[key] is None
    assert (await gql.ok(EXPIRING, {"days": 10000}, token=b.admin))["licenses"]["totalCount"] == 0
    assert (await gql.ok("query { quotes { totalCount } }", token=b.admin))["quotes"]["totalCount"] == 0
    for mutation, variables, key, code in (
        (VALIDATE_LICENSE, {"id": lid}, "validateLicense", "LICENSE_NOT_FOUND"),
        (CREATE_LICENSE, create(producers[0]["id"]), "createLicense", "PRODUCER_NOT_FOUND"),
        ("mutation($id: ID!) { underwriteQuote(id: $id) { userErrors { code } } }", {"id": q["id"]},
         "underwriteQuote", "QUOTE_NOT_FOUND"),
        ("mutation($id: ID!) { issueQuote(id: $id) { userErrors { code } } }", {"id": q["id"]},
         "issueQuote", "QUOTE_NOT_FOUND"),
        ("""mutation($id: ID!) { updateQuote(id: $id, input: {product: "X"}) { userErrors { code } } }""",
         {"id": q["id"]}, "updateQuote", "QUOTE_NOT_FOUND"),
    ):
        data = await gql.ok(mutation, variables, token=b.admin)
        assert [e["code"] for e in data[key]["userErrors"]] == [code], key
    refused = await gql.ok("""mutation { createQuote(input: {product: "Travel", jurisdiction: "CA",
        effectiveTime: "2026-01-01T00:00:00Z", producerCode: "T-1"}) { userErrors { code } } }""", token=b.admin)
    assert [e["code"] for e in refused["createQuote"]["userErrors"]] == ["PRODUCER_CODE_NOT_FOUND"]


async def test_agency_scoped_callers_see_only_their_subtree(gql, new_tenant):
    tenant = await new_tenant()
    mine = await chain(gql, tenant.admin, "M-1", depth=2)
    theirs = await chain(gql, tenant.admin, "O-1", depth=2)
    my_license = await license_for(gql, tenant.admin, mine[-1]["id"])
    their_license = await license_for(gql, tenant.admin, theirs[-1]["id"])
    my_quote = await quote(gql, tenant.admin, "M-1")
    their_quote = await quote(gql, tenant.admin, "O-1")
    reader = gql.token(tenant.id, "READ_ONLY", agency=mine[0]["locator"])
    agency_admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=mine[0]["locator"])
    assert (await gql.ok("query($id: ID!) { license(id: $id) { id } }", {"id": my_license}, token=reader))["license"]
    assert (await gql.ok("query($id: ID!) { license(id: $id) { id } }", {"id": their_license},
                         token=reader))["license"] is None
    assert (await gql.ok("query($id: ID!) { quote(id: $id) { id } }", {"id": my_quote["id"]}, token=reader))["quote"]
    assert (await gql.ok("query($id: ID!) { quote(id: $id) { id } }", {"id": their_quote["id"]},
                         token=reader))["quote"] is None
    listed = await gql.ok("query { quotes { nodes { id } } }", token=reader)
    assert [n["id"] for n in listed["quotes"]["nodes"]] == [my_quote["id"]]
    data = await gql.ok(VALIDATE_LICENSE, {"id": their_license}, token=agency_admin)
    assert [e["code"] for e in data["validateLicense"]["userErrors"]] == ["LICENSE_NOT_FOUND"]
    data = await gql.ok(CREATE_LICENSE, create(theirs[-1]["id"]), token=agency_admin)
    assert [e["code"] for e in data["createLicense"]["userErrors"]] == ["PRODUCER_NOT_FOUND"]
    body = await gql("mutation($id: ID!) { underwriteQuote(id: $id) { userErrors { code } } }",
                     {"id": my_quote["id"]}, token=agency_admin)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_time_without_an_offset_is_read_as_utc(gql, new_tenant):
    from tests.api.helpers import create_producer

    # given a license whose effective time has no offset and whose expiration time has one
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    body = await gql("""mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
        license { effectiveTime expirationTime } userErrors { code } } }""", {"input": {
        "type": "StateLicense", "producerId": producer["id"], "licenseNumber": "NAIVE-1", "jurisdictions": ["CA"],
        "linesOfAuthority": ["Property"], "effectiveTime": "2026-06-01T00:00:00",
        "expirationTime": "2027-06-01T00:00:00Z"}}, token=tenant.admin)
    # then it is created, both times in UTC, instead of failing to compare them
    assert not body.get("errors"), body
    license = body["data"]["createLicense"]["license"]
    assert license["effectiveTime"].startswith("2026-06-01T00:00:00") and license["effectiveTime"].endswith("+00:00")
    assert license["expirationTime"].startswith("2027-06-01T00:00:00")


LICENSE_FIELDS = "license { id state jurisdictions linesOfAuthority } userErrors { code field }"


async def test_an_empty_jurisdictions_list_covers_every_jurisdiction_on_create_update_and_validate(gql, new_tenant):
    # given a license created with no jurisdictions (it covers every one)
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    created = await gql.ok(f"mutation($input: CreateLicenseInput!) {{ createLicense(input: $input) {{ {LICENSE_FIELDS} }} }}",
                           create(agent["id"], jurisdictions=[]), token=tenant.admin)
    assert created["createLicense"]["userErrors"] == []
    lid = created["createLicense"]["license"]["id"]
    # when it is validated, then updated to name a jurisdiction and back to none
    validated = await gql.ok(f"mutation($id: ID!) {{ validateLicense(id: $id) {{ {LICENSE_FIELDS} }} }}", {"id": lid},
                             token=tenant.admin)
    update = f"mutation($id: ID!, $input: UpdateLicenseInput!) {{ updateLicense(id: $id, input: $input) {{ {LICENSE_FIELDS} }} }}"
    named = await gql.ok(update, {"id": lid, "input": {"jurisdictions": ["ca"]}}, token=tenant.admin)
    emptied = await gql.ok(update, {"id": lid, "input": {"jurisdictions": []}}, token=tenant.admin)
    # then each step is accepted alike, and the license stays validated
    assert validated["validateLicense"]["userErrors"] == []
    assert validated["validateLicense"]["license"]["state"] == "VALIDATED"
    assert named["updateLicense"]["license"]["jurisdictions"] == ["CA"]
    assert emptied["updateLicense"]["userErrors"] == []
    assert emptied["updateLicense"]["license"] == {"id": lid, "state": "VALIDATED", "jurisdictions": [],
                                                   "linesOfAuthority": ["Property"]}


async def test_lines_of_authority_are_stored_in_the_configured_spelling(gql, new_tenant):
    tenant = await new_tenant()
    agent = await create_producer(gql, tenant.admin)
    created = await gql.ok(f"mutation($input: CreateLicenseInput!) {{ createLicense(input: $input) {{ {LICENSE_FIELDS} }} }}",
                           create(agent["id"], linesOfAuthority=["property", "CASUALTY"]), token=tenant.admin)
    assert created["createLicense"]["license"]["linesOfAuthority"] == ["Property", "Casualty"]
