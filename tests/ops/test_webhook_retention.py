"""Delivered and failed webhook deliveries are deleted after WEBHOOK_RETENTION_DAYS; pending ones are kept."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.helpers import create_producer
from tests.api.webhook_helpers import create_endpoint, deliveries, eventually, receiver
from tests.conftest import settings_for_test


@pytest.fixture(scope="module")
def settings():
    return settings_for_test(webhook_retention_days=0.5 / 86400, webhook_poll_seconds=0.1,  # half a second
                             webhook_retry_base_seconds=60)


async def test_old_delivered_deliveries_are_purged_and_pending_ones_kept(app, gql, new_tenant):
    tenant = await new_tenant()
    async with receiver() as hook:
        delivered = await create_endpoint(gql, tenant.admin, hook.url, ["producer.created"])
        waiting = await create_endpoint(gql, tenant.admin, "http://127.0.0.1:9/down", ["producer.created"])
        await create_producer(gql, tenant.admin)
        await eventually(lambda: hook.received)
        await eventually(lambda: _attempted(gql, tenant.admin, waiting["id"]))
    await asyncio.sleep(0.6)  # both older than the retention
    removed = await app.state.webhook_worker.purge()
    assert removed >= 1
    assert await deliveries(gql, tenant.admin, delivered["id"]) == []
    [pending] = await deliveries(gql, tenant.admin, waiting["id"])
    assert pending["status"] == "PENDING" and pending["attempts"] == 1


async def _attempted(gql, token, endpoint_id):
    listed = await deliveries(gql, token, endpoint_id)
    return listed and listed[0]["attempts"] >= 1
