"""The GraphQL endpoint: authenticates each request, builds its context, encodes with orjson."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app import offboarding, tenants
from app import persisted_queries as apq
from app.auth import AuthError, Principal, principal_from_header
from app.context import ServiceContext
from app.error_codes import registered
from app.runtime import graphiql
from app.runtime.request_log import new_request_id
from app.settings import Settings
from persistence.db import audit_context
from resolvers.context import GraphQLContext
from resolvers.revocation import stop_watching, watch_revocation


def request_id_of(scope: MutableMapping[str, Any]) -> str:
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = new_request_id()
    return str(state["request_id"])


async def service_context(settings: Settings, sessions: async_sessionmaker[AsyncSession], principal: Principal,
                          request_id: str) -> ServiceContext:
    """The service context of an authenticated caller; an unknown tenant is an authentication failure."""
    loaded = await tenants.load_tenant(sessions, principal.tenant_id)
    if loaded is None:
        raise AuthError("INVALID_TOKEN", "The bearer token names a tenant that does not exist.")
    await offboarding.ensure_agency_active(sessions, principal)
    stamp = audit_context.get()
    if stamp is not None:  # the audit triggers record who made the request's changes
        stamp.actor = principal.subject
    return ServiceContext(principal, settings, sessions, loaded.config, loaded.plugins, request_id)


HTTP_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
              413: "REQUEST_TOO_LARGE"}


def wants_graphql_ide(request: Request) -> bool:
    """A browser opening /graphql: GET, accepting HTML, no query."""
    return request.method == "GET" and "text/html" in request.headers.get("accept", "") and not request.query_params


class CodedHTTPException(HTTPException):
    """An HTTP refusal with its own `extensions.code`."""

    def __init__(self, status_code: int, reason: str, code: str) -> None:
        super().__init__(status_code, reason)
        self.code: str = registered(code)


class AuthHTTPException(HTTPException):
    """A 401 that keeps the authentication error's code."""

    def __init__(self, error: AuthError) -> None:
        super().__init__(401, error.message)
        self.code = error.code


def http_error(exc: HTTPException, request_id: str) -> Response:
    code = registered(getattr(exc, "code", None) or HTTP_CODES.get(exc.status_code, "BAD_REQUEST"))
    body = {"errors": [{"message": exc.reason, "extensions": {"code": code, "requestId": request_id}}]}
    headers = {"X-Request-Id": request_id}
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="producer-graph"'
    return Response(orjson.dumps(body), status_code=exc.status_code, media_type="application/json",
                    headers=headers)


class GraphQLView(GraphQL[GraphQLContext, None]):
    """Strawberry's ASGI view with our authentication, context and encoding."""

    def __init__(self, schema: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.settings = settings

    def decode_json(self, data: str | bytes) -> object:
        """orjson, strict: valid UTF-8, no lone surrogates, at most 1024 levels deep (JSONDecodeError otherwise)."""
        return orjson.loads(data)

    def refuse_oversized(self, request: Request) -> None:
        """A JSON body announced larger than MAX_REQUEST_BYTES is refused before it is read (uploads are not JSON)."""
        limit = self.settings.max_request_bytes
        length = request.headers.get("content-length", "")
        if (length.isdigit() and int(length) > limit
                and "multipart/form-data" not in request.headers.get("content-type", "")):
            raise CodedHTTPException(413, f"The request body is {length} bytes; at most {limit} are allowed "
                                          "(MAX_REQUEST_BYTES). Upload files as multipart.", "REQUEST_TOO_LARGE")

    def parse_json(self, data: str | bytes) -> Any:
        """A request body: a JSON object (or a batch of them) in valid UTF-8; anything else is a typed 400."""
        limit = self.settings.max_request_bytes
        if len(data) > limit:  # parsing is CPU work on the event loop: bounded before it starts
            raise CodedHTTPException(413, f"The request body is {len(data)} bytes; at most {limit} are allowed "
                                          "(MAX_REQUEST_BYTES). Upload files as multipart.", "REQUEST_TOO_LARGE")
        try:
            value = self.decode_json(data)
        except json.JSONDecodeError as exc:
            detail = ("it is nested more than 1024 levels deep" if "depth" in str(exc)
                      else "send UTF-8 JSON without lone surrogates (\\ud800-\\udfff unpaired)")
            raise CodedHTTPException(400, f"The request body is not valid JSON: {detail}.", "INVALID_JSON") from exc
        if isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
            return value
        raise CodedHTTPException(400, 'The request body must be a JSON object: {"query": "...", "variables": {...}}.',
                                 "BAD_REQUEST")

    def encode_json(self, data: object) -> str:
        """Text, not bytes: WebSocket clients expect text frames (HTTP responses use `create_response`)."""
        return orjson.dumps(data).decode()

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = Response(orjson.dumps(response_data), status_code=sub_response.status_code or 200,
                            media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As Strawberry's, but HTTP refusals are JSON errors with `extensions.code`, not plain text."""
        if scope["type"] != "http":
            try:
                await super().__call__(scope, receive, send)
            finally:
                stop_watching(scope)
            return
        request = Request(scope=scope, receive=receive)
        try:
            self.refuse_oversized(request)
            if wants_graphql_ide(request):  # served before authentication: the IDE page holds no data
                if not self.graphql_ide:
                    raise HTTPException(404, "Not Found")
                response = await self.render_graphql_ide(request)
            else:
                response = await self.run(request)
        except HTTPException as exc:
            response = http_error(exc, request_id_of(scope))
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Never inside `run`: `__call__` serves the IDE; a GET with only `extensions` is a persisted query."""
        return False

    async def execute_single(self, request: Request, request_adapter: Any, sub_response: Response,
                             context: GraphQLContext, root_value: None,
                             request_data: GraphQLRequestData) -> ExecutionResult:
        """Runs one operation over HTTP: persisted queries resolved first, subscriptions refused (WebSocket only)."""
        method = request_adapter.method
        persisted: apq.PersistedQueries = request.app.state.persisted_queries
        try:
            sha256 = apq.requested_hash(request_data.extensions)
            if sha256 is not None and request_data.query is None:
                request_data.query = await persisted.lookup(sha256)
                if request_data.query is None:
                    return ExecutionResult(data=None, errors=[GraphQLError(apq.NOT_FOUND_MESSAGE, extensions={
                        "code": apq.NOT_FOUND, "requestId": context.request_id})])
                sha256 = None  # already stored
            elif sha256 is not None and request_data.query is not None:
                persisted.check_registration(sha256, request_data.query)
        except apq.PersistedQueryError as exc:
            raise CodedHTTPException(400, exc.message, exc.code) from exc
        try:
            result = await self.schema.execute(
                request_data.query, root_value=root_value, variable_values=request_data.variables,
                context_value=context, operation_name=request_data.operation_name,
                allowed_operation_types=OperationType.from_http(method) - {OperationType.SUBSCRIPTION},
                operation_extensions=request_data.extensions)
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                endpoint = request.url.replace(scheme="wss" if request.url.scheme == "https" else "ws", query="")
                raise CodedHTTPException(400, f"Subscriptions run over the WebSocket only: connect to {endpoint} "
                                         "with graphql-transport-ws (or the legacy graphql-ws), not HTTP "
                                         f"{method}.", "SUBSCRIPTION_OVER_HTTP") from exc
            raise HTTPException(400, exc.as_http_error_reason(method)) from exc
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc
        if sha256 is not None and request_data.query is not None and result.data is not None:
            await persisted.register(sha256, request_data.query)  # stored once it parsed, validated and ran
        return result

    def sessions(self, request: Request | WebSocket) -> async_sessionmaker[AsyncSession]:
        return request.app.state.sessions  # type: ignore[no-any-return]

    async def get_context(self, request: Request | WebSocket, response: Any) -> GraphQLContext:
        context = GraphQLContext(request=request, response=response, request_id=request_id_of(request.scope))
        if isinstance(request, WebSocket):
            return context  # authenticated in on_ws_connect, from connection_init
        principal = request.scope.get("state", {}).get("principal")
        if principal is None:
            raise HTTPException(401, "Missing bearer token: send 'Authorization: Bearer <jwt>'.")
        try:
            context.bind(await service_context(self.settings, self.sessions(request), principal, context.request_id))
        except AuthError as exc:
            raise AuthHTTPException(exc) from exc
        return context

    async def on_ws_connect(self, context: GraphQLContext) -> Any:
        params = context.connection_params or {}
        header = None
        if isinstance(params, dict):
            header = params.get("Authorization") or params.get("authorization")
            if header is None and params.get("token"):
                header = f"Bearer {params['token']}"
        try:
            principal = principal_from_header(header, self.settings)
            context.bind(await service_context(self.settings, self.sessions(context.request), principal,
                                               context.request_id))
        except AuthError as exc:
            raise ConnectionRejectionError({"code": exc.code, "message": exc.message}) from exc
        if isinstance(context.request, WebSocket):
            watch_revocation(context.request, principal)  # closed with 4403 once its scope is revoked
        return None

    async def render_graphql_ide(self, request: Request) -> Response:
        """The project's GraphiQL page, its assets served by the app (see app/runtime/graphiql.py)."""
        return graphiql.page()
