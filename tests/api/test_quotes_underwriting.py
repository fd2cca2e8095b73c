"""Quotes and producer underwriting through the API: the chain check, qualification, flags and their levels."""

from __future__ import annotations

import copy
from typing import Any

from app.tenant_config import default_config_dict
from tests.api.helpers import create_code, transition_mutation, validated_producer

QUOTE_FIELDS = "id state producerCode flags { id level tag note source clearedAt producerCode }"

CREATE_QUOTE = ("mutation($input: CreateQuoteInput!) { createQuote(input: $input) { quote { " + QUOTE_FIELDS
                + " } userErrors { field message code } } }")
UNDERWRITE = ("mutation($id: ID!) { underwriteQuote(id: $id) { quote { " + QUOTE_FIELDS
              + " } userErrors { field message code } } }")
ISSUE = """mutation($id: ID!) { issueQuote(id: $id) {
  quote { id state } policy { id producerCode producerCodeOfRecord } userErrors { code message } } }"""
CLEAR = """mutation($ids: [ID!]!) { clearUnderwritingFlags(ids: $ids) {
  flags { id clearedAt } userErrors { code message } } }"""
ADD_FLAGS = """mutation($quoteId: ID, $flags: [NewFlagInput!]!) { addUnderwritingFlags(quoteId: $quoteId, flags: $flags) {
  flags { id level } userErrors { code message } } }"""
CREATE_LICENSE = """mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
  license { id state } userErrors { field code message } } }"""
VALIDATE_LICENSE = """mutation($id: ID!) { validateLicense(id: $id) { license { id state } userErrors { code } } }"""


def config_with_flag(level: str | None, tag: str | None = None) -> dict[str, Any]:
    config = copy.deepcopy(default_config_dict())
    if level is None:
        config["producerManagement"].pop("underwritingFlag", None)
    else:
        config["producerManagement"]["underwritingFlag"] = {"level": level, **({"tag": tag} if tag else {}),
                                                            "note": "Check the producer."}
    return config


async def validated_code(gql: Any, token: str, producer_id: str, code: str) -> dict[str, Any]:
    created = await create_code(gql, token, producer_id, code=code)
    data = await gql.ok(transition_mutation("validate", "ProducerCode"), {"id": created["id"]}, token=token)
    assert data["validateProducerCode"]["userErrors"] == []
    return created


async def chain(gql: Any, token: str, code: str, depth: int = 3) -> list[dict[str, Any]]:
    """Validated producers root -> ... -> agent (depth levels), with a validated code on the agent."""
    producers: list[dict[str, Any]] = []
    parent = None
    for level in range(depth):
        kind = "Agent" if level == depth - 1 else "Agency"
        extra = {"organizationName": f"Agency {level}"} if kind == "Agency" else {}
        producers.append(await validated_producer(gql, token, type=kind, parent=parent, **extra))
        parent = producers[-1]["id"]
    await validated_code(gql, token, parent, code)  # type: ignore[arg-type]
    return producers


async def license_for(gql: Any, token: str, producer_id: str, **overrides: Any) -> str:
    payload = {"type": "StateLicense", "producerId": producer_id, "licenseNumber": "L-1", "jurisdictions": ["CA"],
               "linesOfAuthority": ["Property", "Casualty"], **overrides}
    data = await gql.ok(CREATE_LICENSE, {"input": payload}, token=token)
    assert data["createLicense"]["userErrors"] == [], data
    lid = data["createLicense"]["license"]["id"]
    data = await gql.ok(VALIDATE_LICENSE, {"id": lid}, token=token)
    assert data["validateLicense"]["userErrors"] == [], data
    return lid


async def quote(gql: Any, token: str, code: str | None, product: str = "Travel", **extra: Any) -> dict[str, Any]:
    payload = {"product": product, "jurisdiction": "CA", "effectiveTime": "2026-01-01T00:00:00Z", **extra}
    if code is not None:
        payload["producerCode"] = code
    data = await gql.ok(CREATE_QUOTE, {"input": payload}, token=token)
    assert data["createQuote"]["userErrors"] == [], data
    return data["createQuote"]["quote"]  # type: ignore[no-any-return]


async def underwrite(gql: Any, token: str, quote_id: str) -> dict[str, Any]:
    return (await gql.ok(UNDERWRITE, {"id": quote_id}, token=token))["underwriteQuote"]  # type: ignore[no-any-return]


async def test_quote_with_validated_chain_underwrites_and_issues_a_policy(gql, new_tenant):
    # given a validated agency > agency > agent chain with a validated code
    tenant = await new_tenant()
    await chain(gql, tenant.admin, "9217262")
    q = await quote(gql, tenant.admin, "9217262")
    # when underwritten, then issued
    result = await underwrite(gql, tenant.admin, q["id"])
    assert result["userErrors"] == [] and result["quote"]["state"] == "UNDERWRITTEN"
    issued = (await gql.ok(ISSUE, {"id": q["id"]}, token=tenant.admin))["issueQuote"]
    # then a policy carries the code as code and code of record
    assert issued["userErrors"] == []
    assert issued["quote"]["state"] == "ISSUED"
    assert issued["policy"]["producerCode"] == "9217262"
    assert issued["policy"]["producerCodeOfRecord"] == "9217262"


async def test_quote_refuses_a_code_that_is_not_validated(gql, new_tenant):
    tenant = await new_tenant()
    agent = await validated_producer(gql, tenant.admin)
    await create_code(gql, tenant.admin, agent["id"], code="D-1")
    data = await gql.ok(CREATE_QUOTE, {"input": {"product": "Travel", "jurisdiction": "CA",
                                                 "effectiveTime": "2026-01-01T00:00:00Z", "producerCode": "D-1"}},
                        token=tenant.admin)
    assert data["createQuote"]["quote"] is None
    assert [e["code"] for e in data["createQuote"]["userErrors"]] == ["PRODUCER_CODE_NOT_VALIDATED"]


async def test_suspended_grandparent_fails_underwriting_and_names_that_ancestor(gql, new_tenant):
    # given agency 0 > agency 1 > agent, and the grandparent suspended after the quote was created
    tenant = await new_tenant(config_with_flag("block"))
    producers = await chain(gql, tenant.admin, "C-1")
    q = await quote(gql, tenant.admin, "C-1")
    await gql.ok(transition_mutation("suspend"), {"id": producers[0]["id"]}, token=tenant.admin)
    # when underwritten
    result = await underwrite(gql, tenant.admin, q["id"])
    # then it fails naming the grandparent, stays draft and carries a block flag
    errors = result["userErrors"]
    assert [e["code"] for e in errors] == ["PRODUCER_NOT_VALIDATED"]
    assert "Agency 0" in errors[0]["message"] and "suspended" in errors[0]["message"]
    assert result["quote"]["state"] == "DRAFT"
    assert [(f["level"], f["tag"]) for f in result["quote"]["flags"]] == [("BLOCK", "Invalid Producer Qualification")]


async def test_flag_is_added_with_configured_tag_and_level(gql, new_tenant):
    tenant = await new_tenant(config_with_flag("decline", "Producer not OK"))
    producers = await chain(gql, tenant.admin, "C-2", depth=1)
    q = await quote(gql, tenant.admin, "C-2")
    await gql.ok(transition_mutation("suspend"), {"id": producers[0]["id"]}, token=tenant.admin)
    result = await underwrite(gql, tenant.admin, q["id"])
    flag = result["quote"]["flags"][0]
    assert (flag["level"], flag["tag"], flag["note"], flag["source"]) == ("DECLINE", "Producer not OK",
                                                                          "Check the producer.", "PRODUCER")
    assert result["quote"]["state"] == "DECLINED"
    assert result["userErrors"][0]["code"] == "PRODUCER_NOT_VALIDATED"


async def test_without_flag_configuration_the_flag_is_info_and_does_not_block(gql, new_tenant):
    tenant = await new_tenant(config_with_flag(None))
    producers = await chain(gql, tenant.admin, "C-3", depth=1)
    q = await quote(gql, tenant.admin, "C-3")
    await gql.ok(transition_mutation("suspend"), {"id": producers[0]["id"]}, token=tenant.admin)
    result = await underwrite(gql, tenant.admin, q["id"])
    assert result["quote"]["state"] == "UNDERWRITTEN"
    assert result["userErrors"] == []
    assert [(f["level"], f["tag"]) for f in result["quote"]["flags"]] == [("INFO", "Invalid Producer Qualification")]


async def test_level_none_adds_no_flag(gql, new_tenant):
    tenant = await new_tenant(config_with_flag("none"))
    producers = await chain(gql, tenant.admin, "C-4", depth=1)
    q = await quote(gql, tenant.admin, "C-4")
    await gql.ok(transition_mutation("suspend"), {"id": producers[0]["id"]}, token=tenant.admin)
    result = await underwrite(gql, tenant.admin, q["id"])
    assert result["quote"]["flags"] == []
    assert result["quote"]["state"] == "UNDERWRITTEN"


async def test_clearing_the_producer_flag_lets_underwriting_complete(gql, new_tenant):
    # given a block flag from a failed producer check
    tenant = await new_tenant(config_with_flag("block"))
    producers = await chain(gql, tenant.admin, "C-5", depth=2)
    q = await quote(gql, tenant.admin, "C-5")
    await gql.ok(transition_mutation("suspend"), {"id": producers[0]["id"]}, token=tenant.admin)
    failed = await underwrite(gql, tenant.admin, q["id"])
    assert failed["quote"]["state"] == "DRAFT"
    again = await underwrite(gql, tenant.admin, q["id"])
    assert again["quote"]["state"] == "DRAFT" and len(again["quote"]["flags"]) == 1
    # when the flag is cleared
    flag_id = failed["quote"]["flags"][0]["id"]
    cleared = (await gql.ok(CLEAR, {"ids": [flag_id]}, token=tenant.admin))["clearUnderwritingFlags"]
    assert cleared["userErrors"] == [] and cleared["flags"][0]["clearedAt"]
    # then the next underwrite completes although the producer is still suspended
    result = await underwrite(gql, tenant.admin, q["id"])
    assert result["userErrors"] == []
    assert result["quote"]["state"] == "UNDERWRITTEN"


async def test_reject_is_permanent(gql, new_tenant):
    tenant = await new_tenant(config_with_flag("reject"))
    producers = await chain(gql, tenant.admin, "C-6", depth=1)
    q = await quote(gql, tenant.admin, "C-6")
    await gql.ok(transition_mutation("suspend"), {"id": producers[0]["id"]}, token=tenant.admin)
    result = await underwrite(gql, tenant.admin, q["id"])
    assert result["quote"]["state"] == "REJECTED"
    cleared = (await gql.ok(CLEAR, {"ids": [result["quote"]["flags"][0]["id"]]},
                            token=tenant.admin))["clearUnderwritingFlags"]
    assert [e["code"] for e in cleared["userErrors"]] == ["FLAG_PERMANENT"]
    await gql.ok(transition_mutation("unsuspend"), {"id": producers[0]["id"]}, token=tenant.admin)
    again = await underwrite(gql, tenant.admin, q["id"])
    assert again["quote"]["state"] == "REJECTED"
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_TRANSITION"]


async def test_manual_block_flag_holds_until_cleared(gql, new_tenant):
    tenant = await new_tenant()
    await chain(gql, tenant.admin, "C-7", depth=1)
    q = await quote(gql, tenant.admin, "C-7")
    added = (await gql.ok(ADD_FLAGS, {"quoteId": q["id"], "flags": [{"level": "BLOCK", "tag": "Loss history"}]},
                          token=tenant.admin))["addUnderwritingFlags"]
    assert added["userErrors"] == []
    held = await underwrite(gql, tenant.admin, q["id"])
    assert held["quote"]["state"] == "DRAFT"
    assert [e["code"] for e in held["userErrors"]] == ["UNDERWRITING_FLAG"]
    await gql.ok(CLEAR, {"ids": [added["flags"][0]["id"]]}, token=tenant.admin)
    assert (await underwrite(gql, tenant.admin, q["id"]))["quote"]["state"] == "UNDERWRITTEN"


async def test_license_product_needs_a_qualifying_license(gql, new_tenant):
    # given PersonalAuto requires a license with Property and Casualty
    tenant = await new_tenant(config_with_flag("block"))
    producers = await chain(gql, tenant.admin, "C-8", depth=1)
    q = await quote(gql, tenant.admin, "C-8", product="PersonalAuto")
    # when underwritten without a license: NO_LICENSE
    result = await underwrite(gql, tenant.admin, q["id"])
    assert [e["code"] for e in result["userErrors"]] == ["NOT_QUALIFIED"]
    assert result["userErrors"][0]["message"].startswith("NO_LICENSE")
    # with a license in another jurisdiction: JURISDICTION_NOT_COVERED (the flag still holds: clear it)
    await license_for(gql, tenant.admin, producers[0]["id"], jurisdictions=["NY"])
    await gql.ok(CLEAR, {"ids": [result["quote"]["flags"][0]["id"]]}, token=tenant.admin)


async def test_license_qualifies_quote_for_license_product(gql, new_tenant):
    tenant = await new_tenant(config_with_flag("block"))
    producers = await chain(gql, tenant.admin, "C-9", depth=1)
    await license_for(gql, tenant.admin, producers[0]["id"], expirationTime="2027-01-01T00:00:00Z")
    q = await quote(gql, tenant.admin, "C-9", product="PersonalAuto")
    result = await underwrite(gql, tenant.admin, q["id"])
    assert result["userErrors"] == [] and result["quote"]["state"] == "UNDERWRITTEN"


async def test_expired_license_names_the_criterion(gql, new_tenant):
    tenant = await new_tenant(config_with_flag("block"))
    producers = await chain(gql, tenant.admin, "C-10", depth=1)
    await license_for(gql, tenant.admin, producers[0]["id"], expirationTime="2026-01-01T00:00:00Z")
    q = await quote(gql, tenant.admin, "C-10", product="PersonalAuto")
    result = await underwrite(gql, tenant.admin, q["id"])
    assert [e["code"] for e in result["userErrors"]] == ["NOT_QUALIFIED"]
    assert result["userErrors"][0]["message"].startswith("EXPIRED")


async def test_code_in_use_by_a_quote_beyond_draft_cannot_be_discarded(gql, new_tenant):
    tenant = await new_tenant()
    producers = await chain(gql, tenant.admin, "C-11", depth=1)
    code_id = (await gql.ok("""query { producerCodeByCode(code: "C-11") { id } }""",
                            token=tenant.admin))["producerCodeByCode"]["id"]
    q = await quote(gql, tenant.admin, "C-11")
    assert producers
    await underwrite(gql, tenant.admin, q["id"])
    data = await gql.ok(transition_mutation("discard", "ProducerCode"), {"id": code_id}, token=tenant.admin)
    errors = data["discardProducerCode"]["userErrors"]
    assert [e["code"] for e in errors] == ["CODE_IN_USE"]
    assert q["id"].startswith("") and "quote" in errors[0]["message"]


async def test_draft_quote_does_not_keep_a_code_from_being_discarded(gql, new_tenant):
    tenant = await new_tenant()
    await chain(gql, tenant.admin, "C-12", depth=1)
    code_id = (await gql.ok("""query { producerCodeByCode(code: "C-12") { id } }""",
                            token=tenant.admin))["producerCodeByCode"]["id"]
    await quote(gql, tenant.admin, "C-12")
    data = await gql.ok(transition_mutation("discard", "ProducerCode"), {"id": code_id}, token=tenant.admin)
    assert data["discardProducerCode"]["userErrors"] == []


async def test_producer_check_field_explains_without_adding_flags(gql, new_tenant):
    tenant = await new_tenant(config_with_flag("block"))
    producers = await chain(gql, tenant.admin, "C-13", depth=2)
    q = await quote(gql, tenant.admin, "C-13")
    await gql.ok(transition_mutation("suspend"), {"id": producers[0]["id"]}, token=tenant.admin)
    data = await gql.ok("""query($id: ID!) { quote(id: $id) { flags { id }
        producerCheck { passed reasons { code producer } } } }""", {"id": q["id"]}, token=tenant.admin)
    check = data["quote"]["producerCheck"]
    assert check["passed"] is False
    assert check["reasons"][0]["producer"] == producers[0]["locator"]
    assert data["quote"]["flags"] == []


async def test_read_only_caller_cannot_write_quotes(gql, new_tenant):
    tenant = await new_tenant()
    reader = gql.token(tenant.id, "READ_ONLY")
    body = await gql(CREATE_QUOTE, {"input": {"product": "Travel", "jurisdiction": "CA",
                                              "effectiveTime": "2026-01-01T00:00:00Z"}}, token=reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# ---- speed that does not depend on the machine ---------------------------------------------------

BATCH = """mutation($ids: [ID!]!) { underwriteQuotes(ids: $ids) {
  results { quote { id state } userErrors { code } } userErrors { code } } }"""
PAGE = """query($n: Int!) { quotes(first: $n) { nodes { id state producerCheck { passed reasons { code } } } } }"""


async def _quotes_on_chain(gql: Any, token: str, code: str, depth: int, count: int) -> list[str]:
    producers = await chain(gql, token, code, depth=depth)
    await license_for(gql, token, producers[-1]["id"])
    return [(await quote(gql, token, code, product="PersonalAuto"))["id"] for _ in range(count)]


async def _count(statements: Any, gql: Any, query: str, variables: dict[str, Any], token: str) -> int:
    await gql.ok("{ __typename }", token=token)  # the tenant's configuration cached, however long the set-up took
    with statements:
        body = await gql.ok(query, variables, token=token)
    assert body
    # the tenant's configuration is cached for seconds only: a slow set-up may need one more look-up
    return len([s for s in statements.statements if "FROM tenants" not in s])


async def test_underwriting_a_batch_runs_a_constant_number_of_statements(gql, new_tenant, statements):
    # given 10 quotes on a 2-level chain and 100 quotes on a 20-level chain, in two tenants
    small = await new_tenant()
    large = await new_tenant()
    few = await _quotes_on_chain(gql, small.admin, "S-1", 2, 10)
    many = await _quotes_on_chain(gql, large.admin, "L-1", 20, 100)
    # when each batch is underwritten
    small_count = await _count(statements, gql, BATCH, {"ids": few}, small.admin)
    large_count = await _count(statements, gql, BATCH, {"ids": many}, large.admin)
    # then both take the same number of statements
    assert small_count == large_count, statements.statements
    data = await gql.ok(PAGE, {"n": 100}, token=large.admin)
    assert {n["state"] for n in data["quotes"]["nodes"]} == {"UNDERWRITTEN"}


async def test_a_page_of_quotes_with_their_producer_check_runs_a_constant_number_of_statements(
        gql, new_tenant, statements):
    small = await new_tenant()
    large = await new_tenant()
    await _quotes_on_chain(gql, small.admin, "S-2", 2, 10)
    await _quotes_on_chain(gql, large.admin, "L-2", 20, 100)
    small_count = await _count(statements, gql, PAGE, {"n": 100}, small.admin)
    large_count = await _count(statements, gql, PAGE, {"n": 100}, large.admin)
    assert small_count == large_count, statements.statements
    assert large_count <= 10
