"""The daily compliance digest: one email per agency and day to its recipients, each alert once per window, sent by
the digest loop beside the bulk worker (here every 0.2 s from hour 0 UTC) to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from standardwebhooks import Webhook

from app import tenants
from app.tenant_config import default_config_dict
from persistence.base import utcnow
from tests.api.helpers import create_producer, transition_mutation
from tests.api.test_compliance_alerts import in_days
from tests.api.test_quotes_underwriting import license_for
from tests.api.webhook_helpers import create_endpoint, eventually, receiver
from tests.conftest import free_port, settings_for_test

ROUND = 0.2


class Inbox:
    """An aiosmtpd handler keeping every message with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture(scope="module")
def settings() -> Any:
    return settings_for_test(compliance_digest_hour=0, compliance_digest_interval_seconds=ROUND)


@pytest.fixture(scope="module")
def inbox(app: Any) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 the app sends through."""
    received = Inbox()
    controller = Controller(received, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = app.state.settings
    settings.smtp_host, settings.smtp_port = "127.0.0.1", controller.port
    try:
        yield received
    finally:
        settings.smtp_host = None
        controller.stop()


def mail_to(inbox: Inbox, address: str) -> list[Message]:
    return [message for recipients, message in inbox.messages if address in recipients]


async def wait_for_mail(inbox: Inbox, address: str, count: int = 1, seconds: float = 15) -> list[Message]:
    for _ in range(int(seconds / 0.1)):
        if len(mail_to(inbox, address)) >= count:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(ROUND * 8)  # a few more rounds: any second email would have come by now
    return mail_to(inbox, address)


async def agency_with(gql: Any, token: str, name: str, email: str | None = None) -> dict[str, Any]:
    created = await create_producer(gql, token, type="Agency", organizationName=name,
                                    **({"email": email} if email else {}))
    assert (await gql.ok(transition_mutation("validate"), {"id": created["id"]}, token=token))[
        "validateProducer"]["userErrors"] == []
    return created


async def agent_with_licenses(gql: Any, token: str, agency_id: str, *numbers_and_days: tuple[str, float]) -> None:
    agent = await create_producer(gql, token, parent=agency_id)
    assert (await gql.ok(transition_mutation("validate"), {"id": agent["id"]}, token=token))[
        "validateProducer"]["userErrors"] == []
    for number, days in numbers_and_days:
        await license_for(gql, token, agent["id"], licenseNumber=number, effectiveTime=in_days(-400),
                          expirationTime=in_days(days))


def tenant_config(**compliance: Any) -> dict[str, Any]:
    """The default configuration with these compliance settings, digests off until `digests_on`."""
    config = copy.deepcopy(default_config_dict())
    config["compliance"] = {"digestEnabled": False, **compliance}
    return config


async def digests_on(app: Any, tenant_id: str, config: dict[str, Any]) -> None:
    """Turn the tenant's digests on once its data is in place (the loop would send a half-built day otherwise)."""
    config = copy.deepcopy(config)
    config["compliance"]["digestEnabled"] = True
    await tenants.update_tenant_config(app.state.sessions, tenant_id, config)


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def test_an_agency_gets_one_digest_a_day_with_each_alert_once(app, gql, new_tenant, inbox):
    # given a tenant sending digests to a configured list, and an agency whose agent holds expiring licenses
    config = tenant_config(defaultDigestRecipients=["compliance-1@example.com", "cc-1@example.com"])
    tenant = await new_tenant(config)
    acme = await agency_with(gql, tenant.admin, "Acme One")
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("DG-OLD", -1), ("DG-3", 3.5), ("DG-45", 45.5),
                              ("DG-400", 400))
    await digests_on(app, tenant.id, config)

    # when the digest loop runs for a while (many rounds)
    received = await wait_for_mail(inbox, "compliance-1@example.com")

    # then one email went to both recipients, with each alert once, by window; the far license is not in it
    assert len(received) == 1
    text = body(received[0])
    assert received[0]["Subject"].startswith("Compliance digest for Acme One") and "3 alerts" in received[0]["Subject"]
    assert [text.count(n) for n in ("DG-OLD", "DG-3 ", "DG-45", "DG-400")] == [1, 1, 1, 0]
    assert text.index("EXPIRED (1)") < text.index("URGENT (1)") < text.index("UPCOMING (1)")
    assert mail_to(inbox, "cc-1@example.com") == received


async def test_each_agency_gets_its_own_alerts_at_its_own_address(app, gql, new_tenant, inbox):
    # given two agencies with their own email addresses, the second with a configured recipient list instead
    config = tenant_config()
    tenant = await new_tenant(config)
    north = await agency_with(gql, tenant.admin, "North", email="north@example.com")
    south = await agency_with(gql, tenant.admin, "South", email="south@example.com")
    await agent_with_licenses(gql, tenant.admin, north["id"], ("N-5", 5.5))
    await agent_with_licenses(gql, tenant.admin, south["id"], ("S-20", 20.5))
    config["compliance"]["digestRecipients"] = {south["locator"]: ["south-team@example.com"]}
    await digests_on(app, tenant.id, config)

    # when the digests go out
    north_mail = await wait_for_mail(inbox, "north@example.com")
    south_mail = await wait_for_mail(inbox, "south-team@example.com")

    # then each agency's digest holds its own alert only, at the configured list when there is one
    assert len(north_mail) == 1 and len(south_mail) == 1 and mail_to(inbox, "south@example.com") == []
    assert "N-5" in body(north_mail[0]) and "S-20" not in body(north_mail[0])
    assert "S-20" in body(south_mail[0]) and "N-5" not in body(south_mail[0])


async def test_the_next_days_digest_tells_only_alerts_that_entered_a_new_window(app, gql, new_tenant, inbox):
    # given today's digest sent with a license 3 days out (URGENT) and one 8 days out (SOON)
    config = tenant_config(defaultDigestRecipients=["compliance-3@example.com"])
    tenant = await new_tenant(config)
    acme = await agency_with(gql, tenant.admin, "Acme Three")
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("NX-3", 3.5), ("NX-8", 8.5))
    await digests_on(app, tenant.id, config)
    assert len(await wait_for_mail(inbox, "compliance-3@example.com")) == 1

    # when tomorrow's round runs (the 8-day license is then within 7 days, the other still URGENT)
    sent = await app.state.compliance_digests.run_once(now=utcnow() + timedelta(days=1))
    again = await app.state.compliance_digests.run_once(now=utcnow() + timedelta(days=1))

    # then one more digest went out, with the license that entered the URGENT window only, and no third one
    received = mail_to(inbox, "compliance-3@example.com")
    assert (sent, again, len(received)) == (1, 0, 2)
    assert "NX-8" in body(received[1]) and "NX-3" not in body(received[1]) and "URGENT (1)" in body(received[1])


async def test_a_tenant_can_turn_the_digest_off(app, gql, new_tenant, inbox):
    # given a tenant with digests disabled and an expiring license
    tenant = await new_tenant(tenant_config(defaultDigestRecipients=["off@example.com"]))
    acme = await agency_with(gql, tenant.admin, "Quiet")
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("Q-3", 3.5))

    # when the loop runs a while, then no digest is sent
    assert await wait_for_mail(inbox, "off@example.com", seconds=1) == []


async def test_each_alert_told_in_a_digest_is_sent_once_to_webhooks(app, gql, new_tenant, inbox):
    # given an endpoint subscribed to compliance alerts, and an agency whose agent holds three expiring licenses
    # (subscribed first: an alert is raised once, when the loop's sweep or the digest first sees it)
    config = tenant_config(defaultDigestRecipients=["compliance-hooks@example.com"])
    tenant = await new_tenant(config)
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["complianceAlert.*"])
        acme = await agency_with(gql, tenant.admin, "Acme Hooks")
        await agent_with_licenses(gql, tenant.admin, acme["id"], ("WH-OLD", -1), ("WH-3", 3.5), ("WH-45", 45.5))

        # when the digest of the day is sent (and the loop keeps running)
        await digests_on(app, tenant.id, config)
        assert len(await wait_for_mail(inbox, "compliance-hooks@example.com")) == 1
        await eventually(lambda: len(hook.received) >= 3)
        await asyncio.sleep(ROUND * 8)

    # then each alert of the digest arrived once, as complianceAlert.raised with its window
    messages = [Webhook(endpoint["secret"]).verify(item.body, item.headers) for item in hook.received]
    assert sorted((m["type"], m["data"]["window"], m["data"]["label"].split()[1]) for m in messages) == [
        ("complianceAlert.raised", "EXPIRED", "WH-OLD"), ("complianceAlert.raised", "UPCOMING", "WH-45"),
        ("complianceAlert.raised", "URGENT", "WH-3")]
    assert {m["data"]["agencyId"] for m in messages} == {acme["locator"]}


async def test_a_digest_after_the_sweep_raises_nothing_twice(app, gql, new_tenant, inbox):
    # given alerts a sweep raised to an endpoint while the tenant's digests were off (the loop's, or this forced one)
    config = tenant_config(defaultDigestRecipients=["after-sweep@example.com"])
    tenant = await new_tenant(config)
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["complianceAlert.*"])
        acme = await agency_with(gql, tenant.admin, "Acme Swept")
        await agent_with_licenses(gql, tenant.admin, acme["id"], ("SW-3", 3.5), ("SW-45", 45.5))
        await app.state.compliance_digests.sweep_once(force=True)
        await eventually(lambda: len(hook.received) >= 2)

        # when the digests are turned on and the day's digest tells the same alerts (the loop keeps running)
        await digests_on(app, tenant.id, config)
        assert len(await wait_for_mail(inbox, "after-sweep@example.com")) == 1

    # then the endpoint got each alert once, from the sweep
    messages = [Webhook(endpoint["secret"]).verify(item.body, item.headers) for item in hook.received]
    assert sorted(m["data"]["label"].split()[1] for m in messages) == ["SW-3", "SW-45"]


async def test_a_tenant_whose_digests_fail_does_not_stop_the_others(app, gql, new_tenant, inbox):
    from sqlalchemy import text

    # given a tenant whose stored configuration no longer parses (created first, so looked at first), and another
    # tenant whose agency has an expiring license
    broken = await new_tenant(tenant_config())
    async with app.state.sessions() as session, session.begin():
        await session.execute(text("UPDATE tenants SET config = CAST('{\"producerManagement\": 1}' AS jsonb), "
                                   "config_version = config_version + 1 WHERE id = :t"), {"t": broken.id})
    config = tenant_config(defaultDigestRecipients=["unaffected@example.com"])
    tenant = await new_tenant(config)
    acme = await agency_with(gql, tenant.admin, "Acme Unaffected")
    await agent_with_licenses(gql, tenant.admin, acme["id"], ("UN-3", 3.5))

    # when the digests are turned on and the loop runs
    await digests_on(app, tenant.id, config)

    # then the other tenant's digest went out all the same
    assert len(await wait_for_mail(inbox, "unaffected@example.com")) == 1
