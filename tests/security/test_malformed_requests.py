"""Malformed requests get a 400 with a typed JSON error, never a plain-text 500 or INTERNAL_SERVER_ERROR, in
development and in production."""

from __future__ import annotations

from typing import Any

import pytest

DEEP = "[" * 5000 + "]" * 5000
BODIES = {
    "invalid UTF-8": (b'{"query": "{ __typename \xff }"}', "INVALID_JSON"),
    "a string": (b'"{ __typename }"', "BAD_REQUEST"),
    "a number": (b"42", "BAD_REQUEST"),
    "null": (b"null", "BAD_REQUEST"),
    "true": (b"true", "BAD_REQUEST"),
    "a list of numbers": (b"[1, 2]", "BAD_REQUEST"),
    "JSON nested thousands deep": (('{"query": "{ __typename }", "x": ' + DEEP + "}").encode(), "INVALID_JSON"),
    "variables nested thousands deep": (
        ('{"query": "{ __typename }", "variables": ' + '{"a":' * 3000 + "1" + "}" * 3000 + "}").encode(),
        "INVALID_JSON"),
    "a lone surrogate in a variable": (
        b'{"query": "query($s: String) { producers(first: 1, search: $s) { totalCount } }", '
        b'"variables": {"s": "\\ud800"}}', "INVALID_JSON"),
}


@pytest.fixture(params=["development", "production"])
def server(request: Any, http: Any, gql: Any, production: Any, new_tenant: Any) -> Any:
    """(client, token maker) of the test-settings app or of the production-settings app."""
    if request.param == "development":
        return http, lambda tenant_id: gql.token(tenant_id, "TENANT_ADMIN")
    return production.client, lambda tenant_id: production.token(tenant_id, "TENANT_ADMIN")


@pytest.mark.parametrize("case", sorted(BODIES))
async def test_a_malformed_body_gets_a_typed_400(server, new_tenant, case):
    client, token = server
    tenant = await new_tenant()
    body, code = BODIES[case]
    # when the body is sent as JSON
    response = await client.post("/graphql", content=body, headers={"Authorization": f"Bearer {token(tenant.id)}",
                                                                   "Content-Type": "application/json"})
    # then the answer is a 400 a GraphQL client can parse, with a stable code, and no internals
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == [code]
    assert "Traceback" not in response.text and "orjson" not in response.text


async def test_an_int_at_its_maximum_where_the_code_multiplies_it_is_refused_with_a_code(server, new_tenant):
    client, token = server
    tenant = await new_tenant()
    response = await client.post("/graphql", json={"query": "{ licenses(expiringWithin: 2147483647) { totalCount } }"},
                                 headers={"Authorization": f"Bearer {token(tenant.id)}"})
    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["INVALID_WINDOW"]


async def test_a_lone_surrogate_in_the_document_is_a_parse_error(server, new_tenant):
    client, token = server
    tenant = await new_tenant()
    response = await client.post("/graphql", json={"query": '{ producers(first: 1, search: "\\ud800") { totalCount } }'},
                                 headers={"Authorization": f"Bearer {token(tenant.id)}"})
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["GRAPHQL_PARSE_FAILED"]


async def test_a_body_larger_than_the_limit_is_refused_before_it_is_parsed(server, new_tenant):
    client, token = server
    tenant = await new_tenant()
    body = b'{"query": "{ __typename }", "variables": {"x": "' + b"y" * (300 * 1024) + b'"}}'
    response = await client.post("/graphql", content=body, headers={"Authorization": f"Bearer {token(tenant.id)}",
                                                                   "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
