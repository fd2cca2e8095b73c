"""Policies through the API: changes, code of record, renewal, out-of-sequence snapshots, underwriting at issue."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import transition_mutation
from tests.api.test_quotes_underwriting import (
    ISSUE,
    chain,
    config_with_flag,
    quote,
    underwrite,
    validated_code,
)

CHANGE = """mutation($policyId: ID!, $at: DateTime!, $producers: ProducersInstructionInput!) {
  changePolicy(policyId: $policyId, effectiveTime: $at, producers: $producers) {
    transaction { id state kind } userErrors { field code message } } }"""
RENEW = """mutation($policyId: ID!, $at: DateTime!) { renewPolicy(policyId: $policyId, effectiveTime: $at) {
  transaction { id state kind } userErrors { code message } } }"""
ISSUE_TXN = """mutation($id: ID!, $at: DateTime) { issueTransaction(transactionId: $id, issuedTime: $at) {
  transaction { id state issuedTime producers { setProducerCodeOfRecord revertProducerCodeOfRecord }
  flags { level } } userErrors { code message } } }"""
POLICY = """query($id: ID!) { policy(id: $id) { producerCode producerCodeOfRecord
  transactions { kind state } } }"""
SNAPSHOT = """query($id: ID!, $at: DateTime!) { policy(id: $id) { snapshot(at: $at) { producerCode
  producerCodeOfRecord } } }"""


async def issued_policy(gql: Any, token: str, code: str, effective: str = "2026-01-01T00:00:00Z") -> str:
    q = await quote(gql, token, code, effectiveTime=effective)
    assert (await underwrite(gql, token, q["id"]))["userErrors"] == []
    issued = (await gql.ok(ISSUE, {"id": q["id"]}, token=token))["issueQuote"]
    return issued["policy"]["id"]  # type: ignore[no-any-return]


async def change(gql: Any, token: str, policy_id: str, at: str, issued: str | None = None,
                 **producers: Any) -> dict[str, Any]:
    created = (await gql.ok(CHANGE, {"policyId": policy_id, "at": at, "producers": producers},
                            token=token))["changePolicy"]
    assert created["userErrors"] == [], created
    result = (await gql.ok(ISSUE_TXN, {"id": created["transaction"]["id"], "at": issued},
                           token=token))["issueTransaction"]
    return result  # type: ignore[no-any-return]


async def codes(gql: Any, token: str, *values: str) -> None:
    producers = await chain(gql, token, values[0], depth=2)
    for value in values[1:]:
        await validated_code(gql, token, producers[-1]["id"], value)


async def test_out_of_sequence_changes_give_the_right_snapshots(gql, new_tenant):
    # given a policy issued 2026-01-01 with A, a change to B effective July issued in March,
    # and a change to C effective April issued in May
    tenant = await new_tenant()
    await codes(gql, tenant.admin, "A", "B", "C")
    policy_id = await issued_policy(gql, tenant.admin, "A")
    assert (await change(gql, tenant.admin, policy_id, "2026-07-01T00:00:00Z", "2026-03-01T00:00:00Z",
                         setProducerCode="B"))["userErrors"] == []
    assert (await change(gql, tenant.admin, policy_id, "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z",
                         setProducerCode="C"))["userErrors"] == []
    # then
    for moment, expected in (("2026-02-01", "A"), ("2026-06-01", "C"), ("2026-08-01", "B")):
        data = await gql.ok(SNAPSHOT, {"id": policy_id, "at": f"{moment}T00:00:00Z"}, token=tenant.admin)
        assert data["policy"]["snapshot"]["producerCode"] == expected, moment
        assert data["policy"]["snapshot"]["producerCodeOfRecord"] == "A"


async def test_code_of_record_set_to_the_current_code_is_processed_as_a_revert(gql, new_tenant):
    tenant = await new_tenant()
    await codes(gql, tenant.admin, "R-A", "R-B")
    policy_id = await issued_policy(gql, tenant.admin, "R-A")
    await change(gql, tenant.admin, policy_id, "2026-02-01T00:00:00Z", setProducerCode="R-B")
    result = await change(gql, tenant.admin, policy_id, "2026-03-01T00:00:00Z", setProducerCodeOfRecord="R-B")
    assert result["userErrors"] == []
    assert result["transaction"]["producers"] == {"setProducerCodeOfRecord": None, "revertProducerCodeOfRecord": True}
    data = await gql.ok(POLICY, {"id": policy_id}, token=tenant.admin)
    assert (data["policy"]["producerCode"], data["policy"]["producerCodeOfRecord"]) == ("R-B", "R-B")


async def test_renewal_resets_the_code_of_record(gql, new_tenant):
    tenant = await new_tenant()
    await codes(gql, tenant.admin, "N-A", "N-B")
    policy_id = await issued_policy(gql, tenant.admin, "N-A")
    await change(gql, tenant.admin, policy_id, "2026-06-01T00:00:00Z", setProducerCode="N-B")
    before = await gql.ok(POLICY, {"id": policy_id}, token=tenant.admin)
    assert (before["policy"]["producerCode"], before["policy"]["producerCodeOfRecord"]) == ("N-B", "N-A")
    renewal = (await gql.ok(RENEW, {"policyId": policy_id, "at": "2027-01-01T00:00:00Z"},
                            token=tenant.admin))["renewPolicy"]
    issued = (await gql.ok(ISSUE_TXN, {"id": renewal["transaction"]["id"]}, token=tenant.admin))["issueTransaction"]
    assert issued["userErrors"] == [] and issued["transaction"]["state"] == "ISSUED"
    after = await gql.ok(POLICY, {"id": policy_id}, token=tenant.admin)
    assert (after["policy"]["producerCode"], after["policy"]["producerCodeOfRecord"]) == ("N-B", "N-B")
    assert [t["kind"] for t in after["policy"]["transactions"]] == ["ISSUANCE", "CHANGE", "RENEWAL"]


async def test_code_of_record_may_be_suspended_but_the_code_must_be_validated(gql, new_tenant):
    tenant = await new_tenant()
    await codes(gql, tenant.admin, "S-A", "S-B")
    policy_id = await issued_policy(gql, tenant.admin, "S-A")
    code_b = (await gql.ok('query { producerCodeByCode(code: "S-B") { id } }', token=tenant.admin))
    await gql.ok(transition_mutation("suspend", "ProducerCode"), {"id": code_b["producerCodeByCode"]["id"]},
                 token=tenant.admin)
    refused = (await gql.ok(CHANGE, {"policyId": policy_id, "at": "2026-02-01T00:00:00Z",
                                     "producers": {"setProducerCode": "S-B"}}, token=tenant.admin))["changePolicy"]
    assert [e["code"] for e in refused["userErrors"]] == ["PRODUCER_CODE_NOT_VALIDATED"]
    accepted = await change(gql, tenant.admin, policy_id, "2026-02-01T00:00:00Z", setProducerCodeOfRecord="S-B")
    assert accepted["userErrors"] == []
    data = await gql.ok(POLICY, {"id": policy_id}, token=tenant.admin)
    assert data["policy"]["producerCodeOfRecord"] == "S-B"


async def test_issuing_a_change_runs_the_producer_check(gql, new_tenant):
    # given a block flag config and a change to a code whose agency is suspended after the change was created
    tenant = await new_tenant(config_with_flag("block"))
    await codes(gql, tenant.admin, "U-A")
    other = await chain(gql, tenant.admin, "U-B", depth=2)
    policy_id = await issued_policy(gql, tenant.admin, "U-A")
    created = (await gql.ok(CHANGE, {"policyId": policy_id, "at": "2026-02-01T00:00:00Z",
                                     "producers": {"setProducerCode": "U-B"}}, token=tenant.admin))["changePolicy"]
    await gql.ok(transition_mutation("suspend"), {"id": other[0]["id"]}, token=tenant.admin)
    # when issued
    result = (await gql.ok(ISSUE_TXN, {"id": created["transaction"]["id"]}, token=tenant.admin))["issueTransaction"]
    # then it is refused with the reason and flagged; the policy keeps its code
    assert [e["code"] for e in result["userErrors"]] == ["PRODUCER_NOT_VALIDATED"]
    assert result["transaction"]["state"] == "DRAFT"
    assert [f["level"] for f in result["transaction"]["flags"]] == ["BLOCK"]
    data = await gql.ok(POLICY, {"id": policy_id}, token=tenant.admin)
    assert data["policy"]["producerCode"] == "U-A"


async def test_code_used_by_a_policy_cannot_be_discarded(gql, new_tenant):
    tenant = await new_tenant()
    await codes(gql, tenant.admin, "P-A")
    policy_id = await issued_policy(gql, tenant.admin, "P-A")
    code_id = (await gql.ok('query { producerCodeByCode(code: "P-A") { id } }',
                            token=tenant.admin))["producerCodeByCode"]["id"]
    data = await gql.ok(transition_mutation("discard", "ProducerCode"), {"id": code_id}, token=tenant.admin)
    errors = data["discardProducerCode"]["userErrors"]
    assert [e["code"] for e in errors] == ["CODE_IN_USE"]
    assert policy_id


async def test_policy_operations_are_denied_across_tenants(gql, new_tenant):
    tenant = await new_tenant()
    other = await new_tenant()
    await codes(gql, tenant.admin, "X-A")
    policy_id = await issued_policy(gql, tenant.admin, "X-A")
    draft = (await gql.ok(RENEW, {"policyId": policy_id, "at": "2027-01-01T00:00:00Z"},
                          token=tenant.admin))["renewPolicy"]["transaction"]
    assert (await gql.ok(POLICY, {"id": policy_id}, token=other.admin))["policy"] is None
    assert (await gql.ok("query { policies { totalCount } }", token=other.admin))["policies"]["totalCount"] == 0
    changed = (await gql.ok(CHANGE, {"policyId": policy_id, "at": "2026-02-01T00:00:00Z", "producers": {}},
                            token=other.admin))["changePolicy"]
    assert [e["code"] for e in changed["userErrors"]] == ["POLICY_NOT_FOUND"]
    renewed = (await gql.ok(RENEW, {"policyId": policy_id, "at": "2027-01-01T00:00:00Z"},
                            token=other.admin))["renewPolicy"]
    assert [e["code"] for e in renewed["userErrors"]] == ["POLICY_NOT_FOUND"]
    issued = (await gql.ok(ISSUE_TXN, {"id": draft["id"]}, token=other.admin))["issueTransaction"]
    assert [e["code"] for e in issued["userErrors"]] == ["POLICY_TRANSACTION_NOT_FOUND"]
    flagged = await gql.ok("""mutation($id: ID!) { addUnderwritingFlags(transactionId: $id,
        flags: [{level: BLOCK, tag: "x"}]) { userErrors { code } } }""", {"id": draft["id"]}, token=other.admin)
    assert [e["code"] for e in flagged["addUnderwritingFlags"]["userErrors"]] == ["POLICY_TRANSACTION_NOT_FOUND"]
