"""The leaky bucket's arithmetic and the actual cost of a response (pure rules)."""

from __future__ import annotations

from app.rules.throttle import BucketLimits, refilled, seconds_until
from schema.cost import returned_objects

LIMITS = BucketLimits(maximum=100, restore_rate=10)


def test_a_bucket_refills_at_its_restore_rate_up_to_its_maximum():
    assert refilled(20, 3, LIMITS) == 50
    assert refilled(95, 3, LIMITS) == 100


def test_a_clock_going_back_refills_nothing():
    assert refilled(20, -5, LIMITS) == 20


def test_the_wait_is_the_whole_seconds_until_the_bucket_holds_the_need():
    assert seconds_until(41, 41, LIMITS) == 0
    assert seconds_until(41, 20, LIMITS) == 3  # 2.1 s, rounded up
    assert seconds_until(41, 40.99, LIMITS) == 1


def test_the_actual_cost_counts_objects_and_an_edge_with_its_node_once():
    data = {"producers": {"pageInfo": {"hasNextPage": False},
                          "edges": [{"cursor": "a", "node": {"id": "1", "parent": None}},
                                    {"cursor": "b", "node": {"id": "2", "parent": {"id": "1"}}}]}}
    # the connection, pageInfo, two nodes and one parent; the root and the edges are free
    assert returned_objects(data) == 5


def test_the_actual_cost_of_lists_and_of_no_data():
    assert returned_objects({"nodes": [{"id": "1"}, None, {"id": "2"}], "ids": ["x", "y"]}) == 2
    assert returned_objects(None) == 0
    assert returned_objects({"__typename": "Query"}) == 0


def test_json_nested_deeper_than_any_query_is_not_counted_and_does_not_exhaust_the_stack():
    nested: dict = {}
    for _ in range(5000):
        nested = {"a": nested}
    assert returned_objects({"producer": {"data": nested}}) <= 66
