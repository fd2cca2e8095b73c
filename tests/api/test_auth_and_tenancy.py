"""Authentication (HTTP and WebSocket) and scoping: other tenants and other subtrees are not found."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from app.auth import mint_token
from tests.api.helpers import create_code, create_producer, transition_mutation
from tests.conftest import settings_for_test

QUERY = "{ producers { totalCount } }"
PRODUCER = "query($id: ID!) { producer(id: $id) { id } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
LIST = "{ producers(first: 100) { totalCount nodes { id } } }"
BY_CODE = "query($code: String!) { producerCodeByCode(code: $code) { id } }"
UPDATE = """mutation($id: ID!) { updateProducer(id: $id, input: {lastName: "Changed"}) {
  producer { lastName } userErrors { code } } }"""


def assert_refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == code
    assert body["errors"][0]["message"]


async def test_no_token_is_401_with_a_json_error(gql):
    response = await gql.post(QUERY)
    assert_refused(response, "UNAUTHENTICATED")
    assert "Bearer" in response.json()["errors"][0]["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_non_bearer_authorization_header_is_refused(gql):
    response = await gql.post(QUERY, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_refused(response, "UNAUTHENTICATED")


async def test_a_token_with_a_bad_signature_is_refused(gql, new_tenant):
    tenant = await new_tenant()
    forged = mint_token(settings_for_test(jwt_secret="another-secret-of-sufficient-length"), tenant_id=tenant.id,
                        roles=["TENANT_ADMIN"])
    response = await gql.post(QUERY, token=forged)
    assert_refused(response, "INVALID_TOKEN")
    assert "signature" in response.json()["errors"][0]["message"]


async def test_an_expired_token_is_refused(gql, new_tenant):
    tenant = await new_tenant()
    expired = gql.token(tenant.id, "TENANT_ADMIN", ttl=-3600)
    response = await gql.post(QUERY, token=expired)
    assert_refused(response, "TOKEN_EXPIRED")


async def test_a_token_accepted_before_is_refused_once_it_expires(gql, new_tenant):
    """Given a token in its last seconds (expired, within the 10-second leeway) that a request was answered with,
    when it is sent again after the leeway ran out, then it is refused: the server's memory of verified tokens
    never outlives their expiry."""
    import asyncio

    tenant = await new_tenant()
    ending = gql.token(tenant.id, "TENANT_ADMIN", ttl=-8)
    assert (await gql.ok(QUERY, token=ending))["producers"]["totalCount"] == 0
    assert (await gql.ok(QUERY, token=ending))["producers"]["totalCount"] == 0
    await asyncio.sleep(3)
    assert_refused(await gql.post(QUERY, token=ending), "TOKEN_EXPIRED")


async def test_a_malformed_token_is_refused(gql):
    response = await gql.post(QUERY, token="not-a-jwt")
    assert_refused(response, "INVALID_TOKEN")


async def test_a_token_without_a_tenant_claim_is_refused(gql, settings):
    token = jwt.encode({"sub": "x", "roles": ["TENANT_ADMIN"], "exp": 4102444800}, settings.signing_secret,
                       algorithm="HS256")
    response = await gql.post(QUERY, token=token)
    assert_refused(response, "INVALID_TOKEN")
    assert "tenant" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("roles", ["TENANT_ADMIN", {"TENANT_ADMIN": True}, 7, [["TENANT_ADMIN"]], [None]],
                         ids=["a string", "an object", "a number", "nested lists", "a null"])
async def test_a_roles_claim_that_is_not_a_list_of_strings_is_refused(gql, settings, new_tenant, roles):
    tenant = await new_tenant()
    token = jwt.encode({"sub": "x", "tenant": tenant.id, "roles": roles, "exp": 4102444800},
                       settings.signing_secret, algorithm="HS256")
    response = await gql.post(QUERY, token=token)
    assert_refused(response, "INVALID_TOKEN")
    assert "roles" in response.json()["errors"][0]["message"]


async def test_a_subject_longer_than_the_author_columns_is_refused(gql, new_tenant):
    # given a token whose subject could not be recorded as the author of a change
    tenant = await new_tenant()
    token = gql.token(tenant.id, "TENANT_ADMIN", subject="s" * 201)
    # when it is used for a mutation; then it is refused as a token, not as an internal error
    response = await gql.post('mutation { createProducer(input: {type: "Agent", lastName: "Long"}) { producer { id } } }',
                              token=token)
    assert_refused(response, "INVALID_TOKEN")
    assert "200" in response.json()["errors"][0]["message"]


async def test_a_token_for_a_tenant_that_does_not_exist_is_refused(gql):
    token = gql.token("01ARZ3NDEKTSV4RRFFQ69G5FAV", "TENANT_ADMIN")
    response = await gql.post(QUERY, token=token)
    assert_refused(response, "INVALID_TOKEN")
    assert "tenant" in response.json()["errors"][0]["message"]


async def test_an_agency_role_without_an_agency_claim_is_refused(gql, new_tenant):
    tenant = await new_tenant()
    response = await gql.post(QUERY, token=gql.token(tenant.id, "AGENCY_ADMIN"))
    assert_refused(response, "INVALID_TOKEN")


# ---- tenants --------------------------------------------------------------------------------

@pytest.fixture
async def two_tenants(gql: Any, new_tenant: Any) -> Any:
    tenant_a, tenant_b = await new_tenant(), await new_tenant()
    producer_b = await create_producer(gql, tenant_b.admin)
    code_b = await create_code(gql, tenant_b.admin, producer_b["id"], code="B-ONLY-1")
    return tenant_a, tenant_b, producer_b, code_b


async def test_another_tenants_producer_is_not_found_by_global_id(gql, two_tenants):
    tenant_a, tenant_b, producer_b, _ = two_tenants
    assert (await gql.ok(PRODUCER, {"id": producer_b["id"]}, token=tenant_a.admin))["producer"] is None
    assert (await gql.ok(PRODUCER, {"id": producer_b["locator"]}, token=tenant_a.admin))["producer"] is None
    assert (await gql.ok(NODE, {"id": producer_b["id"]}, token=tenant_a.admin))["node"] is None
    assert (await gql.ok(NODES, {"ids": [producer_b["id"]]}, token=tenant_a.admin))["nodes"] == [None]
    # while its own tenant sees it
    assert (await gql.ok(NODE, {"id": producer_b["id"]}, token=tenant_b.admin))["node"] == {"id": producer_b["id"]}


async def test_another_tenants_producer_is_not_in_the_list(gql, two_tenants):
    tenant_a, tenant_b, producer_b, _ = two_tenants
    own = await create_producer(gql, tenant_a.admin)
    listed = (await gql.ok(LIST, token=tenant_a.admin))["producers"]
    assert listed == {"totalCount": 1, "nodes": [{"id": own["id"]}]}


async def test_another_tenants_code_is_not_found(gql, two_tenants):
    tenant_a, tenant_b, _, code_b = two_tenants
    assert (await gql.ok(BY_CODE, {"code": "B-ONLY-1"}, token=tenant_a.admin))["producerCodeByCode"] is None
    assert (await gql.ok(NODE, {"id": code_b["id"]}, token=tenant_a.admin))["node"] is None
    assert (await gql.ok(BY_CODE, {"code": "B-ONLY-1"}, token=tenant_b.admin))["producerCodeByCode"] == {
        "id": code_b["id"]}


async def test_another_tenants_producer_cannot_be_changed(gql, two_tenants):
    tenant_a, tenant_b, producer_b, _ = two_tenants
    result = (await gql.ok(UPDATE, {"id": producer_b["id"]}, token=tenant_a.admin))["updateProducer"]
    assert [e["code"] for e in result["userErrors"]] == ["PRODUCER_NOT_FOUND"]
    retired = await gql.ok(transition_mutation("discard"), {"id": producer_b["id"]}, token=tenant_a.admin)
    assert [e["code"] for e in retired["discardProducer"]["userErrors"]] == ["PRODUCER_NOT_FOUND"]
    still = await gql.ok("query($id: ID!) { producer(id: $id) { lastName state } }", {"id": producer_b["id"]},
                         token=tenant_b.admin)
    assert still["producer"] == {"lastName": "Rivera", "state": "DRAFT"}


# ---- agency subtrees and roles -----------------------------------------------------------------

@pytest.fixture
async def agencies(gql: Any, new_tenant: Any) -> Any:
    """Two agencies with one agent each, in one tenant."""
    tenant = await new_tenant()
    mine = await create_producer(gql, tenant.admin, type="Agency", organizationName="Mine")
    my_agent = await create_producer(gql, tenant.admin, parent=mine["id"])
    other = await create_producer(gql, tenant.admin, type="Agency", organizationName="Other")
    other_agent = await create_producer(gql, tenant.admin, parent=other["id"])
    return tenant, mine, my_agent, other, other_agent


async def test_agency_admin_sees_and_changes_its_subtree_only(gql, agencies):
    tenant, mine, my_agent, other, other_agent = agencies
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=mine["locator"])
    # reads: its subtree only
    listed = (await gql.ok(LIST, token=admin))["producers"]
    assert {n["id"] for n in listed["nodes"]} == {mine["id"], my_agent["id"]}
    assert listed["totalCount"] == 2
    assert (await gql.ok(PRODUCER, {"id": other_agent["id"]}, token=admin))["producer"] is None
    assert (await gql.ok(PRODUCER, {"id": my_agent["id"]}, token=admin))["producer"] == {"id": my_agent["id"]}
    # updates and transitions: outside is not found, inside works
    outside = (await gql.ok(UPDATE, {"id": other_agent["id"]}, token=admin))["updateProducer"]
    assert [e["code"] for e in outside["userErrors"]] == ["PRODUCER_NOT_FOUND"]
    inside = (await gql.ok(UPDATE, {"id": my_agent["id"]}, token=admin))["updateProducer"]
    assert inside == {"producer": {"lastName": "Changed"}, "userErrors": []}
    blocked = await gql.ok(transition_mutation("validate"), {"id": other_agent["id"]}, token=admin)
    assert [e["code"] for e in blocked["validateProducer"]["userErrors"]] == ["PRODUCER_NOT_FOUND"]
    allowed = await gql.ok(transition_mutation("validate"), {"id": my_agent["id"]}, token=admin)
    assert allowed["validateProducer"]["producer"]["state"] == "VALIDATED"


async def test_agency_admin_creates_producers_inside_its_agency(gql, agencies):
    tenant, mine, _, other, _ = agencies
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=mine["locator"])
    created = await create_producer(gql, admin)
    assert created["parent"]["id"] == mine["id"]
    data = await gql.ok("""mutation($input: CreateProducerInput!) { createProducer(input: $input) {
        producer { id } userErrors { code } } }""",
                        {"input": {"type": "Agent", "lastName": "X", "parentId": other["id"]}}, token=admin)
    assert [e["code"] for e in data["createProducer"]["userErrors"]] == ["PARENT_NOT_FOUND"]


async def test_agency_admin_ancestors_stop_at_its_agency(gql, agencies):
    tenant, mine, my_agent, _, _ = agencies
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=my_agent["locator"])
    leaf = await create_producer(gql, admin)
    data = await gql.ok("query($id: ID!) { producer(id: $id) { ancestors { id } parent { id } } }",
                        {"id": leaf["id"]}, token=admin)
    assert data["producer"] == {"ancestors": [{"id": my_agent["id"]}], "parent": {"id": my_agent["id"]}}


async def test_read_only_cannot_mutate(gql, agencies):
    tenant, mine, my_agent, _, _ = agencies
    reader = gql.token(tenant.id, "READ_ONLY")
    body = await gql(UPDATE, {"id": my_agent["id"]}, token=reader)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # reading the whole tenant is fine
    assert (await gql.ok(LIST, token=reader))["producers"]["totalCount"] == 4


async def test_read_only_with_an_agency_reads_that_subtree(gql, agencies):
    tenant, mine, my_agent, _, _ = agencies
    reader = gql.token(tenant.id, "READ_ONLY", agency=mine["locator"])
    listed = (await gql.ok(LIST, token=reader))["producers"]
    assert {n["id"] for n in listed["nodes"]} == {mine["id"], my_agent["id"]}


async def test_producer_role_sees_only_itself(gql, agencies):
    tenant, mine, my_agent, _, _ = agencies
    me = gql.token(tenant.id, "PRODUCER", agency=my_agent["locator"])
    listed = (await gql.ok(LIST, token=me))["producers"]
    assert listed == {"totalCount": 1, "nodes": [{"id": my_agent["id"]}]}
    assert (await gql.ok(PRODUCER, {"id": mine["id"]}, token=me))["producer"] is None
    body = await gql(UPDATE, {"id": my_agent["id"]}, token=me)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# ---- WebSocket ---------------------------------------------------------------------------------

async def ws_close_code(app: Any, payload: dict[str, Any]) -> int:
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": payload})
            try:
                message = await ws.receive_json(timeout=5)
            except WebSocketDisconnect as exc:
                return exc.code
            raise AssertionError(f"connection accepted: {message}")


async def test_websocket_without_a_token_is_refused(app):
    assert await ws_close_code(app, {}) == 4403


async def test_websocket_with_an_expired_token_is_refused(app, gql, new_tenant):
    tenant = await new_tenant()
    expired = gql.token(tenant.id, "TENANT_ADMIN", ttl=-3600)
    assert await ws_close_code(app, {"Authorization": f"Bearer {expired}"}) == 4403


async def test_websocket_with_a_valid_token_is_acknowledged(app, new_tenant):
    tenant = await new_tenant()
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {tenant.admin}"}})
            assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
