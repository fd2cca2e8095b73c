"""One rule for ids: the global id everywhere, a bare locator where the field implies the type, INVALID_ID
from node/nodes for a bare locator, and nothing (null, *_NOT_FOUND) for garbage or another tenant's id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import create_code, create_producer

NODE = "query($id: ID!) { node(id: $id) { id ... on Producer { locator } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
PRODUCER = "query($id: ID!) { producer(id: $id) { id locator } }"
CODE = "query($id: ID!) { producerCode(id: $id) { id code } }"
UPDATE = """mutation($id: ID!) { updateProducer(id: $id, input: {lastName: "Changed"}) {
  producer { id lastName } userErrors { code field } } }"""
GARBAGE = ["not-an-id", "UHJvZHVjZXI6bm9wZQ==", "", "01ARZ3NDEKTSV4RRFFQ69G5FA"]  # the last: 25 characters


@pytest.fixture
async def owned(gql: Any, new_tenant: Any) -> Any:
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    code = await create_code(gql, tenant.admin, producer["id"], code="IDS-1")
    return tenant, producer, code


async def test_node_and_nodes_fetch_objects_by_global_id(gql, owned):
    tenant, producer, code = owned
    data = await gql.ok(NODE, {"id": producer["id"]}, token=tenant.admin)
    assert data["node"] == {"id": producer["id"], "locator": producer["locator"]}
    data = await gql.ok(NODES, {"ids": [code["id"], producer["id"]]}, token=tenant.admin)
    assert data["nodes"] == [{"id": code["id"]}, {"id": producer["id"]}]


async def test_node_refuses_a_bare_locator_with_invalid_id(gql, owned):
    tenant, producer, _ = owned
    body = await gql.post(NODE, {"id": producer["locator"]}, token=tenant.admin)
    error = body.json()["errors"][0]
    assert body.json()["data"] == {"node": None}
    assert error["extensions"]["code"] == "INVALID_ID"
    assert error["extensions"]["field"] == "id"
    assert "global id" in error["message"]


async def test_nodes_refuses_a_bare_locator_in_its_own_item_and_answers_the_others(gql, owned):
    # given a global id, a bare locator and another global id
    tenant, producer, code = owned
    ids = [code["id"], producer["locator"], producer["id"]]
    # when nodes is asked for them
    body = (await gql.post(NODES, {"ids": ids}, token=tenant.admin)).json()
    # then only the bare locator's item is null, with INVALID_ID at its path naming its position
    assert body["data"] == {"nodes": [{"id": code["id"]}, None, {"id": producer["id"]}]}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_ID"]
    assert body["errors"][0]["path"] == ["nodes", 1]
    assert body["errors"][0]["extensions"]["field"] == "ids[1]"


@pytest.mark.parametrize("value", GARBAGE, ids=["malformed", "bad-locator", "empty", "short-locator"])
async def test_garbage_names_nothing_in_node_nodes_and_typed_fields(gql, owned, value):
    tenant, _, _ = owned
    assert (await gql.ok(NODE, {"id": value}, token=tenant.admin))["node"] is None
    assert (await gql.ok(NODES, {"ids": [value]}, token=tenant.admin))["nodes"] == [None]
    assert (await gql.ok(PRODUCER, {"id": value}, token=tenant.admin))["producer"] is None
    result = (await gql.ok(UPDATE, {"id": value}, token=tenant.admin))["updateProducer"]
    assert [e["code"] for e in result["userErrors"]] == ["PRODUCER_NOT_FOUND"]


async def test_typed_fields_accept_the_global_id_and_the_bare_locator(gql, owned):
    tenant, producer, code = owned
    for value in (producer["id"], producer["locator"]):
        data = await gql.ok(PRODUCER, {"id": value}, token=tenant.admin)
        assert data["producer"] == {"id": producer["id"], "locator": producer["locator"]}
    code_locator = (await gql.ok("query($id: ID!) { producerCode(id: $id) { locator } }", {"id": code["id"]},
                                 token=tenant.admin))["producerCode"]["locator"]
    for value in (code["id"], code_locator):
        assert (await gql.ok(CODE, {"id": value}, token=tenant.admin))["producerCode"] == {
            "id": code["id"], "code": "IDS-1"}
    result = (await gql.ok(UPDATE, {"id": producer["locator"]}, token=tenant.admin))["updateProducer"]
    assert result == {"producer": {"id": producer["id"], "lastName": "Changed"}, "userErrors": []}


async def test_a_typed_field_given_another_types_global_id_finds_nothing(gql, owned):
    tenant, producer, code = owned
    assert (await gql.ok(PRODUCER, {"id": code["id"]}, token=tenant.admin))["producer"] is None
    assert (await gql.ok(CODE, {"id": producer["id"]}, token=tenant.admin))["producerCode"] is None


async def test_another_tenants_ids_are_never_leaked_in_either_form(gql, owned, new_tenant):
    _, producer, code = owned
    stranger = await new_tenant()
    assert (await gql.ok(NODE, {"id": producer["id"]}, token=stranger.admin))["node"] is None
    assert (await gql.ok(NODES, {"ids": [producer["id"], code["id"]]}, token=stranger.admin))["nodes"] == [
        None, None]
    for value in (producer["id"], producer["locator"]):
        assert (await gql.ok(PRODUCER, {"id": value}, token=stranger.admin))["producer"] is None
    # a bare locator is refused the same whether or not the object exists: the refusal tells nothing
    own = (await gql.post(NODE, {"id": producer["locator"]}, token=stranger.admin)).json()
    missing = (await gql.post(NODE, {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, token=stranger.admin)).json()
    for body in (own, missing):
        body["errors"][0]["extensions"].pop("requestId", None)
    assert own == missing
    assert own["errors"][0]["extensions"]["code"] == "INVALID_ID"
