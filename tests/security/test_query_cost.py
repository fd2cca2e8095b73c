"""Query cost: connections cost their page size times one item, objects 1, scalars 0; refused over the limit."""

from __future__ import annotations

from tests.api.helpers import create_code, create_producer

NESTED = "{ producers(first: 10) { nodes { id codes(first: 5) { nodes { id } } } } }"
DOUBLY_NESTED = "{ producers(first: 100) { nodes { children(first: 100) { nodes { id } } } } }"


async def test_a_connection_costs_its_first_times_one_item(gql, new_tenant, settings):
    tenant = await new_tenant()
    body = await gql("{ producers(first: 10) { edges { cursor node { id lastName } } } }", token=tenant.admin)
    assert not body.get("errors")
    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["maximumQueryCost"]) == (1 + 10 * 1, settings.max_query_cost)


async def test_a_connection_without_first_costs_the_default_page(gql, new_tenant):
    tenant = await new_tenant()
    body = await gql("{ producers { totalCount pageInfo { hasNextPage } nodes { id parent { id } } } }",
                     token=tenant.admin)
    # 1 for the connection, 1 for pageInfo, 20 items of (node 1 + parent 1)
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1 + 1 + 20 * 2


async def test_scalars_only_cost_nothing_but_the_objects_around_them(gql, new_tenant):
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    body = await gql("query($id: ID!) { producer(id: $id) { id lastName state } }", {"id": producer["id"]},
                     token=tenant.admin)
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1


async def test_the_page_size_can_come_from_a_variable_or_its_default(gql, new_tenant):
    tenant = await new_tenant()
    query = "query($n: Int = 3) { producers(first: $n) { nodes { id } } }"
    assert (await gql(query, {"n": 7}, token=tenant.admin))["extensions"]["cost"]["requestedQueryCost"] == 8
    assert (await gql(query, token=tenant.admin))["extensions"]["cost"]["requestedQueryCost"] == 4


async def test_last_counts_when_first_is_absent(gql, new_tenant):
    tenant = await new_tenant()
    body = await gql("{ producers(last: 4) { nodes { id } } }", token=tenant.admin)
    assert body["extensions"]["cost"]["requestedQueryCost"] == 5


async def test_nested_connections_multiply(gql, new_tenant):
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    await create_code(gql, tenant.admin, producer["id"])
    body = await gql(NESTED, token=tenant.admin)
    assert not body.get("errors")
    # 1 + 10 producers x (1 for the producer + codes: 1 + 5 x 1)
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1 + 10 * (1 + 1 + 5 * 1)


async def test_fragments_count_like_inline_selections(gql, new_tenant):
    tenant = await new_tenant()
    inline = await gql(NESTED, token=tenant.admin)
    with_fragments = await gql("""
        query { producers(first: 10) { ...Page } }
        fragment Page on ProducerConnection { nodes { ...P } }
        fragment P on Producer { id codes(first: 5) { nodes { id } } }""", token=tenant.admin)
    assert not with_fragments.get("errors")
    assert with_fragments["extensions"]["cost"] == inline["extensions"]["cost"]


async def test_a_mutation_reports_its_cost(gql, new_tenant):
    tenant = await new_tenant()
    body = await gql("""mutation { createProducer(input: {type: "Agent", lastName: "Cost"}) {
        producer { id parent { id } } userErrors { code } } }""", token=tenant.admin)
    assert body["data"]["createProducer"]["userErrors"] == []
    # payload 1 + producer 1 + parent 1 + userErrors 1
    assert body["extensions"]["cost"]["requestedQueryCost"] == 4


async def test_a_query_over_the_limit_is_refused_before_any_sql(gql, new_tenant, statements, settings):
    # given an authenticated caller whose tenant is already loaded
    tenant = await new_tenant()
    await gql("{ producers { totalCount } }", token=tenant.admin)
    # when it asks for 100 producers with 100 children each
    with statements:
        body = await gql(DOUBLY_NESTED, token=tenant.admin)
    # then nothing ran, and the refusal says what it would have cost
    assert statements.count == 0, statements.statements
    assert body.get("data") is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    requested = 1 + 100 * (1 + 1 + 100 * 1)
    assert error["extensions"]["cost"] == {"requestedQueryCost": requested, "maximumQueryCost": settings.max_query_cost}
    assert str(requested) in error["message"] and str(settings.max_query_cost) in error["message"]
    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (requested, 0)


async def test_a_huge_first_in_a_variable_is_refused(gql, new_tenant):
    tenant = await new_tenant()
    body = await gql("query($n: Int!) { producers(first: $n) { nodes { id } } }", {"n": 1_000_000},
                     token=tenant.admin)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


AT_LIMIT = "{ producers(first: 49) { pageInfo { hasNextPage } nodes { children(first: 100) { nodes { id } } } } }"


async def test_a_query_exactly_at_the_limit_runs_and_one_more_object_is_refused(gql, new_tenant, settings):
    tenant = await new_tenant()
    # 1 + pageInfo 1 + 49 x (producer 1 + children 1 + 100 x 1) = 5000
    body = await gql(AT_LIMIT, token=tenant.admin)
    assert not body.get("errors")
    assert body["extensions"]["cost"]["requestedQueryCost"] == settings.max_query_cost
    over = await gql(AT_LIMIT[:-1] + ' node(id: "x") { id } }', token=tenant.admin)
    assert over["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert over["extensions"]["cost"]["requestedQueryCost"] == settings.max_query_cost + 1


async def test_a_refused_document_still_reports_a_cost(gql, new_tenant):
    tenant = await new_tenant()
    body = await gql("{ producers { noSuchField } }", token=tenant.admin)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert body["extensions"]["cost"]["maximumQueryCost"] > 0


NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
REMOVE = "mutation($ids: [ID!]!) { removeProducers(ids: $ids) { userErrors { code } } }"


async def test_each_item_of_a_list_argument_costs_one(gql, new_tenant):
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    ids = [producer["id"]] * 50
    body = await gql(NODES, {"ids": ids}, token=tenant.admin)
    assert not body.get("errors")
    # 50 items of the list, and 1 for the object field
    assert body["extensions"]["cost"]["requestedQueryCost"] == 50 + 1
    literal = await gql('{ nodes(ids: ["a", "b", "c"]) { id } }', token=tenant.admin)
    assert literal["extensions"]["cost"]["requestedQueryCost"] == 3 + 1


async def test_a_list_argument_over_the_maximum_length_is_refused_before_anything_runs(gql, new_tenant, settings):
    tenant = await new_tenant()
    producer = await create_producer(gql, tenant.admin)
    too_many = [producer["id"]] * (settings.max_list_length + 1)
    for query in (NODES, REMOVE):
        # when a list one item longer than MAX_LIST_LENGTH is sent
        body = await gql(query, {"ids": too_many}, token=tenant.admin)
        # then the operation is refused with a typed code naming the limit, and nothing ran
        assert [e["extensions"]["code"] for e in body["errors"]] == ["LIST_TOO_LONG"], body
        assert body["errors"][0]["extensions"]["limit"] == settings.max_list_length
        assert body.get("data") is None
    state = await gql.ok("query($id: ID!) { producer(id: $id) { state } }", {"id": producer["id"]},
                         token=tenant.admin)
    assert state["producer"]["state"] == "DRAFT"


async def test_lists_inside_input_objects_count_too(gql, new_tenant, settings):
    tenant = await new_tenant()
    flags = [{"level": "INFO", "tag": "t", "note": "n"}] * (settings.max_list_length + 1)
    body = await gql("mutation($flags: [NewFlagInput!]!) { addUnderwritingFlags(flags: $flags) { userErrors { code } } }",
                     {"flags": flags}, token=tenant.admin)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIST_TOO_LONG"], body
