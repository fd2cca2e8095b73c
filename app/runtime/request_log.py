"""Request ids and the access log: pure ASGI middleware, outermost, for HTTP requests and WebSocket connections.

Each request gets an id (a sane incoming `X-Request-Id`, or a new one: asgi-correlation-id's middleware), returned
in the `X-Request-Id` header of every response,
carried by every log line written while it runs, by masked GraphQL errors and by its audit events. One access
line per HTTP request: method, path, status, duration, GraphQL operation, request id; never the query or
its variables.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import orjson
from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.runtime import metrics
from persistence.db import AuditStamp, audit_context, database_unavailable

log = logging.getLogger("producer_graph.access")

SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")


def sane_request_id(candidate: str) -> bool:
    """An incoming id is kept when it is 8-100 characters of letters, digits and `._:-` (log- and header-safe)."""
    return bool(SANE_ID.match(candidate))


_DIGIT_RUN = re.compile(r"\d{9}")


def new_request_id() -> str:
    """A random id that log redaction can never mistake for an SSN (no run of nine digits)."""
    while True:
        candidate = uuid.uuid4().hex
        if not _DIGIT_RUN.search(candidate):
            return candidate


def unavailable(request_id: str) -> Response:
    """503 for a request that needed the database while it cannot be reached (before any response began)."""
    body = {"errors": [{"message": "The database is unavailable at the moment; retry shortly.",
                        "extensions": {"code": "DATABASE_UNAVAILABLE", "requestId": request_id}}]}
    return Response(orjson.dumps(body), status_code=503, media_type="application/json",
                    headers={"Retry-After": "1"})


class RequestLogMiddleware:
    """Assigns the request id, stamps it on logs and audit events, logs and counts the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.ids = CorrelationIdMiddleware(self.logged, header_name="X-Request-Id", update_request_header=False,
                                           generator=new_request_id, validator=sane_request_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        await self.ids(scope, receive, send)

    async def logged(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = correlation_id.get() or new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = audit_context.set(AuditStamp(request_id=request_id))
        started = time.perf_counter()
        status, began = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, began
            if message["type"] == "http.response.start":
                status, began = int(message["status"]), True
                headers = MutableHeaders(scope=message)
                if "x-request-id" in headers:  # one header: the id middleware (outside) adds it
                    del headers["x-request-id"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if scope["type"] != "http" or began or not database_unavailable(exc):
                log.exception("request failed", extra={"method": scope.get("method"), "path": scope.get("path")})
                raise
            log.warning("database unavailable", extra={"path": scope.get("path"), "error": type(exc).__name__})
            await unavailable(request_id)(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                duration_ms = round((time.perf_counter() - started) * 1000, 2)
                metrics.observe_http(scope.get("path", ""), status)
                log.info("request", extra={"method": scope.get("method"), "path": scope.get("path"),
                                           "status": status, "duration_ms": duration_ms,
                                           "operation": state.get("graphql_operation")})
            audit_context.reset(token)
