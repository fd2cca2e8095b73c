"""complianceAlerts: licenses, appointments and documents (the E&O certificate) expiring within the tenant's windows (default 90/30/7 days) or already
expired while their producer is validated, scoped like every read, filtered by kind, window and agency."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime, time, timedelta
from typing import Any

from app.tenant_config import default_config_dict
from tests.api.document_helpers import attach
from tests.api.helpers import validated_producer
from tests.api.registry_helpers import agency
from tests.api.test_documents import UPDATE_PRODUCER
from tests.api.test_licenses import CREATE_APPOINTMENT
from tests.api.test_offboarding import VALIDATE_APPOINTMENT
from tests.api.test_quotes_underwriting import license_for

ALERTS = """query($kinds: [ComplianceAlertKind!], $windows: [ComplianceAlertWindow!], $agencyId: ID, $first: Int,
                  $after: String) {
  complianceAlerts(kinds: $kinds, windows: $windows, agencyId: $agencyId, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { kind window windowDays daysLeft expiresOn producer { id }
      entity { __typename ... on License { id licenseNumber } ... on Appointment { id appointmentNumber }
        ... on Document { id fileName } } } } }"""


def in_days(days: float) -> str:
    """Noon (UTC) of the day `days` whole days from today: windows count calendar days, so a credential due in
    3.5 days from the afternoon would be 4 days away; noon keeps every test's day count whatever the hour."""
    day = datetime.now(UTC).date() + timedelta(days=math.floor(days))
    return datetime.combine(day, time(12), UTC).isoformat()


async def appointment_for(gql: Any, token: str, producer_id: str, number: str, expires: str) -> str:
    data = await gql.ok(CREATE_APPOINTMENT, {"input": {
        "type": "CarrierAppointment", "producerId": producer_id, "appointmentNumber": number, "jurisdictions": ["CA"],
        "linesOfAuthority": ["Casualty"], "data": {"carrierName": "Acme Mutual"}, "expirationTime": expires}},
        token=token)
    assert data["createAppointment"]["userErrors"] == [], data
    appointment_id: str = data["createAppointment"]["appointment"]["id"]
    assert (await gql.ok(VALIDATE_APPOINTMENT, {"id": appointment_id}, token=token))[
        "validateAppointment"]["userErrors"] == []
    return appointment_id


async def alerts(gql: Any, token: str, **variables: Any) -> dict[str, Any]:
    return (await gql.ok(ALERTS, variables, token=token))["complianceAlerts"]  # type: ignore[no-any-return]


async def agent_with_credentials(gql: Any, token: str, parent: str, prefix: str) -> dict[str, Any]:
    """A validated agent with licenses expiring in 3, 20, 60 and 200 days and one expired yesterday, and an
    appointment expiring in 25 days."""
    agent = await validated_producer(gql, token, parent=parent)
    for number, days in (("3", 3.5), ("20", 20.5), ("60", 60.5), ("200", 200.5), ("OLD", -1)):
        await license_for(gql, token, agent["id"], licenseNumber=f"{prefix}-{number}",
                          effectiveTime=in_days(-400), expirationTime=in_days(days))
    await appointment_for(gql, token, agent["id"], f"{prefix}-AP", in_days(25.5))
    return agent


async def test_each_expiring_credential_is_an_alert_in_its_window_soonest_first(gql, new_tenant):
    # given a validated agent with credentials expiring at various distances
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    agent = await agent_with_credentials(gql, tenant.admin, acme["id"], "A")

    # when a tenant admin lists the compliance alerts
    found = await alerts(gql, tenant.admin)

    # then each credential within 90 days (or expired) is an alert in its window, soonest first; 200 days is not
    rows = [(n["entity"].get("licenseNumber") or n["entity"].get("appointmentNumber"), n["kind"], n["window"],
             n["windowDays"], n["daysLeft"]) for n in found["nodes"]]
    assert rows == [("A-OLD", "LICENSE", "EXPIRED", None, -1), ("A-3", "LICENSE", "URGENT", 7, 3),
                    ("A-20", "LICENSE", "SOON", 30, 20), ("A-AP", "APPOINTMENT", "SOON", 30, 25),
                    ("A-60", "LICENSE", "UPCOMING", 90, 60)]
    assert found["totalCount"] == 5 and {n["producer"]["id"] for n in found["nodes"]} == {agent["id"]}


async def test_alerts_filter_by_kind_and_window_and_page_with_cursors(gql, new_tenant):
    # given an agent with expiring licenses and an appointment
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    await agent_with_credentials(gql, tenant.admin, acme["id"], "B")

    # when filtered by kind, by window, and paged two at a time
    appointments = await alerts(gql, tenant.admin, kinds=["APPOINTMENT"])
    pressing = await alerts(gql, tenant.admin, windows=["EXPIRED", "URGENT"])
    first = await alerts(gql, tenant.admin, first=2)
    rest = await alerts(gql, tenant.admin, first=10, after=first["pageInfo"]["endCursor"])

    # then each filter keeps its alerts and the pages cover the list once
    assert [n["kind"] for n in appointments["nodes"]] == ["APPOINTMENT"]
    assert [n["window"] for n in pressing["nodes"]] == ["EXPIRED", "URGENT"]
    assert first["pageInfo"]["hasNextPage"] and len(first["nodes"]) == 2 and len(rest["nodes"]) == 3
    assert not rest["pageInfo"]["hasNextPage"]


async def test_an_agency_admin_sees_only_its_subtree_and_a_tenant_admin_may_narrow_to_an_agency(gql, new_tenant):
    # given two agencies with one agent each
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin, name="Acme")
    globex = await agency(gql, tenant.admin, name="Globex")
    await agent_with_credentials(gql, tenant.admin, acme["id"], "ACME")
    await agent_with_credentials(gql, tenant.admin, globex["id"], "GLOBEX")

    # when an Acme admin lists alerts, and a tenant admin asks for Globex's
    acme_admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])
    mine = await alerts(gql, acme_admin)
    narrowed = await alerts(gql, tenant.admin, agencyId=globex["id"])
    outside = await gql(ALERTS, {"agencyId": globex["id"]}, token=acme_admin)

    # then each sees the one agency's alerts; another agency is not found for the Acme admin
    assert {n["entity"].get("licenseNumber", "ACME-").split("-")[0] for n in mine["nodes"]
            if n["kind"] == "LICENSE"} == {"ACME"}
    assert {n["entity"].get("licenseNumber", "GLOBEX-").split("-")[0] for n in narrowed["nodes"]
            if n["kind"] == "LICENSE"} == {"GLOBEX"}
    assert outside["errors"][0]["extensions"]["code"] == "AGENCY_NOT_FOUND"


async def test_the_windows_follow_the_tenant_configuration(gql, new_tenant):
    # given a tenant whose windows are 14/5/2 days and an agent with licenses in 3, 20 and 60 days
    config = copy.deepcopy(default_config_dict())
    config["compliance"] = {"alertWindows": {"upcoming": 14, "soon": 5, "urgent": 2}}
    tenant = await new_tenant(config)
    acme = await agency(gql, tenant.admin)
    await agent_with_credentials(gql, tenant.admin, acme["id"], "C")

    # when the alerts are listed
    found = await alerts(gql, tenant.admin, kinds=["LICENSE"])

    # then only the expired and the 3-day license are alerts, the latter in the 5-day window
    assert [(n["entity"]["licenseNumber"], n["window"], n["windowDays"]) for n in found["nodes"]] == [
        ("C-OLD", "EXPIRED", None), ("C-3", "SOON", 5)]


async def test_an_expired_credential_of_a_draft_producer_is_no_alert_and_readers_are_refused(gql, new_tenant):
    # given a draft producer with an expired validated license
    tenant = await new_tenant()
    from tests.api.helpers import create_producer

    draft = await create_producer(gql, tenant.admin)
    await license_for(gql, tenant.admin, draft["id"], licenseNumber="D-OLD", effectiveTime=in_days(-400),
                      expirationTime=in_days(-2))

    # when the alerts are listed, and a read-only caller asks
    found = await alerts(gql, tenant.admin)
    refused = await gql(ALERTS, {}, token=gql.token(tenant.id, "READ_ONLY"))

    # then there is none, and the reader is refused with a typed error
    assert found["nodes"] == []
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_eo_certificate_expiring_is_a_document_alert_of_its_agency_only(gql, http, new_tenant):
    # given an agent of Acme whose E&O certificate is attached and covers 20 more days, and another agency
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin, name="Acme")
    globex = await agency(gql, tenant.admin, name="Globex")
    agent = await validated_producer(gql, tenant.admin, parent=acme["id"])
    covered_until = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    await gql.ok(UPDATE_PRODUCER, {"id": agent["id"], "input": {"setData": {"eoExpiresOn": covered_until}}},
                 token=tenant.admin)
    certificate = (await attach(http, tenant.admin, agent["id"]))["document"]

    # when the tenant admin, Acme's admin and Globex's admin list the document alerts
    everyone = await alerts(gql, tenant.admin, kinds=["DOCUMENT"])
    mine = await alerts(gql, gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"]), kinds=["DOCUMENT"])
    theirs = await alerts(gql, gql.token(tenant.id, "AGENCY_ADMIN", agency=globex["locator"]), kinds=["DOCUMENT"])

    # then the certificate is one SOON alert (its last covered day) for the tenant and Acme, none for Globex
    expected = [{"kind": "DOCUMENT", "window": "SOON", "expiresOn": covered_until, "producer": {"id": agent["id"]},
                 "entity": {"__typename": "Document", "id": certificate["id"], "fileName": certificate["fileName"]}}]
    assert [{k: n[k] for k in expected[0]} for n in everyone["nodes"]] == expected
    assert [{k: n[k] for k in expected[0]} for n in mine["nodes"]] == expected
    assert theirs["nodes"] == [] and theirs["totalCount"] == 0


async def _agents_with_certificates(gql: Any, http: Any, token: str, parent: str, count: int) -> None:
    """`count` validated agents, each with a license expiring in 20 days and an E&O certificate covering 20 more
    days, and as many whose certificate covers two more years (no alert)."""
    for days in (20, 730):
        covered_until = (datetime.now(UTC) + timedelta(days=days)).date().isoformat()
        for _ in range(count):
            agent = await validated_producer(gql, token, parent=parent)
            await gql.ok(UPDATE_PRODUCER, {"id": agent["id"], "input": {"setData": {"eoExpiresOn": covered_until}}},
                         token=token)
            await attach(http, token, agent["id"])
            if days == 20:
                await license_for(gql, token, agent["id"], licenseNumber=f"SC-{agent['locator']}",
                                  effectiveTime=in_days(-400), expirationTime=in_days(20.5))


async def test_alerts_of_100_producers_cost_as_many_statements_as_of_10(gql, http, new_tenant, statements):
    # given 10 agents with an expiring license and certificate (and 10 with a certificate good for two years)
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin, name="Counted")
    await _agents_with_certificates(gql, http, tenant.admin, acme["id"], 10)
    with statements:
        few = await alerts(gql, tenant.admin, first=100)
    few_statements = list(statements.statements)

    # when there are 100 of each and the alerts are listed again
    await _agents_with_certificates(gql, http, tenant.admin, acme["id"], 90)
    with statements:
        many = await alerts(gql, tenant.admin, first=100)

    # then the listing ran the same statements, and holds two alerts per expiring agent, none for the others
    assert (few["totalCount"], many["totalCount"]) == (20, 200)
    assert {n["kind"] for n in few["nodes"]} == {"LICENSE", "DOCUMENT"} and len(many["nodes"]) == 100
    assert len(statements.statements) == len(few_statements), statements.statements
