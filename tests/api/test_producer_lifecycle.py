"""Producer and producer-code lifecycle over the API, and the rules applied when a producer is created or changed."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.tenant_config import default_config_dict
from tests.api.helpers import CREATE_PRODUCER, create_code, create_producer, transition_mutation

STATES = ("draft", "validated", "suspended", "retired", "discarded")
ACTIONS = ("validate", "suspend", "unsuspend", "retire", "discard")

# The lifecycle of DESIGN.md, written out independently of app/rules/lifecycle.py.
ALLOWED = {
    ("draft", "validate"): "validated",
    ("draft", "discard"): "discarded",
    ("validated", "suspend"): "suspended",
    ("validated", "retire"): "retired",
    ("validated", "discard"): "discarded",
    ("suspended", "unsuspend"): "validated",
    ("suspended", "retire"): "retired",
    ("suspended", "discard"): "discarded",
}

# How to reach each state from a fresh draft.
PATH_TO = {
    "draft": [],
    "validated": ["validate"],
    "suspended": ["validate", "suspend"],
    "retired": ["validate", "retire"],
    "discarded": ["discard"],
}

CASES = [(state, action) for state in STATES for action in ACTIONS]

PRODUCER_STATE = "query($id: ID!) { producer(id: $id) { state } }"
CODE_STATE = "query($id: ID!) { producerCode(id: $id) { state code } }"

UPDATE_PRODUCER = """
mutation($id: ID!, $input: UpdateProducerInput!) {
  updateProducer(id: $id, input: $input) {
    producer { id data lastName }
    userErrors { field message code }
  }
}"""


async def act(gql: Any, token: str, action: str, subject: str, object_id: str) -> dict[str, Any]:
    name = f"{action}{subject}"
    data = await gql.ok(transition_mutation(action, subject), {"id": object_id}, token=token)
    return data[name]  # type: ignore[no-any-return]


async def producer_in(gql: Any, token: str, state: str) -> str:
    producer = await create_producer(gql, token)
    for step in PATH_TO[state]:
        result = await act(gql, token, step, "Producer", producer["id"])
        assert result["userErrors"] == [], result
    return producer["id"]  # type: ignore[no-any-return]


async def code_in(gql: Any, token: str, state: str) -> str:
    owner = await create_producer(gql, token)
    code = await create_code(gql, token, owner["id"])
    for step in PATH_TO[state]:
        result = await act(gql, token, step, "ProducerCode", code["id"])
        assert result["userErrors"] == [], result
    return code["id"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("state", "action"), CASES, ids=[f"{s}-{a}" for s, a in CASES])
async def test_producer_lifecycle_transition(gql, new_tenant, state, action):
    # given a producer in `state`
    tenant = await new_tenant()
    producer_id = await producer_in(gql, tenant.admin, state)
    # when the action is requested
    result = await act(gql, tenant.admin, action, "Producer", producer_id)
    # then it moves where the lifecycle says, or is refused and stays
    after = (await gql.ok(PRODUCER_STATE, {"id": producer_id}, token=tenant.admin))["producer"]["state"]
    if (state, action) in ALLOWED:
        assert result["userErrors"] == []
        assert result["producer"]["state"] == ALLOWED[(state, action)].upper()
        assert after == ALLOWED[(state, action)].upper()
    else:
        assert [e["code"] for e in result["userErrors"]] == ["INVALID_TRANSITION"]
        assert result["userErrors"][0]["message"].startswith(f"Cannot {action} a producer in state {state}")
        assert after == state.upper()


@pytest.mark.parametrize(("state", "action"), CASES, ids=[f"{s}-{a}" for s, a in CASES])
async def test_producer_code_lifecycle_transition(gql, new_tenant, state, action):
    # given a producer code in `state`
    tenant = await new_tenant()
    code_id = await code_in(gql, tenant.admin, state)
    # when the action is requested
    result = await act(gql, tenant.admin, action, "ProducerCode", code_id)
    # then it moves where the lifecycle says, or is refused and stays
    after = (await gql.ok(CODE_STATE, {"id": code_id}, token=tenant.admin))["producerCode"]["state"]
    if (state, action) in ALLOWED:
        assert result["userErrors"] == []
        assert result["producerCode"]["state"] == ALLOWED[(state, action)].upper()
        assert after == ALLOWED[(state, action)].upper()
    else:
        assert [e["code"] for e in result["userErrors"]] == ["INVALID_TRANSITION"]
        assert after == state.upper()


async def test_allowed_actions_follow_the_state(gql, new_tenant):
    tenant = await new_tenant()
    producer_id = await producer_in(gql, tenant.admin, "suspended")
    data = await gql.ok("query($id: ID!) { producer(id: $id) { allowedActions } }", {"id": producer_id},
                        token=tenant.admin)
    assert data["producer"]["allowedActions"] == ["UNSUSPEND", "RETIRE", "DISCARD"]


async def test_failed_validation_keeps_the_draft_and_lists_the_missing_last_name(gql, new_tenant):
    # given an individual producer created without a last name
    tenant = await new_tenant()
    data = await gql.ok(CREATE_PRODUCER, {"input": {"type": "Agent", "firstName": "Ana"}}, token=tenant.admin)
    producer_id = data["createProducer"]["producer"]["id"]
    # when it is validated
    result = await act(gql, tenant.admin, "validate", "Producer", producer_id)
    # then validation fails, the state stays draft and the result names the problem
    assert [e["code"] for e in result["userErrors"]] == ["MISSING_LAST_NAME"]
    assert result["userErrors"][0]["field"] == ["lastName"]  # the stored producer's field: no input
    assert result["producer"]["state"] == "DRAFT"
    assert result["producer"]["validationResult"]["valid"] is False
    assert [i["code"] for i in result["producer"]["validationResult"]["items"]] == ["MISSING_LAST_NAME"]
    stored = await gql.ok("query($id: ID!) { producer(id: $id) { state validationResult { valid items { code } } } }",
                          {"id": producer_id}, token=tenant.admin)
    assert stored["producer"]["state"] == "DRAFT"
    assert stored["producer"]["validationResult"]["items"] == [{"code": "MISSING_LAST_NAME"}]


async def test_the_validation_result_time_is_a_date_time_like_the_producer_timestamps(gql, new_tenant):
    # given a producer that failed validation
    tenant = await new_tenant()
    data = await gql.ok(CREATE_PRODUCER, {"input": {"type": "Agent", "firstName": "Ana"}}, token=tenant.admin)
    producer_id = data["createProducer"]["producer"]["id"]
    await act(gql, tenant.admin, "validate", "Producer", producer_id)
    # when its validation result is read
    stored = await gql.ok("query($id: ID!) { producer(id: $id) { createdAt validationResult { at } } }",
                          {"id": producer_id}, token=tenant.admin)
    # then `at` is a DateTime, serialised as createdAt is: ISO 8601 in UTC, not before the producer existed
    at = datetime.fromisoformat(stored["producer"]["validationResult"]["at"])
    created = datetime.fromisoformat(stored["producer"]["createdAt"])
    assert at.utcoffset() == created.utcoffset() == timedelta(0)
    assert at >= created
    type_of_at = await gql.ok('{ __type(name: "ValidationResult") { fields { name type { name } } } }',
                              token=tenant.admin)
    assert {"name": "at", "type": {"name": "DateTime"}} in type_of_at["__type"]["fields"]


def config_with_required_agent_field() -> dict[str, Any]:
    config = copy.deepcopy(default_config_dict())
    config["producerManagement"]["producers"]["Agent"]["data"]["agencyRank"] = {"type": "int", "required": True}
    return config


async def test_validation_requires_required_data_fields_and_passes_once_set(gql, new_tenant):
    # given a type with a required data field and a draft without it (drafts may be partial)
    tenant = await new_tenant(config_with_required_agent_field())
    producer = await create_producer(gql, tenant.admin)
    # when validated, then it fails on the missing field
    result = await act(gql, tenant.admin, "validate", "Producer", producer["id"])
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("MISSING_REQUIRED_DATA", ["data", "agencyRank"])]
    assert result["producer"]["state"] == "DRAFT"
    # when the field is set, then validation passes
    update = await gql.ok(UPDATE_PRODUCER, {"id": producer["id"], "input": {"setData": {"agencyRank": 3}}},
                          token=tenant.admin)
    assert update["updateProducer"]["userErrors"] == []
    result = await act(gql, tenant.admin, "validate", "Producer", producer["id"])
    assert result["userErrors"] == []
    assert result["producer"]["state"] == "VALIDATED"
    assert result["producer"]["validationResult"] == {"valid": True, "items": []}


# ---- creation and update rules -----------------------------------------------------------------

async def create_errors(gql: Any, token: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    data = await gql.ok(CREATE_PRODUCER, {"input": payload}, token=token)
    assert data["createProducer"]["producer"] is None
    return data["createProducer"]["userErrors"]  # type: ignore[no-any-return]


async def test_abstract_producer_type_cannot_be_created(gql, new_tenant):
    tenant = await new_tenant()
    errors = await create_errors(gql, tenant.admin, {"type": "Producer", "lastName": "Rivera"})
    assert [(e["code"], e["field"]) for e in errors] == [("ABSTRACT_TYPE", ["input", "type"])]


async def test_unknown_producer_type_is_refused_with_the_configured_types(gql, new_tenant):
    tenant = await new_tenant()
    errors = await create_errors(gql, tenant.admin, {"type": "Agnt", "lastName": "Rivera"})
    assert [e["code"] for e in errors] == ["UNKNOWN_TYPE"]
    assert "Agency, Agent" in errors[0]["message"]


@pytest.mark.parametrize(("data", "code", "field"), [
    ({"favouriteColour": "blue"}, "UNKNOWN_DATA_FIELD", "favouriteColour"),
    ({"yearsOfExperience": "ten"}, "DATA_TYPE_MISMATCH", "yearsOfExperience"),
    ({"phone": 5551234}, "DATA_TYPE_MISMATCH", "phone"),  # inherited from the abstract base type
    ({"licenseClass": "freelance"}, "INVALID_ENUM_VALUE", "licenseClass"),
    ({"status": "sleeping"}, "INVALID_ENUM_VALUE", "status"),  # inherited enum
], ids=["unknown-key", "wrong-type", "inherited-wrong-type", "enum", "inherited-enum"])
async def test_producer_data_is_validated_against_the_type_with_inheritance(gql, new_tenant, data, code, field):
    tenant = await new_tenant()
    errors = await create_errors(gql, tenant.admin, {"type": "Agent", "lastName": "Rivera", "data": data})
    assert [(e["code"], e["field"]) for e in errors] == [(code, ["input", "data", field])]


async def test_inherited_data_fields_are_accepted_and_defaults_filled(gql, new_tenant):
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin, data={"phone": "555-0100", "yearsOfExperience": 4})
    data = await gql.ok("query($id: ID!) { producer(id: $id) { data } }", {"id": producer["id"]}, token=tenant.admin)
    assert data["producer"]["data"] == {"phone": "555-0100", "yearsOfExperience": 4, "status": "active",
                                        "licenseClass": "independent"}


async def test_set_data_and_remove_data_change_only_the_named_keys(gql, new_tenant):
    # given a producer with some data
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin, data={"phone": "555-0100", "notes": "met at expo"})
    # when one key is set and another removed
    result = await gql.ok(UPDATE_PRODUCER, {"id": producer["id"], "input": {
        "setData": {"yearsOfExperience": 7}, "removeData": ["notes"]}}, token=tenant.admin)
    # then the rest is kept
    assert result["updateProducer"]["userErrors"] == []
    assert result["updateProducer"]["producer"]["data"] == {
        "phone": "555-0100", "yearsOfExperience": 7, "status": "active", "licenseClass": "independent"}


async def test_set_data_with_a_bad_value_changes_nothing(gql, new_tenant):
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin, data={"phone": "555-0100"})
    result = await gql.ok(UPDATE_PRODUCER, {"id": producer["id"], "input": {
        "setData": {"licenseClass": "pirate"}, "lastName": "Changed"}}, token=tenant.admin)
    assert [e["code"] for e in result["updateProducer"]["userErrors"]] == ["INVALID_ENUM_VALUE"]
    data = await gql.ok("query($id: ID!) { producer(id: $id) { lastName data } }", {"id": producer["id"]},
                        token=tenant.admin)
    assert data["producer"]["lastName"] == "Rivera"
    assert data["producer"]["data"]["licenseClass"] == "independent"


async def test_retired_producer_cannot_be_updated(gql, new_tenant):
    tenant = await new_tenant()
    producer_id = await producer_in(gql, tenant.admin, "retired")
    result = await gql.ok(UPDATE_PRODUCER, {"id": producer_id, "input": {"lastName": "Other"}}, token=tenant.admin)
    assert [e["code"] for e in result["updateProducer"]["userErrors"]] == ["PRODUCER_TERMINAL"]


async def test_replace_producer_clears_omitted_fields(gql, new_tenant):
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin, npn="1234567", email="ana@example.com")
    data = await gql.ok("""mutation($id: ID!, $input: CreateProducerInput!) {
        replaceProducer(id: $id, input: $input) { producer { lastName npn email firstName }
        userErrors { code } } }""", {"id": producer["id"], "input": {"type": "Agent", "lastName": "Stone"}},
                        token=tenant.admin)
    assert data["replaceProducer"]["userErrors"] == []
    assert data["replaceProducer"]["producer"] == {"lastName": "Stone", "npn": None, "email": None,
                                                   "firstName": None}
