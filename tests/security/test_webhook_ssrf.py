"""Server-side request forgery: with private networks not allowed (the production default) an endpoint whose host
is, or resolves to, a loopback, private or link-local address is refused, at registration and at delivery."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from persistence.db import transaction
from tests.api.helpers import create_producer
from tests.api.webhook_helpers import CREATE_ENDPOINT, deliveries, eventually, receiver
from tests.conftest import settings_for_test


@pytest.fixture(scope="module")
def settings():
    return settings_for_test(webhook_allow_private_networks=False, webhook_retry_base_seconds=0.2,
                             webhook_retry_max_seconds=0.4, webhook_poll_seconds=0.1)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hooks", "http://localhost/hooks", "http://[::1]/hooks", "http://10.1.2.3/hooks",
    "http://192.168.0.10/hooks", "http://172.16.5.4/hooks", "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0/", "http://2130706433/", "http://0x7f000001/", "http://[::ffff:127.0.0.1]/",
    "http://100.64.0.1/", "http://no-such-host.invalid/hooks"])
async def test_an_endpoint_on_a_private_address_is_refused(gql, new_tenant, url):
    tenant = await new_tenant()
    result = (await gql.ok(CREATE_ENDPOINT, {"url": url, "events": ["*"]}, token=tenant.admin))["createWebhookEndpoint"]
    assert result["endpoint"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("WEBHOOK_URL_FORBIDDEN", ["url"])]


async def test_an_endpoint_that_resolves_to_loopback_at_delivery_time_is_not_called(app, gql, new_tenant):
    tenant = await new_tenant()
    async with receiver() as hook:
        # registered while its host resolved elsewhere (DNS rebinding): written as stored, checked again on send
        async with transaction(app.state.sessions) as session:
            await session.execute(text(
                "INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) "
                "VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', :tenant, :url, '{*}', :secret)"),
                {"tenant": tenant.id, "url": hook.url, "secret": "whsec_" + "A" * 44})
        await create_producer(gql, tenant.admin)
        listed = await eventually(lambda: _attempted(gql, tenant.admin))
        await asyncio.sleep(0.3)
    assert hook.received == []
    assert "loopback, private or link-local" in listed[0]["lastError"] and listed[0]["lastStatusCode"] is None


async def _attempted(gql, token):
    listed = await deliveries(gql, token)
    return listed if listed and listed[0]["attempts"] >= 1 else None
