"""Open WebSocket connections lose their right to events when their scope is revoked: on every change
notification of the caller's tenant (and at least every `RECHECK_SECONDS`) the connection's principal is
checked again as a new request would be (tenant exists, agency not removed); a revoked one is closed with 4403."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketState

from app import offboarding, tenants
from app.auth import AuthError, Principal
from persistence.audit import EVENTS_CHANNEL
from persistence.notify import NotifyHub

log = logging.getLogger("producer_graph.revocation")

RECHECK_SECONDS = 30.0
MIN_INTERVAL_SECONDS = 0.5  # a busy tenant notifies often: re-check at most this often per connection
FORBIDDEN_CLOSE = 4403
STATE_KEY = "revocation_watch"


async def still_allowed(sessions: async_sessionmaker[AsyncSession], principal: Principal) -> None:
    """Raise AuthError when `principal` could no longer open a connection."""
    if await tenants.load_tenant(sessions, principal.tenant_id) is None:
        raise AuthError("INVALID_TOKEN", "The bearer token names a tenant that does not exist.")
    await offboarding.ensure_agency_active(sessions, principal)


async def _watch(websocket: WebSocket, sessions: async_sessionmaker[AsyncSession], hub: NotifyHub,
                 principal: Principal) -> None:
    with hub.subscribe(EVENTS_CHANNEL, principal.tenant_id) as signal:
        while not hub.closing and websocket.application_state != WebSocketState.DISCONNECTED:
            await signal.wait(RECHECK_SECONDS)
            if hub.closing:
                return
            try:
                await still_allowed(sessions, principal)
            except AuthError as exc:
                log.info("closing a WebSocket whose scope was revoked", extra={"code": exc.code})
                with contextlib.suppress(RuntimeError):  # already closing
                    await websocket.close(code=FORBIDDEN_CLOSE, reason=exc.code)
                return
            except Exception:
                log.warning("could not re-check a WebSocket's scope; trying again later", exc_info=True)
            await asyncio.sleep(MIN_INTERVAL_SECONDS)


def watch_revocation(websocket: WebSocket, principal: Principal) -> None:
    """Start re-checking `principal` for this connection; `stop_watching` ends it with the connection."""
    hub: NotifyHub | None = getattr(websocket.app.state, "notify", None)
    if hub is None:
        return
    task = asyncio.create_task(_watch(websocket, websocket.app.state.sessions, hub, principal),
                               name="websocket-revocation")
    websocket.scope.setdefault("state", {})[STATE_KEY] = task


def stop_watching(scope: Any) -> None:
    task = scope.get("state", {}).pop(STATE_KEY, None)
    if task is not None:
        task.cancel()
