"""complianceAlert.raised: the daily alert sweep raises each expiring credential to webhooks once per window (and
expiration date), whether or not a digest is sent, under a lease in PostgreSQL (one sweep per tenant and day, however
many processes). The loop stays out here (tests/conftest.py: one round, at start); the tests run its rounds at chosen
days."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook

from app import compliance
from persistence import compliance as store
from persistence.base import utcnow
from persistence.db import create_engine, session_factory
from tests.api.registry_helpers import entry_with, load_registry
from tests.api.test_compliance_alerts import alerts, in_days
from tests.api.test_compliance_digest import agency_with, agent_with_licenses, tenant_config
from tests.api.test_quotes_underwriting import license_for
from tests.api.test_registry_sync import CA, finished_producer, later, sync
from tests.api.webhook_helpers import Receiver, create_endpoint, eventually, receiver

UPDATE_LICENSE = """mutation($id: ID!, $input: UpdateLicenseInput!) {
  updateLicense(id: $id, input: $input) { license { id } userErrors { code } } }"""


def raised(hook: Receiver, secret: str) -> list[tuple[str, str]]:
    """(window, license number) of each complianceAlert.raised message the receiver got, sorted."""
    messages = [Webhook(secret).verify(item.body, item.headers) for item in hook.received]
    assert {m["type"] for m in messages} <= {"complianceAlert.raised"}
    return sorted((m["data"]["window"], m["data"]["label"].split()[1]) for m in messages)


async def settled(hook: Receiver, count: int) -> None:
    """Wait for `count` messages, then a little more: any extra one would have come by then."""
    await eventually(lambda: len(hook.received) >= count)
    await asyncio.sleep(1.5)


async def sweep(app: Any, tenant_id: str, days: float = 0, *, sessions: Any = None, owner: str = "test-process",
                force: bool = False) -> int | None:
    """One tenant's sweep as the loop runs it `days` from now: the alerts raised, None when its lease was taken."""
    sessions = sessions or app.state.sessions
    ctx = await compliance.tenant_context(app.state.settings, sessions, tenant_id)
    assert ctx is not None
    return await compliance.sweep_alerts(ctx, owner, lease_seconds=600, now=utcnow() + timedelta(days=days),
                                         force=force)


async def test_alerts_reach_webhooks_with_digests_off(app, gql, new_tenant):
    # given a tenant with digests off, an endpoint subscribed to compliance alerts, and licenses expiring
    tenant = await new_tenant(tenant_config())
    acme = await agency_with(gql, tenant.admin, "Quiet Agency")
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("OFF-20", 20.5), ("OFF-60", 60.5), ("OFF-400", 400))
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["complianceAlert.*"])

        # when the day's round of the loop runs (sweeps, then digests: none)
        sent = await app.state.compliance_digests.run_once()
        await settled(hook, 2)

    # then each alert within a window reached the endpoint once, with its window and agency; no digest was sent
    assert sent == 0 and await sweep(app, tenant.id) is None  # the round took today's lease
    assert raised(hook, endpoint["secret"]) == [("SOON", "OFF-20"), ("UPCOMING", "OFF-60")]
    message = Webhook(endpoint["secret"]).verify(hook.received[0].body, hook.received[0].headers)
    assert message["data"]["agencyId"] == acme["locator"] and message["data"]["kind"] == "LICENSE"


async def test_a_second_sweep_raises_nothing_new(app, gql, new_tenant):
    # given a tenant whose alerts were raised by today's sweep
    tenant = await new_tenant(tenant_config())
    acme = await agency_with(gql, tenant.admin, "Twice Agency")
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("TW-20", 20.5), ("TW-60", 60.5))
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["complianceAlert.raised"])
        first = await sweep(app, tenant.id)

        # when another round runs today, a forced sweep runs today, and tomorrow's sweep runs (same windows)
        again = await sweep(app, tenant.id, owner="another-process")
        forced = await sweep(app, tenant.id, force=True)
        tomorrow = await sweep(app, tenant.id, days=1)
        await settled(hook, 2)

    # then only the first raised anything (today's lease was taken), and each alert arrived once
    assert (first, again, forced, tomorrow) == (2, None, 0, 0)
    assert raised(hook, endpoint["secret"]) == [("SOON", "TW-20"), ("UPCOMING", "TW-60")]


async def test_an_alert_entering_the_next_window_is_raised_again_once(app, gql, new_tenant):
    # given a license 20 days from expiry, raised today in the 30-day window
    tenant = await new_tenant(tenant_config())
    acme = await agency_with(gql, tenant.admin, "Closer Agency")
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("CL-20", 20.5))
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["complianceAlert.*"])
        today = await sweep(app, tenant.id)

        # when the sweeps of the days that follow run: 12 days on it is still within 30 days, 14 days on within 7,
        # 21 days on it has expired
        later = [await sweep(app, tenant.id, days=days) for days in (12, 14, 15, 21, 22)]
        await settled(hook, 3)

    # then it was raised once per window it entered, on the day it entered it
    assert (today, later) == (1, [0, 1, 0, 1, 0])
    assert raised(hook, endpoint["secret"]) == [("EXPIRED", "CL-20"), ("SOON", "CL-20"), ("URGENT", "CL-20")]


async def test_two_processes_sweeping_at_once_raise_each_alert_once(app, gql, new_tenant, database_url):
    # given a tenant with three expiring licenses, and two more "processes" (own engines, own lease owners)
    tenant = await new_tenant(tenant_config())
    acme = await agency_with(gql, tenant.admin, "Busy Agency")
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("TP-3", 3.5), ("TP-20", 20.5), ("TP-60", 60.5))
    engines = [create_engine(database_url, pool_size=2), create_engine(database_url, pool_size=2)]
    processes = [(session_factory(engine), f"process-{n}") for n, engine in enumerate(engines)]
    try:
        async with receiver() as hook:
            endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["complianceAlert.*"])

            # when both run today's sweep at the same moment, then both force one at the same moment
            leased = await asyncio.gather(*(sweep(app, tenant.id, sessions=s, owner=o) for s, o in processes))
            forced = await asyncio.gather(*(sweep(app, tenant.id, sessions=s, owner=o, force=True)
                                            for s, o in processes))
            await settled(hook, 3)
    finally:
        for engine in engines:
            await engine.dispose()

    # then one sweep raised the three alerts (the other found the lease taken), the forced ones nothing
    assert sorted(leased, key=str) == [3, None] and forced == [0, 0]
    assert raised(hook, endpoint["secret"]) == [("SOON", "TP-20"), ("UPCOMING", "TP-60"), ("URGENT", "TP-3")]
    async with app.state.sessions() as session:
        rows = await store.raised_of(session, tenant.id)
    assert sorted(r.alert_window for r in rows) == ["SOON", "UPCOMING", "URGENT"]


async def test_two_forced_sweeps_at_once_raise_each_alert_once(app, gql, new_tenant, database_url):
    # given a tenant with expiring licenses, swept by nobody yet, and two "processes"
    tenant = await new_tenant(tenant_config())
    acme = await agency_with(gql, tenant.admin, "Forced Agency")
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("FO-3", 3.5), ("FO-20", 20.5))
    engines = [create_engine(database_url, pool_size=2), create_engine(database_url, pool_size=2)]
    processes = [(session_factory(engine), f"shell-{n}") for n, engine in enumerate(engines)]
    try:
        async with receiver() as hook:
            endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["complianceAlert.*"])

            # when both force a sweep (no lease: `compliance sweep --now` in two shells) at the same moment
            forced = await asyncio.gather(*(sweep(app, tenant.id, sessions=s, owner=o, force=True)
                                            for s, o in processes))
            await settled(hook, 2)
    finally:
        for engine in engines:
            await engine.dispose()

    # then the raised table let one of them raise each alert: two in all, each arrived once
    assert sorted(forced, key=str) in ([0, 2], [1, 1])
    assert raised(hook, endpoint["secret"]) == [("SOON", "FO-20"), ("URGENT", "FO-3")]


async def test_a_renewed_license_stops_alerting_until_its_new_date_comes_near(app, gql, new_tenant):
    # given a license 20 days from expiry, raised today
    tenant = await new_tenant(tenant_config())
    acme = await agency_with(gql, tenant.admin, "Renewing Agency")
    agent = await agency_with(gql, tenant.admin, "Renewing Agent Org")  # a validated producer of its own
    license_id = await license_for(gql, tenant.admin, agent["id"], licenseNumber="RN-20",
                                   effectiveTime=in_days(-400), expirationTime=in_days(20.5))
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("RN-OTHER", 500))
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["complianceAlert.*"])
        first = await sweep(app, tenant.id)
        await settled(hook, 1)

        # when the license is renewed for a year (an edit), and the sweeps of the following days run
        renewed = await gql.ok(UPDATE_LICENSE, {"id": license_id, "input": {"expirationTime": in_days(385.5)}},
                               token=tenant.admin)
        assert renewed["updateLicense"]["userErrors"] == []
        after = [await sweep(app, tenant.id, days=days) for days in (1, 14, 21)]
        listed = await alerts(gql, tenant.admin)
        # ...until its new date is 20 days away
        near = await sweep(app, tenant.id, days=365)
        await settled(hook, 2)

    # then nothing was raised or listed while it was far, and it alerted again (once) for its new date
    assert (first, after, listed["totalCount"], near) == (1, [0, 0, 0], 0, 1)
    assert raised(hook, endpoint["secret"]) == [("SOON", "RN-20"), ("SOON", "RN-20")]
    messages = [Webhook(endpoint["secret"]).verify(item.body, item.headers) for item in hook.received]
    assert len({m["data"]["expiresOn"] for m in messages}) == 2


async def test_a_license_renewed_by_the_registry_sync_stops_alerting(app, gql, new_tenant, tmp_path: Path):
    # given a producer onboarded from the registry whose CA license expires in 20 days, raised today
    tenant = await new_tenant(tenant_config())
    acme = await agency_with(gql, tenant.admin, "Synced Agency")
    soon = (utcnow() + timedelta(days=20)).date()
    person = entry_with("5901", "233-45-7901", "Okafor", later(CA, expiration_date=soon))
    await load_registry(app, tenant.id, [person], tmp_path)
    await finished_producer(gql, tenant, acme, "5901", "renewed@example.com")
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["complianceAlert.*"])
        first = await sweep(app, tenant.id)
        await settled(hook, 1)

        # when a later extract renews it for two years, and the sweeps of the following days run
        summary = await sync(app, tenant.id, tmp_path, dataclasses.replace(
            person, licenses=[later(CA, expiration_date=soon + timedelta(days=730))]))
        after = [await sweep(app, tenant.id, days=days) for days in (1, 14, 21)]
        listed = await alerts(gql, tenant.admin)
        await asyncio.sleep(1.5)

    # then nothing more was raised, and the alert is no longer listed
    assert summary.changes == {"renewed": 1}
    assert (first, after, listed["totalCount"]) == (1, [0, 0, 0], 0)
    assert raised(hook, endpoint["secret"]) == [("SOON", "0H77701")]


async def test_a_tenant_whose_sweep_fails_does_not_stop_the_others(app, gql, new_tenant):
    from sqlalchemy import text

    # given a tenant whose stored configuration no longer parses (created first, so swept first), and another
    # tenant with an expiring license
    broken = await new_tenant(tenant_config())
    async with app.state.sessions() as session, session.begin():
        await session.execute(text("UPDATE tenants SET config = CAST('{\"producerManagement\": 1}' AS jsonb), "
                                   "config_version = config_version + 1 WHERE id = :t"), {"t": broken.id})
    tenant = await new_tenant(tenant_config())
    acme = await agency_with(gql, tenant.admin, "Unaffected Agency")
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("UA-20", 20.5))

    # when a process runs every tenant's sweep
    await app.state.compliance_digests.sweep_once(now=utcnow() + timedelta(days=2))

    # then the other tenant's alert was raised all the same
    async with app.state.sessions() as session:
        rows = await store.raised_of(session, tenant.id)
    assert [(r.kind, r.alert_window) for r in rows] == [("LICENSE", "SOON")]
