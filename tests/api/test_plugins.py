"""Tenant plugins: precommit changes what is saved, validation blocks with its message, failures change nothing."""

from __future__ import annotations

import copy
from typing import Any

from app.tenant_config import default_config_dict
from tests.api.helpers import CREATE_CODE, CREATE_PRODUCER, create_code, create_producer, transition_mutation

EXAMPLES = "app.examples.plugins"
READ = "query($id: ID!) { producer(id: $id) { state data validationResult { valid items { code message } } } }"


def with_plugins(precommit: str | None = None, validation: str | None = None) -> dict[str, Any]:
    config = copy.deepcopy(default_config_dict())
    config["plugins"] = {k: f"{EXAMPLES}.{v}" for k, v in (("precommit", precommit), ("validation", validation))
                         if v}
    return config


async def validate(gql: Any, token: str, producer_id: str, subject: str = "Producer") -> dict[str, Any]:
    data = await gql.ok(transition_mutation("validate", subject), {"id": producer_id}, token=token)
    return data[f"validate{subject}"]  # type: ignore[no-any-return]


async def test_precommit_plugin_modifies_data_before_save(gql, new_tenant):
    # given the example precommit plugin, which stamps agencies
    tenant = await new_tenant(with_plugins(precommit="ExamplePrecommit"))
    # when an agency is created
    agency = await create_producer(gql, tenant.admin, type="Agency", data={"dbaName": "Acme"})
    # then the stored data carries the plugin's change
    stored = await gql.ok(READ, {"id": agency["id"]}, token=tenant.admin)
    assert stored["producer"]["data"]["notes"] == "added by preCommit"
    assert stored["producer"]["data"]["dbaName"] == "Acme"


async def test_precommit_plugin_is_dispatched_by_type(gql, new_tenant):
    tenant = await new_tenant(with_plugins(precommit="ExamplePrecommit"))
    agent = await create_producer(gql, tenant.admin)
    stored = await gql.ok(READ, {"id": agent["id"]}, token=tenant.admin)
    assert "notes" not in stored["producer"]["data"]


async def test_precommit_plugin_modifies_producer_codes(gql, new_tenant):
    tenant = await new_tenant(with_plugins(precommit="ExamplePrecommit"))
    agent = await create_producer(gql, tenant.admin)
    code = await create_code(gql, tenant.admin, agent["id"])
    stored = await gql.ok("query($id: ID!) { producerCode(id: $id) { data } }", {"id": code["id"]},
                          token=tenant.admin)
    assert stored["producerCode"]["data"]["notes"] == "added by preCommit"


async def test_validation_plugin_error_blocks_validation_with_its_message(gql, new_tenant):
    # given the example validation plugin, which refuses inactive producers (handler on the abstract base)
    tenant = await new_tenant(with_plugins(validation="ExampleValidation"))
    inactive = await create_producer(gql, tenant.admin, data={"status": "inactive"})
    # when it is validated
    result = await validate(gql, tenant.admin, inactive["id"])
    # then the plugin's message comes back and the state stays
    assert result["userErrors"] == [{"field": None, "message": "producer must be active",
                                     "code": "PLUGIN_VALIDATION"}]
    assert result["producer"]["state"] == "DRAFT"
    assert result["producer"]["validationResult"]["items"] == [
        {"code": "PLUGIN_VALIDATION", "message": "producer must be active"}]


async def test_validation_plugin_lets_a_good_producer_through(gql, new_tenant):
    tenant = await new_tenant(with_plugins(validation="ExampleValidation"))
    active = await create_producer(gql, tenant.admin)
    result = await validate(gql, tenant.admin, active["id"])
    assert result["userErrors"] == [] and result["producer"]["state"] == "VALIDATED"


async def test_an_exploding_validation_plugin_is_a_validation_error_and_changes_nothing(gql, new_tenant):
    # given a validation plugin that raises
    tenant = await new_tenant(with_plugins(validation="ExplodingValidation"))
    agent = await create_producer(gql, tenant.admin, data={"phone": "555-0100"})
    # when the producer is validated
    result = await validate(gql, tenant.admin, agent["id"])
    # then validation fails with a plain message (no exception text), and nothing else changed
    assert [e["code"] for e in result["userErrors"]] == ["PLUGIN_VALIDATION"]
    assert result["userErrors"][0]["message"] == "The validation plugin for Agent failed: RuntimeError."
    assert "boom" not in str(result)
    stored = await gql.ok(READ, {"id": agent["id"]}, token=tenant.admin)
    assert stored["producer"]["state"] == "DRAFT"
    assert stored["producer"]["data"]["phone"] == "555-0100"


async def test_an_exploding_validation_plugin_blocks_code_validation(gql, new_tenant):
    tenant = await new_tenant(with_plugins(validation="ExplodingValidation"))
    agent = await create_producer(gql, tenant.admin)
    code = await create_code(gql, tenant.admin, agent["id"])
    result = await validate(gql, tenant.admin, code["id"], "ProducerCode")
    assert [e["code"] for e in result["userErrors"]] == ["PLUGIN_VALIDATION"]
    assert result["producerCode"]["state"] == "DRAFT"


async def test_an_exploding_precommit_plugin_refuses_the_save_and_stores_nothing(gql, new_tenant):
    # given a precommit plugin that raises
    tenant = await new_tenant(with_plugins(precommit="ExplodingPrecommit"))
    # when a producer and a code are created
    data = await gql.ok(CREATE_PRODUCER, {"input": {"type": "Agent", "lastName": "Rivera"}}, token=tenant.admin)
    # then the save is refused with a code and nothing was stored
    assert data["createProducer"]["producer"] is None
    assert [e["code"] for e in data["createProducer"]["userErrors"]] == ["PLUGIN_FAILED"]
    assert "boom" not in str(data)
    listed = await gql.ok("{ producers { totalCount } }", token=tenant.admin)
    assert listed["producers"]["totalCount"] == 0


async def test_an_exploding_precommit_plugin_refuses_code_creation(gql, new_tenant):
    tenant = await new_tenant(with_plugins(precommit="ExplodingPrecommit"))
    agency = (await gql.ok(CREATE_PRODUCER, {"input": {"type": "Agency", "organizationName": "A"}},
                           token=tenant.admin))["createProducer"]["producer"]
    data = await gql.ok(CREATE_CODE, {"input": {"type": "AgentCode", "producerId": agency["id"]}},
                        token=tenant.admin)
    assert [e["code"] for e in data["createProducerCode"]["userErrors"]] == ["PLUGIN_FAILED"]
