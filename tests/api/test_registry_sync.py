"""Registry sync: importing a later extract reconciles the producers onboarded from the registry (licenses lapsed,
renewed, with other lines of authority, new ones; the names the agency did not edit), each change an audit event
named after its kind, idempotent; the lapse reaches underwriting."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app.pii import SsnVault
from app.registry import RegistryEntry, RegistryLicense, import_file, write_extract
from tests.api.registry_helpers import agency, entry_with, load_registry, onboarded
from tests.api.test_journey import FINISH, quote_underwritten_with, wizard_step
from tests.ops.test_producer_events import subscribed

CA = RegistryLicense("CA", "0H77701", "Insurance Producer", lines_of_authority=["Property", "Casualty"],
                     issue_date=date(2021, 3, 1), effective_date=date(2021, 3, 1), expiration_date=date(2099, 2, 28))
NV = RegistryLicense("NV", "NV-5501", "Insurance Producer", residency="non-resident", lines_of_authority=["Property"],
                     issue_date=date(2022, 1, 1), effective_date=date(2022, 1, 1), expiration_date=date(2098, 1, 1))
AUDIT = """query($entity: [AuditEntity!]) { auditEvents(first: 50, entity: $entity) {
  nodes { name event entityId actor after } } }"""
PRODUCER = """query($id: ID!) { producer(id: $id) { firstName lastName email
  licenses(first: 10) { nodes { id jurisdictions licenseNumber state stateReason linesOfAuthority expirationTime } } } }"""


def later(lic: RegistryLicense, **changes: Any) -> RegistryLicense:
    changes.setdefault("lines_of_authority", list(lic.lines_of_authority))
    return dataclasses.replace(lic, **changes)


async def sync(app: Any, tenant_id: str, tmp_path: Path, *entries: RegistryEntry, name: str = "later.csv") -> Any:
    """Import a later extract, as `producer-graph registry import` does; the summary."""
    path = tmp_path / name
    write_extract(path, entries)
    summary = await import_file(app.state.sessions, tenant_id, path,
                                SsnVault.from_setting(app.state.settings.ssn_key_or_dev))
    assert summary.errors == []
    return summary


CA_ONLY = '[{jurisdiction: "CA", linesOfAuthority: ["Property", "Casualty"]}]'


async def finished_producer(gql: Any, tenant: Any, acme: dict[str, Any], npn: str, email: str,
                            states: str = CA_ONLY) -> dict[str, Any]:
    """Onboard the registry producer `npn` into the agency and finish the wizard with `states` assigned; the
    finished onboarding."""
    admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])
    onboarding = await onboarded(gql, admin, npn=npn, email=email)
    await wizard_step(gql, admin, "updateOnboardingDetails", onboarding["id"])
    await wizard_step(gql, admin, "setOnboardingPayment", onboarding["id"],
                      ", input: {newLicensePaidBy: AGENCY, renewalPaidBy: PRODUCER, autoRenewal: true}")
    await wizard_step(gql, admin, "assignOnboardingStates", onboarding["id"],
                      f", states: {states}")
    await wizard_step(gql, admin, "reviewOnboarding", onboarding["id"])
    finished = (await gql.ok(FINISH, {"id": onboarding["id"]}, token=admin))["finishOnboarding"]
    assert finished["userErrors"] == []
    return finished["onboarding"]  # type: ignore[no-any-return]


async def licenses_by_state(gql: Any, token: str, producer_id: str) -> dict[str, dict[str, Any]]:
    producer = (await gql.ok(PRODUCER, {"id": producer_id}, token=token))["producer"]
    return {n["jurisdictions"][0]: n for n in producer["licenses"]["nodes"]}


async def test_a_sync_lapsing_the_license_makes_the_next_underwriting_fail_naming_it(app, gql, new_tenant, tmp_path):
    # given a producer onboarded from the registry with its CA license, whose quote underwrites
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    person = entry_with("5101", "233-45-7101", "Okafor", later(CA))
    await load_registry(app, tenant.id, [person], tmp_path)
    done = await finished_producer(gql, tenant, acme, "5101", "chi.okafor@example.com")
    underwriter = gql.token(tenant.id, "UNDERWRITER")
    first = await quote_underwritten_with(gql, underwriter, done["producerCode"]["code"])
    assert first["userErrors"] == [] and first["quote"]["state"] == "UNDERWRITTEN"

    # when a later extract reports the CA license inactive
    summary = await sync(app, tenant.id, tmp_path, dataclasses.replace(person, licenses=[later(CA, status="inactive")]))

    # then the license lapsed (discarded, the registry named as the reason) and the next quote fails naming it
    assert summary.changes == {"lapsed": 1}
    ca = (await licenses_by_state(gql, tenant.admin, done["producer"]["id"]))["CA"]
    assert ca["state"] == "DISCARDED" and "producer registry" in ca["stateReason"]
    second = await quote_underwritten_with(gql, underwriter, done["producerCode"]["code"])
    assert "NOT_QUALIFIED" in {e["code"] for e in second["userErrors"]}
    messages = " ".join(e["message"] for e in second["userErrors"])
    assert "0H77701" in messages and "discarded" in messages, second["userErrors"]


async def test_a_sync_renews_changes_lines_and_adds_licenses_each_an_event_named_after_its_kind(
        app, gql, new_tenant, tmp_path):
    # given an onboarded producer holding CA and NV licenses, and a subscriber to the producer events
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    person = entry_with("5201", "233-45-7201", "Okafor", later(CA), later(NV))
    await load_registry(app, tenant.id, [person], tmp_path)
    done = await finished_producer(gql, tenant, acme, "5201", "chi@example.com")
    producer_id = done["producer"]["id"]
    renewed_to = date(2100, 2, 28)
    tx = RegistryLicense("TX", "TX-9001", "Insurance Producer", residency="non-resident", lines_of_authority=["Life"],
                         issue_date=date(2024, 1, 1), effective_date=date(2024, 1, 1), expiration_date=date(2099, 6, 1))

    # when a later extract renews CA, adds a line to NV and carries a new TX license
    async with subscribed(app, tenant.admin, entities=["LICENSE"]) as subscriber:
        summary = await sync(app, tenant.id, tmp_path, dataclasses.replace(person, licenses=[
            later(CA, expiration_date=renewed_to), later(NV, lines_of_authority=["Property", "Casualty"]), tx]))
        live = sorted([(await subscriber.next())["name"] for _ in range(3)])

    # then each change is counted, is in the audit log by the registry-sync actor, and arrives live
    assert summary.changes == {"renewed": 1, "loaChanged": 1, "added": 1}
    assert live == ["license.added", "license.loaChanged", "license.renewed"]
    held = await licenses_by_state(gql, tenant.admin, producer_id)
    assert held["CA"]["expirationTime"].startswith("2100-02-28") and held["CA"]["state"] == "VALIDATED"
    assert held["NV"]["linesOfAuthority"] == ["Property", "Casualty"]
    assert (held["TX"]["licenseNumber"], held["TX"]["state"]) == ("TX-9001", "VALIDATED")
    events = (await gql.ok(AUDIT, {"entity": ["LICENSE"]}, token=tenant.admin))["auditEvents"]["nodes"]
    synced = sorted((e["name"], e["actor"]) for e in events if e["actor"] == "registry-sync")
    assert synced == [("license.added", "registry-sync"), ("license.loaChanged", "registry-sync"),
                      ("license.renewed", "registry-sync")]


async def test_the_same_extract_twice_changes_nothing_the_second_time(app, gql, new_tenant, tmp_path):
    # given an onboarded producer and a later extract lapsing its NV license and renewing CA
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    person = entry_with("5301", "233-45-7301", "Okafor", later(CA), later(NV))
    await load_registry(app, tenant.id, [person], tmp_path)
    await finished_producer(gql, tenant, acme, "5301", "chi@example.com")
    extract = dataclasses.replace(person, licenses=[later(CA, expiration_date=date(2100, 1, 1)),
                                                    later(NV, status="inactive")])

    # when it is imported twice
    first = await sync(app, tenant.id, tmp_path, extract)
    events_after_first = len((await gql.ok(AUDIT, {}, token=tenant.admin))["auditEvents"]["nodes"])
    second = await sync(app, tenant.id, tmp_path, extract)

    # then the second import changes nothing and writes no event
    assert first.changes == {"renewed": 1, "lapsed": 1}
    assert sum(second.changes.values()) == 0
    assert len((await gql.ok(AUDIT, {}, token=tenant.admin))["auditEvents"]["nodes"]) == events_after_first


async def test_a_sync_refreshes_registry_names_but_keeps_what_the_agency_edited(app, gql, new_tenant, tmp_path):
    # given two onboarded producers; the agency corrected the first one's first name
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    kept = entry_with("5401", "233-45-7401", "Okafor", later(CA, license_number="0H77741"), first_name="Chi")
    taken = entry_with("5402", "233-45-7402", "Rivera", later(CA, license_number="0H77742"), first_name="Ana")
    await load_registry(app, tenant.id, [kept, taken], tmp_path)
    edited = await finished_producer(gql, tenant, acme, "5401", "chi@example.com")
    plain = await finished_producer(gql, tenant, acme, "5402", "ana@example.com")
    update = """mutation($id: ID!) { updateProducer(id: $id, input: {firstName: "Chinedu"}) { userErrors { code } } }"""
    assert (await gql.ok(update, {"id": edited["producer"]["id"]}, token=tenant.admin))["updateProducer"][
        "userErrors"] == []

    # when a later extract renames both (first and last names)
    summary = await sync(app, tenant.id, tmp_path, dataclasses.replace(kept, first_name="Chike", last_name="Okafor-Obi"),
                         dataclasses.replace(taken, first_name="Anna"))

    # then the agency's edit stays, the names it did not touch follow the registry, the emails stay the agency's
    assert summary.changes == {"producerUpdated": 2}
    first = (await gql.ok(PRODUCER, {"id": edited["producer"]["id"]}, token=tenant.admin))["producer"]
    second = (await gql.ok(PRODUCER, {"id": plain["producer"]["id"]}, token=tenant.admin))["producer"]
    assert (first["firstName"], first["lastName"], first["email"]) == ("Chinedu", "Okafor-Obi", "chi@example.com")
    assert (second["firstName"], second["lastName"], second["email"]) == ("Anna", "Rivera", "ana@example.com")


async def test_a_lapsed_license_active_again_in_a_later_extract_is_reinstated(app, gql, new_tenant, tmp_path):
    # given an onboarded producer whose CA license a sync lapsed
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    person = entry_with("5501", "233-45-7501", "Okafor", later(CA, license_number="0H77751"))
    await load_registry(app, tenant.id, [person], tmp_path)
    done = await finished_producer(gql, tenant, acme, "5501", "chi@example.com")
    await sync(app, tenant.id, tmp_path, dataclasses.replace(person, licenses=[
        later(CA, license_number="0H77751", status="inactive")]))

    # when the next extract reports it active again
    summary = await sync(app, tenant.id, tmp_path, person)

    # then it is validated again and qualifies
    assert summary.changes == {"reinstated": 1}
    ca = (await licenses_by_state(gql, tenant.admin, done["producer"]["id"]))["CA"]
    assert (ca["state"], ca["stateReason"]) == ("VALIDATED", None)
    result = await quote_underwritten_with(gql, gql.token(tenant.id, "UNDERWRITER"), done["producerCode"]["code"])
    assert result["userErrors"] == []


async def test_the_import_command_prints_the_changes_by_kind_and_zero_the_second_time(app, gql, new_tenant,
                                                                                      database_url, tmp_path):
    # given an onboarded producer and a later extract file renewing its CA license
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    person = entry_with("5601", "233-45-7601", "Okafor", later(CA, license_number="0H77761"))
    await load_registry(app, tenant.id, [person], tmp_path)
    await finished_producer(gql, tenant, acme, "5601", "chi@example.com")
    path = tmp_path / "later.csv"
    write_extract(path, [dataclasses.replace(person, licenses=[
        later(CA, license_number="0H77761", expiration_date=date(2100, 3, 1))])])
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [str(Path(sys.executable).parent / "producer-graph"), "registry", "import", str(path),
               "--tenant", tenant.id]

    # when `producer-graph registry import` runs twice with it
    first, second = [await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True,
                                             timeout=120) for _ in range(2)]

    # then the first run reports one renewal, the second no change at all
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "imported 1 registry producers with 1 licenses",
        "synced onboarded producers: 1 changes (added 0, granted 0, lapsed 0, reinstated 0, renewed 1, loaChanged 0, "
        "updated 0, producerUpdated 0)"]
    assert second.stdout.splitlines()[1] == (
        "synced onboarded producers: 0 changes (added 0, granted 0, lapsed 0, reinstated 0, renewed 0, loaChanged 0, "
        "updated 0, producerUpdated 0)")


async def test_a_license_applied_for_during_onboarding_is_granted_when_the_registry_carries_it(
        app, gql, new_tenant, tmp_path):
    # given a producer onboarded with its CA license and an application for NV
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    person = entry_with("5701", "233-45-7701", "Okafor", later(CA, license_number="0H77771"))
    await load_registry(app, tenant.id, [person], tmp_path)
    done = await finished_producer(gql, tenant, acme, "5701", "chi@example.com", states=(
        '[{jurisdiction: "CA", linesOfAuthority: ["Property", "Casualty"]}, '
        '{jurisdiction: "NV", linesOfAuthority: ["Property"]}]'))
    assert (await licenses_by_state(gql, tenant.admin, done["producer"]["id"]))["NV"]["state"] == "APPLIED"

    # when a later extract carries the NV license the state issued
    summary = await sync(app, tenant.id, tmp_path, dataclasses.replace(person, licenses=[
        later(CA, license_number="0H77771"), later(NV, license_number="NV-7771")]))

    # then the application became that license, validated with its number, and no second NV license appeared
    assert summary.changes == {"granted": 1}
    held = await licenses_by_state(gql, tenant.admin, done["producer"]["id"])
    assert (held["NV"]["licenseNumber"], held["NV"]["state"]) == ("NV-7771", "VALIDATED")
    producer = (await gql.ok(PRODUCER, {"id": done["producer"]["id"]}, token=tenant.admin))["producer"]
    assert len(producer["licenses"]["nodes"]) == 2


async def test_a_license_dropped_from_a_later_extract_stops_qualifying_and_producers_absent_are_untouched(
        app, gql, new_tenant, tmp_path):
    # given two onboarded producers holding CA and NV, the first one's quote underwriting
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    person = entry_with("5501", "233-45-7501", "Okafor", later(CA), later(NV))
    absent = entry_with("5502", "233-45-7502", "Diaz", later(CA, license_number="0H77702"), later(NV, license_number="NV-5502"))
    await load_registry(app, tenant.id, [person, absent], tmp_path)
    done = await finished_producer(gql, tenant, acme, "5501", "chi@example.com")
    other = await finished_producer(gql, tenant, acme, "5502", "ana@example.com")
    underwriter = gql.token(tenant.id, "UNDERWRITER")
    assert (await quote_underwritten_with(gql, underwriter, done["producerCode"]["code"]))["userErrors"] == []

    # when a later extract carries the first producer with NV only, and not the second producer at all
    async with subscribed(app, tenant.admin, entities=["LICENSE"]) as subscriber:
        summary = await sync(app, tenant.id, tmp_path, dataclasses.replace(person, licenses=[later(NV)]),
                             name="day-2.csv")
        event = await subscriber.next()
    again = await sync(app, tenant.id, tmp_path, dataclasses.replace(person, licenses=[later(NV)]), name="day-2.csv")

    # then the dropped CA license lapsed, saying why, as an event; the next quote fails naming it; NV and the
    # absent producer's licenses are as they were, and the same file again changes nothing
    assert summary.changes == {"lapsed": 1} and sum(again.changes.values()) == 0
    held = await licenses_by_state(gql, tenant.admin, done["producer"]["id"])
    assert held["CA"]["state"] == "DISCARDED"
    assert held["CA"]["stateReason"].startswith("not in the producer registry's extract day-2.csv of ")
    assert held["NV"]["state"] == "VALIDATED"
    assert (event["name"], event["entityId"], event["actor"]) == ("license.lapsed", held["CA"]["id"], "registry-sync")
    second = await quote_underwritten_with(gql, underwriter, done["producerCode"]["code"])
    assert "NOT_QUALIFIED" in {e["code"] for e in second["userErrors"]}
    assert "0H77701" in " ".join(e["message"] for e in second["userErrors"]), second["userErrors"]
    untouched = await licenses_by_state(gql, tenant.admin, other["producer"]["id"])
    assert {s: n["state"] for s, n in untouched.items()} == {"CA": "VALIDATED", "NV": "VALIDATED"}


async def test_the_second_run_of_an_extract_writes_no_row_and_no_audit_event(app, gql, new_tenant, tmp_path,
                                                                             statements):
    # given an onboarded producer and a later extract renewing CA, lapsing NV and carrying a new TX license
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    person = entry_with("5601", "233-45-7601", "Okafor", later(CA), later(NV))
    await load_registry(app, tenant.id, [person], tmp_path)
    await finished_producer(gql, tenant, acme, "5601", "chi@example.com")
    tx = RegistryLicense("TX", "TX-5601", "Insurance Producer", residency="non-resident", lines_of_authority=["Life"],
                         expiration_date=date(2099, 6, 1))
    extract = dataclasses.replace(person, licenses=[later(CA, expiration_date=date(2100, 1, 1)),
                                                    later(NV, status="inactive"), tx])
    first = await sync(app, tenant.id, tmp_path, extract)
    audit_rows = await audit_count(app, tenant.id)

    # when the same file is imported again
    with statements:
        second = await sync(app, tenant.id, tmp_path, extract)

    # then no audit row was written, and the only writing statement is the summary's registry.imported delivery
    # (the unchanged registry rows are not even sent)
    assert first.changes == {"renewed": 1, "lapsed": 1, "added": 1} and sum(second.changes.values()) == 0
    assert await audit_count(app, tenant.id) == audit_rows
    writes = [written_table(s) for s in statements.statements if written_table(s)]
    assert writes == ["webhook_outbox"], writes


def written_table(statement: str) -> str | None:
    """The table an INSERT, UPDATE or DELETE writes; None for any other statement."""
    words = statement.split()
    verb = words[0].upper() if words else ""
    if verb in ("INSERT", "DELETE"):
        return words[2]
    return words[1] if verb == "UPDATE" else None


async def audit_count(app: Any, tenant_id: str) -> int:
    async with app.state.sessions() as session:
        return int((await session.execute(text("SELECT count(*) FROM audit_events WHERE tenant_id = :t"),
                                          {"t": tenant_id})).scalar_one())
