"""A cost budget per caller (tenant, token subject): charged before anything runs, refunded to the actual cost,
refused with THROTTLED, HTTP 429 and Retry-After when it cannot pay, refilled over time."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.api.helpers import create_producer
from tests.conftest import GraphQLClient, StatementCounter, count_statements, settings_for_test

MAXIMUM, RESTORE_RATE = 100, 10  # small, so a test drains a budget in a few requests and it refills in seconds


@pytest.fixture(scope="module")
def settings() -> Any:
    return settings_for_test(max_query_cost=MAXIMUM, throttle_maximum_available=MAXIMUM,
                             throttle_restore_rate=RESTORE_RATE, throttle_lease=10)


def costing(cost: int) -> str:
    """A query whose requested and actual cost are both `cost`: `nodes` (1) of cost - 1 ids, each returned."""
    return f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ id }} }} # {cost}"


async def spend(gql: GraphQLClient, token: str, producer_id: str, cost: int) -> httpx.Response:
    return await gql.post(costing(cost), {"ids": [producer_id] * (cost - 1)}, token=token)


async def drain(gql: GraphQLClient, token: str, producer_id: str, cost: int = 41) -> httpx.Response:
    """Spends `cost` at a time until the budget refuses; the refusal."""
    for _ in range(2 * MAXIMUM // cost + 2):
        response = await spend(gql, token, producer_id, cost)
        if response.status_code == 429:
            return response
        assert response.status_code == 200 and not response.json().get("errors"), response.text
    raise AssertionError("the budget never refused")


async def caller(gql: GraphQLClient, new_tenant: Any, subject: str = "drainer") -> tuple[Any, str, str]:
    """A tenant, a token of `subject` in it, and a producer id to fetch."""
    tenant = await new_tenant()
    token = gql.token(tenant.id, "TENANT_ADMIN", subject=subject)
    producer = await create_producer(gql, tenant.admin)
    return tenant, token, producer["id"]


def status_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["extensions"]["cost"]["throttleStatus"]  # type: ignore[no-any-return]


async def test_every_response_reports_its_requested_and_actual_cost_and_the_budget_left(gql, new_tenant):
    # given a caller that has spent nothing
    _, token, producer_id = await caller(gql, new_tenant)
    # when it asks for 40 producers' worth of objects and gets all of them
    body = (await spend(gql, token, producer_id, 41)).json()
    # then it paid 41 and its budget says so
    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (41, 41)
    status = status_of(body)
    assert (status["maximumAvailable"], status["restoreRate"]) == (MAXIMUM, RESTORE_RATE)
    assert MAXIMUM - 41 <= status["currentlyAvailable"] < MAXIMUM


async def test_what_a_response_did_not_contain_is_refunded(gql, new_tenant):
    # given a tenant with a single producer
    _, token, _ = await caller(gql, new_tenant)
    # when a caller asks for a page of 40 of them
    body = await gql("{ producers(first: 40) { nodes { id } } }", token=token)
    # then it was charged for the connection and the one producer it got, not for the 40 it asked for
    assert len(body["data"]["producers"]["nodes"]) == 1
    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (41, 2)
    assert status_of(body)["currentlyAvailable"] >= MAXIMUM - 2


async def test_a_caller_draining_its_budget_is_throttled_with_429_and_retry_after(gql, new_tenant):
    # given a caller spending 41 at a time
    _, token, producer_id = await caller(gql, new_tenant)
    # when its budget cannot pay the next request
    refused = await drain(gql, token, producer_id)
    # then it is refused with 429, THROTTLED and the seconds until the budget can pay it
    assert refused.status_code == 429
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= -(-41 // RESTORE_RATE)
    body = refused.json()
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "THROTTLED"
    assert error["extensions"]["retryAfter"] == retry_after
    assert "41" in error["message"] and f"retry in {retry_after} s" in error["message"]
    assert status_of(body)["currentlyAvailable"] < 41
    assert body["extensions"]["cost"]["actualQueryCost"] == 0


async def test_a_throttled_caller_recovers_after_the_restore_time(gql, new_tenant):
    # given a caller that was throttled
    _, token, producer_id = await caller(gql, new_tenant)
    refused = await drain(gql, token, producer_id)
    # when it waits as long as Retry-After says
    await asyncio.sleep(int(refused.headers["Retry-After"]))
    # then the same request is paid
    response = await spend(gql, token, producer_id, 41)
    assert response.status_code == 200, response.text
    assert not response.json().get("errors")


async def test_another_caller_of_the_same_tenant_is_not_affected(gql, new_tenant):
    # given a caller of a tenant that drained its budget
    tenant, token, producer_id = await caller(gql, new_tenant)
    await drain(gql, token, producer_id)
    # when another caller (token subject) of the same tenant asks
    colleague = gql.token(tenant.id, "TENANT_ADMIN", subject="colleague")
    response = await spend(gql, colleague, producer_id, 41)
    # then it has its own full budget
    assert response.status_code == 200, response.text
    assert status_of(response.json())["currentlyAvailable"] >= MAXIMUM - 41


async def test_a_mutation_refused_by_the_budget_did_not_happen(gql, new_tenant):
    # given a caller whose budget cannot pay 44
    tenant, token, producer_id = await caller(gql, new_tenant)
    await drain(gql, token, producer_id)
    # when it sends eleven createProducer (4 each)
    document = "mutation($input: CreateProducerInput!) {" + " ".join(
        f"p{i}: createProducer(input: $input) {{ producer {{ id parent {{ id }} }} userErrors {{ code }} }}"
        for i in range(11)) + "}"
    response = await gql.post(document, {"input": {"type": "Agent", "lastName": "Throttled", "firstName": "T"}},
                              token=token)
    # then it is refused and no producer was created (the tenant still has only the one of `caller`)
    assert response.status_code == 429, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    listed = await gql.ok("{ producers { totalCount } }", token=tenant.admin)
    assert listed["producers"]["totalCount"] == 1


async def test_a_persisted_query_is_throttled_like_any_other(gql, http, new_tenant):
    # given a persisted query and a caller that drained its budget
    _, token, producer_id = await caller(gql, new_tenant)
    query = costing(41)
    sha256 = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256}}
    headers = {"Authorization": f"Bearer {token}"}
    variables = {"ids": [producer_id] * 40}
    registered = await http.post("/graphql", json={"query": query, "variables": variables, "extensions": extensions},
                                 headers=headers)
    assert registered.status_code == 200 and not registered.json().get("errors"), registered.text
    await drain(gql, token, producer_id)
    # when it sends the query by its hash
    response = await http.post("/graphql", json={"extensions": extensions, "variables": variables}, headers=headers)
    # then it is refused the same way
    assert response.status_code == 429, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert int(response.headers["Retry-After"]) >= 1


async def test_a_subscription_the_budget_cannot_pay_gets_a_throttled_error_message(app, gql, new_tenant):
    # given a caller that drained its budget
    _, token, producer_id = await caller(gql, new_tenant)
    await drain(gql, token, producer_id)
    # when it starts a subscription costing more than it has left (every item of a list argument costs 1)
    subscription = "subscription($entities: [AuditEntity!]) { producerEvents(entities: $entities) { id } }"
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
            await ws.send_json({"id": "1", "type": "subscribe", "payload": {
                "query": subscription, "variables": {"entities": ["PRODUCER"] * 60}}})
            message = await ws.receive_json(timeout=5)
    # then the operation gets an `error` message with THROTTLED, and never starts
    assert message["type"] == "error" and message["id"] == "1", message
    assert message["payload"][0]["extensions"]["code"] == "THROTTLED"


@pytest.fixture(scope="module")
def leases(app: Any) -> StatementCounter:
    """Counts the statements of the budget's own pool (its leases)."""
    return count_statements(app.state.throttle_engine)


async def test_a_caller_with_budget_left_in_its_slice_is_charged_without_a_lease(gql, new_tenant, leases):
    # given a caller whose first request leased a slice of 10 (THROTTLE_LEASE) from PostgreSQL
    _, token, producer_id = await caller(gql, new_tenant)
    with leases:
        await spend(gql, token, producer_id, 2)
    assert leases.count == 1, leases.statements
    # when it sends four more requests of 2, which the 8 left in the slice pay
    with leases:
        for _ in range(4):
            assert (await spend(gql, token, producer_id, 2)).status_code == 200
    # then none of them asked PostgreSQL
    assert leases.count == 0, leases.statements


async def test_a_throttled_caller_retrying_at_once_is_refused_without_asking_the_shared_bucket(gql, new_tenant,
                                                                                                leases):
    # given a caller that was just throttled
    _, token, producer_id = await caller(gql, new_tenant)
    await drain(gql, token, producer_id)
    # when it retries at once
    with leases:
        response = await spend(gql, token, producer_id, 41)
    # then it is refused again by this process alone
    assert response.status_code == 429
    assert leases.count == 0, leases.statements


async def test_a_deleted_tenants_buckets_are_deleted_with_it(app, gql, new_tenant):
    from sqlalchemy import text

    # given a tenant (no data of its own) whose caller has a shared bucket in PostgreSQL
    tenant = await new_tenant()
    token = gql.token(tenant.id, "TENANT_ADMIN", subject="leaving")
    response = await gql.post("{ webhookEventTypes { name } }", token=token)
    assert response.status_code == 200 and status_of(response.json())["currentlyAvailable"] < MAXIMUM, response.text
    count = text("SELECT count(*) FROM throttle_buckets WHERE tenant_id = :t")
    async with app.state.sessions() as session:
        before = (await session.execute(count, {"t": tenant.id})).scalar_one()

    # when the tenant is deleted (as an operator does, in SQL: the API has no tenant deletion)
    async with app.state.sessions() as session, session.begin():
        await session.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": tenant.id})
        after = (await session.execute(count, {"t": tenant.id})).scalar_one()

    # then its buckets went with it
    assert (before, after) == (1, 0)
