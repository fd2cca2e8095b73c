"""Concurrent changes end in one legal state, with a typed error for the loser, never an internal error."""

import asyncio

from tests.api.helpers import create_producer

MOVE = """mutation($id: ID!, $parent: ID) { updateProducer(id: $id, input: {parentId: $parent}) {
  producer { id parent { id } } userErrors { code } } }"""


async def test_opposite_concurrent_moves_never_create_a_cycle_or_an_internal_error(gql, new_tenant):
    tenant = await new_tenant()
    for _ in range(5):
        a = await create_producer(gql, tenant.admin, type="Agency", organizationName="A")
        b = await create_producer(gql, tenant.admin, type="Agency", organizationName="B")

        first, second = await asyncio.gather(
            gql(MOVE, {"id": a["id"], "parent": b["id"]}, token=tenant.admin),
            gql(MOVE, {"id": b["id"], "parent": a["id"]}, token=tenant.admin),
        )

        results = [first, second]
        assert all("errors" not in r for r in results), results
        codes = [e["code"] for r in results for e in r["data"]["updateProducer"]["userErrors"]]
        assert len(codes) >= 1 and set(codes) <= {"HIERARCHY_CYCLE", "CONCURRENT_CHANGE"}
        data = await gql.ok("query($a: ID!, $b: ID!) { a: producer(id: $a) { parent { id } } "
                            "b: producer(id: $b) { parent { id } } }", {"a": a["id"], "b": b["id"]},
                            token=tenant.admin)
        assert data["a"]["parent"] is None or data["b"]["parent"] is None
