"""Appointments end by termination: a reason and a date, final, and never qualifying again."""

from __future__ import annotations

from tests.api.helpers import validated_producer
from tests.api.test_offboarding import appointed
from tests.api.test_quotes_underwriting import CREATE_QUOTE, UNDERWRITE, validated_code

TERMINATE = """mutation($id: ID!, $reason: AppointmentTerminationReason!, $date: Date) {
  terminateAppointment(id: $id, reason: $reason, date: $date) {
    appointment { id state terminationReason terminatedOn } userErrors { field code message } } }"""
QUALIFICATION = """query($id: ID!) { producer(id: $id) {
  qualification(product: "CommercialAuto", jurisdiction: "CA", at: "2026-06-01T00:00:00Z") {
    qualified reasons { code credential } } } }"""
CREATE_DRAFT = """mutation($input: CreateAppointmentInput!) { createAppointment(input: $input) {
  appointment { id } userErrors { code } } }"""


async def test_an_admin_terminates_a_validated_appointment_with_a_reason_and_a_date(gql, new_tenant):
    tenant = await new_tenant()
    agent = await validated_producer(gql, tenant.admin)
    appointment = await appointed(gql, tenant.admin, agent["id"], "AP-7")

    data = (await gql.ok(TERMINATE, {"id": appointment, "reason": "FOR_CAUSE", "date": "2026-05-31"},
                         token=tenant.admin))["terminateAppointment"]

    assert data["userErrors"] == []
    assert data["appointment"] == {"id": appointment, "state": "TERMINATED", "terminationReason": "FOR_CAUSE",
                                   "terminatedOn": "2026-05-31"}


async def test_a_terminated_appointment_is_final(gql, new_tenant):
    tenant = await new_tenant()
    agent = await validated_producer(gql, tenant.admin)
    appointment = await appointed(gql, tenant.admin, agent["id"], "AP-8")
    await gql.ok(TERMINATE, {"id": appointment, "reason": "VOLUNTARY"}, token=tenant.admin)

    again = (await gql.ok(TERMINATE, {"id": appointment, "reason": "OTHER"}, token=tenant.admin))["terminateAppointment"]
    changed = (await gql.ok("""mutation($id: ID!) { updateAppointment(id: $id, input: {appointmentNumber: "X"}) {
        userErrors { code } } }""", {"id": appointment}, token=tenant.admin))["updateAppointment"]
    discarded = (await gql.ok("""mutation($id: ID!) { discardAppointment(id: $id) { userErrors { code } } }""",
                              {"id": appointment}, token=tenant.admin))["discardAppointment"]

    assert [e["code"] for e in again["userErrors"]] == ["INVALID_TRANSITION"]
    assert [e["code"] for e in changed["userErrors"]] == ["APPOINTMENT_TERMINATED"]
    assert [e["code"] for e in discarded["userErrors"]] == ["INVALID_TRANSITION"]


async def test_a_draft_appointment_cannot_be_terminated(gql, new_tenant):
    tenant = await new_tenant()
    agent = await validated_producer(gql, tenant.admin)
    draft = (await gql.ok(CREATE_DRAFT, {"input": {"type": "CarrierAppointment", "producerId": agent["id"],
                                                   "appointmentNumber": "AP-9"}}, token=tenant.admin))
    draft_id = draft["createAppointment"]["appointment"]["id"]

    data = (await gql.ok(TERMINATE, {"id": draft_id, "reason": "OTHER"}, token=tenant.admin))["terminateAppointment"]

    assert [e["code"] for e in data["userErrors"]] == ["INVALID_TRANSITION"]


async def test_a_terminated_appointment_no_longer_qualifies_and_underwriting_says_why(gql, new_tenant):
    # given a validated agent whose only appointment qualifies for CommercialAuto in CA, and a quote on its code
    tenant = await new_tenant()
    agent = await validated_producer(gql, tenant.admin)
    await validated_code(gql, tenant.admin, agent["id"], "TA-1")
    appointment = await appointed(gql, tenant.admin, agent["id"], "AP-10")
    before = await gql.ok(QUALIFICATION, {"id": agent["id"]}, token=tenant.admin)
    quote = (await gql.ok(CREATE_QUOTE, {"input": {"product": "CommercialAuto", "jurisdiction": "CA",
                                                   "effectiveTime": "2026-06-01T00:00:00Z", "producerCode": "TA-1"}},
                          token=tenant.admin))["createQuote"]["quote"]

    # when the appointment is terminated
    await gql.ok(TERMINATE, {"id": appointment, "reason": "WITHOUT_CAUSE"}, token=tenant.admin)
    after = await gql.ok(QUALIFICATION, {"id": agent["id"]}, token=tenant.admin)
    underwritten = (await gql.ok(UNDERWRITE, {"id": quote["id"]}, token=tenant.admin))["underwriteQuote"]

    # then qualification fails with TERMINATED, and underwriting is held for it
    assert before["producer"]["qualification"]["qualified"] is True
    assert after["producer"]["qualification"]["qualified"] is False
    assert [r["code"] for r in after["producer"]["qualification"]["reasons"]] == ["TERMINATED"]
    assert underwritten["quote"]["state"] == "DRAFT"
    assert any("terminated" in e["message"] for e in underwritten["userErrors"])


async def test_only_admins_terminate_appointments(gql, new_tenant):
    tenant = await new_tenant()
    agent = await validated_producer(gql, tenant.admin)
    appointment = await appointed(gql, tenant.admin, agent["id"], "AP-11")

    body = await gql(TERMINATE, {"id": appointment, "reason": "OTHER"}, token=gql.token(tenant.id, "UNDERWRITER"))

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
