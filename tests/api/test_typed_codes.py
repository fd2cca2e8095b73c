"""Codes and closed sets are enums clients can switch over: ErrorCode (from app/error_codes.py) for every code,
LifecycleAction for allowedActions, and the other closed sets; userErrors.field is the input path as a list."""

from __future__ import annotations

from typing import Any

import pytest

from app.error_codes import ErrorCode
from tests.api.helpers import create_producer

TYPE = """query($name: String!) { __type(name: $name) {
  kind enumValues { name description }
  fields { name type { kind name ofType { kind name ofType { kind name ofType { name } } } } }
  inputFields { name type { kind name ofType { kind name } } } } }"""


async def type_info(gql: Any, token: str, name: str) -> dict[str, Any]:
    return (await gql.ok(TYPE, {"name": name}, token=token))["__type"]


def named(ref: dict[str, Any]) -> str:
    """The innermost type name of a field's type reference ([X!]! -> X)."""
    while ref.get("name") is None:
        ref = ref["ofType"]
    return str(ref["name"])


async def test_the_error_code_enum_has_every_registered_code_with_its_description(gql, new_tenant):
    # given the server's schema; when a client introspects ErrorCode
    tenant = await new_tenant()
    error_code = await type_info(gql, tenant.admin, "ErrorCode")
    # then it is an enum with exactly the registry's codes, each described as in app/error_codes.py
    assert error_code["kind"] == "ENUM"
    assert {v["name"]: v["description"] for v in error_code["enumValues"]} == \
        {c.name: c.description for c in ErrorCode}
    assert "THROTTLED" in {v["name"] for v in error_code["enumValues"]}


@pytest.mark.parametrize(("type_name", "field", "enum"), [
    ("UserError", "code", "ErrorCode"),
    ("ValidationItem", "code", "ErrorCode"),
    ("BulkOnboardingRow", "errorCode", "ErrorCode"),
    ("ProducerCheckReason", "code", "ErrorCode"),
    ("ProducerCheckReason", "criterion", "ErrorCode"),
    ("QualificationReason", "code", "ErrorCode"),
    ("Producer", "allowedActions", "LifecycleAction"),
    ("ProducerCode", "allowedActions", "LifecycleAction"),
    ("UnderwritingFlag", "source", "FlagSource"),
    ("ProducerCheck", "requirement", "QualificationRequirement"),
    ("Qualification", "requirement", "QualificationRequirement"),
    ("Jurisdiction", "kind", "JurisdictionKind"),
])
async def test_fields_carrying_a_code_or_a_closed_set_are_enums(gql, new_tenant, type_name, field, enum):
    # given the schema; when the field's type is introspected
    tenant = await new_tenant()
    fields = {f["name"]: f["type"] for f in (await type_info(gql, tenant.admin, type_name))["fields"]}
    # then it is the enum, not a String
    assert named(fields[field]) == enum


async def test_user_error_field_is_a_list_of_strings(gql, new_tenant):
    tenant = await new_tenant()
    fields = {f["name"]: f["type"] for f in (await type_info(gql, tenant.admin, "UserError"))["fields"]}
    assert fields["field"] == {"kind": "LIST", "name": None,
                               "ofType": {"kind": "NON_NULL", "name": None,
                                          "ofType": {"kind": "SCALAR", "name": "String", "ofType": None}}}


async def test_allowed_actions_are_lifecycle_action_values(gql, new_tenant):
    # given a draft producer
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    # when its allowed actions are read
    data = await gql.ok("query($id: ID!) { producer(id: $id) { allowedActions } }", {"id": producer["id"]},
                        token=tenant.admin)
    # then they are enum values a client can switch over
    assert data["producer"]["allowedActions"] == ["VALIDATE", "DISCARD"]


FIX_ROW = """mutation($input: BulkOnboardingRowInput!) {
  updateBulkOnboardingRow(jobId: "none", rowNumber: 2, input: $input) { userErrors { code } } }"""


@pytest.mark.parametrize("query,variables", [
    (FIX_ROW, {"input": {"gender": "Q"}}),
    ("""mutation { updateBulkOnboardingRow(jobId: "none", rowNumber: 2, input: {gender: "M"}) {
        userErrors { code } } }""", None),
], ids=["variable", "literal"])
async def test_a_value_outside_a_closed_set_is_a_validation_error(gql, new_tenant, query, variables):
    # given a bulk row correction with a gender that is not a Gender value (a string, not the enum)
    tenant = await new_tenant()
    # when it is sent
    body = await gql(query, variables, token=tenant.admin)
    # then nothing runs: the request is refused as not matching the schema
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


async def test_a_user_error_field_is_the_path_from_the_argument_down(gql, new_tenant):
    # given a quote, and a flag request whose second flag has no tag
    tenant = await new_tenant()
    quote = (await gql.ok("""mutation { createQuote(input: {product: "Travel", jurisdiction: "CA",
        effectiveTime: "2026-01-01T00:00:00Z"}) { quote { id } } }""", token=tenant.admin))["createQuote"]["quote"]
    body = await gql.ok("""mutation($id: ID!) { addUnderwritingFlags(quoteId: $id, flags: [
        {level: BLOCK, tag: "ok"}, {level: BLOCK, tag: " "}]) { userErrors { field code } } }""",
                        {"id": quote["id"]}, token=tenant.admin)
    # then the error names the argument, the item's index (as a string) and the field
    assert body["addUnderwritingFlags"]["userErrors"] == [{"field": ["flags", "1", "tag"], "code": "TAG_REQUIRED"}]


async def test_a_field_of_the_input_argument_starts_with_input(gql, new_tenant):
    # given a producer created with a data value of the wrong type
    tenant = await new_tenant()
    body = await gql.ok("""mutation { createProducer(input: {type: "Agent", lastName: "Doe",
        data: {yearsOfExperience: "ten"}}) { producer { id } userErrors { field code } } }""", token=tenant.admin)
    # then the path starts at the `input` argument
    assert body["createProducer"]["userErrors"] == [{"field": ["input", "data", "yearsOfExperience"],
                                                     "code": "DATA_TYPE_MISMATCH"}]
