"""Many requests changing the same objects at once: one legal state, one audit event per applied change."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from tests.api.helpers import create_code, create_producer, transition_mutation, validated_producer
from tests.ops.test_audit import audit

MOVE = """mutation($id: ID!, $p: ID!) { updateProducerCode(id: $id, input: {producerId: $p}) {
  producerCode { producer { id } } userErrors { code } } }"""
CODES = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Producer { id codes { nodes { id } } } } }"""


def applied(body: dict[str, Any]) -> bool:
    assert "errors" not in body, body  # a loser gets a typed user error, never an internal error
    result = next(iter(body["data"].values()))
    codes = {e["code"] for e in result["userErrors"]}
    assert codes <= {"INVALID_TRANSITION", "CONCURRENT_CHANGE"}, codes
    return not codes


def assert_chain(events: list[dict[str, Any]], key: str) -> None:
    """Each event starts where the previous one ended: no change was lost or applied on a stale copy."""
    for earlier, later in zip(events, events[1:], strict=False):
        assert later["before"][key] == earlier["after"][key], (earlier, later)


async def test_a_flurry_of_suspends_unsuspends_and_validations_ends_legal_with_one_event_per_change(gql, new_tenant):
    # given a validated producer and the audit events so far
    tenant = await new_tenant()
    producer = await validated_producer(gql, tenant.admin)
    known = (await audit(gql, tenant.admin, entityId=producer["id"]))["totalCount"]
    rng = random.Random(7)
    actions = [rng.choice(["suspend", "unsuspend", "validate"]) for _ in range(40)]
    # when 40 requests move it at once
    bodies = await asyncio.gather(*(gql(transition_mutation(a), {"id": producer["id"]}, token=tenant.admin)
                                    for a in actions))
    # then it ended in a legal state, with one audit event per applied change, forming one chain
    successes = sum(applied(body) for body in bodies)
    events = (await audit(gql, tenant.admin, entityId=producer["id"]))["nodes"][known:]
    assert successes >= 1 and len(events) == successes
    assert {e["event"] for e in events} <= {"SUSPENDED", "UNSUSPENDED"}
    assert_chain(events, "state")
    final = await gql.ok("query($id: ID!) { producer(id: $id) { state } }", {"id": producer["id"]}, token=tenant.admin)
    assert final["producer"]["state"] == events[-1]["after"]["state"].upper()
    assert final["producer"]["state"] in {"VALIDATED", "SUSPENDED"}


async def test_concurrent_moves_of_a_code_leave_it_on_one_producer_with_one_event_per_move(gql, new_tenant):
    # given a code on one producer and 15 other producers
    tenant = await new_tenant()
    holder = await create_producer(gql, tenant.admin)
    targets = [await create_producer(gql, tenant.admin, lastName=f"T{i}") for i in range(15)]
    code = await create_code(gql, tenant.admin, holder["id"], code="MOVE-1")
    # when it is moved to each of them at once
    bodies = await asyncio.gather(*(gql(MOVE, {"id": code["id"], "p": t["id"]}, token=tenant.admin)
                                    for t in targets))
    # then exactly one producer holds it, and each applied move is one audit event, chained
    successes = sum(applied(body) for body in bodies)
    everyone = [holder, *targets]
    data = await gql.ok(CODES, {"ids": [p["id"] for p in everyone]}, token=tenant.admin)
    holders = [node["id"] for node in data["nodes"] if code["id"] in {c["id"] for c in node["codes"]["nodes"]}]
    assert len(holders) == 1
    moves = [e for e in (await audit(gql, tenant.admin, entityId=code["id"]))["nodes"] if e["event"] == "UPDATED"]
    assert successes >= 1 and len(moves) == successes
    assert_chain(moves, "producerId")
    assert moves[0]["before"]["producerId"] == holder["locator"]
    assert moves[-1]["producerId"] == holders[0]
