"""A real webhook receiver on 127.0.0.1 (Starlette under uvicorn, in the test's event loop) and the GraphQL
builders of webhook tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import free_port

CREATE_ENDPOINT = """
mutation($url: String!, $events: [String!]!, $description: String) {
  createWebhookEndpoint(url: $url, events: $events, description: $description) {
    endpoint { id locator url events enabled description failuresInARow disabledReason }
    secret
    userErrors { field message code }
  }
}"""

DELIVERIES = """
query($endpointId: ID, $status: [WebhookDeliveryStatus!], $first: Int, $after: String) {
  webhookDeliveries(endpointId: $endpointId, status: $status, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id messageId eventType status attempts lastStatusCode lastError nextAttemptAt deliveredAt
            attemptLog { attempt statusCode error } }
  }
}"""


@dataclass
class Received:
    """One request the receiver got: its headers (lower-case names) and body as sent."""

    headers: dict[str, str]
    body: bytes

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Records every POST; answers `status` after `delay` seconds. `stop()` and `start()` take it down and up on
    the same port, so the sender meets refused connections in between."""

    port: int = field(default_factory=free_port)
    status: int = 204
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def ids(self) -> set[str]:
        return {item.message_id for item in self.received}

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        self.in_flight += 1
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if 200 <= self.status < 300:  # recorded as received only when accepted, as a receiver stores it
                self.received.append(Received({k.lower(): v for k, v in request.headers.items()}, body))
            return Response(status_code=self.status)
        finally:
            self.in_flight -= 1

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hooks", self._hook, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, lifespan="off",
                                                     log_config=None, access_log=False))
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None


@contextlib.asynccontextmanager
async def receiver(**options: Any) -> AsyncIterator[Receiver]:
    hook = Receiver(**options)
    await hook.start()
    try:
        yield hook
    finally:
        await hook.stop()


async def eventually(check: Callable[[], Any], within: float = 30.0, every: float = 0.1) -> Any:
    """Wait until `check()` (sync or async) is truthy, and return it; fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {within} s")
        await asyncio.sleep(every)


async def create_endpoint(gql: Any, token: str, url: str, events: list[str] | None = None,
                          description: str | None = None) -> dict[str, Any]:
    data = await gql.ok(CREATE_ENDPOINT, {"url": url, "events": events or ["*"], "description": description},
                        token=token)
    result = data["createWebhookEndpoint"]
    assert result["userErrors"] == [], result["userErrors"]
    return {**result["endpoint"], "secret": result["secret"]}


async def deliveries(gql: Any, token: str, endpoint_id: str | None = None, **variables: Any) -> list[dict[str, Any]]:
    """Every delivery (of the endpoint), oldest first, across pages."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        data = await gql.ok(DELIVERIES, {"endpointId": endpoint_id, "first": 100, "after": after, **variables},
                            token=token)
        page = data["webhookDeliveries"]
        nodes.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]
