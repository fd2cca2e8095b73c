"""The audit log: every change of producers, codes, licenses and appointments, quotes, policies, transactions,
flags and onboardings, who and when, before and after with the API's field names, written by the database so
nothing bypasses it, never with a full SSN, for tenant admins only."""

from __future__ import annotations

import json
from typing import Any

from tests.api.helpers import create_code, create_producer, transition_mutation
from tests.api.registry_helpers import agency, entry_with, load_registry, onboarded
from tests.api.test_offboarding import validated_onboarding
from tests.api.test_policies import change
from tests.api.test_quotes_underwriting import ISSUE, chain, quote, underwrite

AUDIT = """query($entityId: ID, $first: Int, $after: String, $entity: [AuditEntity!], $event: [AuditAction!]) {
  auditEvents(entityId: $entityId, first: $first, after: $after, entity: $entity, event: $event) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id name entity event entityId locator producerId actor requestId at before after } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateProducerInput!) { updateProducer(id: $id, input: $input) {
  producer { id } userErrors { code } } }"""
SSN = "212-34-5678"


async def audit(gql: Any, token: str, **variables: Any) -> dict[str, Any]:
    variables.setdefault("first", 100)
    return (await gql.ok(AUDIT, variables, token=token))["auditEvents"]  # type: ignore[no-any-return]


async def transition(gql: Any, token: str, action: str, producer_id: str, subject: str = "Producer") -> None:
    data = await gql.ok(transition_mutation(action, subject), {"id": producer_id}, token=token)
    assert list(data.values())[0]["userErrors"] == []


async def test_each_change_of_a_producer_is_one_event_named_after_its_lifecycle_step(gql, new_tenant):
    # given a tenant admin acting as "alice"
    tenant = await new_tenant()
    alice = gql.token(tenant.id, "TENANT_ADMIN", subject="alice")
    # when a producer is created, validated, suspended, unsuspended, renamed and retired
    producer = await create_producer(gql, alice, lastName="Rivera")
    for action in ("validate", "suspend", "unsuspend"):
        await transition(gql, alice, action, producer["id"])
    await gql.ok(UPDATE, {"id": producer["id"], "input": {"lastName": "Rivera-Cruz"}}, token=alice)
    await transition(gql, alice, "retire", producer["id"])
    # then the log holds one event per change, in order, by alice, about that producer
    events = (await audit(gql, tenant.admin, entityId=producer["id"]))["nodes"]
    assert [e["name"] for e in events] == ["producer.created", "producer.validated", "producer.suspended",
                                           "producer.unsuspended", "producer.updated", "producer.retired"]
    assert [e["event"] for e in events][-1] == "RETIRED" and {e["entity"] for e in events} == {"PRODUCER"}
    assert {e["actor"] for e in events} == {"alice"}
    assert {e["entityId"] for e in events} == {producer["id"]} == {e["producerId"] for e in events}
    assert events[0]["before"] is None and events[0]["after"]["state"] == "draft"
    renamed = events[4]
    assert (renamed["before"]["lastName"], renamed["after"]["lastName"]) == ("Rivera", "Rivera-Cruz")
    assert (events[2]["before"]["state"], events[2]["after"]["state"]) == ("validated", "suspended")


async def test_a_failed_validation_records_its_result_and_a_refused_transition_records_nothing(gql, new_tenant):
    # given a producer without a last name (validation fails)
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin, type="Agency", organizationName="Acme")
    await gql.ok(UPDATE, {"id": producer["id"], "input": {"organizationName": None}}, token=tenant.admin)
    before = (await audit(gql, tenant.admin, entityId=producer["id"]))["totalCount"]
    # when it is validated (fails) and suspended (not allowed from draft)
    failed = await gql.ok(transition_mutation("validate"), {"id": producer["id"]}, token=tenant.admin)
    refused = await gql.ok(transition_mutation("suspend"), {"id": producer["id"]}, token=tenant.admin)
    # then the failed validation is one "updated" event (its result changed) and the refusal none
    assert failed["validateProducer"]["producer"]["state"] == "DRAFT"
    assert refused["suspendProducer"]["userErrors"][0]["code"] == "INVALID_TRANSITION"
    events = (await audit(gql, tenant.admin, entityId=producer["id"]))["nodes"]
    assert len(events) == before + 1 and events[-1]["event"] == "UPDATED"
    assert events[-1]["after"]["validationResult"]["valid"] is False


async def test_codes_are_audited_and_a_move_names_both_producers(gql, new_tenant):
    tenant = await new_tenant()
    first = await create_producer(gql, tenant.admin)
    second = await create_producer(gql, tenant.admin)
    code = await create_code(gql, tenant.admin, first["id"], code="A-1")
    await gql.ok("""mutation($id: ID!, $p: ID!) { updateProducerCode(id: $id, input: {producerId: $p}) {
        userErrors { code } } }""", {"id": code["id"], "p": second["id"]}, token=tenant.admin)
    await transition(gql, tenant.admin, "discard", code["id"], "ProducerCode")

    events = (await audit(gql, tenant.admin, entityId=code["id"]))["nodes"]

    assert [e["name"] for e in events] == ["producerCode.created", "producerCode.updated", "producerCode.discarded"]
    assert events[1]["before"]["producerId"] == first["locator"] and events[1]["producerId"] == second["id"]


async def test_onboarding_audits_the_producer_and_its_licenses_without_the_full_ssn(app, gql, new_tenant, tmp_path):
    # given a registry producer with an SSN and two licenses
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    await load_registry(app, tenant.id, [entry_with("1001", SSN, "Rivera", ("CA", "0A12345", ["Life"]),
                                                    ("NV", "NV-778", ["Property"]))], tmp_path)
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"], subject="agency-admin")
    # when the agency onboards the producer by SSN
    onboarding = await onboarded(gql, admin, ssn=SSN, lastName="Rivera")
    # then the producer and both licenses are in the log, with the last four digits only
    log = await audit(gql, tenant.admin)
    mine = [e for e in log["nodes"] if e["producerId"] == onboarding["producer"]["id"]]
    assert sorted(e["name"] for e in mine if e["event"] == "CREATED") == [
        "license.created", "license.created", "onboarding.created", "producer.created"]
    created = next(e for e in mine if e["name"] == "producer.created")
    assert created["after"]["ssnLastFour"] == "5678" and created["actor"] == "agency-admin"
    assert not {"ssn_hash", "ssn_ciphertext", "search_text", "ssnHash", "ssnCiphertext", "searchText"} & set(
        created["after"])
    text = json.dumps(log)
    assert SSN not in text and SSN.replace("-", "") not in text


async def test_the_request_id_of_a_change_is_the_one_returned_in_its_header(gql, new_tenant):
    tenant = await new_tenant()
    response = await gql.post(transition_mutation("validate"), {"id": (await create_producer(
        gql, tenant.admin))["id"]}, token=tenant.admin, headers={"X-Request-Id": "portal-sync-0042"})
    assert response.headers["X-Request-Id"] == "portal-sync-0042"
    events = (await audit(gql, tenant.admin, event=["VALIDATED"]))["nodes"]
    assert [e["requestId"] for e in events] == ["portal-sync-0042"]


async def test_the_log_pages_with_cursors_and_filters_by_entity_and_event(gql, new_tenant):
    tenant = await new_tenant()
    producers = [await create_producer(gql, tenant.admin, lastName=f"P{i}") for i in range(5)]
    await create_code(gql, tenant.admin, producers[0]["id"], code="C-1")

    page = await audit(gql, tenant.admin, first=2, entity=["PRODUCER"], event=["CREATED"])
    rest = await audit(gql, tenant.admin, first=10, after=page["pageInfo"]["endCursor"], entity=["PRODUCER"],
                       event=["CREATED"])

    assert page["totalCount"] == 5 and page["pageInfo"]["hasNextPage"]
    seen = [e["entityId"] for e in page["nodes"] + rest["nodes"]]
    assert seen == [p["id"] for p in producers] and not rest["pageInfo"]["hasNextPage"]
    codes = await audit(gql, tenant.admin, entity=["PRODUCER_CODE"])
    assert [e["name"] for e in codes["nodes"]] == ["producerCode.created"]


async def test_only_tenant_admins_read_the_log_and_only_their_tenants(gql, new_tenant):
    tenant = await new_tenant()
    other = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    for role in ("AGENCY_ADMIN", "UNDERWRITER", "PRODUCER", "READ_ONLY"):
        token = gql.token(tenant.id, role, agency=producer["locator"])
        body = await gql(AUDIT, {"first": 5}, token=token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
    assert (await audit(gql, other.admin))["totalCount"] == 0
    assert (await audit(gql, other.admin, entityId=producer["id"]))["nodes"] == []


async def test_a_malformed_entity_id_or_cursor_is_handled(gql, new_tenant):
    tenant = await new_tenant()
    assert (await audit(gql, tenant.admin, entityId="not-an-id"))["nodes"] == []
    body = await gql(AUDIT, {"first": 1, "after": "bm9wZQ=="}, token=tenant.admin)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


# ---- business: quotes, policies, transactions, flags and onboardings --------------------------------

BUSINESS = ["QUOTE", "POLICY", "POLICY_TRANSACTION", "UNDERWRITING_FLAG"]
ADD_FLAG = """mutation($quoteId: ID) { addUnderwritingFlags(quoteId: $quoteId, flags: [{level: INFO, tag: "Check"}]) {
  flags { id } userErrors { code } } }"""
CLEAR_FLAG = "mutation($ids: [ID!]!) { clearUnderwritingFlags(ids: $ids) { userErrors { code } } }"


async def test_quotes_policies_transactions_and_flags_are_audited_with_who_and_api_field_names(gql, new_tenant):
    # given an underwriter "uma" and an agent with a validated code
    tenant = await new_tenant()
    uma = gql.token(tenant.id, "UNDERWRITER", subject="uma")
    agent = (await chain(gql, tenant.admin, "AU-1", depth=2))[-1]
    # when uma quotes, flags and clears, underwrites and issues, then changes the policy
    q = await quote(gql, uma, "AU-1")
    flag = (await gql.ok(ADD_FLAG, {"quoteId": q["id"]}, token=uma))["addUnderwritingFlags"]["flags"][0]
    await gql.ok(CLEAR_FLAG, {"ids": [flag["id"]]}, token=uma)
    assert (await underwrite(gql, uma, q["id"]))["userErrors"] == []
    policy = (await gql.ok(ISSUE, {"id": q["id"]}, token=uma))["issueQuote"]["policy"]
    await change(gql, uma, policy["id"], "2026-03-01T00:00:00Z", setProducerCodeOfRecord="AU-1")
    # then each step is one event, by uma, about the agent behind the code
    events = (await audit(gql, tenant.admin, entity=BUSINESS))["nodes"]
    assert [e["name"] for e in events] == [
        "quote.created", "underwritingFlag.added", "underwritingFlag.cleared", "quote.underwritten",
        "policy.issued", "policyTransaction.issued", "quote.issued", "policyTransaction.created",
        "policyTransaction.issued"]
    assert {e["actor"] for e in events} == {"uma"} and {e["producerId"] for e in events} == {agent["id"]}
    # and before/after carry the API's field names, not the table's columns
    underwritten = events[3]
    assert (underwritten["before"]["state"], underwritten["after"]["state"]) == ("draft", "underwritten")
    assert underwritten["after"]["producerCode"] == "AU-1" and underwritten["after"]["locator"] == underwritten["locator"]
    assert underwritten["entityId"] == q["id"]
    for event in events:
        for document in (event["before"] or {}, event["after"]):
            assert not {"tenant_id", "tenantId", "version", "ancestry", "producer_code", "id"} & set(document), event


async def test_onboardings_are_audited_created_finished_and_cancelled(app, gql, new_tenant, tmp_path):
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    await load_registry(app, tenant.id, [entry_with("1001", SSN, "Rivera", ("CA", "0A12345", ["Life"])),
                                         entry_with("1002", "212-34-5679", "Baker", ("GA", "GA-1", ["Life"]))],
                        tmp_path)
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])
    finished = await validated_onboarding(gql, admin, "1001")
    dropped = await onboarded(gql, admin, npn="1002")
    await gql.ok("mutation($ids: [ID!]!) { removeProducers(ids: $ids) { results { result } } }",
                 {"ids": [dropped["producer"]["id"]]}, token=tenant.admin)

    events = (await audit(gql, tenant.admin, entity=["ONBOARDING"]))["nodes"]
    by_onboarding = {e["entityId"]: [x["name"] for x in events if x["entityId"] == e["entityId"]
                                     and x["event"] != "UPDATED"] for e in events}

    assert by_onboarding[finished["id"]] == ["onboarding.created", "onboarding.finished"]
    assert by_onboarding[dropped["id"]] == ["onboarding.created", "onboarding.cancelled"]
    assert {e["producerId"] for e in events} == {finished["producer"]["id"], dropped["producer"]["id"]}
    assert all("status" in e["after"] and "tenant_id" not in e["after"] for e in events)
    assert {e["after"]["agencyId"] for e in events} == {acme["locator"]}


async def test_quote_events_belong_to_the_producer_of_their_code(gql, new_tenant):
    tenant = await new_tenant()
    mine = await chain(gql, tenant.admin, "MY-1", depth=2)
    await chain(gql, tenant.admin, "OT-1", depth=2)
    await quote(gql, tenant.admin, "MY-1")
    await quote(gql, tenant.admin, "OT-1")

    log = (await audit(gql, tenant.admin, entity=["QUOTE"]))["nodes"]

    assert sorted(e["after"]["producerCode"] for e in log) == ["MY-1", "OT-1"]
    assert {e["producerId"] for e in log if e["after"]["producerCode"] == "MY-1"} == {mine[-1]["id"]}
