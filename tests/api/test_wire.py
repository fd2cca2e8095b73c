"""What frontend stacks expect on the wire: compressed large answers, `Cache-Control: no-store`, and a typed
refusal for a subscription sent over HTTP."""

from __future__ import annotations

import gzip
import logging
from typing import Any

import brotli
import httpx
import orjson
import pytest
import zstandard
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from prometheus_client import REGISTRY

from tests.api.helpers import create_code, create_producer

PAGE = "{ producers(first: 50) { totalCount edges { cursor node { id locator name state parent { id name } } } } }"
SUBSCRIPTION = "subscription { producerEvents { action } }"
DECODERS = {"gzip": gzip.decompress, "br": brotli.decompress,
            "zstd": lambda raw: zstandard.ZstdDecompressor().decompressobj().decompress(raw)}


def compiled_reads() -> float:
    return REGISTRY.get_sample_value("graphql_read_path_total", {"path": "compiled"}) or 0.0


async def raw_post(gql: Any, body: dict[str, Any], token: str, accept_encoding: str) -> tuple[Any, bytes]:
    """The response and its body exactly as sent (httpx would decode it otherwise)."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": accept_encoding}
    async with gql.http.stream("POST", "/graphql", json=body, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


@pytest.fixture
async def tenant_with_a_page(new_tenant: Any, gql: Any) -> Any:
    tenant = await new_tenant()
    parent = await create_producer(gql, tenant.admin, type="Agency", organizationName="Northwind Agency")
    for n in range(20):
        producer = await create_producer(gql, tenant.admin, parent=parent["id"], lastName=f"Rivera{n}")
        await create_code(gql, tenant.admin, producer["id"])
    return tenant


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
async def test_a_page_of_producers_is_compressed_when_the_client_accepts_it(gql, tenant_with_a_page, encoding):
    # given a page of producers larger than a kilobyte, read plainly
    plain, plain_body = await raw_post(gql, {"query": PAGE}, tenant_with_a_page.admin, "identity")
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert len(plain_body) > 2048
    # when the same page is asked for with the encoding accepted (a compiled read: one SQL statement builds it)
    compiled = compiled_reads()
    response, raw = await raw_post(gql, {"query": PAGE}, tenant_with_a_page.admin, encoding)
    assert compiled_reads() == compiled + 1
    # then it comes compressed, smaller, and decodes to the same JSON
    assert response.status_code == 200
    assert response.headers["content-encoding"] == encoding
    assert "accept-encoding" in response.headers["vary"].lower()
    assert len(raw) < len(plain_body) / 2
    assert orjson.loads(DECODERS[encoding](raw)) == orjson.loads(plain_body)
    assert orjson.loads(plain_body)["data"]["producers"]["totalCount"] == 21


async def test_gzip_is_chosen_when_it_is_the_only_encoding_the_client_accepts(gql, tenant_with_a_page):
    response, raw = await raw_post(gql, {"query": PAGE}, tenant_with_a_page.admin, "gzip, deflate")
    assert response.headers["content-encoding"] == "gzip"
    assert orjson.loads(gzip.decompress(raw))["data"]["producers"]["totalCount"] == 21


async def test_a_small_response_is_not_compressed(gql, new_tenant):
    # given a client accepting every encoding
    tenant = await new_tenant()
    # when the answer is a few bytes
    response, raw = await raw_post(gql, {"query": "{ __typename }"}, tenant.admin, "zstd, br, gzip")
    # then it is sent as is
    assert "content-encoding" not in response.headers
    assert orjson.loads(raw)["data"] == {"__typename": "Query"}


async def test_api_answers_are_never_stored_by_caches(gql, new_tenant):
    # given a tenant
    tenant = await new_tenant()
    auth = {"Authorization": f"Bearer {tenant.admin}"}
    # when the API answers: data, a GraphQL error, a GET query, a bad body, a missing token
    answers = [
        await gql.post("{ __typename }", token=tenant.admin),
        await gql.post("{ producers { noSuchField } }", token=tenant.admin),
        await gql.http.get("/graphql", params={"query": "{ __typename }"}, headers=auth),
        await gql.http.post("/graphql", content=b"{not json", headers={**auth, "Content-Type": "application/json"}),
        await gql.post("{ __typename }"),
    ]
    # then every answer, errors included, tells caches not to store it
    assert [r.status_code for r in answers] == [200, 200, 200, 400, 401]
    assert [r.headers.get("cache-control") for r in answers] == ["no-store"] * 5


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_subscription_over_http_is_refused_with_a_typed_error_naming_the_websocket(gql, new_tenant, caplog,
                                                                                           method):
    # given a caller who sends a subscription as an HTTP request
    caplog.set_level(logging.INFO)
    tenant = await new_tenant()
    auth = {"Authorization": f"Bearer {tenant.admin}"}
    # when it is posted or sent as a GET query
    if method == "POST":
        response = await gql.post(SUBSCRIPTION, token=tenant.admin)
    else:
        response = await gql.http.get("/graphql", params={"query": SUBSCRIPTION}, headers=auth)
    # then it is a 400 with a stable code that points at the WebSocket endpoint, and nothing failed in the log
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "SUBSCRIPTION_OVER_HTTP"
    assert "ws://testserver/graphql" in error["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert "Traceback" not in caplog.text and "INTERNAL_SERVER_ERROR" not in response.text


async def test_websocket_messages_are_never_compressed(app, new_tenant):
    # given a WebSocket client that also says it accepts compressed bodies
    tenant = await new_tenant()
    transport = ASGIWebSocketTransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"],
                               headers={"Accept-Encoding": "zstd, br, gzip"}) as ws:
            # when it opens a connection and runs a query over it
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {tenant.admin}"}})
            ack = await ws.receive_text(timeout=5)
            await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": PAGE}})
            result = await ws.receive_text(timeout=10)
    # then every frame is plain JSON text
    assert orjson.loads(ack)["type"] == "connection_ack"
    assert orjson.loads(result)["payload"]["data"]["producers"]["totalCount"] == 0
