"""CORS: Starlette's middleware configured from ALLOWED_ORIGINS (the setting that also guards WebSocket handshakes).

It sits outside authentication, so a preflight is answered before any token is asked for. An origin not listed
gets no CORS headers: its preflight is refused with a JSON error, its other requests pass without them (the
browser then hides the response from the page).
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Send

from app.runtime.routes_bulk import PREFLIGHT_HEADERS

METHODS = ("GET", "POST")
REQUEST_HEADERS = ("Authorization", "Content-Type", "X-Request-Id", *PREFLIGHT_HEADERS)
EXPOSED_HEADERS = ("X-Request-Id",)
PREFLIGHT_MAX_AGE = 600


class Cors(CORSMiddleware):
    """Starlette's CORS middleware; a refused preflight is a 400 JSON error with a code and no CORS headers."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        super().__init__(app, allow_origins=origins, allow_methods=METHODS, allow_headers=REQUEST_HEADERS,
                         expose_headers=EXPOSED_HEADERS, max_age=PREFLIGHT_MAX_AGE)

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        """As Starlette's, but a response to an origin not listed carries no CORS header at all."""
        origin = request_headers.get("origin")
        if (message["type"] == "http.response.start" and origin is not None and not self.allow_all_origins
                and not self.is_allowed_origin(origin)):
            MutableHeaders(scope=message).add_vary_header("Origin")
            await send(message)
            return
        await super().send(message, send, request_headers)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        message = (f"Cross-origin request from {request_headers['origin']!r} refused ({refused}): the origin must "
                   f"be in ALLOWED_ORIGINS, the method one of {', '.join(METHODS)}, the headers among "
                   f"{', '.join(REQUEST_HEADERS)}.")
        body = {"errors": [{"message": message, "extensions": {"code": "CORS_REFUSED"}}]}
        return Response(orjson.dumps(body), status_code=400, media_type="application/json",
                        headers={"Vary": "Origin"})
