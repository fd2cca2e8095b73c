"""The producer's journey through the API with the shipped default configuration: onboarded by NPN (alone or in
a bulk job), finished, and writing business at once: a quote with the new code underwrites without a flag."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.registry import RegistryLicense
from tests.api.bulk_helpers import all_rows, csv_file, file_rows, upload, wait_for_job
from tests.api.registry_helpers import agency, entry_with, load_registry, onboarded
from tests.api.test_quotes_underwriting import CREATE_QUOTE, UNDERWRITE

PERSONAL_AUTO_IN_CA = RegistryLicense("CA", "0H55512", "Insurance Producer", lines_of_authority=["Property", "Casualty"],
                                      issue_date=date(2021, 3, 1), effective_date=date(2021, 3, 1),
                                      expiration_date=date(2099, 2, 28))
STEP = """mutation($id: ID!) {{ {name}(id: $id{args}) {{ onboarding {{ status currentStep }} userErrors {{ code message }} }} }}"""
FINISH = """mutation($id: ID!) { finishOnboarding(id: $id) {
  onboarding { status producer { id state } producerCode { code state }
               licenseApplications { jurisdictions state licenseNumber } }
  userErrors { code message } } }"""
JOB_STATES = """mutation($jobId: ID!) {
  setBulkOnboardingPayment(jobId: $jobId, input: {newLicensePaidBy: AGENCY, renewalPaidBy: PRODUCER, autoRenewal: true,
    states: [{jurisdiction: "CA", linesOfAuthority: ["Property", "Casualty"]},
             {jurisdiction: "NV", linesOfAuthority: ["Property"]}]}) {
    job { states { jurisdiction linesOfAuthority } } userErrors { code message } } }"""
START = "mutation($jobId: ID!) { startBulkOnboarding(jobId: $jobId) { userErrors { code message } } }"
PRODUCER = """query($id: ID!) { producer(id: $id) { state
  codes(first: 10) { nodes { code state } }
  licenses(first: 10) { nodes { jurisdictions licenseNumber state } } } }"""


async def wizard_step(gql: Any, token: str, name: str, onboarding_id: str, args: str = "") -> None:
    data = await gql.ok(STEP.format(name=name, args=args), {"id": onboarding_id}, token=token)
    assert data[name]["userErrors"] == [], data


async def quote_underwritten_with(gql: Any, token: str, code: str) -> dict[str, Any]:
    """A PersonalAuto quote in CA (license required: Property and Casualty) with the code, underwritten."""
    created = await gql.ok(CREATE_QUOTE, {"input": {"product": "PersonalAuto", "jurisdiction": "CA",
                                                    "effectiveTime": "2027-01-01T00:00:00Z", "producerCode": code}},
                           token=token)
    assert created["createQuote"]["userErrors"] == [], created
    underwritten = await gql.ok(UNDERWRITE, {"id": created["createQuote"]["quote"]["id"]}, token=token)
    return underwritten["underwriteQuote"]  # type: ignore[no-any-return]


async def test_a_producer_onboarded_by_npn_and_finished_writes_business_without_a_flag(app, gql, new_tenant,
                                                                                      tmp_path):
    # given the default configuration and a registry producer licensed in CA for Property and Casualty
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    await load_registry(app, tenant.id, [entry_with("4101", "233-45-6801", "Okafor", PERSONAL_AUTO_IN_CA)], tmp_path)
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])

    # when an agency admin onboards it by NPN and walks the wizard to the end
    onboarding = await onboarded(gql, admin, npn="4101", email="chi.okafor@example.com")
    await wizard_step(gql, admin, "updateOnboardingDetails", onboarding["id"])
    await wizard_step(gql, admin, "setOnboardingPayment", onboarding["id"],
                      ", input: {newLicensePaidBy: AGENCY, renewalPaidBy: PRODUCER, autoRenewal: true}")
    await wizard_step(gql, admin, "assignOnboardingStates", onboarding["id"],
                      ', states: [{jurisdiction: "CA", linesOfAuthority: ["Property", "Casualty"]}, '
                      '{jurisdiction: "NV", linesOfAuthority: ["Property"]}]')
    await wizard_step(gql, admin, "reviewOnboarding", onboarding["id"])
    finished = (await gql.ok(FINISH, {"id": onboarding["id"]}, token=admin))["finishOnboarding"]

    # then the producer is validated with a validated code and an application for NV
    assert finished["userErrors"] == []
    done = finished["onboarding"]
    assert (done["status"], done["producer"]["state"], done["producerCode"]["state"]) == (
        "COMPLETED", "VALIDATED", "VALIDATED")
    assert done["licenseApplications"] == [{"jurisdictions": ["NV"], "state": "APPLIED", "licenseNumber": None}]

    # and a quote with the new code for a license-requiring product in CA underwrites without a flag
    underwriter = gql.token(tenant.id, "UNDERWRITER")
    result = await quote_underwritten_with(gql, underwriter, done["producerCode"]["code"])
    assert result["userErrors"] == []
    assert result["quote"]["state"] == "UNDERWRITTEN" and result["quote"]["flags"] == []


async def test_producers_of_a_completed_bulk_job_write_business_without_a_flag(app, gql, http, new_tenant,
                                                                               tmp_path):
    # given the default configuration and two registry producers licensed in CA for Property and Casualty
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    entries = [entry_with(npn, ssn, "Okafor", RegistryLicense(
        "CA", f"0H{npn}", lines_of_authority=["Property", "Casualty"], expiration_date=date(2099, 1, 1)))
        for npn, ssn in (("4201", "233456802"), ("4202", "233456803"))]
    await load_registry(app, tenant.id, entries, tmp_path)
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"], subject="admin@example.com")

    # when an agency admin uploads them by NPN, sets the payment and the states for all, and starts the job
    job = (await upload(http, admin, csv_file(file_rows(entries))))["job"]
    states = await gql.ok(JOB_STATES, {"jobId": job["id"]}, token=admin)
    started = await gql.ok(START, {"jobId": job["id"]}, token=admin)
    assert states["setBulkOnboardingPayment"]["userErrors"] == [], states
    assert started["startBulkOnboarding"]["userErrors"] == [], [r["problems"] for r in await all_rows(gql, admin, job["id"])]
    completed = await wait_for_job(gql, admin, job["id"])

    # then every row is a validated producer with a validated code, its CA license and an NV application
    assert (completed["status"], completed["succeededRows"], completed["failedRows"]) == ("COMPLETED", 2, 0)
    codes = []
    for row in await all_rows(gql, admin, job["id"]):
        producer = (await gql.ok(PRODUCER, {"id": row["producer"]["id"]}, token=admin))["producer"]
        assert producer["state"] == "VALIDATED"
        assert [c["state"] for c in producer["codes"]["nodes"]] == ["VALIDATED"]
        assert sorted((n["jurisdictions"][0], n["state"], n["licenseNumber"])
                      for n in producer["licenses"]["nodes"]) == [
            ("CA", "VALIDATED", f"0H{row['npn']}"), ("NV", "APPLIED", None)]
        codes.append(producer["codes"]["nodes"][0]["code"])

    # and a quote with each new code underwrites without a flag
    underwriter = gql.token(tenant.id, "UNDERWRITER")
    for code in codes:
        result = await quote_underwritten_with(gql, underwriter, code)
        assert result["quote"]["state"] == "UNDERWRITTEN" and result["quote"]["flags"] == [], result


REMOVE = """mutation($ids: [ID!]!) { removeProducers(ids: $ids) { results { result producer { state } } } }"""
AFTER_REMOVAL = """query($id: ID!) { producer(id: $id) { state
  codes(first: 10) { nodes { state } }
  licenses(first: 10) { nodes { jurisdictions state stateReason } } } }"""


async def test_an_offboarded_producer_loses_its_applications_and_can_no_longer_quote(app, gql, new_tenant, tmp_path):
    # given a producer onboarded by NPN and finished with a CA license and an NV application, quoting in CA
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    await load_registry(app, tenant.id, [entry_with("4301", "233-45-6804", "Okafor", PERSONAL_AUTO_IN_CA)], tmp_path)
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])
    onboarding = await onboarded(gql, admin, npn="4301", email="chi.okafor@example.com")
    for name, args in (("updateOnboardingDetails", ""),
                       ("setOnboardingPayment",
                        ", input: {newLicensePaidBy: AGENCY, renewalPaidBy: PRODUCER, autoRenewal: true}"),
                       ("assignOnboardingStates", ', states: [{jurisdiction: "NV", linesOfAuthority: ["Property"]}]'),
                       ("reviewOnboarding", "")):
        await wizard_step(gql, admin, name, onboarding["id"], args)
    done = (await gql.ok(FINISH, {"id": onboarding["id"]}, token=admin))["finishOnboarding"]["onboarding"]
    code = done["producerCode"]["code"]
    underwriter = gql.token(tenant.id, "UNDERWRITER")
    assert (await quote_underwritten_with(gql, underwriter, code))["quote"]["state"] == "UNDERWRITTEN"

    # when the agency admin removes it
    removed = (await gql.ok(REMOVE, {"ids": [done["producer"]["id"]]}, token=admin))["removeProducers"]["results"]

    # then it is retired with its code, its application is withdrawn (saying why), its license kept as issued
    assert [(r["result"], r["producer"]["state"]) for r in removed] == [("REMOVED", "RETIRED")]
    producer = (await gql.ok(AFTER_REMOVAL, {"id": done["producer"]["id"]}, token=admin))["producer"]
    assert [c["state"] for c in producer["codes"]["nodes"]] == ["RETIRED"]
    assert sorted((n["jurisdictions"][0], n["state"], n["stateReason"]) for n in producer["licenses"]["nodes"]) == [
        ("CA", "VALIDATED", None), ("NV", "DISCARDED", "Withdrawn: the producer was offboarded.")]
    # and its code can no longer be put on a quote
    refused = await gql.ok(CREATE_QUOTE, {"input": {"product": "PersonalAuto", "jurisdiction": "CA",
                                                    "effectiveTime": "2027-01-01T00:00:00Z", "producerCode": code}},
                           token=underwriter)
    assert [e["code"] for e in refused["createQuote"]["userErrors"]] == ["PRODUCER_REMOVED"]
