"""The onboarding wizard through the GraphQL API: steps saved one by one, resumable, cost estimate, finish."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.registry_helpers import ONBOARDING_FIELDS, agency, entry_with, licenses_of, load_registry, onboarded

DETAILS = f"""mutation($id: ID!, $input: OnboardingDetailsInput) {{
  updateOnboardingDetails(id: $id, input: $input) {{ onboarding {{ {ONBOARDING_FIELDS} }} userErrors {{ code field }} }}
}}"""
PAYMENT = f"""mutation($id: ID!, $input: PaymentSetupInput!) {{
  setOnboardingPayment(id: $id, input: $input) {{ onboarding {{ {ONBOARDING_FIELDS} }} userErrors {{ code field }} }}
}}"""
STATES = f"""mutation($id: ID!, $states: [StateAssignmentInput!]!) {{
  assignOnboardingStates(id: $id, states: $states) {{ onboarding {{ {ONBOARDING_FIELDS} }} userErrors {{ code field }} }}
}}"""
REVIEW = f"""mutation($id: ID!) {{
  reviewOnboarding(id: $id) {{ onboarding {{ {ONBOARDING_FIELDS} }} userErrors {{ code field }} }}
}}"""
FINISH = f"""mutation($id: ID!) {{
  finishOnboarding(id: $id) {{ onboarding {{ {ONBOARDING_FIELDS} }} userErrors {{ code field message }} }}
}}"""
READ = f"""query($id: ID!) {{ onboarding(id: $id) {{ {ONBOARDING_FIELDS} currentStep
  estimatedCost {{ total {{ amount currency }}
    lines {{ jurisdiction lineOfAuthority fee {{ amount currency }} }}
    byJurisdiction {{ jurisdiction subtotal {{ amount currency }} }} }} }} }}"""
AGENCY_PAYS = {"newLicensePaidBy": "AGENCY", "renewalPaidBy": "PRODUCER", "autoRenewal": True}


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


async def test_finishing_validates_the_producer_and_opens_draft_licenses_only_for_new_states(app, gql, started):
    tenant, admin, onboarding = await started()
    oid = onboarding["id"]
    await step(gql, admin, DETAILS, "updateOnboardingDetails", id=oid)
    await step(gql, admin, PAYMENT, "setOnboardingPayment", id=oid, input=AGENCY_PAYS)
    await step(gql, admin, STATES, "assignOnboardingStates", id=oid, states=[
        {"jurisdiction": "CA", "linesOfAuthority": ["Life"]},
        {"jurisdiction": "NY", "linesOfAuthority": ["Life", "Property"]},
        {"jurisdiction": "TX", "linesOfAuthority": ["Surety"]}])
    reviewed = await step(gql, admin, REVIEW, "reviewOnboarding", id=oid)

    finished = await step(gql, admin, FINISH, "finishOnboarding", id=oid)

    assert reviewed["onboarding"]["currentStep"] == "FINISH"
    assert finished["userErrors"] == []
    result = finished["onboarding"]
    assert result["status"] == "COMPLETED" and result["currentStep"] == "DONE" and result["completedAt"]
    assert result["producer"]["state"] == "VALIDATED"
    licenses = await licenses_of(app, tenant.id, result["producer"]["locator"])
    assert sorted((lic.jurisdictions[0], lic.state, lic.lines_of_authority) for lic in licenses) == [
        ("CA", "draft", ["Life"]), ("NY", "draft", ["Life", "Property"]), ("TX", "draft", ["Surety"])]
    assert {lic.jurisdictions[0]: lic.residency for lic in licenses}["NY"] == "non-resident"


async def test_a_completed_onboarding_keeps_its_steps(gql, started):
    _, admin, onboarding = await started()
    oid = onboarding["id"]
    await step(gql, admin, PAYMENT, "setOnboardingPayment", id=oid, input=AGENCY_PAYS)
    await step(gql, admin, FINISH, "finishOnboarding", id=oid)

    refused = await step(gql, admin, PAYMENT, "setOnboardingPayment", id=oid,
                         input={**AGENCY_PAYS, "autoRenewal": False})

    assert [e["code"] for e in refused["userErrors"]] == ["ONBOARDING_NOT_IN_PROGRESS"]


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
