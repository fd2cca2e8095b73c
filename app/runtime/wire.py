"""What every HTTP response carries on the wire: compressed when large and accepted, never cached by default.

Compression is starlette-compress (zstd, brotli, gzip, in that order of preference, as the client accepts):
bodies under COMPRESS_MIN_BYTES and WebSocket traffic are left alone. API answers are per caller, so a
response without its own `Cache-Control` gets `no-store`; a route that may be cached (static assets) says so.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_compress import CompressMiddleware, add_compress_type

__all__ = ["COMPRESS_MIN_BYTES", "CompressMiddleware", "NoStoreMiddleware"]

COMPRESS_MIN_BYTES = 1024
NO_STORE = "no-store"

add_compress_type("application/graphql-response+json")  # the GraphQL over HTTP media type


class NoStoreMiddleware:
    """Adds `Cache-Control: no-store` to every HTTP response that does not set a `Cache-Control` itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers.append("Cache-Control", NO_STORE)
            await send(message)

        await self.app(scope, receive, send_no_store)

