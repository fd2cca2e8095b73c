"""The producerEvents subscription: changes arrive live, once, named as in an events feed, scoped like queries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.api.helpers import create_code, create_producer, transition_mutation
from tests.api.registry_helpers import agency, entry_with, load_registry, onboarded
from tests.api.test_quotes_underwriting import chain, quote

EVENTS = """subscription($entities: [AuditEntity!], $events: [AuditAction!]) {
  producerEvents(entities: $entities, events: $events) { id name entity event entityId producerId actor after } }"""
SETTLE = 0.5  # the subscription starts from the moment it runs: give it that moment before changing data


class Subscriber:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def next(self, wait: float = 10) -> dict[str, Any]:
        while True:
            message = await self.ws.receive_json(timeout=wait)
            if message["type"] == "ping":
                await self.ws.send_json({"type": "pong"})
                continue
            assert message["type"] == "next", message
            assert not message["payload"].get("errors"), message
            return message["payload"]["data"]["producerEvents"]  # type: ignore[no-any-return]


@asynccontextmanager
async def subscribed(app: Any, token: str, query: str = EVENTS, **variables: Any) -> AsyncIterator[Subscriber]:
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
            await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
            await asyncio.sleep(SETTLE)
            yield Subscriber(ws)


async def test_a_change_made_by_one_request_arrives_at_a_subscriber(app, gql, new_tenant):
    tenant = await new_tenant()
    async with subscribed(app, tenant.admin) as subscriber:
        producer = await create_producer(gql, gql.token(tenant.id, "TENANT_ADMIN", subject="bob"))
        await gql.ok(transition_mutation("validate"), {"id": producer["id"]}, token=tenant.admin)
        created, validated = await subscriber.next(), await subscriber.next()
    assert (created["name"], created["entity"], created["event"]) == ("producer.created", "PRODUCER", "CREATED")
    assert created["entityId"] == producer["id"] and created["actor"] == "bob"
    assert validated["name"] == "producer.validated" and validated["after"]["state"] == "validated"
    assert int(validated["id"]) > int(created["id"])


async def test_another_tenants_subscriber_does_not_get_the_change(app, gql, new_tenant):
    tenant = await new_tenant()
    other = await new_tenant()
    async with subscribed(app, other.admin) as subscriber:
        await create_producer(gql, tenant.admin, lastName="Elsewhere")
        marker = await create_producer(gql, other.admin, lastName="Marker")
        first = await subscriber.next()
    assert first["entityId"] == marker["id"]


async def test_an_agency_admin_only_gets_its_subtree(app, gql, new_tenant):
    # given two agencies and an admin of the first
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin, name="Acme")
    globex = await agency(gql, tenant.admin, name="Globex")
    acme_admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])
    async with subscribed(app, acme_admin) as subscriber:
        # when producers and a code change under the other agency, then under the admin's
        outside = await create_producer(gql, tenant.admin, parent=globex["id"])
        await create_code(gql, tenant.admin, outside["id"], code="G-1")
        inside = await create_producer(gql, tenant.admin, parent=acme["id"])
        code = await create_code(gql, tenant.admin, inside["id"], code="A-1")
        received = [await subscriber.next(), await subscriber.next()]
    # then only the admin's subtree arrived
    assert [(e["name"], e["entityId"]) for e in received] == [
        ("producer.created", inside["id"]), ("producerCode.created", code["id"])]
    assert received[1]["producerId"] == inside["id"]


async def test_filters_keep_only_the_named_entities_and_events(app, gql, new_tenant):
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    async with subscribed(app, tenant.admin, entities=["PRODUCER_CODE"], events=["RETIRED", "DISCARDED"]) as sub:
        code = await create_code(gql, tenant.admin, producer["id"], code="F-1")
        await gql.ok(transition_mutation("validate"), {"id": producer["id"]}, token=tenant.admin)
        await gql.ok(transition_mutation("discard", "ProducerCode"), {"id": code["id"]}, token=tenant.admin)
        event = await sub.next()
    assert (event["name"], event["entityId"]) == ("producerCode.discarded", code["id"])


async def test_concurrent_changes_each_arrive_exactly_once(app, gql, new_tenant):
    tenant = await new_tenant()
    async with subscribed(app, tenant.admin, events=["CREATED"]) as subscriber:
        created = await asyncio.gather(*(create_producer(gql, tenant.admin, lastName=f"C{i}") for i in range(20)))
        received = [await subscriber.next() for _ in range(20)]
        try:
            extra = await subscriber.next(wait=1.5)
        except Exception:
            extra = None
    assert sorted(e["entityId"] for e in received) == sorted(p["id"] for p in created)
    assert extra is None


async def test_an_agency_scoped_subscriber_gets_the_quotes_of_its_producers_only(app, gql, new_tenant):
    # given two agencies, each with a validated agent and code, and a reader of the first agency subscribed
    tenant = await new_tenant()
    mine = await chain(gql, tenant.admin, "EV-1", depth=2)
    await chain(gql, tenant.admin, "EV-2", depth=2)
    reader = gql.token(tenant.id, "READ_ONLY", agency=mine[0]["locator"])
    async with subscribed(app, reader, entities=["QUOTE"]) as subscriber:
        # when quotes are made on the other agency's code, then on its own
        await quote(gql, tenant.admin, "EV-2")
        await quote(gql, tenant.admin, "EV-1")
        first = await subscriber.next()
    # then the first event it gets is its own agent's quote, with the API's field names
    assert first["name"] == "quote.created" and first["producerId"] == mine[-1]["id"]
    assert first["after"]["producerCode"] == "EV-1"


NODE_EVENTS = """subscription { producerEvents { name entityId node {
  __typename id
  ... on Producer { lastName state }
  ... on ProducerCode { code producer { id lastName } }
} } }"""
UPDATE = """mutation($id: ID!, $name: String!) { updateProducer(id: $id, input: {lastName: $name}) {
  userErrors { code } } }"""


async def test_each_event_carries_the_changed_node_as_it_is_when_delivered(app, gql, new_tenant):
    # given a tenant admin subscribed with the changed node selected
    tenant = await new_tenant()
    async with subscribed(app, tenant.admin, NODE_EVENTS) as subscriber:
        # when a producer is created, then (once that event arrived) renamed, then given a code
        producer = await create_producer(gql, tenant.admin, lastName="First")
        created = await subscriber.next()
        await gql.ok(UPDATE, {"id": producer["id"], "name": "Second"}, token=tenant.admin)
        renamed = await subscriber.next()
        code = await create_code(gql, tenant.admin, producer["id"], code="NODE-1")
        coded = await subscriber.next()
    # then each event's node is the object it names, read when the event was delivered (never a cached copy)
    assert created["node"] == {"__typename": "Producer", "id": producer["id"], "lastName": "First", "state": "DRAFT"}
    assert renamed["name"] == "producer.updated"
    assert renamed["node"] == {"__typename": "Producer", "id": producer["id"], "lastName": "Second", "state": "DRAFT"}
    assert coded["node"] == {"__typename": "ProducerCode", "id": code["id"], "code": "NODE-1",
                             "producer": {"id": producer["id"], "lastName": "Second"}}


async def test_an_agency_subscriber_sees_nodes_of_its_subtree_only(app, gql, new_tenant):
    # given two agencies and an admin of the first, subscribed with the node selected
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin, name="Acme")
    globex = await agency(gql, tenant.admin, name="Globex")
    acme_admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])
    async with subscribed(app, acme_admin, NODE_EVENTS) as subscriber:
        # when a producer and its code change under the other agency, then under the admin's
        outside = await create_producer(gql, tenant.admin, parent=globex["id"], lastName="Outside")
        await create_code(gql, tenant.admin, outside["id"], code="G-NODE")
        inside = await create_producer(gql, tenant.admin, parent=acme["id"], lastName="Inside")
        code = await create_code(gql, tenant.admin, inside["id"], code="A-NODE")
        received = [await subscriber.next(), await subscriber.next()]
    # then only its own producer and code arrived, as nodes read in its scope
    assert [e["node"] for e in received] == [
        {"__typename": "Producer", "id": inside["id"], "lastName": "Inside", "state": "DRAFT"},
        {"__typename": "ProducerCode", "id": code["id"], "code": "A-NODE",
         "producer": {"id": inside["id"], "lastName": "Inside"}}]


async def test_a_node_the_subscriber_may_not_read_is_null_though_its_event_arrives(app, gql, new_tenant, tmp_path):
    # given an agency, a registry producer to onboard, and a read-only caller of the agency subscribed to the
    # producer and onboarding events with the node selected
    tenant = await new_tenant()
    acme = await agency(gql, tenant.admin, name="Acme")
    await load_registry(app, tenant.id, [entry_with("3101", "233-45-6781", "Okafor", ("CA", "CA-3101", ["Life"]))],
                        tmp_path)
    reader = gql.token(tenant.id, "READ_ONLY", agency=acme["locator"])
    query = """subscription { producerEvents(entities: [PRODUCER, ONBOARDING], events: [CREATED]) {
      name entityId node { __typename id } } }"""
    async with subscribed(app, reader, query) as subscriber:
        # when the agency's admin onboards the producer (a producer and an onboarding are created)
        admin = gql.token(tenant.id, "AGENCY_ADMIN", agency=acme["locator"])
        onboarding = await onboarded(gql, admin, npn="3101", email="okafor@example.com")
        received = sorted([await subscriber.next(), await subscriber.next()], key=lambda e: e["name"])
    # then both events arrive; the producer is its node, the onboarding (admins only) is not shown to a reader
    assert [e["name"] for e in received] == ["onboarding.created", "producer.created"]
    assert received[0]["entityId"] == onboarding["id"] and received[0]["node"] is None
    assert received[1]["node"] == {"__typename": "Producer", "id": onboarding["producer"]["id"]}
