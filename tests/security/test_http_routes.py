"""Access to the HTTP routes beside /graphql: each route is authorized as the GraphQL field it mirrors, for
every role, and a removed agency's admin can download nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from starlette.routing import Route

from app import tenants
from app.auth import Role
from app.runtime.routes_bulk import FAILED_ROWS_PATH, MIRRORS
from app.tenant_config import default_config_dict
from tests.api.bulk_helpers import csv_file, upload
from tests.api.helpers import create_producer
from tests.security.test_access_matrix import declared_roles

REMOVE = "mutation($ids: [ID!]!) { removeProducers(ids: $ids) { results { result } userErrors { code } } }"
# routes that mirror no GraphQL field, with their own guard: probes, the metrics token, and documents (scoped like
# the document's entity, or a signed URL: tests/api/test_documents.py)
OWN_GUARD = {"/graphql", "/healthz", "/readyz", "/metrics", "/documents/{document_id}"}


@dataclass
class Routes:
    tokens: dict[Role, str]
    paths: dict[str, str]  # route template -> a concrete path to request
    removed_admin: str  # the admin of an agency removed after it uploaded a job
    removed_paths: list[str]


def concrete(template: str, job_id: str) -> str:
    return template.replace("{job_id}", job_id).replace("{format:str}", "csv")


@pytest.fixture(scope="module")
async def routes(app: Any, gql: Any, http: Any) -> Routes:
    tenant = await tenants.create_tenant(app.state.sessions, "http-routes", default_config_dict())
    admin = gql.token(tenant.id, "TENANT_ADMIN")
    x = await create_producer(gql, admin, type="Agency", organizationName="X Agency")
    inside = await create_producer(gql, admin, parent=x["id"], lastName="Inside")
    z = await create_producer(gql, admin, type="Agency", organizationName="Z Agency")
    x_admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=x["locator"])
    z_admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=z["locator"])
    rows = [["Doe", "1234567", "jane.doe@example.com", "123-45-6789", "Q"]]  # an invalid row: in the report
    job = (await upload(http, x_admin, csv_file(rows)))["job"]
    z_job = (await upload(http, z_admin, csv_file(rows)))["job"]
    removed = await gql.ok(REMOVE, {"ids": [z["id"]]}, token=admin)
    assert removed["removeProducers"]["results"][0]["result"] == "REMOVED"
    return Routes(
        tokens={Role.TENANT_ADMIN: admin, Role.AGENCY_ADMIN: x_admin,
                Role.UNDERWRITER: gql.token(tenant.id, "UNDERWRITER"),
                Role.PRODUCER: gql.token(tenant.id, "PRODUCER", agency=inside["locator"]),
                Role.READ_ONLY: gql.token(tenant.id, "READ_ONLY")},
        paths={template: concrete(template, job["locator"]) for template in MIRRORS},
        removed_admin=z_admin,
        removed_paths=[concrete(template, z_job["locator"]) for template in MIRRORS])


def test_every_http_route_mirrors_a_graphql_field_or_has_its_own_guard(app):
    paths = {route.path for route in app.routes if isinstance(route, Route)}
    assert paths - OWN_GUARD == set(MIRRORS)


@pytest.mark.parametrize("template", sorted(MIRRORS))
async def test_each_role_may_use_an_http_route_as_it_may_the_graphql_field(http, routes, template):
    allowed = declared_roles("query", MIRRORS[template])
    assert allowed, f"{MIRRORS[template]} declares no roles"
    for role in Role:
        # when each role requests the route
        response = await http.get(routes.paths[template], headers={"Authorization": f"Bearer {routes.tokens[role]}"})
        # then the roles of the GraphQL field get it, the others a typed 403
        if role in allowed:
            assert response.status_code == 200, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert "SSN" not in response.text and "Doe" not in response.text


@pytest.mark.parametrize("template", sorted(MIRRORS))
async def test_an_http_route_refuses_a_missing_or_bad_token(http, routes, template):
    assert (await http.get(routes.paths[template])).status_code == 401
    forged = {"Authorization": "Bearer not-a-jwt"}
    response = await http.get(routes.paths[template], headers=forged)
    assert response.status_code == 401 and response.json()["errors"][0]["extensions"]["code"]


async def test_a_removed_agencys_admin_can_download_nothing_more(http, routes):
    # given an agency removed after its admin uploaded a job; when its admin requests each route
    for path in routes.removed_paths:
        response = await http.get(path, headers={"Authorization": f"Bearer {routes.removed_admin}"})
        # then the token is refused as the GraphQL endpoint refuses it
        assert response.status_code == 401, (path, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "AGENCY_REMOVED"
        assert "Doe" not in response.text


async def test_the_failed_rows_report_of_another_agency_is_not_found(http, gql, routes):
    other = routes.tokens[Role.AGENCY_ADMIN]
    path = routes.removed_paths[list(MIRRORS).index(FAILED_ROWS_PATH)]  # agency Z's job, asked by X's admin
    response = await http.get(path, headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "BULK_JOB_NOT_FOUND"
