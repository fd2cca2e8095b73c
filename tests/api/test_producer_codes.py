"""Producer codes: numbering under concurrency, uniqueness per tenant, required once not draft, moves."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from app.rules.numbering import format_pattern
from app.tenant_config import default_config_dict
from tests.api.helpers import CREATE_CODE, create_code, create_producer, transition_mutation

UPDATE_CODE = """
mutation($id: ID!, $input: UpdateProducerCodeInput!) {
  updateProducerCode(id: $id, input: $input) {
    producerCode { id code state data producer { id } }
    userErrors { field message code }
  }
}"""


def custom_config() -> dict[str, Any]:
    """The default configuration plus a code type numbered at validation and one with no plan."""
    config = copy.deepcopy(default_config_dict())
    pm = config["producerManagement"]
    pm["numberingPlans"]["LateCodes"] = {"format": "L\\-####", "initialCoreNumber": 7, "trigger": "validation"}
    pm["producerCodes"]["LateCode"] = {"extend": "ProducerCode", "numberingPlan": "LateCodes"}
    pm["producerCodes"]["ManualCode"] = {"extend": "ProducerCode"}
    return config


async def create_code_result(gql: Any, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    data = await gql.ok(CREATE_CODE, {"input": payload}, token=token)
    return data["createProducerCode"]  # type: ignore[no-any-return]


async def transition(gql: Any, token: str, action: str, code_id: str) -> dict[str, Any]:
    data = await gql.ok(transition_mutation(action, "ProducerCode"), {"id": code_id}, token=token)
    return data[f"{action}ProducerCode"]  # type: ignore[no-any-return]


async def test_two_hundred_concurrent_creations_get_distinct_codes_in_the_plan_format(gql, new_tenant):
    # given ten producers of one tenant
    tenant = await new_tenant()
    owners = [(await create_producer(gql, tenant.admin))["id"] for _ in range(10)]
    # when 200 codes are created at once without a code
    results = await asyncio.gather(*[
        create_code_result(gql, tenant.admin, {"type": "AgentCode", "producerId": owners[i % 10]})
        for i in range(200)])
    # then every one got its own code, in the AgentCodes format
    assert all(r["userErrors"] == [] for r in results), [r["userErrors"] for r in results if r["userErrors"]][:3]
    codes = [r["producerCode"]["code"] for r in results]
    assert len(set(codes)) == 200
    pattern = format_pattern("PC\\-{numberingString}-#######", "AGT")
    assert all(pattern.match(code) for code in codes), codes[:5]
    assert sorted(codes) == [f"PC-AGT-{n:07d}" for n in range(1, 201)]


async def test_each_code_type_is_numbered_from_its_own_plan(gql, new_tenant):
    tenant = await new_tenant()
    owner = await create_producer(gql, tenant.admin, type="Agency")
    agency_code = await create_code(gql, tenant.admin, owner["id"], type="AgencyCode")
    assert format_pattern("AG-######").match(agency_code["code"])
    assert agency_code["code"] == "AG-000001"


async def test_an_explicit_code_already_in_use_is_taken(gql, new_tenant):
    # given a code "X-1"
    tenant = await new_tenant()
    owner = await create_producer(gql, tenant.admin)
    await create_code(gql, tenant.admin, owner["id"], code="X-1")
    # when another code is created with the same value
    result = await create_code_result(gql, tenant.admin, {"type": "AgentCode", "producerId": owner["id"],
                                                          "code": "X-1"})
    # then it is refused
    assert result["producerCode"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("CODE_TAKEN", ["input", "code"])]


async def test_the_same_code_may_exist_in_two_tenants(gql, new_tenant):
    tenant_a, tenant_b = await new_tenant(), await new_tenant()
    for tenant in (tenant_a, tenant_b):
        owner = await create_producer(gql, tenant.admin)
        code = await create_code(gql, tenant.admin, owner["id"], code="SHARED-1")
        assert code["code"] == "SHARED-1"


async def test_concurrent_creations_of_one_explicit_code_have_exactly_one_winner(gql, new_tenant):
    # given five producers
    tenant = await new_tenant()
    owners = [(await create_producer(gql, tenant.admin))["id"] for _ in range(5)]
    # when each tries to take "RACE-1" at the same time
    results = await asyncio.gather(*[
        create_code_result(gql, tenant.admin, {"type": "AgentCode", "producerId": owner, "code": "RACE-1"})
        for owner in owners])
    # then one wins and the others are told the code is taken
    winners = [r for r in results if r["producerCode"] is not None]
    assert len(winners) == 1
    assert sorted(e["code"] for r in results for e in r["userErrors"]) == ["CODE_TAKEN"] * 4
    data = await gql.ok("query { producerCodeByCode(code: \"RACE-1\") { id } }", token=tenant.admin)
    assert data["producerCodeByCode"]["id"] == winners[0]["producerCode"]["id"]


async def test_updating_to_a_code_in_use_is_taken(gql, new_tenant):
    tenant = await new_tenant()
    owner = await create_producer(gql, tenant.admin)
    await create_code(gql, tenant.admin, owner["id"], code="ONE")
    second = await create_code(gql, tenant.admin, owner["id"], code="TWO")
    data = await gql.ok(UPDATE_CODE, {"id": second["id"], "input": {"code": "ONE"}}, token=tenant.admin)
    assert [e["code"] for e in data["updateProducerCode"]["userErrors"]] == ["CODE_TAKEN"]


async def test_a_code_without_numbering_plan_cannot_be_validated_without_a_code(gql, new_tenant):
    # given a draft code of a type with no numbering plan, created without a code
    tenant = await new_tenant(custom_config())
    owner = await create_producer(gql, tenant.admin)
    code = await create_code(gql, tenant.admin, owner["id"], type="ManualCode")
    assert code["code"] is None and code["state"] == "DRAFT"
    # when it is validated
    result = await transition(gql, tenant.admin, "validate", code["id"])
    # then the code is required and the state stays
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("CODE_REQUIRED", ["code"])]
    assert result["producerCode"]["state"] == "DRAFT"
    # and once a code is set it validates
    await gql.ok(UPDATE_CODE, {"id": code["id"], "input": {"code": "M-1"}}, token=tenant.admin)
    result = await transition(gql, tenant.admin, "validate", code["id"])
    assert result["userErrors"] == [] and result["producerCode"]["state"] == "VALIDATED"


async def test_a_validated_code_cannot_lose_its_code(gql, new_tenant):
    tenant = await new_tenant()
    owner = await create_producer(gql, tenant.admin)
    code = await create_code(gql, tenant.admin, owner["id"])
    await transition(gql, tenant.admin, "validate", code["id"])
    data = await gql.ok(UPDATE_CODE, {"id": code["id"], "input": {"code": None}}, token=tenant.admin)
    assert [e["code"] for e in data["updateProducerCode"]["userErrors"]] == ["CODE_REQUIRED"]
    stored = await gql.ok("query($id: ID!) { producerCode(id: $id) { code } }", {"id": code["id"]},
                          token=tenant.admin)
    assert stored["producerCode"]["code"] == code["code"]


async def test_a_validation_trigger_plan_numbers_the_code_when_validated(gql, new_tenant):
    # given a code type whose plan numbers at validation
    tenant = await new_tenant(custom_config())
    owner = await create_producer(gql, tenant.admin)
    # when a code is created, then it has no code yet
    code = await create_code(gql, tenant.admin, owner["id"], type="LateCode")
    assert code["code"] is None
    # when it is validated, then it gets the plan's first number
    result = await transition(gql, tenant.admin, "validate", code["id"])
    assert result["userErrors"] == []
    stored = await gql.ok("query($id: ID!) { producerCode(id: $id) { code state } }", {"id": code["id"]},
                          token=tenant.admin)
    assert stored["producerCode"] == {"code": "L-0007", "state": "VALIDATED"}
    assert format_pattern("L\\-####").match(stored["producerCode"]["code"])


async def test_an_explicit_code_skips_the_validation_numbering(gql, new_tenant):
    tenant = await new_tenant(custom_config())
    owner = await create_producer(gql, tenant.admin)
    code = await create_code(gql, tenant.admin, owner["id"], type="LateCode", code="MINE-1")
    await transition(gql, tenant.admin, "validate", code["id"])
    stored = await gql.ok("query($id: ID!) { producerCode(id: $id) { code } }", {"id": code["id"]},
                          token=tenant.admin)
    assert stored["producerCode"]["code"] == "MINE-1"


async def test_a_code_moves_to_another_producer(gql, new_tenant):
    # given a code held by one producer
    tenant = await new_tenant()
    first, second = await create_producer(gql, tenant.admin), await create_producer(gql, tenant.admin)
    code = await create_code(gql, tenant.admin, first["id"])
    # when it is moved to the second
    data = await gql.ok(UPDATE_CODE, {"id": code["id"], "input": {"producerId": second["id"]}}, token=tenant.admin)
    # then the second producer holds it and the first no longer does
    assert data["updateProducerCode"]["userErrors"] == []
    assert data["updateProducerCode"]["producerCode"]["producer"]["id"] == second["id"]
    holders = await gql.ok("""query($a: ID!, $b: ID!) { a: producer(id: $a) { codes { totalCount } }
        b: producer(id: $b) { codes { totalCount nodes { id } } } }""", {"a": first["id"], "b": second["id"]},
                           token=tenant.admin)
    assert holders["a"]["codes"]["totalCount"] == 0
    assert holders["b"]["codes"]["nodes"] == [{"id": code["id"]}]


async def test_a_terminal_code_cannot_be_moved(gql, new_tenant):
    tenant = await new_tenant()
    first, second = await create_producer(gql, tenant.admin), await create_producer(gql, tenant.admin)
    code = await create_code(gql, tenant.admin, first["id"])
    await transition(gql, tenant.admin, "discard", code["id"])
    data = await gql.ok(UPDATE_CODE, {"id": code["id"], "input": {"producerId": second["id"]}}, token=tenant.admin)
    assert [e["code"] for e in data["updateProducerCode"]["userErrors"]] == ["PRODUCER_CODE_TERMINAL"]
    stored = await gql.ok("query($id: ID!) { producerCode(id: $id) { producer { id } } }", {"id": code["id"]},
                          token=tenant.admin)
    assert stored["producerCode"]["producer"]["id"] == first["id"]


async def test_a_code_cannot_move_to_a_terminal_producer(gql, new_tenant):
    tenant = await new_tenant()
    first, second = await create_producer(gql, tenant.admin), await create_producer(gql, tenant.admin)
    code = await create_code(gql, tenant.admin, first["id"])
    await gql.ok("mutation($id: ID!) { discardProducer(id: $id) { userErrors { code } } }", {"id": second["id"]},
                 token=tenant.admin)
    data = await gql.ok(UPDATE_CODE, {"id": code["id"], "input": {"producerId": second["id"]}}, token=tenant.admin)
    assert [e["code"] for e in data["updateProducerCode"]["userErrors"]] == ["PRODUCER_TERMINAL"]


async def test_a_code_cannot_move_to_a_producer_of_another_tenant(gql, new_tenant):
    tenant_a, tenant_b = await new_tenant(), await new_tenant()
    owner = await create_producer(gql, tenant_a.admin)
    foreign = await create_producer(gql, tenant_b.admin)
    code = await create_code(gql, tenant_a.admin, owner["id"])
    data = await gql.ok(UPDATE_CODE, {"id": code["id"], "input": {"producerId": foreign["id"]}}, token=tenant_a.admin)
    assert [e["code"] for e in data["updateProducerCode"]["userErrors"]] == ["PRODUCER_NOT_FOUND"]


async def test_abstract_and_unknown_code_types_are_refused(gql, new_tenant):
    tenant = await new_tenant()
    owner = await create_producer(gql, tenant.admin)
    abstract = await create_code_result(gql, tenant.admin, {"type": "ProducerCode", "producerId": owner["id"]})
    unknown = await create_code_result(gql, tenant.admin, {"type": "Nope", "producerId": owner["id"]})
    assert [e["code"] for e in abstract["userErrors"]] == ["ABSTRACT_TYPE"]
    assert [e["code"] for e in unknown["userErrors"]] == ["UNKNOWN_TYPE"]


async def test_code_data_is_validated_and_changed_by_set_and_remove(gql, new_tenant):
    tenant = await new_tenant()
    owner = await create_producer(gql, tenant.admin)
    bad = await create_code_result(gql, tenant.admin, {"type": "AgencyCode", "producerId": owner["id"],
                                                       "data": {"commissionRate": "lots"}})
    assert [(e["code"], e["field"]) for e in bad["userErrors"]] == [("DATA_TYPE_MISMATCH",
                                                                  ["input", "data", "commissionRate"])]
    good = await create_code_result(gql, tenant.admin, {"type": "AgencyCode", "producerId": owner["id"],
                                                        "data": {"commissionRate": 0.1, "notes": "n"}})
    code_id = good["producerCode"]["id"]
    data = await gql.ok(UPDATE_CODE, {"id": code_id, "input": {"setData": {"commissionRate": "0.15"},
                                                               "removeData": ["notes"]}}, token=tenant.admin)
    assert data["updateProducerCode"]["producerCode"]["data"] == {"commissionRate": "0.15"}


async def test_numbering_skips_a_code_already_typed_in_by_hand(gql, new_tenant):
    # given the plan's next two numbers, AG-000002 and AG-000003, already taken by explicit codes
    tenant = await new_tenant()
    owner = await create_producer(gql, tenant.admin, type="Agency")
    first = await create_code(gql, tenant.admin, owner["id"], type="AgencyCode")
    await create_code(gql, tenant.admin, owner["id"], type="AgencyCode", code="AG-000002")
    await create_code(gql, tenant.admin, owner["id"], type="AgencyCode", code="AG-000003")

    # when a code is numbered again
    generated = await create_code(gql, tenant.admin, owner["id"], type="AgencyCode")

    # then the taken numbers are skipped instead of failing with CODE_TAKEN
    assert first["code"] == "AG-000001"
    assert generated["code"] == "AG-000004"
