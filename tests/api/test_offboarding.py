"""Offboarding through the GraphQL API: remove several producers, their codes and tokens, and onboard again."""

from __future__ import annotations

import copy
from typing import Any

from strawberry import relay

from app.tenant_config import default_config_dict
from tests.api.helpers import create_code, create_producer, transition_mutation, validated_producer
from tests.api.registry_helpers import agency, entry_with, load_registry, onboarded
from tests.api.test_policies import CHANGE, issued_policy
from tests.api.test_quotes_underwriting import CREATE_QUOTE, quote, validated_code

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
UPDATE_QUOTE = """mutation($id: ID!, $code: String) { updateQuote(id: $id, input: {producerCode: $code}) {
  quote { id } userErrors { code message } } }"""


def relay_locator(global_id: str) -> str:
    return relay.GlobalID.from_id(global_id).node_id


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


# ---- agencies: the whole subtree, or a refusal --------------------------------------------------

SUBTREE = """query($id: ID!) { producers(first: 50, filter: {agencyId: $id}) { nodes { id state
  codes(first: 10) { nodes { code state } }
  appointments(first: 10) { nodes { state terminationReason terminatedOn } } } } }"""
CREATE_APPOINTMENT = """mutation($input: CreateAppointmentInput!) { createAppointment(input: $input) {
  appointment { id } userErrors { code message } } }"""
VALIDATE_APPOINTMENT = "mutation($id: ID!) { validateAppointment(id: $id) { userErrors { code } } }"
REMOVE_TREE = """mutation($ids: [ID!]!) { removeProducers(ids: $ids) { results { id result message
  producer { id state } descendants { id state } activeDescendants { id name } } } }"""


async def appointed(gql: Any, token: str, producer_id: str, number: str) -> str:
    """A validated carrier appointment for CA casualty (what CommercialAuto asks for)."""
    data = await gql.ok(CREATE_APPOINTMENT, {"input": {
        "type": "CarrierAppointment", "producerId": producer_id, "appointmentNumber": number,
        "jurisdictions": ["CA"], "linesOfAuthority": ["Casualty"], "data": {"carrierName": "Acme Mutual"}}},
        token=token)
    assert data["createAppointment"]["userErrors"] == [], data
    appointment_id = data["createAppointment"]["appointment"]["id"]
    assert (await gql.ok(VALIDATE_APPOINTMENT, {"id": appointment_id}, token=token))[
        "validateAppointment"]["userErrors"] == []
    return appointment_id  # type: ignore[no-any-return]


async def three_levels(gql: Any, token: str, prefix: str) -> dict[str, Any]:
    """agency > sub-agency > team > agent (validated, each with a validated code and appointment), and a draft
    agent in the team; codes are `<prefix>-0` (the agency) to `<prefix>-3` (the agent)."""
    tree: dict[str, Any] = {}
    parent = None
    for level, name in enumerate(("agency", "sub", "team", "agent")):
        kind = "Agent" if name == "agent" else "Agency"
        extra = {"organizationName": f"{prefix} {name}"} if kind == "Agency" else {"lastName": f"{prefix}-agent"}
        producer = await validated_producer(gql, token, type=kind, parent=parent, **extra)
        await validated_code(gql, token, producer["id"], f"{prefix}-{level}")
        await appointed(gql, token, producer["id"], f"{prefix}-A{level}")
        tree[name] = producer["id"]
        parent = producer["id"]
    tree["draft"] = (await create_producer(gql, token, parent=tree["team"], lastName="Draft"))["id"]
    tree["codes"] = [f"{prefix}-{level}" for level in range(4)]
    return tree


async def test_removing_an_agency_with_three_levels_below_leaves_nothing_in_its_subtree_able_to_act(
        gql, new_tenant):
    # given an agency three levels deep, every level validated with a code and an appointment, a draft agent,
    # a draft quote and an issued policy on the agent's code
    tenant = await new_tenant()
    tree = await three_levels(gql, tenant.admin, "T")
    assert (await quote(gql, tenant.admin, "T-3", product="CommercialAuto"))["state"] == "DRAFT"
    pending = await quote(gql, tenant.admin, None)
    policy_id = await issued_policy(gql, tenant.admin, "T-3")

    # when the tenant admin removes the agency alone
    [result] = (await gql.ok(REMOVE_TREE, {"ids": [tree["agency"]]}, token=tenant.admin))["removeProducers"]["results"]

    # then it and each descendant are reported removed with it
    assert result["result"] == "REMOVED" and result["producer"]["state"] == "RETIRED"
    assert {d["id"]: d["state"] for d in result["descendants"]} == {
        tree["sub"]: "RETIRED", tree["team"]: "RETIRED", tree["agent"]: "RETIRED", tree["draft"]: "DISCARDED"}
    # no validated producer, code or active appointment is left in the subtree
    nodes = (await gql.ok(SUBTREE, {"id": tree["agency"]}, token=tenant.admin))["producers"]["nodes"]
    assert len(nodes) == 5
    assert {n["state"] for n in nodes} <= {"RETIRED", "DISCARDED"}
    assert {c["state"] for n in nodes for c in n["codes"]["nodes"]} == {"RETIRED"}
    appointments = [a for n in nodes for a in n["appointments"]["nodes"]]
    assert len(appointments) == 4
    assert {(a["state"], a["terminationReason"]) for a in appointments} == {("TERMINATED", "OFFBOARDED")}
    assert all(a["terminatedOn"] for a in appointments)
    # and none of their codes can be put on a quote, a quote update or a policy change
    for code in tree["codes"]:
        created = await gql.ok(CREATE_QUOTE, {"input": {"product": "Travel", "jurisdiction": "CA",
                                                        "effectiveTime": "2026-01-01T00:00:00Z",
                                                        "producerCode": code}}, token=tenant.admin)
        assert [e["code"] for e in created["createQuote"]["userErrors"]] == ["PRODUCER_REMOVED"], created
        assert code in created["createQuote"]["userErrors"][0]["message"]
        updated = await gql.ok(UPDATE_QUOTE, {"id": pending["id"], "code": code}, token=tenant.admin)
        assert [e["code"] for e in updated["updateQuote"]["userErrors"]] == ["PRODUCER_REMOVED"], updated
        changed = await gql.ok(CHANGE, {"policyId": policy_id, "at": "2026-03-01T00:00:00Z",
                                        "producers": {"setProducerCode": code}}, token=tenant.admin)
        assert [e["code"] for e in changed["changePolicy"]["userErrors"]] == ["PRODUCER_REMOVED"], changed


async def test_an_agency_admin_removing_a_sub_agency_removes_its_subtree_but_keeps_the_rest(gql, new_tenant):
    # given an agency admin of the agency, and a second agent directly in the agency
    tenant = await new_tenant()
    tree = await three_levels(gql, tenant.admin, "S")
    sibling = await validated_producer(gql, tenant.admin, parent=tree["agency"], lastName="Sibling")
    token = gql.token(tenant.id, "AGENCY_ADMIN", agency=relay_locator(tree["agency"]))

    # when it removes the sub-agency
    [result] = (await gql.ok(REMOVE_TREE, {"ids": [tree["sub"]]}, token=token))["removeProducers"]["results"]

    # then the sub-agency's subtree is removed, the agency and the sibling are untouched
    assert result["result"] == "REMOVED"
    assert {d["id"] for d in result["descendants"]} == {tree["team"], tree["agent"], tree["draft"]}
    states = {n["id"]: n["state"] for n in
              (await gql.ok(SUBTREE, {"id": tree["agency"]}, token=tenant.admin))["producers"]["nodes"]}
    assert states[tree["agency"]] == states[sibling["id"]] == "VALIDATED"


async def test_a_tenant_refusing_subtree_removal_answers_has_active_descendants_naming_them(gql, new_tenant):
    # given a tenant whose configuration refuses removing a producer with active producers below
    config = copy.deepcopy(default_config_dict())
    config["offboarding"] = {"agencyRemoval": "refuse"}
    tenant = await new_tenant(config)
    tree = await three_levels(gql, tenant.admin, "R")

    # when the team alone is removed
    [refused] = (await gql.ok(REMOVE_TREE, {"ids": [tree["team"]]}, token=tenant.admin))["removeProducers"]["results"]

    # then it is refused, naming the active producers below, and nothing changed
    assert refused["result"] == "HAS_ACTIVE_DESCENDANTS"
    assert {d["id"] for d in refused["activeDescendants"]} == {tree["agent"], tree["draft"]}
    assert "R-agent" in refused["message"]
    assert refused["producer"]["state"] == "VALIDATED" and refused["descendants"] == []
    # and removing the team with everything below it in one request is accepted
    results = (await gql.ok(REMOVE_TREE, {"ids": [tree["team"], tree["agent"], tree["draft"]]},
                            token=tenant.admin))["removeProducers"]["results"]
    assert [r["result"] for r in results] == ["REMOVED"] * 3
    assert results[0]["descendants"] == []  # both were requested themselves


async def test_under_refuse_a_producer_above_a_refused_one_is_refused_too(gql, new_tenant):
    config = copy.deepcopy(default_config_dict())
    config["offboarding"] = {"agencyRemoval": "refuse"}
    tenant = await new_tenant(config)
    tree = await three_levels(gql, tenant.admin, "Q")

    # the sub-agency and the team are asked for, but the team still has agents below
    results = (await gql.ok(REMOVE_TREE, {"ids": [tree["sub"], tree["team"]]},
                            token=tenant.admin))["removeProducers"]["results"]

    assert [r["result"] for r in results] == ["HAS_ACTIVE_DESCENDANTS"] * 2
    assert {d["id"] for d in results[0]["activeDescendants"]} == {tree["team"], tree["agent"], tree["draft"]}


async def test_removing_a_deep_subtree_runs_as_many_statements_as_a_shallow_one(gql, new_tenant, statements):
    # given a one-level agency and a three-level one
    tenant = await new_tenant()
    small = await validated_producer(gql, tenant.admin, type="Agency", organizationName="Small")
    await validated_producer(gql, tenant.admin, parent=small["id"], lastName="Only")
    tree = await three_levels(gql, tenant.admin, "N")
    count = "mutation($ids: [ID!]!) { removeProducers(ids: $ids) { results { result descendants { id } } } }"

    # when each is removed
    with statements:
        await gql.ok(count, {"ids": [small["id"]]}, token=tenant.admin)
    shallow = [s for s in statements.statements if "FROM tenants" not in s]
    with statements:
        await gql.ok(count, {"ids": [tree["agency"]]}, token=tenant.admin)
    deep = [s for s in statements.statements if "FROM tenants" not in s]

    # then the statements do not grow with the subtree (set-based, not one per descendant)
    assert len(deep) == len(shallow)
