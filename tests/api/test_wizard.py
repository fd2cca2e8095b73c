"""The onboarding wizard through the GraphQL API: steps saved one by one, resumable, cost estimate, finish."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.registry import RegistryLicense
from tests.api.registry_helpers import ONBOARDING_FIELDS, agency, entry_with, licenses_of, load_registry, onboarded

DETAILS = f"""mutation($id: ID!, $input: OnboardingDetailsInput) {{
  updateOnboardingDetails(id: $id, input: $input) {{ onboarding {{ {ONBOARDING_FIELDS} }} userErrors {{ code field }} }}
}}"""
PAYMENT = f"""mutation($id: ID!, $input: PaymentSetupInput!) {{
  setOnboardingPayment(id: $id, input: $input) {{ onboarding {{ {ONBOARDING_FIELDS} }} userErrors {{ code field }} }}
}}"""
STATES = f"""mutation($id: ID!, $states: [StateAssignmentInput!]) {{
  assignOnboardingStates(id: $id, states: $states) {{ onboarding {{ {ONBOARDING_FIELDS} }} userErrors {{ code field }} }}
}}"""
REVIEW = f"""mutation($id: ID!) {{
  reviewOnboarding(id: $id) {{ onboarding {{ {ONBOARDING_FIELDS} }} userErrors {{ code field }} }}
}}"""
FINISH = f"""mutation($id: ID!) {{
  finishOnboarding(id: $id) {{ onboarding {{ {ONBOARDING_FIELDS}
    producerCode {{ code type state }} licenseApplications {{ jurisdictions state licenseNumber }} }}
    userErrors {{ code field message }} }}
}}"""
READ = f"""query($id: ID!) {{ onboarding(id: $id) {{ {ONBOARDING_FIELDS} currentStep
  estimatedCost {{ total {{ amount currency }}
    lines {{ jurisdiction lineOfAuthority fee {{ amount currency }} }}
    byJurisdiction {{ jurisdiction subtotal {{ amount currency }} }} }} }} }}"""
NO_NEW_STATES = f"""mutation($id: ID!) {{
  assignOnboardingStates(id: $id, noNewStates: true) {{ onboarding {{ {ONBOARDING_FIELDS} }} userErrors {{ code field }} }}
}}"""
FINISHED_FIELDS = """status producer { id state }
  producerCode { code type state }
  licenseApplications { id jurisdictions state licenseNumber linesOfAuthority stateReason }"""
VALIDATE_LICENSE = """mutation($id: ID!) { validateLicense(id: $id) { license { state stateReason }
  userErrors { code } } }"""
AGENCY_PAYS = {"newLicensePaidBy": "AGENCY", "renewalPaidBy": "PRODUCER", "autoRenewal": True}


async def walked_and_finished(gql: Any, token: str, onboarding_id: str,
                              states: list[dict[str, Any]]) -> dict[str, Any]:
    """Walk the wizard (payment, the states or noNewStates, review) and finish; the finished onboarding."""
    await step(gql, token, PAYMENT, "setOnboardingPayment", id=onboarding_id, input=AGENCY_PAYS)
    if states:
        await step(gql, token, STATES, "assignOnboardingStates", id=onboarding_id, states=states)
    else:
        await step(gql, token, NO_NEW_STATES, "assignOnboardingStates", id=onboarding_id)
    await step(gql, token, REVIEW, "reviewOnboarding", id=onboarding_id)
    data = await gql.ok(f"""mutation($id: ID!) {{ finishOnboarding(id: $id) {{ onboarding {{ {FINISHED_FIELDS} }}
      userErrors {{ code message }} }} }}""", {"id": onboarding_id}, token=token)
    assert data["finishOnboarding"]["userErrors"] == [], data
    return data["finishOnboarding"]["onboarding"]  # type: ignore[no-any-return]


@pytest.fixture
def started(app, gql, new_tenant, tmp_path):
    """A tenant, an agency admin, and one producer onboarded from the registry (licensed in CA)."""

    async def build() -> tuple[Any, str, dict[str, Any]]:
        tenant = await new_tenant()
        acme = await agency(gql, tenant.admin)
        await load_registry(app, tenant.id, [
            entry_with("3001", "233-45-6789", "Okafor", ("CA", "CA-3001", ["Life"]), first_name="Chi")], tmp_path)
        admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])
        onboarding = await onboarded(gql, admin, npn="3001", email="chi@example.com")
        return tenant, admin, onboarding

    return build


async def step(gql: Any, token: str, mutation: str, name: str, **variables: Any) -> dict[str, Any]:
    data = await gql.ok(mutation, variables, token=token)
    return data[name]  # type: ignore[no-any-return]


async def test_each_step_is_saved_and_the_wizard_resumes_in_a_later_request(gql, started):
    _, admin, onboarding = await started()
    oid = onboarding["id"]

    details = await step(gql, admin, DETAILS, "updateOnboardingDetails", id=oid,
                         input={"firstName": "Chidi", "middleName": "A."})
    later = (await gql.ok(READ, {"id": oid}, token=admin))["onboarding"]
    paid = await step(gql, admin, PAYMENT, "setOnboardingPayment", id=oid, input=AGENCY_PAYS)
    resumed = (await gql.ok(READ, {"id": oid}, token=admin))["onboarding"]
    in_progress = await gql.ok("{ onboardings(status: [IN_PROGRESS]) { totalCount nodes { id } } }", token=admin)

    assert details["userErrors"] == [] and details["onboarding"]["producer"]["firstName"] == "Chidi"
    assert later["detailsReviewed"] is True and later["currentStep"] == "PAYMENT"
    assert later["producer"]["firstName"] == "Chidi"
    assert paid["userErrors"] == []
    assert resumed["currentStep"] == "STATES" and resumed["payment"] == AGENCY_PAYS
    assert in_progress["onboardings"]["nodes"] == [{"id": oid}]


async def test_estimated_cost_lists_each_line_each_state_and_the_total(gql, started):
    _, admin, onboarding = await started()
    states = [{"jurisdiction": "CA", "linesOfAuthority": ["Life", "Property"]},
              {"jurisdiction": "ny", "linesOfAuthority": ["casualty"]},
              {"jurisdiction": "GU", "linesOfAuthority": ["Surety"]}]

    assigned = await step(gql, admin, STATES, "assignOnboardingStates", id=onboarding["id"], states=states)
    cost = (await gql.ok(READ, {"id": onboarding["id"]}, token=admin))["onboarding"]["estimatedCost"]

    assert assigned["userErrors"] == []
    assert assigned["onboarding"]["states"] == [
        {"jurisdiction": "CA", "linesOfAuthority": ["Life", "Property"]},
        {"jurisdiction": "NY", "linesOfAuthority": ["Casualty"]},
        {"jurisdiction": "GU", "linesOfAuthority": ["Surety"]}]
    assert [(x["jurisdiction"], x["lineOfAuthority"], x["fee"]["amount"]) for x in cost["lines"]] == [
        ("CA", "Life", "95.00"), ("CA", "Property", "115.50"), ("NY", "Casualty", "105.00"), ("GU", "Surety", "70.50")]
    assert [(x["jurisdiction"], x["subtotal"]["amount"]) for x in cost["byJurisdiction"]] == [
        ("CA", "210.50"), ("NY", "105.00"), ("GU", "70.50")]
    assert cost["total"] == {"amount": "386.00", "currency": "USD"}


@pytest.mark.parametrize(("states", "code"), [
    ([{"jurisdiction": "ZZ", "linesOfAuthority": ["Life"]}], "UNKNOWN_JURISDICTION"),
    ([{"jurisdiction": "CA", "linesOfAuthority": ["Surety"]}], "UNKNOWN_LINE_OF_AUTHORITY"),
    ([{"jurisdiction": "CA", "linesOfAuthority": []}], "LINES_OF_AUTHORITY_REQUIRED"),
])
async def test_an_invalid_state_assignment_is_refused_and_changes_nothing(gql, started, states, code):
    _, admin, onboarding = await started()
    oid = onboarding["id"]
    await step(gql, admin, STATES, "assignOnboardingStates", id=oid,
               states=[{"jurisdiction": "TX", "linesOfAuthority": ["Life"]}])

    refused = await step(gql, admin, STATES, "assignOnboardingStates", id=oid, states=states)
    after = (await gql.ok(READ, {"id": oid}, token=admin))["onboarding"]

    assert [e["code"] for e in refused["userErrors"]] == [code] and refused["onboarding"] is None
    assert after["states"] == [{"jurisdiction": "TX", "linesOfAuthority": ["Life"]}]
    assert after["estimatedCost"]["total"]["amount"] == "105.50"


async def test_finishing_without_payment_setup_is_refused_and_changes_nothing(gql, started):
    _, admin, onboarding = await started()

    refused = await step(gql, admin, FINISH, "finishOnboarding", id=onboarding["id"])
    after = (await gql.ok(READ, {"id": onboarding["id"]}, token=admin))["onboarding"]

    assert [e["code"] for e in refused["userErrors"]] == ["PAYMENT_SETUP_REQUIRED"]
    assert after["completedAt"] is None and after["producer"]["state"] == "DRAFT"


async def test_finishing_validates_the_producer_gives_it_a_code_and_applies_for_new_states_only(app, gql, started):
    # given an onboarding of a producer licensed in CA, walked to the review with CA, NY and TX assigned
    tenant, admin, onboarding = await started()
    oid = onboarding["id"]
    await step(gql, admin, DETAILS, "updateOnboardingDetails", id=oid)
    await step(gql, admin, PAYMENT, "setOnboardingPayment", id=oid, input=AGENCY_PAYS)
    await step(gql, admin, STATES, "assignOnboardingStates", id=oid, states=[
        {"jurisdiction": "CA", "linesOfAuthority": ["Life"]},
        {"jurisdiction": "NY", "linesOfAuthority": ["Life", "Property"]},
        {"jurisdiction": "TX", "linesOfAuthority": ["Surety"]}])
    reviewed = await step(gql, admin, REVIEW, "reviewOnboarding", id=oid)

    # when it is finished
    finished = await step(gql, admin, FINISH, "finishOnboarding", id=oid)

    # then the producer is validated with a validated code, CA keeps its registry license and NY and TX are
    # applications without a number, listed on the onboarding and on the producer
    assert reviewed["onboarding"]["currentStep"] == "FINISH"
    assert finished["userErrors"] == []
    result = finished["onboarding"]
    assert result["status"] == "COMPLETED" and result["currentStep"] == "DONE" and result["completedAt"]
    assert result["producer"]["state"] == "VALIDATED"
    assert result["producerCode"]["state"] == "VALIDATED" and result["producerCode"]["type"] == "AgentCode"
    assert result["producerCode"]["code"].startswith("PC-AGT-")
    licenses = await licenses_of(app, tenant.id, result["producer"]["locator"])
    assert sorted((lic.jurisdictions[0], lic.state, lic.license_number, lic.lines_of_authority)
                  for lic in licenses) == [
        ("CA", "validated", "CA-3001", ["Life"]), ("NY", "applied", None, ["Life", "Property"]),
        ("TX", "applied", None, ["Surety"])]
    assert {lic.jurisdictions[0]: lic.residency for lic in licenses}["NY"] == "non-resident"
    applications = [(a["jurisdictions"], a["state"], a["licenseNumber"]) for a in result["licenseApplications"]]
    assert applications == [(["NY"], "APPLIED", None), (["TX"], "APPLIED", None)]
    on_producer = await gql.ok("query($id: ID!) { producer(id: $id) { licenseApplications { jurisdictions } } }",
                               {"id": result["producer"]["id"]}, token=admin)
    assert on_producer["producer"]["licenseApplications"] == [{"jurisdictions": ["NY"]}, {"jurisdictions": ["TX"]}]


async def test_an_application_is_validated_once_its_number_is_set(gql, started):
    # given a finished onboarding with an application for NY
    _, admin, onboarding = await started()
    finished = await walked_and_finished(gql, admin, onboarding["id"],
                                         [{"jurisdiction": "NY", "linesOfAuthority": ["Life"]}])
    application = finished["licenseApplications"][0]["id"]

    # when it is validated without a number, then after the number is set
    early = await gql.ok(VALIDATE_LICENSE, {"id": application}, token=admin)
    await gql.ok("mutation($id: ID!) { updateLicense(id: $id, input: {licenseNumber: \"NY-77\"}) { userErrors { code } } }",
                 {"id": application}, token=admin)
    later = await gql.ok(VALIDATE_LICENSE, {"id": application}, token=admin)

    # then it stays an application until it has its number
    assert [e["code"] for e in early["validateLicense"]["userErrors"]] == ["NUMBER_REQUIRED"]
    assert later["validateLicense"]["license"]["state"] == "VALIDATED"
    assert later["validateLicense"]["license"]["stateReason"] is None


async def test_a_completed_onboarding_keeps_its_steps(gql, started):
    _, admin, onboarding = await started()
    oid = onboarding["id"]
    await walked_and_finished(gql, admin, oid, [])

    refused = await step(gql, admin, PAYMENT, "setOnboardingPayment", id=oid,
                         input={**AGENCY_PAYS, "autoRenewal": False})

    assert [e["code"] for e in refused["userErrors"]] == ["ONBOARDING_NOT_IN_PROGRESS"]


async def test_the_review_needs_states_or_an_explicit_no_new_states(gql, started):
    # given an onboarding with its details and payment done and no states step yet
    _, admin, onboarding = await started()
    oid = onboarding["id"]
    await step(gql, admin, DETAILS, "updateOnboardingDetails", id=oid)
    await step(gql, admin, PAYMENT, "setOnboardingPayment", id=oid, input=AGENCY_PAYS)

    # when it is reviewed, then given an empty selection, then explicitly no new states and reviewed
    early = await step(gql, admin, REVIEW, "reviewOnboarding", id=oid)
    empty = await step(gql, admin, STATES, "assignOnboardingStates", id=oid, states=[])
    none = await step(gql, admin, NO_NEW_STATES, "assignOnboardingStates", id=oid)
    reviewed = await step(gql, admin, REVIEW, "reviewOnboarding", id=oid)

    # then only the explicit "no new states" lets the review happen
    assert [e["code"] for e in early["userErrors"]] == ["STATES_REQUIRED"]
    assert [e["code"] for e in empty["userErrors"]] == ["STATES_REQUIRED"]
    assert none["userErrors"] == [] and none["onboarding"]["noNewStates"] is True
    assert reviewed["userErrors"] == [] and reviewed["onboarding"]["currentStep"] == "FINISH"


async def test_finishing_needs_the_review_and_assigning_states_again_undoes_it(gql, started):
    # given a reviewed onboarding
    _, admin, onboarding = await started()
    oid = onboarding["id"]
    await step(gql, admin, DETAILS, "updateOnboardingDetails", id=oid)
    await step(gql, admin, PAYMENT, "setOnboardingPayment", id=oid, input=AGENCY_PAYS)
    await step(gql, admin, STATES, "assignOnboardingStates", id=oid,
               states=[{"jurisdiction": "NY", "linesOfAuthority": ["Life"]}])
    await step(gql, admin, REVIEW, "reviewOnboarding", id=oid)

    # when the states change and it is finished
    changed = await step(gql, admin, STATES, "assignOnboardingStates", id=oid,
                         states=[{"jurisdiction": "NJ", "linesOfAuthority": ["Life"]}])
    refused = await step(gql, admin, FINISH, "finishOnboarding", id=oid)

    # then the new states need a review first, and nothing was finished
    assert changed["onboarding"]["reviewedAt"] is None and changed["onboarding"]["currentStep"] == "REVIEW"
    assert [e["code"] for e in refused["userErrors"]] == ["REVIEW_REQUIRED"]
    after = (await gql.ok(READ, {"id": oid}, token=admin))["onboarding"]
    assert after["status"] == "IN_PROGRESS" and after["producer"]["state"] == "DRAFT"


async def test_a_jurisdiction_assigned_twice_is_refused(gql, started):
    _, admin, onboarding = await started()

    refused = await step(gql, admin, STATES, "assignOnboardingStates", id=onboarding["id"], states=[
        {"jurisdiction": "NY", "linesOfAuthority": ["Life"]}, {"jurisdiction": "ny", "linesOfAuthority": ["Property"]}])

    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("DUPLICATE_JURISDICTION",
                                                                       ["states", "1", "jurisdiction"])]


async def test_registry_licenses_inactive_or_expired_come_in_discarded_with_the_reason(app, gql, new_tenant,
                                                                                        tmp_path):
    # given a registry producer with an active, an inactive and an expired license
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    await load_registry(app, tenant.id, [entry_with(
        "3201", "233-45-6791", "Ng",
        RegistryLicense("CA", "CA-1", lines_of_authority=["Life"], issue_date=date(2020, 1, 1),
                        effective_date=date(2020, 2, 1), expiration_date=date(2099, 1, 31)),
        RegistryLicense("NV", "NV-1", lines_of_authority=["Life"], status="inactive"),
        RegistryLicense("TX", "TX-1", lines_of_authority=["Life"], issue_date=date(2018, 1, 1),
                        expiration_date=date(2020, 1, 1)))], tmp_path)

    # when it is onboarded
    onboarding = await onboarded(gql, tenant.admin, npn="3201", agencyId=acme["id"])
    read = await gql.ok("""query($id: ID!) { producer(id: $id) { licenses(first: 10) { nodes {
        jurisdictions licenseNumber state stateReason effectiveTime expirationTime } } } }""",
                        {"id": onboarding["producer"]["id"]}, token=tenant.admin)

    # then the active one is validated with the registry's number and dates, the others discarded saying why
    licenses = {n["jurisdictions"][0]: n for n in read["producer"]["licenses"]["nodes"]}
    assert (licenses["CA"]["state"], licenses["CA"]["licenseNumber"], licenses["CA"]["stateReason"]) == (
        "VALIDATED", "CA-1", None)
    assert licenses["CA"]["effectiveTime"].startswith("2020-02-01")
    assert licenses["CA"]["expirationTime"].startswith("2099-01-31")
    assert (licenses["NV"]["state"], licenses["NV"]["stateReason"]) == ("DISCARDED",
                                                                       "inactive in the producer registry")
    assert (licenses["TX"]["state"], licenses["TX"]["stateReason"]) == (
        "DISCARDED", "expired on 2020-01-01 according to the producer registry")


async def test_the_state_picker_lists_the_tenants_jurisdictions_with_fees(gql, new_tenant):
    # given a tenant with the default jurisdictions, and an underwriter's token (no admin)
    tenant = await new_tenant()
    token = gql.token(tenant.id, "UNDERWRITER")

    # when the state picker asks for the jurisdictions
    data = await gql.ok("{ jurisdictions { code name kind linesOfAuthority { code name fee { amount currency } } } }",
                        token=token)

    # then each comes with its lines of authority and their fees, in code order
    found = {j["code"]: j for j in data["jurisdictions"]}
    codes = [j["code"] for j in data["jurisdictions"]]
    assert codes == sorted(codes) and {"CA", "NY", "DC", "GU"} <= set(codes)
    assert found["CA"]["name"] == "California" and found["CA"]["kind"] == "STATE"
    life = next(x for x in found["CA"]["linesOfAuthority"] if x["code"] == "Life")
    assert life["fee"] == {"amount": "95.00", "currency": "USD"}


async def test_payment_may_be_given_when_onboarding(app, gql, new_tenant, tmp_path):
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    await load_registry(app, tenant.id, [entry_with("3101", "233-45-6790", "Kim", ("WA", "WA-1", ["Life"]))],
                        tmp_path)

    onboarding = await onboarded(gql, tenant.admin, npn="3101", agencyId=acme["id"], payment=AGENCY_PAYS)
    read = (await gql.ok(READ, {"id": onboarding["id"]}, token=tenant.admin))["onboarding"]

    assert read["payment"] == AGENCY_PAYS and read["currentStep"] == "DETAILS"


async def test_another_agency_cannot_walk_the_wizard(gql, started):
    tenant, _, onboarding = await started()
    other = await agency(gql, tenant.admin, name="Other Agency")
    stranger = gql.token(tenant.id, "AGENCY_ADMIN", agency=other["locator"])

    refused = await step(gql, stranger, PAYMENT, "setOnboardingPayment", id=onboarding["id"], input=AGENCY_PAYS)

    assert [e["code"] for e in refused["userErrors"]] == ["ONBOARDING_NOT_FOUND"]
