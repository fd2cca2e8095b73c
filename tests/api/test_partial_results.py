"""Partial results: a root field your roles or the data can refuse is nullable, so the other fields of the same
document still answer (docs/api-conventions.md, "Partial results")."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLList, GraphQLNonNull, get_nullable_type

from app.auth import Role
from app.settings import Settings
from schema.api import build_schema
from schema.permissions import RolePermission
from tests.api.helpers import create_producer

DASHBOARD = """{
  producers(first: 5) { totalCount nodes { name } }
  jurisdictions { code }
  auditEvents(first: 5) { totalCount }
}"""


def root_field_rule_violations() -> list[str]:
    """The root Query fields that break the rule: non-null although a role may be refused it (FORBIDDEN) or it
    reads one object (null when not found or not visible), and `nodes` items that are non-null."""
    schema = build_schema(Settings(env="development"))._schema
    assert schema.query_type is not None
    violations: list[str] = []
    for name, field in schema.query_type.fields.items():
        strawberry_field = (field.extensions or {})["strawberry-definition"]
        permissions = [p for p in strawberry_field.permission_classes if issubclass(p, RolePermission)]
        assert permissions, f"Query.{name} declares no roles"
        refused = set(Role) - set().union(*(p.roles for p in permissions))
        if not isinstance(field.type, GraphQLNonNull):
            continue
        if refused:
            violations.append(f"Query.{name} is non-null but refused to {sorted(r.value for r in refused)}")
        named = get_nullable_type(field.type)
        if not isinstance(named, GraphQLList) and not named.name.endswith("Connection"):
            violations.append(f"Query.{name} reads one object (null when not found) but is non-null")
        if isinstance(named, GraphQLList) and name == "nodes" and isinstance(named.of_type, GraphQLNonNull):
            violations.append("Query.nodes items are non-null: one refused id would null the list")
    return violations


def test_every_root_field_that_can_be_refused_is_nullable() -> None:
    # given the live schema's Query fields and the roles each admits
    # then only lists open to every role are non-null; readers of one object and role-restricted fields are not
    assert root_field_rule_violations() == []


def test_the_rule_leaves_open_lists_non_null_and_nodes_items_nullable() -> None:
    # given the live schema
    schema = build_schema(Settings(env="development"))._schema
    assert schema.query_type is not None
    fields = schema.query_type.fields
    # then lists every role may read stay non-null, the refusable ones are nullable, nodes is [Node]!
    assert all(isinstance(fields[n].type, GraphQLNonNull) for n in ("producers", "producerCodes", "licenses",
                                                                      "quotes", "policies", "jurisdictions"))
    assert not any(isinstance(fields[n].type, GraphQLNonNull) for n in (
        "auditEvents", "onboardings", "bulkOnboardingJobs", "bulkOnboardingSampleFiles", "producer", "node"))
    assert str(fields["nodes"].type) == "[Node]!"


async def test_a_dashboard_with_one_forbidden_field_still_answers_the_allowed_ones(gql: Any, new_tenant: Any) -> None:
    # given an agency admin, whose roles do not allow the audit log, and a producer of its agency
    tenant = await new_tenant()
    agency = await create_producer(gql, tenant.admin, type="Agency", organizationName="Dashboard Agency")
    await create_producer(gql, tenant.admin, parent=agency["id"], lastName="Dash")
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=agency["locator"])
    # when one document asks for producers, jurisdictions and the audit log
    body = await gql(DASHBOARD, token=admin)
    # then the two allowed fields answer, the forbidden one is null with one FORBIDDEN error at its path
    data = body["data"]
    assert data["producers"]["totalCount"] == 2
    assert sorted(p["name"] for p in data["producers"]["nodes"]) == ["Ana Dash", "Dashboard Agency"]
    assert len(data["jurisdictions"]) > 50 and {"code": "CA"} in data["jurisdictions"]
    assert data["auditEvents"] is None
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("FORBIDDEN", ["auditEvents"])]


async def test_a_read_only_caller_gets_null_for_each_admin_list_and_data_for_the_rest(gql: Any,
                                                                                    new_tenant: Any) -> None:
    # given a read-only caller of a tenant with one producer
    tenant = await new_tenant()
    await create_producer(gql, tenant.admin, lastName="Reader")
    reader = gql.token(tenant.id, "READ_ONLY")
    # when it asks for producers next to every admin-only list
    body = await gql("""{
      producers(first: 5) { nodes { name } }
      onboardings(first: 5) { totalCount }
      bulkOnboardingJobs(first: 5) { totalCount }
      bulkOnboardingSampleFiles { csvUrl }
      auditEvents(first: 5) { totalCount }
    }""", token=reader)
    # then producers answers, and each refused field is null with its own FORBIDDEN error
    assert body["data"] == {"producers": {"nodes": [{"name": "Ana Reader"}]}, "onboardings": None,
                            "bulkOnboardingJobs": None, "bulkOnboardingSampleFiles": None, "auditEvents": None}
    assert sorted((e["extensions"]["code"], e["path"][0]) for e in body["errors"]) == [
        ("FORBIDDEN", "auditEvents"), ("FORBIDDEN", "bulkOnboardingJobs"), ("FORBIDDEN", "bulkOnboardingSampleFiles"),
        ("FORBIDDEN", "onboardings")]


async def test_a_not_found_reader_is_null_next_to_the_data_of_the_others(gql: Any, new_tenant: Any) -> None:
    # given a producer, and an id that names nothing
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin, lastName="Found")
    # when one document reads both, and nodes mixes a bare locator in
    body = await gql("""query($id: ID!, $missing: ID!, $locator: ID!) {
      found: producer(id: $id) { name }
      missing: producer(id: $missing) { name }
      nodes(ids: [$id, $locator]) { id }
    }""", {"id": producer["id"], "missing": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "locator": producer["locator"]},
        token=tenant.admin)
    # then the found one answers, the missing one is null, and only the bare locator's item is refused
    assert body["data"] == {"found": {"name": "Ana Found"}, "missing": None, "nodes": [{"id": producer["id"]}, None]}
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("INVALID_ID", ["nodes", 1])]
