"""Security test fixtures: a second app built with ENV=production on the module's database."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.auth import mint_token
from app.settings import Settings
from tests.conftest import settings_for_test

PORTAL_ORIGIN = "https://portal.example"
PRODUCTION_SSN_KEY = base64.b64encode(b"p" * 32).decode()


@dataclass
class ProductionServer:
    client: httpx.AsyncClient
    settings: Settings

    def token(self, tenant_id: str, *roles: str) -> str:
        return mint_token(self.settings, tenant_id=tenant_id, roles=list(roles or ["TENANT_ADMIN"]))

    @property
    def app(self) -> Any:
        return self.client._transport.app  # type: ignore[attr-defined]

    async def post(self, query: str, token: str) -> httpx.Response:
        return await self.client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
async def production(database_url: str) -> AsyncIterator[ProductionServer]:
    """The server as deployed: ENV=production with its own secrets, on the same database."""
    from app.runtime.server import create_app

    settings = settings_for_test(env="production", ssn_key=PRODUCTION_SSN_KEY, jwt_secret="production-secret-" + "x" * 32,
                             allowed_origins=[PORTAL_ORIGIN])
    application = create_app(settings, database_url=database_url, migrate=False)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            yield ProductionServer(client, settings)


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
