"""A webhook endpoint that keeps failing: each delivery retried with backoff up to its last attempt, then FAILED;
the endpoint disabled after a run of failures, its deliveries held until an admin enables it again."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.helpers import create_producer
from tests.api.webhook_helpers import create_endpoint, deliveries, eventually, receiver
from tests.conftest import settings_for_test
from tests.ops.test_metrics_and_logs import metric

ENDPOINT = "{ webhookEndpoints { nodes { id enabled disabledReason failuresInARow } } }"
ENABLE = "mutation($id: ID!) { enableWebhookEndpoint(id: $id) { endpoint { enabled } userErrors { code } } }"


@pytest.fixture(scope="module")
def settings():
    # retries wait about 1 s: the four producers of the first test are created (and first attempted) before any
    # retry even on a slow machine, so the run of five failures is four first attempts and one retry
    return settings_for_test(webhook_retry_base_seconds=1.0, webhook_retry_max_seconds=1.0, webhook_poll_seconds=0.1,
                             webhook_timeout_seconds=1, webhook_max_attempts=2, webhook_disable_after_failures=5,
                             webhook_concurrency=1)  # one attempt at a time: the run of failures is exact


async def _endpoint(gql, token):
    return (await gql.ok(ENDPOINT, token=token))["webhookEndpoints"]["nodes"][0]


async def test_a_failing_endpoint_is_retried_then_disabled_and_resumes_when_enabled(app, gql, http, new_tenant):
    tenant = await new_tenant()
    before = (await http.get("/metrics")).text
    async with receiver(status=500) as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["producer.created"])
        for _ in range(4):
            await create_producer(gql, tenant.admin)
        disabled = await eventually(lambda: _disabled(gql, tenant.admin))
        assert disabled["failuresInARow"] == 5 and "5 failed attempts" in disabled["disabledReason"]
        held = await deliveries(gql, tenant.admin, endpoint["id"])
        await asyncio.sleep(1.0)
        assert [item["attempts"] for item in await deliveries(gql, tenant.admin, endpoint["id"])] == \
            [item["attempts"] for item in held]  # nothing is sent while disabled
        failed = [item for item in held if item["status"] == "FAILED"]
        pending = [item for item in held if item["status"] == "PENDING"]
        # four first attempts, then one delivery's second (and last): five in a row. Which one is retried first
        # depends on the jitter of the backoff, so which one is FAILED is not fixed
        assert sorted(item["status"] for item in held) == ["FAILED", "PENDING", "PENDING", "PENDING"], held
        for item in failed:  # out of attempts: given up, each attempt's status code kept
            assert item["attempts"] == 2 and item["nextAttemptAt"] is None and item["lastStatusCode"] == 500
            assert [a["statusCode"] for a in item["attemptLog"]] == [500, 500]
        assert all(item["nextAttemptAt"] is not None for item in pending)

        hook.status = 204
        result = await gql.ok(ENABLE, {"id": endpoint["id"]}, token=tenant.admin)
        assert result["enableWebhookEndpoint"]["endpoint"]["enabled"] is True
        await eventually(lambda: len(hook.ids()) == len(pending))
    after = {item["messageId"]: item for item in await deliveries(gql, tenant.admin, endpoint["id"])}
    assert hook.ids() == {item["messageId"] for item in pending}
    assert all(after[item["messageId"]]["status"] == "DELIVERED" for item in pending)
    assert all(after[item["messageId"]]["status"] == "FAILED" for item in failed)
    assert (await _endpoint(gql, tenant.admin))["failuresInARow"] == 0
    after = (await http.get("/metrics")).text
    counted = {outcome: metric(after, "webhook_attempts_total", outcome=outcome)
               - metric(before, "webhook_attempts_total", outcome=outcome) for outcome in ("delivered", "retry", "failed")}
    assert counted == {"delivered": len(pending), "retry": 4, "failed": 1}


async def _disabled(gql, token):
    endpoint = await _endpoint(gql, token)
    return None if endpoint["enabled"] else endpoint


async def test_a_receiver_that_does_not_answer_in_time_fails_the_attempt(app, gql, new_tenant):
    tenant = await new_tenant()
    async with receiver(delay=3.0) as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["producer.created"])
        await create_producer(gql, tenant.admin)
        [failed] = await eventually(lambda: _failed(gql, tenant.admin, endpoint["id"]))
    assert [(a["statusCode"], a["error"]) for a in failed["attemptLog"]] == [(None, "No answer within 1 s.")] * 2
    assert (await _endpoint(gql, tenant.admin))["failuresInARow"] == 2


async def _failed(gql, token, endpoint_id):
    listed = await deliveries(gql, token, endpoint_id, status=["FAILED"])
    return listed or None
