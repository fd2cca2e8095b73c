"""CORS: ALLOWED_ORIGINS governs HTTP as it governs WebSockets. Preflights are answered before authentication; an
origin not listed gets no CORS headers; responses to a listed one expose X-Request-Id."""

from __future__ import annotations

import pydantic
import pytest

from tests.conftest import settings_for_test
from tests.security.conftest import PORTAL_ORIGIN, error_codes

QUERY = "{ producers { totalCount } }"


def preflight(origin: str, headers: str = "authorization, content-type", method: str = "POST") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


def cors_headers(response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


async def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token(production):
    response = await production.client.options("/graphql", headers=preflight(PORTAL_ORIGIN))
    assert response.status_code == 200
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == PORTAL_ORIGIN
    assert {"GET", "POST"} <= set(headers["access-control-allow-methods"].replace(" ", "").split(","))
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "apollo-require-preflight", "x-apollo-operation-name"} <= allowed
    assert "access-control-allow-credentials" not in headers  # bearer tokens, never cookies


async def test_a_preflight_for_an_upload_allows_the_csrf_guard_header(production):
    response = await production.client.options(
        "/graphql", headers=preflight(PORTAL_ORIGIN, "apollo-require-preflight, authorization"))
    assert response.status_code == 200
    assert cors_headers(response)["access-control-allow-origin"] == PORTAL_ORIGIN


@pytest.mark.parametrize("origin", ["https://evil.example", PORTAL_ORIGIN + ".evil", "null"])
async def test_a_preflight_from_an_unlisted_origin_is_refused_without_cors_headers(production, origin):
    response = await production.client.options("/graphql", headers=preflight(origin))
    assert response.status_code == 400
    assert error_codes(response.json()) == ["CORS_REFUSED"]
    assert cors_headers(response) == {}


async def test_a_preflight_asking_for_an_unknown_header_is_refused(production):
    response = await production.client.options("/graphql", headers=preflight(PORTAL_ORIGIN, "x-custom-secret"))
    assert response.status_code == 400
    assert error_codes(response.json()) == ["CORS_REFUSED"]
    assert "refused (headers)" in response.json()["errors"][0]["message"]


async def test_a_response_to_an_allowed_origin_exposes_the_request_id(production, new_tenant):
    tenant = await new_tenant()
    response = await production.client.post("/graphql", json={"query": QUERY}, headers={
        "Origin": PORTAL_ORIGIN, "Authorization": f"Bearer {production.token(tenant.id)}"})
    assert response.status_code == 200 and response.json()["data"] == {"producers": {"totalCount": 0}}
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == PORTAL_ORIGIN
    assert "x-request-id" in headers["access-control-expose-headers"].lower()
    assert response.headers["x-request-id"]


async def test_a_refusal_to_an_allowed_origin_is_readable_by_its_page(production):
    response = await production.client.post("/graphql", json={"query": QUERY}, headers={"Origin": PORTAL_ORIGIN})
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    assert cors_headers(response)["access-control-allow-origin"] == PORTAL_ORIGIN


async def test_a_response_to_an_unlisted_origin_carries_no_cors_headers(production, new_tenant):
    tenant = await new_tenant()
    response = await production.client.post("/graphql", json={"query": QUERY}, headers={
        "Origin": "https://evil.example", "Authorization": f"Bearer {production.token(tenant.id)}"})
    assert cors_headers(response) == {}


def test_allowed_origins_are_kept_as_browsers_send_them():
    settings = settings_for_test(allowed_origins=["https://Portal.Example:443/", "http://127.0.0.1:5173", "*"])
    assert settings.allowed_origins == ["https://portal.example", "http://127.0.0.1:5173", "*"]


@pytest.mark.parametrize("origin", ["portal.example", "https://portal.example/app", "ftp://portal.example", "null"])
def test_an_allowed_origin_that_is_not_an_origin_is_refused_at_start(origin):
    with pytest.raises(pydantic.ValidationError, match="is not an origin"):
        settings_for_test(allowed_origins=[origin])
