"""The GraphQL endpoint: authenticates each request, builds its context, encodes with orjson."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from cross_web import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from app import tenants
from app.auth import AuthError, Principal, principal_from_header
from app.context import ServiceContext
from app.settings import Settings
from resolvers.context import GraphQLContext


def request_id_of(scope: dict[str, Any]) -> str:
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex[:16]
    return str(state["request_id"])


async def service_context(settings: Settings, sessions: async_sessionmaker[AsyncSession], principal: Principal,
                          request_id: str) -> ServiceContext:
    """The service context of an authenticated caller; an unknown tenant is an authentication failure."""
    loaded = await tenants.load_tenant(sessions, principal.tenant_id)
    if loaded is None:
        raise AuthError("INVALID_TOKEN", "The bearer token names a tenant that does not exist.")
    return ServiceContext(principal, settings, sessions, loaded.config, loaded.plugins, request_id)


class GraphQLView(GraphQL[GraphQLContext, None]):
    """Strawberry's ASGI view with our authentication, context and encoding."""

    def __init__(self, schema: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.settings = settings

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

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
            raise HTTPException(401, exc.message) from exc
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
        return None

    async def render_graphql_ide(self, request: Request) -> Response:
        return await super().render_graphql_ide(request)
