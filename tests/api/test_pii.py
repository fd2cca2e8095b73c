"""SSNs stay secret: never in a response, a log line or an error text; encrypted at rest; a key in production."""

from __future__ import annotations

import logging
import re
from typing import Any

import pydantic
import pytest
from sqlalchemy import select

from app.pii import SsnVault
from app.runtime.logs import formatter
from app.settings import Settings
from persistence.producers import ProducerRecord
from persistence.registry import RegistryProducerRecord
from tests.api.registry_helpers import agency, entry_with, load_registry, onboard

SSNS = ("219-09-9999", "078-05-1120", "536-90-4399")
TYPED = ("666-12-3456", "123-00-4567")  # malformed ones typed by the admin


def forms(ssn: str) -> list[str]:
    digits = re.sub(r"\D", "", ssn)
    return [digits, f"{digits[:3]}-{digits[3:5]}-{digits[5:]}", f"{digits[:3]} {digits[3:5]} {digits[5:]}"]


def leaks(text: str) -> list[str]:
    return [form for ssn in SSNS + TYPED for form in forms(ssn) if form in text]


@pytest.fixture
def bodies(http):
    """Every response body the app sends during the test."""
    seen: list[str] = []

    async def record(response: Any) -> None:
        await response.aread()
        seen.append(response.text)

    http.event_hooks["response"].append(record)
    yield seen
    http.event_hooks["response"].remove(record)


async def test_no_response_or_log_line_ever_contains_a_full_ssn(app, gql, new_tenant, tmp_path, caplog, bodies):
    caplog.set_level(logging.DEBUG)
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    await load_registry(app, tenant.id, [
        entry_with("7001", SSNS[0], "Diaz", ("AZ", "AZ-1", ["Life"])),
        entry_with("7002", SSNS[1], "Evans", ("CO", "CO-1", ["Life"])),
        entry_with("7003", SSNS[2], "Evans", ("UT", "UT-1", ["Life"]))], tmp_path)
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])

    done = await onboard(gql, admin, ssn=SSNS[0], lastName="Diaz")
    await onboard(gql, admin, ssn=SSNS[0], lastName="Diaz")  # already onboarded
    await onboard(gql, admin, ssn=SSNS[1].replace("-", ""), lastName="Nobody")  # last name mismatch
    await onboard(gql, admin, ssn=SSNS[2].replace("-", " "), lastName="Evans", npn="7003")  # two identifications
    for typed in TYPED:
        await onboard(gql, admin, ssn=typed, lastName="Diaz")
    await onboard(gql, admin, npn=SSNS[1].replace("-", ""))  # an SSN typed as an NPN
    await onboard(gql, admin, npn="7002", email=f"{SSNS[1]}@example")  # and inside a bad email
    await gql.post("{ producer(id: " + SSNS[2].replace("-", "") + ") { id } }", token=admin)
    await gql.post('{ producers(filter: {search: "' + SSNS[2] + '"}) { nodes { ssnLastFour } } }', token=admin)
    await gql.post("query { producer(id: $missing) { id ssnLastFour } " + SSNS[0], token=admin)
    read = await gql.ok("query($id: ID!) { producer(id: $id) { ssnLastFour } }",
                        {"id": done["onboarding"]["producer"]["id"]}, token=admin)

    assert read["producer"]["ssnLastFour"] == "9999"
    assert len(bodies) >= 10
    assert [b for b in bodies if leaks(b)] == []
    json_lines = formatter("json")
    lines = [json_lines.format(r) for r in caplog.records]
    raw = [r.getMessage() for r in caplog.records]
    assert [line for line in lines + raw if leaks(line)] == []


async def test_ssns_are_stored_encrypted_with_a_keyed_hash_and_the_last_four(app, gql, new_tenant, tmp_path):
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    await load_registry(app, tenant.id, [entry_with("7101", SSNS[0], "Diaz", ("AZ", "AZ-1", ["Life"]))], tmp_path)
    await onboard(gql, tenant.admin, ssn=SSNS[0], lastName="Diaz", agencyId=acme["id"])
    vault = SsnVault.from_setting(app.state.settings.ssn_key_or_dev)

    async with app.state.sessions() as session:
        stored = list((await session.execute(select(RegistryProducerRecord).where(
            RegistryProducerRecord.tenant_id == tenant.id))).scalars())
        stored += list((await session.execute(select(ProducerRecord).where(
            ProducerRecord.tenant_id == tenant.id, ProducerRecord.npn == "7101"))).scalars())

    assert len(stored) == 2
    for row in stored:
        assert b"219099999" not in bytes(row.ssn_ciphertext)
        assert vault.decrypt(row.ssn_ciphertext) == "219099999"
        assert row.ssn_hash == vault.lookup_hash(SSNS[0]) and "219099999" not in row.ssn_hash
        assert row.ssn_last4 == "9999"


def test_production_refuses_to_start_without_an_ssn_key():
    with pytest.raises(pydantic.ValidationError, match="SSN_KEY"):
        Settings(_env_file=None, env="production", jwt_secret="s" * 32, ssn_key=None)  # type: ignore[call-arg]


def test_production_starts_with_an_ssn_key():
    from app.pii import generate_key

    settings = Settings(_env_file=None, env="production", jwt_secret="s" * 32, ssn_key=generate_key())  # type: ignore[call-arg]

    assert SsnVault.from_setting(settings.ssn_key_or_dev).lookup_hash(SSNS[0])


async def test_an_error_message_never_echoes_input_that_looks_like_an_ssn(gql, new_tenant):
    # given a type name that is an SSN; when a producer of that type is created
    tenant = await new_tenant()
    body = await gql("""mutation { createProducer(input: {type: "123-45-6789", lastName: "Doe"}) {
        producer { id } userErrors { code message } } }""", token=tenant.admin)
    # then the refusal is typed and its message masks the SSN
    errors = body["data"]["createProducer"]["userErrors"]
    assert [e["code"] for e in errors] == ["UNKNOWN_TYPE"]
    assert "123-45-6789" not in errors[0]["message"] and "6789" in errors[0]["message"]
    spaced = await gql('mutation { createProducer(input: {type: "123456789", lastName: "Doe"}) { userErrors { message } } }',
                       token=tenant.admin)
    assert "123456789" not in str(spaced)
