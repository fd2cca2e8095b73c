"""Underwriting flag semantics: what active and cleared flags decide."""

import pytest

from app.rules.flags import Flag, already_flagged, can_clear, decide, holds, overridden, records


@pytest.mark.parametrize(("levels", "decision"), [
    ([], "proceed"),
    (["info"], "proceed"),
    (["block"], "blocked"),
    (["decline", "block"], "declined"),
    (["reject", "decline", "info"], "rejected"),
])
def test_the_strongest_active_flag_decides(levels, decision):
    assert decide([Flag(level, cleared=False) for level in levels]) == decision


def test_cleared_flags_never_hold():
    assert decide([Flag("block", cleared=True), Flag("decline", cleared=True)]) == "proceed"


def test_info_never_holds_and_none_records_nothing():
    assert not holds("info") and holds("block") and holds("decline") and holds("reject")
    assert not records("none") and records("info")


def test_reject_is_permanent():
    assert not can_clear("reject") and can_clear("block")


def test_a_cleared_producer_flag_for_the_same_code_is_an_override():
    flags = [Flag("block", cleared=True, source="producer", producer_code="A")]
    assert overridden(flags, "A")
    assert not overridden(flags, "B")
    assert not overridden([Flag("block", cleared=True, source="manual", producer_code="A")], "A")
    assert not overridden([Flag("block", cleared=False, source="producer", producer_code="A")], "A")


def test_an_active_producer_flag_is_not_added_twice():
    assert already_flagged([Flag("block", cleared=False, source="producer", producer_code="A")], "A")
    assert not already_flagged([Flag("block", cleared=True, source="producer", producer_code="A")], "A")
