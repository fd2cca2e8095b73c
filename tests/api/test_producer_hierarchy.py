"""The producer hierarchy: parents in the same tenant, no cycles, moves that carry the subtree, ancestors in order."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import create_producer

MOVE = """
mutation($id: ID!, $parent: ID) {
  updateProducer(id: $id, input: {parentId: $parent}) {
    producer { id parent { id } ancestors { id } }
    userErrors { field message code }
  }
}"""

ANCESTORS = "query($id: ID!) { producer(id: $id) { id parent { id } ancestors { id name } } }"


async def move(gql: Any, token: str, producer_id: str, parent_id: str | None) -> dict[str, Any]:
    data = await gql.ok(MOVE, {"id": producer_id, "parent": parent_id}, token=token)
    return data["updateProducer"]  # type: ignore[no-any-return]


async def ancestor_ids(gql: Any, token: str, producer_id: str) -> list[str]:
    data = await gql.ok(ANCESTORS, {"id": producer_id}, token=token)
    return [a["id"] for a in data["producer"]["ancestors"]]


async def chain(gql: Any, token: str, depth: int) -> list[str]:
    """`depth` producers, each the child of the one before; root first."""
    ids: list[str] = []
    for level in range(depth):
        producer = await create_producer(gql, token, type="Agency", organizationName=f"Level {level}",
                                         parent=ids[-1] if ids else None)
        ids.append(producer["id"])
    return ids


async def test_moving_an_ancestor_under_its_descendant_is_a_cycle(gql, new_tenant):
    # given root > middle > leaf
    tenant = await new_tenant()
    root, middle, leaf = await chain(gql, tenant.admin, 3)
    # when the root is moved under the leaf
    result = await move(gql, tenant.admin, root, leaf)
    # then it is refused and nothing moved
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("HIERARCHY_CYCLE", ["input", "parentId"])]
    assert await ancestor_ids(gql, tenant.admin, root) == []
    assert await ancestor_ids(gql, tenant.admin, leaf) == [root, middle]


async def test_a_producer_cannot_be_its_own_parent(gql, new_tenant):
    tenant = await new_tenant()
    (only,) = await chain(gql, tenant.admin, 1)
    result = await move(gql, tenant.admin, only, only)
    assert [e["code"] for e in result["userErrors"]] == ["HIERARCHY_CYCLE"]


async def test_a_parent_in_another_tenant_is_not_found(gql, new_tenant):
    # given a producer in tenant B
    tenant_a, tenant_b = await new_tenant(), await new_tenant()
    foreign = await create_producer(gql, tenant_b.admin, type="Agency")
    # when tenant A creates or moves a producer under it
    data = await gql.ok("""mutation($input: CreateProducerInput!) { createProducer(input: $input) {
        producer { id } userErrors { field code } } }""",
                        {"input": {"type": "Agent", "lastName": "Rivera", "parentId": foreign["id"]}},
                        token=tenant_a.admin)
    # then the parent is not found
    assert data["createProducer"]["producer"] is None
    assert data["createProducer"]["userErrors"] == [{"field": ["input", "parentId"], "code": "PARENT_NOT_FOUND"}]
    own = await create_producer(gql, tenant_a.admin)
    result = await move(gql, tenant_a.admin, own["id"], foreign["id"])
    assert [e["code"] for e in result["userErrors"]] == ["PARENT_NOT_FOUND"]
    assert (await gql.ok(ANCESTORS, {"id": own["id"]}, token=tenant_a.admin))["producer"]["parent"] is None


async def test_a_retired_parent_cannot_take_new_producers(gql, new_tenant):
    tenant = await new_tenant()
    (parent,) = await chain(gql, tenant.admin, 1)
    await gql.ok("mutation($id: ID!) { discardProducer(id: $id) { userErrors { code } } }", {"id": parent},
                 token=tenant.admin)
    child = await create_producer(gql, tenant.admin)
    result = await move(gql, tenant.admin, child["id"], parent)
    assert [e["code"] for e in result["userErrors"]] == ["PARENT_NOT_ACTIVE"]


async def test_moving_a_subtree_rewrites_the_ancestors_of_every_descendant(gql, new_tenant):
    # given a > b > c > d and a separate root x
    tenant = await new_tenant()
    a, b, c, d = await chain(gql, tenant.admin, 4)
    (x,) = await chain(gql, tenant.admin, 1)
    # when b is moved under x
    result = await move(gql, tenant.admin, b, x)
    # then b and everything below it sit under x
    assert result["userErrors"] == []
    assert result["producer"]["parent"]["id"] == x
    assert await ancestor_ids(gql, tenant.admin, b) == [x]
    assert await ancestor_ids(gql, tenant.admin, c) == [x, b]
    assert await ancestor_ids(gql, tenant.admin, d) == [x, b, c]
    # and a no longer has them as descendants, while x does
    data = await gql.ok("""query($a: ID!, $x: ID!) {
        a: producer(id: $a) { descendants { totalCount } children { totalCount } }
        x: producer(id: $x) { descendants { totalCount nodes { id } } } }""", {"a": a, "x": x}, token=tenant.admin)
    assert data["a"] == {"descendants": {"totalCount": 0}, "children": {"totalCount": 0}}
    assert data["x"]["descendants"]["totalCount"] == 3
    assert {n["id"] for n in data["x"]["descendants"]["nodes"]} == {b, c, d}


async def test_making_a_producer_a_root_carries_its_subtree(gql, new_tenant):
    tenant = await new_tenant()
    a, b, c = await chain(gql, tenant.admin, 3)
    result = await move(gql, tenant.admin, b, None)
    assert result["userErrors"] == []
    assert await ancestor_ids(gql, tenant.admin, b) == []
    assert await ancestor_ids(gql, tenant.admin, c) == [b]


async def test_ancestors_of_a_twenty_deep_chain_come_back_root_first(gql, new_tenant):
    # given a chain of 21 producers
    tenant = await new_tenant()
    ids = await chain(gql, tenant.admin, 21)
    # when the deepest one's ancestors are read
    data = await gql.ok(ANCESTORS, {"id": ids[-1]}, token=tenant.admin)
    # then all 20 come back in order, root first, and the parent is the last of them
    ancestors = data["producer"]["ancestors"]
    assert [a["id"] for a in ancestors] == ids[:-1]
    assert [a["name"] for a in ancestors] == [f"Level {i}" for i in range(20)]
    assert data["producer"]["parent"]["id"] == ids[-2]


async def test_children_lists_direct_children_only(gql, new_tenant):
    tenant = await new_tenant()
    a, b, c = await chain(gql, tenant.admin, 3)
    second = await create_producer(gql, tenant.admin, parent=a)
    data = await gql.ok("query($id: ID!) { producer(id: $id) { children { totalCount nodes { id } } } }",
                        {"id": a}, token=tenant.admin)
    assert data["producer"]["children"]["totalCount"] == 2
    assert {n["id"] for n in data["producer"]["children"]["nodes"]} == {b, second["id"]}
