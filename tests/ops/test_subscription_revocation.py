"""Open subscriptions lose their right to events when their scope is revoked: removing an agency closes the
WebSocket connections its admins opened before, with 4403; other connections stay open."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.api.helpers import create_producer

EVENTS = "subscription { producerEvents { action entity } }"
REMOVE = "mutation($ids: [ID!]!) { removeProducers(ids: $ids) { results { result } userErrors { code } } }"


async def open_subscription(ws: Any, token: str) -> None:
    await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
    await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})


async def close_code(ws: Any, within: float) -> int | None:
    """The close code the server sends within `within` seconds (messages before it are skipped); None if open."""
    deadline = asyncio.get_running_loop().time() + within
    try:
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            await ws.receive_json(timeout=left)
    except WebSocketDisconnect as exc:
        return int(exc.code)
    except TimeoutError:
        return None
    return None


async def test_removing_an_agency_closes_the_subscriptions_its_admin_opened_before(app, gql, new_tenant):
    # given two agencies, each with its admin subscribed to producer events
    tenant = await new_tenant()
    removed = await create_producer(gql, tenant.admin, type="Agency", organizationName="Gone Agency")
    kept = await create_producer(gql, tenant.admin, type="Agency", organizationName="Kept Agency")
    removed_admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=removed["locator"])
    kept_admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=kept["locator"])
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as gone, \
                aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as stays:
            await open_subscription(gone, removed_admin)
            await open_subscription(stays, kept_admin)
            await asyncio.sleep(0.3)
            # when the tenant admin removes the first agency
            result = await gql.ok(REMOVE, {"ids": [removed["id"]]}, token=tenant.admin)
            assert result["removeProducers"]["results"][0]["result"] == "REMOVED"
            # then its admin's connection is closed as forbidden, and the other agency's stays open
            assert await close_code(gone, within=10) == 4403
            assert await close_code(stays, within=1.5) is None
