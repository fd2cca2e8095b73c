"""Reading producers: filters, free-text search, keyset pagination, and a constant SQL statement count per page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import create_code, create_producer, transition_mutation

PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $filter: ProducerFilterInput) {
  producers(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}"""

DEEP_PAGE = """query($first: Int!) {
  producers(first: $first, filter: {types: ["Agent"]}) {
    totalCount
    edges { node { id name state parent { id name } ancestors { id name }
      codes { totalCount edges { node { code state producer { id } } } } } }
  }
}"""


async def ids(gql: Any, token: str, flt: dict[str, Any] | None = None, **page: Any) -> list[str]:
    data = await gql.ok(PAGE, {"filter": flt, "first": 100, **page}, token=token)
    return [e["node"]["id"] for e in data["producers"]["edges"]]


# ---- the statement count does not grow with the page ---------------------------------------------
# Each runs twice: as written (answered by compiled reads) and with `allowedActions` on every producer, a field
# compiled reads do not map, so the resolvers and their dataloaders answer it.

def as_written(query: str) -> str:
    return query


def field_by_field(query: str) -> str:
    return query.replace("node { ", "node { allowedActions ")


READ_PATHS = pytest.mark.parametrize("path", [as_written, field_by_field], ids=["compiled", "resolved"])

def page_statements(counter: Any) -> int:
    """Statements of one request, leaving out the tenant configuration look-up (cached for a few seconds)."""
    return len([s for s in counter.statements if "FROM tenants" not in s])


@pytest.fixture(scope="module")
async def big_tenant(app: Any, gql: Any) -> Any:
    """10 agencies with 10 agents each (100 agents), every agent with a code."""
    from app import tenants
    from app.tenant_config import default_config_dict

    loaded = await tenants.create_tenant(app.state.sessions, "big-tenant", default_config_dict())
    token = gql.token(loaded.id, "TENANT_ADMIN")
    for a in range(10):
        agency = await create_producer(gql, token, type="Agency", organizationName=f"Agency {a}")
        for n in range(10):
            agent = await create_producer(gql, token, parent=agency["id"], lastName=f"Agent {a}-{n}")
            await create_code(gql, token, agent["id"])
    return token


@READ_PATHS
async def test_listing_100_producers_runs_as_many_statements_as_listing_10(gql, big_tenant, statements, path):
    # given 100 agents under 10 agencies, each with a code
    # when a page of 10 and a page of 100 are read with parent, ancestors and codes
    with statements:
        small = await gql.ok(path(DEEP_PAGE), {"first": 10}, token=big_tenant)
    small_count = page_statements(statements)
    with statements:
        large = await gql.ok(path(DEEP_PAGE), {"first": 100}, token=big_tenant)
    large_count = page_statements(statements)
    # then both ran the same, small number of statements
    assert len(small["producers"]["edges"]) == 10 and len(large["producers"]["edges"]) == 100
    assert small_count == large_count, statements.statements
    assert large_count <= 6, statements.statements
    node = large["producers"]["edges"][-1]["node"]
    assert node["parent"]["name"].startswith("Agency ")
    assert [a["id"] for a in node["ancestors"]] == [node["parent"]["id"]]
    assert node["codes"]["totalCount"] == 1
    assert node["codes"]["edges"][0]["node"]["producer"]["id"] == node["id"]


CHILDREN_PAGE = """query($first: Int!) {
  producers(first: $first, filter: {types: ["Agency"]}) {
    edges { node { name children(first: 3) { totalCount pageInfo { hasNextPage }
      edges { node { name codes { totalCount } } } } } }
  }
}"""


@READ_PATHS
async def test_children_of_a_whole_page_take_constant_statements(gql, big_tenant, statements, path):
    # given 10 agencies with 10 agents each
    # when the first 3 children of 2 agencies, then of 10, are read with their counts
    with statements:
        small = await gql.ok(path(CHILDREN_PAGE), {"first": 2}, token=big_tenant)
    small_count = page_statements(statements)
    with statements:
        large = await gql.ok(path(CHILDREN_PAGE), {"first": 10}, token=big_tenant)
    # then the statements do not grow with the number of parents, and each page is right
    assert page_statements(statements) == small_count, statements.statements
    assert len(small["producers"]["edges"]) == 2 and len(large["producers"]["edges"]) == 10
    for edge in large["producers"]["edges"]:
        children = edge["node"]["children"]
        assert children["totalCount"] == 10 and children["pageInfo"]["hasNextPage"] is True
        assert len(children["edges"]) == 3
        assert all(c["node"]["codes"]["totalCount"] == 1 for c in children["edges"])


async def test_a_page_of_descendants_is_full_and_excludes_the_producer(gql, new_tenant):
    # given an agency with 5 agents
    tenant = await new_tenant()
    agency = await create_producer(gql, tenant.admin, type="Agency", organizationName="Top")
    for n in range(5):
        await create_producer(gql, tenant.admin, parent=agency["id"], lastName=f"Agent {n}")
    query = """query($id: ID!, $after: String) { producer(id: $id) { descendants(first: 3, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id name } } } } }"""

    # when the descendants are paged by 3
    first = (await gql.ok(query, {"id": agency["id"]}, token=tenant.admin))["producer"]["descendants"]
    second = (await gql.ok(query, {"id": agency["id"], "after": first["pageInfo"]["endCursor"]},
                           token=tenant.admin))["producer"]["descendants"]

    # then pages are full, the agency itself is never among them, and the count is exact
    names = [e["node"]["name"] for e in first["edges"] + second["edges"]]
    assert len(first["edges"]) == 3 and first["pageInfo"]["hasNextPage"] is True
    assert len(second["edges"]) == 2 and second["pageInfo"]["hasNextPage"] is False
    assert first["totalCount"] == 5 and "Top" not in names and len(set(names)) == 5


@READ_PATHS
async def test_ancestors_of_a_page_of_deep_chains_take_constant_statements(gql, new_tenant, statements, path):
    # given two chains of different depth
    tenant = await new_tenant()
    parent = None
    for depth in range(8):
        parent = (await create_producer(gql, tenant.admin, type="Agency", organizationName=f"D{depth}",
                                        parent=parent))["id"]
    query = "query($f: Int!) { producers(first: $f) { edges { node { ancestors { name parent { name } } } } } }"
    with statements:
        await gql.ok(path(query), {"f": 2}, token=tenant.admin)
    shallow = page_statements(statements)
    with statements:
        await gql.ok(path(query), {"f": 8}, token=tenant.admin)
    assert page_statements(statements) == shallow, statements.statements


# ---- filters and search ------------------------------------------------------------------------

@pytest.fixture
async def directory(gql: Any, new_tenant: Any) -> Any:
    tenant = await new_tenant()
    north = await create_producer(gql, tenant.admin, type="Agency", organizationName="Northwind Brokers",
                                  data={"dbaName": "Windy Insurance", "website": "gustyweb.example"})
    south = await create_producer(gql, tenant.admin, type="Agency", organizationName="Southern Cross")
    ana = await create_producer(gql, tenant.admin, parent=north["id"], firstName="Ana", lastName="Rivera",
                                npn="1234567", data={"notes": "speaks Portuguese"})
    bo = await create_producer(gql, tenant.admin, parent=ana["id"], firstName="Bo", lastName="Chen",
                               data={"yearsOfExperience": 12})
    cy = await create_producer(gql, tenant.admin, parent=south["id"], firstName="Cy", lastName="Rivera-Lopez")
    await gql.ok(transition_mutation("validate"), {"id": ana["id"]}, token=tenant.admin)
    return tenant, {"north": north["id"], "south": south["id"], "ana": ana["id"], "bo": bo["id"], "cy": cy["id"]}


@pytest.mark.parametrize(("search", "expected"), [
    ("rivera", {"ana", "cy"}),
    ("ana rivera", {"ana"}),
    ("1234567", {"ana"}),  # NPN
    ("portuguese", {"ana"}),  # searchable data (notes)
    ("windy", {"north"}),  # data of a defaultSearchable type
    ("gustyweb", set()),  # a field marked not searchable
    ("12", {"ana"}),  # an int field is not searchable; the NPN contains 12
    ("RIVERA-lopez", {"cy"}),
    ("100%", set()),
])
async def test_free_text_search_covers_names_npn_and_searchable_data(gql, directory, search, expected):
    tenant, named = directory
    found = await ids(gql, tenant.admin, {"search": search})
    assert {name for name, pid in named.items() if pid in found} == expected
    assert len(found) == len(expected)


async def test_filter_by_state_and_type(gql, directory):
    tenant, named = directory
    assert await ids(gql, tenant.admin, {"states": ["VALIDATED"]}) == [named["ana"]]
    agencies = await ids(gql, tenant.admin, {"types": ["Agency"]})
    assert set(agencies) == {named["north"], named["south"]}
    drafts = await ids(gql, tenant.admin, {"states": ["DRAFT"], "types": ["Agent"]})
    assert set(drafts) == {named["bo"], named["cy"]}


async def test_filter_by_parent_root_and_agency_subtree(gql, directory):
    tenant, named = directory
    assert await ids(gql, tenant.admin, {"parentId": named["north"]}) == [named["ana"]]
    assert set(await ids(gql, tenant.admin, {"rootOnly": True})) == {named["north"], named["south"]}
    subtree = await ids(gql, tenant.admin, {"agencyId": named["north"]})
    assert set(subtree) == {named["north"], named["ana"], named["bo"]}
    assert set(await ids(gql, tenant.admin, {"agencyId": named["north"], "search": "chen"})) == {named["bo"]}


async def test_filter_by_npn(gql, directory):
    tenant, named = directory
    assert await ids(gql, tenant.admin, {"npn": "1234567"}) == [named["ana"]]


async def test_a_foreign_or_malformed_agency_filter_finds_nothing(gql, directory, new_tenant):
    tenant, named = directory
    other = await new_tenant()
    assert await ids(gql, other.admin, {"agencyId": named["north"]}) == []
    data = await gql.ok(PAGE, {"filter": {"agencyId": "garbage"}, "first": 5}, token=tenant.admin)
    assert data["producers"]["totalCount"] == 0 and data["producers"]["edges"] == []


# ---- keyset pagination -------------------------------------------------------------------------

@pytest.fixture
async def seven(gql: Any, new_tenant: Any) -> Any:
    tenant = await new_tenant()
    for n in range(7):
        await create_producer(gql, tenant.admin, lastName=f"P{n}")
    return tenant, await ids(gql, tenant.admin)


async def page(gql: Any, token: str, **args: Any) -> dict[str, Any]:
    return (await gql.ok(PAGE, args, token=token))["producers"]  # type: ignore[no-any-return]


def node_ids(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


async def test_forward_pages_cover_the_list_once_with_total_count(gql, seven):
    tenant, everything = seven
    first = await page(gql, tenant.admin, first=3)
    second = await page(gql, tenant.admin, first=3, after=first["pageInfo"]["endCursor"])
    third = await page(gql, tenant.admin, first=3, after=second["pageInfo"]["endCursor"])
    assert node_ids(first) + node_ids(second) + node_ids(third) == everything
    assert [p["totalCount"] for p in (first, second, third)] == [7, 7, 7]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    assert second["pageInfo"]["hasNextPage"] and second["pageInfo"]["hasPreviousPage"]
    assert not third["pageInfo"]["hasNextPage"] and len(node_ids(third)) == 1


async def test_backward_pages_cover_the_list_in_order(gql, seven):
    tenant, everything = seven
    last = await page(gql, tenant.admin, last=3)
    before = await page(gql, tenant.admin, last=3, before=last["pageInfo"]["startCursor"])
    earliest = await page(gql, tenant.admin, last=3, before=before["pageInfo"]["startCursor"])
    assert node_ids(last) == everything[4:]
    assert node_ids(before) == everything[1:4]
    assert node_ids(earliest) == everything[:1]
    assert last["pageInfo"]["hasPreviousPage"] and not earliest["pageInfo"]["hasPreviousPage"]
    assert before["pageInfo"]["hasNextPage"]
    assert before["totalCount"] == 7


async def test_cursors_are_stable_when_producers_are_added(gql, seven):
    tenant, everything = seven
    first = await page(gql, tenant.admin, first=3)
    await create_producer(gql, tenant.admin, lastName="Late")
    again = await page(gql, tenant.admin, first=3)
    assert [e["cursor"] for e in again["edges"]] == [e["cursor"] for e in first["edges"]]
    rest = await page(gql, tenant.admin, first=100, after=first["pageInfo"]["endCursor"])
    assert node_ids(rest)[:4] == everything[3:]
    assert rest["totalCount"] == 8


async def test_a_page_over_the_maximum_is_refused(gql, seven):
    tenant, _ = seven
    body = await gql(PAGE, {"first": 101}, token=tenant.admin)
    assert body["errors"][0]["extensions"]["code"] == "PAGE_TOO_LARGE"
    assert "100" in body["errors"][0]["message"]


async def test_a_bad_cursor_is_refused(gql, seven):
    tenant, _ = seven
    body = await gql(PAGE, {"first": 2, "after": "not-a-cursor"}, token=tenant.admin)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_a_negative_page_size_is_refused(gql, seven):
    tenant, _ = seven
    body = await gql(PAGE, {"first": -1}, token=tenant.admin)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_PAGE_SIZE"
