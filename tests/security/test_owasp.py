"""The OWASP GraphQL cheat sheet as tests: each abuse is refused with a code, before it reaches the database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.api.helpers import create_producer
from tests.security.conftest import PORTAL_ORIGIN, error_codes

COUNT = "{ producers { totalCount } }"


# ---- depth, aliases, tokens ------------------------------------------------------------------

async def test_depth_hidden_in_fragments_is_refused(gql, new_tenant, settings):
    tenant = await new_tenant()
    fragments = "\n".join(f"fragment F{i} on Producer {{ parent {{ ...F{i + 1} }} }}"
                          for i in range(settings.max_query_depth))
    query = f"{{ producers {{ nodes {{ ...F0 }} }} }}\n{fragments}\nfragment F{settings.max_query_depth} on Producer {{ id }}"
    body = await gql(query, token=tenant.admin)
    assert body.get("data") is None
    assert error_codes(body) == ["QUERY_TOO_DEEP"]


async def test_aliased_mutations_beyond_the_alias_limit_change_nothing(gql, new_tenant, settings):
    # given a tenant with no producers
    tenant = await new_tenant()
    # when one request tries to create a producer under many aliases (alias-based batching)
    creates = " ".join(f'c{i}: createProducer(input: {{type: "Agent", lastName: "A{i}"}}) {{ userErrors {{ code }} }}'
                       for i in range(settings.max_aliases + 1))
    body = await gql(f"mutation {{ {creates} }}", token=tenant.admin)
    # then the whole document is refused and nothing was created
    assert error_codes(body) == ["TOO_MANY_ALIASES"]
    assert (await gql.ok(COUNT, token=tenant.admin))["producers"]["totalCount"] == 0


async def test_a_document_over_the_token_limit_is_refused(gql, new_tenant, settings):
    tenant = await new_tenant()
    body = await gql("{ producers { " + "totalCount " * settings.max_query_tokens + "} }", token=tenant.admin)
    assert error_codes(body) == ["QUERY_TOO_LARGE"]


# ---- batching ----------------------------------------------------------------------------------

async def test_batched_operations_are_refused_with_a_json_error(http, gql, new_tenant):
    tenant = await new_tenant()
    batch = [{"query": COUNT}, {"query": COUNT}]
    response = await http.post("/graphql", json=batch, headers={"Authorization": f"Bearer {tenant.admin}"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "batching" in error["message"].lower()


# ---- directive overloading ---------------------------------------------------------------------

async def test_hundreds_of_repeated_directives_get_one_refusal(gql, new_tenant):
    tenant = await new_tenant()
    body = await gql("{ producers { totalCount" + " @include(if: true)" * 300 + " } }", token=tenant.admin)
    assert body.get("data") is None
    assert error_codes(body) == ["TOO_MANY_DIRECTIVES"]
    assert "300" in body["errors"][0]["message"]


async def test_hundreds_of_unknown_directives_get_one_refusal(gql, new_tenant):
    tenant = await new_tenant()
    body = await gql("{ producers { totalCount" + " @x" * 500 + " } }", token=tenant.admin)
    assert error_codes(body) == ["TOO_MANY_DIRECTIVES"]


async def test_directives_spread_over_many_fields_count_together(gql, new_tenant, settings):
    tenant = await new_tenant()
    fields = " ".join("totalCount @skip(if: false)" for _ in range(settings.max_directives + 1))
    body = await gql(f"{{ producers {{ {fields} }} }}", token=tenant.admin)
    assert error_codes(body) == ["TOO_MANY_DIRECTIVES"]


async def test_a_few_directives_still_work(gql, new_tenant):
    tenant = await new_tenant()
    data = await gql.ok("query($all: Boolean!) { producers { totalCount @include(if: $all) pageInfo @skip(if: true) "
                        "{ hasNextPage } } }", {"all": True}, token=tenant.admin)
    assert data == {"producers": {"totalCount": 0}}


# ---- mutations over GET, multipart without CSRF header ----------------------------------------------

async def test_a_mutation_over_get_is_refused_and_changes_nothing(http, gql, new_tenant):
    tenant = await new_tenant()
    mutation = 'mutation { createProducer(input: {type: "Agent", lastName: "Get"}) { producer { id } } }'
    response = await http.get("/graphql", params={"query": mutation},
                              headers={"Authorization": f"Bearer {tenant.admin}"})
    assert response.status_code in (400, 405)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] in ("BAD_REQUEST", "METHOD_NOT_ALLOWED")
    assert (await gql.ok(COUNT, token=tenant.admin))["producers"]["totalCount"] == 0


async def test_a_query_over_get_is_served(http, new_tenant):
    tenant = await new_tenant()
    response = await http.get("/graphql", params={"query": COUNT}, headers={"Authorization": f"Bearer {tenant.admin}"})
    assert response.status_code == 200
    assert response.json()["data"] == {"producers": {"totalCount": 0}}


async def test_a_multipart_request_without_the_csrf_header_is_refused(http, gql, new_tenant):
    tenant = await new_tenant()
    operations = ('{"query": "mutation($file: Upload!) { uploadBulkOnboardingFile(file: $file) '
                  '{ userErrors { code } } }", "variables": {"file": null}}')
    response = await http.post("/graphql", headers={"Authorization": f"Bearer {tenant.admin}"},
                               data={"operations": operations, "map": '{"0": ["variables.file"]}'},
                               files={"0": ("producers.csv", b"lastName\nX\n", "text/csv")})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_PREVENTED"
    jobs = await gql.ok("{ bulkOnboardingJobs { edges { node { id } } } }", token=tenant.admin)
    assert jobs["bulkOnboardingJobs"]["edges"] == []


# ---- cross-origin WebSocket ---------------------------------------------------------------------

async def ws_handshake(app: Any, token: str, origin: str | None) -> str:
    """'ack', or how the handshake was refused."""
    headers = {"Origin": origin} if origin else {}
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        try:
            async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"], headers=headers) as ws:
                await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
                return str((await ws.receive_json(timeout=5))["type"])
        except WebSocketUpgradeError as exc:
            return f"refused {exc.response.status_code}"
        except WebSocketDisconnect as exc:
            return f"closed {exc.code}"


async def test_a_websocket_from_another_origin_is_refused(app, new_tenant):
    tenant = await new_tenant()
    assert (await ws_handshake(app, tenant.admin, "https://evil.example")).startswith(("refused", "closed"))


async def test_a_websocket_from_the_same_origin_or_without_origin_is_accepted(app, new_tenant):
    tenant = await new_tenant()
    assert await ws_handshake(app, tenant.admin, "http://testserver") == "connection_ack"
    assert await ws_handshake(app, tenant.admin, None) == "connection_ack"


async def test_a_websocket_from_an_allowed_origin_is_accepted(production, new_tenant):
    tenant = await new_tenant()
    token = production.token(tenant.id)
    assert await ws_handshake(production.app, token, PORTAL_ORIGIN) == "connection_ack"
    assert (await ws_handshake(production.app, token, PORTAL_ORIGIN + ".evil")).startswith(("refused", "closed"))
    assert (await ws_handshake(production.app, token, "https://evil.example")).startswith(("refused", "closed"))


# ---- production: no introspection, no suggestions, no GraphiQL --------------------------------------

async def test_introspection_is_off_in_production(production, new_tenant):
    tenant = await new_tenant()
    for query in ("{ __schema { types { name } } }", '{ __type(name: "Producer") { fields { name } } }'):
        body = (await production.post(query, production.token(tenant.id))).json()
        assert body.get("data") is None
        assert set(error_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "introspection" in body["errors"][0]["message"].lower()


@pytest.mark.parametrize("query", [
    "{ produce { id } }",
    "{ producers { nodes { lastNam } } }",
    "{ producers(filter: { stat: [DRAFT] }) { totalCount } }",
])
async def test_field_suggestions_are_off_in_production(production, gql, new_tenant, query):
    tenant = await new_tenant()
    body = (await production.post(query, production.token(tenant.id))).json()
    assert body["errors"], body
    assert all("did you mean" not in e["message"].lower() for e in body["errors"]), body
    # while development keeps them, for people writing queries
    development = await gql(query, token=tenant.admin)
    assert any("Did you mean" in e["message"] for e in development["errors"]), development


async def test_graphiql_is_off_in_production(production):
    response = await production.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()


async def test_graphiql_assets_are_not_served_in_production(production):
    from app.runtime.graphiql import ASSETS_PATH

    response = await production.client.get(f"{ASSETS_PATH}/graphiql-3.8.3/graphiql.min.js")
    assert response.status_code == 404


async def test_production_answers_ordinary_queries(production, gql, new_tenant):
    tenant = await new_tenant()
    await create_producer(gql, tenant.admin)
    body = (await production.post(COUNT, production.token(tenant.id))).json()
    assert body["data"] == {"producers": {"totalCount": 1}}
