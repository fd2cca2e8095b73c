"""Offboarding through the GraphQL API: remove several producers, their codes and tokens, and onboard again."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import create_code, transition_mutation
from tests.api.registry_helpers import agency, entry_with, load_registry, onboarded

REMOVE = """mutation($ids: [ID!]!) {
  removeProducers(ids: $ids) {
    results { id result message producer { id state codes { nodes { code state } } } }
    userErrors { code }
  }
}"""
FINISH = "mutation($id: ID!) { finishOnboarding(id: $id) { userErrors { code message } } }"
NO_NEW_STATES = "mutation($id: ID!) { assignOnboardingStates(id: $id, noNewStates: true) { userErrors { code } } }"
REVIEW = "mutation($id: ID!) { reviewOnboarding(id: $id) { userErrors { code } } }"
PAY = """mutation($id: ID!) { setOnboardingPayment(id: $id, input: {newLicensePaidBy: AGENCY,
  renewalPaidBy: AGENCY, autoRenewal: false}) { userErrors { code } } }"""
ME = "{ producers { totalCount } }"


async def setup(app: Any, gql: Any, new_tenant: Any, tmp_path: Any) -> tuple[Any, dict[str, Any], str]:
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    await load_registry(app, tenant.id, [
        entry_with("5001", "245-10-1001", "Alvarez", ("FL", "FL-1", ["Life"])),
        entry_with("5002", "245-10-1002", "Baker", ("GA", "GA-1", ["Life"])),
        entry_with("5003", "245-10-1003", "Chen", ("OH", "OH-1", ["Life"]))], tmp_path)
    return tenant, acme, gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])


async def validated_onboarding(gql: Any, token: str, npn: str) -> dict[str, Any]:
    onboarding = await onboarded(gql, token, npn=npn)
    await gql.ok(PAY, {"id": onboarding["id"]}, token=token)
    await gql.ok(NO_NEW_STATES, {"id": onboarding["id"]}, token=token)
    await gql.ok(REVIEW, {"id": onboarding["id"]}, token=token)
    data = await gql.ok(FINISH, {"id": onboarding["id"]}, token=token)
    assert data["finishOnboarding"]["userErrors"] == []
    return onboarding


async def remove(gql: Any, token: str, ids: list[str]) -> list[dict[str, Any]]:
    data = await gql.ok(REMOVE, {"ids": ids}, token=token)
    return data["removeProducers"]["results"]  # type: ignore[no-any-return]


async def test_removing_several_producers_retires_them_with_their_codes_and_reports_each_id(
        app, gql, new_tenant, tmp_path):
    tenant, _, admin = await setup(app, gql, new_tenant, tmp_path)
    active = (await validated_onboarding(gql, admin, "5001"))["producer"]
    draft = (await onboarded(gql, admin, npn="5002"))["producer"]
    live_code = await create_code(gql, admin, active["id"])
    await gql.ok(transition_mutation("validate", "ProducerCode"), {"id": live_code["id"]}, token=admin)
    await create_code(gql, admin, active["id"])  # stays draft
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

    results = await remove(gql, admin, [active["id"], draft["id"], missing])

    assert [(r["id"], r["result"]) for r in results] == [
        (active["id"], "REMOVED"), (draft["id"], "REMOVED"), (missing, "NOT_FOUND")]
    assert results[0]["producer"]["state"] == "RETIRED"
    # the code finishing gave and the validated one are retired, the draft one discarded
    assert sorted(c["state"] for c in results[0]["producer"]["codes"]["nodes"]) == ["DISCARDED", "RETIRED", "RETIRED"]
    assert results[1]["producer"]["state"] == "DISCARDED"
    assert results[2]["producer"] is None


async def test_removing_a_removed_producer_is_not_allowed(app, gql, new_tenant, tmp_path):
    _, _, admin = await setup(app, gql, new_tenant, tmp_path)
    producer = (await onboarded(gql, admin, npn="5001"))["producer"]
    await remove(gql, admin, [producer["id"]])

    again = await remove(gql, admin, [producer["id"]])

    assert again[0]["result"] == "NOT_ALLOWED" and "discarded" in again[0]["message"]


async def test_removing_cancels_an_onboarding_in_progress(app, gql, new_tenant, tmp_path):
    _, _, admin = await setup(app, gql, new_tenant, tmp_path)
    onboarding = await onboarded(gql, admin, npn="5001")

    await remove(gql, admin, [onboarding["producer"]["id"]])
    data = await gql.ok("query($id: ID!) { onboarding(id: $id) { status } }", {"id": onboarding["id"]}, token=admin)

    assert data["onboarding"]["status"] == "CANCELLED"


async def test_a_removed_producers_token_can_do_nothing_more(app, gql, new_tenant, tmp_path):
    tenant, _, admin = await setup(app, gql, new_tenant, tmp_path)
    producer = (await validated_onboarding(gql, admin, "5001"))["producer"]
    token = gql.token(tenant.id, "PRODUCER", agency=producer["locator"])
    before = await gql.post(ME, token=token)

    await remove(gql, admin, [producer["id"]])
    after = await gql.post(ME, token=token)

    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json()["errors"][0]["extensions"]["code"] == "AGENCY_REMOVED"


async def test_a_removed_agencys_admin_tokens_stop_working(app, gql, new_tenant, tmp_path):
    tenant, acme, admin = await setup(app, gql, new_tenant, tmp_path)

    results = await remove(gql, tenant.admin, [acme["id"]])
    after = await gql.post(ME, token=admin)

    assert results[0]["result"] == "REMOVED"
    assert after.status_code == 401


async def test_a_removed_producer_is_onboarded_again_as_a_new_producer_with_the_same_npn(
        app, gql, new_tenant, tmp_path):
    _, _, admin = await setup(app, gql, new_tenant, tmp_path)
    first = (await validated_onboarding(gql, admin, "5001"))["producer"]
    await remove(gql, admin, [first["id"]])

    again = (await onboarded(gql, admin, npn="5001"))["producer"]

    assert again["id"] != first["id"] and again["npn"] == first["npn"] == "5001"
    assert again["state"] == "DRAFT"


async def test_an_agency_admin_cannot_remove_from_another_agency(app, gql, new_tenant, tmp_path):
    tenant, _, admin = await setup(app, gql, new_tenant, tmp_path)
    other = await agency(gql, tenant.admin, name="Other Agency")
    theirs = (await onboarded(gql, tenant.admin, npn="5003", agencyId=other["id"]))["producer"]

    results = await remove(gql, admin, [theirs["id"]])
    still = await gql.ok("query($id: ID!) { producer(id: $id) { state } }", {"id": theirs["id"]},
                         token=tenant.admin)

    assert results[0]["result"] == "NOT_FOUND" and results[0]["producer"] is None
    assert still["producer"]["state"] == "DRAFT"


async def test_an_agency_admin_cannot_remove_its_own_agency(app, gql, new_tenant, tmp_path):
    _, acme, admin = await setup(app, gql, new_tenant, tmp_path)

    results = await remove(gql, admin, [acme["id"]])

    assert results[0]["result"] == "NOT_ALLOWED"


async def test_only_admins_remove_producers(app, gql, new_tenant, tmp_path):
    tenant, _, admin = await setup(app, gql, new_tenant, tmp_path)
    producer = (await onboarded(gql, admin, npn="5001"))["producer"]

    for token in (gql.token(tenant.id, "READ_ONLY"), gql.token(tenant.id, "UNDERWRITER"),
                  gql.token(tenant.id, "PRODUCER", agency=producer["locator"])):
        body = await gql(REMOVE, {"ids": [producer["id"]]}, token=token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
