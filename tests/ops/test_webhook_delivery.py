"""Webhook delivery to a real receiver on 127.0.0.1: signed per Standard Webhooks, written to the outbox with the
change (committed: sent; rolled back: never), at least once across a receiver outage, every event of a burst, and
a slow receiver never slows the API."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import statistics
import time
from datetime import date

import pytest
from sqlalchemy import text
from standardwebhooks import Webhook

from app import webhooks
from persistence.db import transaction
from tests.api.bulk_helpers import bulk_setup, csv_file, file_rows, start_job, upload, wait_for_job
from tests.api.helpers import create_producer, transition_mutation
from tests.api.registry_helpers import agency, entry_with, load_registry
from tests.api.test_registry_sync import CA, NV, finished_producer, later, sync
from tests.api.webhook_helpers import create_endpoint, deliveries, eventually, receiver
from tests.conftest import settings_for_test


@pytest.fixture(scope="module")
def settings():
    return settings_for_test(webhook_retry_base_seconds=0.1, webhook_retry_max_seconds=0.5,
                             webhook_poll_seconds=0.1, webhook_timeout_seconds=5, webhook_max_attempts=1000,
                             webhook_disable_after_failures=100_000, webhook_concurrency=8)


async def test_a_change_arrives_signed_and_verifies_with_the_librarys_verifier(app, gql, new_tenant):
    tenant = await new_tenant()
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["producer.*"])
        producer = await create_producer(gql, gql.token(tenant.id, "TENANT_ADMIN", subject="ana"))
        await gql.ok(transition_mutation("validate"), {"id": producer["id"]}, token=tenant.admin)
        await eventually(lambda: len(hook.received) >= 2)
    created, validated = (Webhook(endpoint["secret"]).verify(item.body, item.headers) for item in hook.received[:2])
    assert (created["type"], validated["type"]) == ("producer.created", "producer.validated")
    assert created["data"]["locator"] == producer["locator"] and created["data"]["actor"] == "ana"
    assert validated["data"]["after"]["state"] == "validated" and validated["data"]["before"]["state"] == "draft"
    assert created["timestamp"].endswith("Z")
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint["secret"]).verify(hook.received[0].body + b" ", hook.received[0].headers)


ROTATE = "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret userErrors { code } } }"


async def test_after_a_rotation_messages_verify_with_the_new_secret_and_for_a_while_the_old(app, gql, new_tenant):
    tenant = await new_tenant()
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["producer.created"])
        rotated = (await gql.ok(ROTATE, {"id": endpoint["id"]}, token=tenant.admin))["rotateWebhookSecret"]
        await create_producer(gql, tenant.admin)
        await eventually(lambda: hook.received)
    [message] = hook.received
    assert len(message.headers["webhook-signature"].split(" ")) == 2
    for secret in (rotated["secret"], endpoint["secret"]):
        assert Webhook(secret).verify(message.body, message.headers)["type"] == "producer.created"


async def test_only_subscribed_event_types_of_the_tenant_are_sent(app, gql, new_tenant):
    tenant, other = await new_tenant(), await new_tenant()
    async with receiver() as hook:
        await create_endpoint(gql, tenant.admin, hook.url, ["producer.validated"])
        producer = await create_producer(gql, tenant.admin)
        await create_producer(gql, other.admin)
        await gql.ok(transition_mutation("validate"), {"id": producer["id"]}, token=tenant.admin)
        await eventually(lambda: hook.received)
        await asyncio.sleep(0.5)
    assert [json.loads(item.body)["type"] for item in hook.received] == ["producer.validated"]


async def test_a_rolled_back_change_is_never_sent_and_a_committed_one_always_is(app, gql, new_tenant):
    tenant = await new_tenant()
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["producer.updated", "registry.imported"])
        producer = await create_producer(gql, tenant.admin)
        change = text("UPDATE producers SET email = :email WHERE id = :id")
        with pytest.raises(RuntimeError):
            async with transaction(app.state.sessions) as session:
                await session.execute(change, {"email": "rolled@back.example", "id": producer["locator"]})
                await webhooks.enqueue_event(session, tenant.id, "registry.imported", {"changed": 1})
                raise RuntimeError("the change fails after its event was written")
        async with transaction(app.state.sessions) as session:
            await session.execute(change, {"email": "kept@example.com", "id": producer["locator"]})
            await webhooks.enqueue_event(session, tenant.id, "registry.imported", {"changed": 2})
        await eventually(lambda: len(hook.received) >= 2)
        await asyncio.sleep(0.5)
    bodies = [json.loads(item.body) for item in hook.received]
    assert sorted(body["type"] for body in bodies) == ["producer.updated", "registry.imported"]
    assert {body["data"].get("after", {}).get("email") for body in bodies} == {"kept@example.com", None}
    assert [body["data"] for body in bodies if body["type"] == "registry.imported"] == [{"changed": 2}]
    assert len(await deliveries(gql, tenant.admin, endpoint["id"])) == 2


async def test_a_receiver_down_then_up_gets_every_event_once_per_webhook_id(app, gql, new_tenant):
    tenant = await new_tenant()
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["producer.created"])
        await hook.stop()  # down: connections refused
        for _ in range(10):
            await create_producer(gql, tenant.admin)
        await eventually(lambda: _each_failed_once(gql, tenant.admin, endpoint["id"]))
        await hook.start()  # up again on the same port
        await eventually(lambda: len(hook.ids()) == 10, within=60)
        await asyncio.sleep(0.5)
    listed = await deliveries(gql, tenant.admin, endpoint["id"])
    assert {item["messageId"] for item in listed} == hook.ids()
    assert all(item["status"] == "DELIVERED" and item["attempts"] >= 2 for item in listed)
    assert all(item["attemptLog"][0]["statusCode"] is None and item["attemptLog"][-1]["statusCode"] == 204
               for item in listed)
    by_id: dict[str, set[bytes]] = {}
    for item in hook.received:  # a duplicate, if any, is the same message under the same id
        by_id.setdefault(item.message_id, set()).add(item.body)
    assert all(len(bodies) == 1 for bodies in by_id.values())


async def _each_failed_once(gql, token, endpoint_id):
    listed = await deliveries(gql, token, endpoint_id)
    return len(listed) == 10 and all(item["attempts"] >= 1 for item in listed)


@pytest.mark.slow
async def test_a_burst_of_a_thousand_changes_is_all_delivered(app, gql, new_tenant):
    tenant = await new_tenant()
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url, ["producer.created"])
        limit = asyncio.Semaphore(16)

        async def one(index: int) -> None:
            async with limit:
                await create_producer(gql, tenant.admin, lastName=f"Burst{index}")

        await asyncio.gather(*(one(index) for index in range(1000)))
        await eventually(lambda: len(hook.ids()) == 1000, within=180, every=0.5)
    names = {json.loads(item.body)["data"]["after"]["lastName"] for item in hook.received}
    assert names == {f"Burst{index}" for index in range(1000)}
    listed = await deliveries(gql, tenant.admin, endpoint["id"], status=["DELIVERED"])
    assert len(listed) == 1000


async def test_a_completed_bulk_job_is_sent_once_with_its_counts(app, gql, http, new_tenant):
    setup = await bulk_setup(app, gql, new_tenant, count=3)
    admin = gql.token(setup.tenant_id, "TENANT_ADMIN")
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, admin, hook.url, ["bulkJob.completed"])
        job = (await upload(http, setup.admin, csv_file(file_rows(setup.entries))))["job"]
        await start_job(gql, setup.admin, job["id"])
        await wait_for_job(gql, setup.admin, job["id"])
        await eventually(lambda: hook.received)
        await asyncio.sleep(0.5)
    [message] = [Webhook(endpoint["secret"]).verify(item.body, item.headers) for item in hook.received]
    assert message["type"] == "bulkJob.completed"
    assert message["data"]["jobLocator"] == job["locator"] and message["data"]["status"] == "COMPLETED"
    assert (message["data"]["succeededRows"], message["data"]["failedRows"]) == (3, 0)


PAGE = "{ producers(first: 20) { nodes { id state } } }"


async def _timed_queries(gql, token, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await gql.ok(PAGE, token=token)
        times.append(time.perf_counter() - started)
    return times


async def test_a_slow_receiver_does_not_slow_api_requests(app, gql, new_tenant, statements):
    tenant = await new_tenant()
    for _ in range(5):
        await create_producer(gql, tenant.admin)
    with statements:
        await gql.ok(PAGE, token=tenant.admin)
    baseline_statements = statements.count
    baseline = await _timed_queries(gql, tenant.admin, 20)
    async with receiver(delay=3.0) as hook:
        await create_endpoint(gql, tenant.admin, hook.url, ["producer.created"])
        for _ in range(20):
            await create_producer(gql, tenant.admin)
        await eventually(lambda: hook.in_flight >= 4)  # deliveries held open by the receiver
        with statements:
            await gql.ok(PAGE, token=tenant.admin)
        during = await _timed_queries(gql, tenant.admin, 20)
        assert hook.in_flight >= 1  # still held while the queries ran
    assert statements.count == baseline_statements
    # the same query in the same run, before and while deliveries wait on the receiver: a ratio, no wall clock
    assert statistics.median(during) < 4 * statistics.median(baseline)


async def test_a_registry_sync_is_sent_under_the_name_of_its_kind(app, gql, new_tenant, tmp_path):
    # given a producer onboarded from the registry with CA and NV licenses, and an endpoint for renewals and lapses
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin)
    person = entry_with("5901", "233-45-7901", "Okafor", later(CA), later(NV))
    await load_registry(app, tenant.id, [person], tmp_path)
    await finished_producer(gql, tenant, acme, "5901", "chi.hooks@example.com")
    async with receiver() as hook:
        endpoint = await create_endpoint(gql, tenant.admin, hook.url,
                                         ["license.renewed", "license.lapsed", "registry.imported"])

        # when a later extract renews CA and reports NV inactive
        summary = await sync(app, tenant.id, tmp_path, dataclasses.replace(person, licenses=[
            later(CA, expiration_date=date(2100, 2, 28)), later(NV, status="inactive")]))
        await eventually(lambda: len(hook.received) >= 3)
        await asyncio.sleep(0.5)

    # then the endpoint got the two events under the names the sync gave them (the triggers first wrote them as
    # updated and discarded, which the endpoint does not subscribe to), each once
    # updated and discarded, which the endpoint does not subscribe to), each once, and the import's summary
    assert summary.changes == {"renewed": 1, "lapsed": 1}
    messages = {m["type"]: m for m in (Webhook(endpoint["secret"]).verify(item.body, item.headers)
                                       for item in hook.received)}
    types = sorted(item["type"] for item in (Webhook(endpoint["secret"]).verify(i.body, i.headers)
                                             for i in hook.received))
    assert types == ["license.lapsed", "license.renewed", "registry.imported"]
    assert messages["registry.imported"]["data"]["changes"] == {"lapsed": 1, "renewed": 1}
    assert sorted(item["eventType"] for item in await deliveries(gql, tenant.admin, endpoint["id"])) == types
