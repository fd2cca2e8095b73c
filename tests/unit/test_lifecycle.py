"""The lifecycle rule: which action moves which state where, and what a refusal says."""

from __future__ import annotations

import pytest

from app.errors import DomainError
from app.rules.lifecycle import ACTIONS, STATES, allowed_actions, is_terminal, transition

EXPECTED = {
    ("draft", "validate"): "validated",
    ("draft", "discard"): "discarded",
    ("validated", "suspend"): "suspended",
    ("validated", "retire"): "retired",
    ("validated", "discard"): "discarded",
    ("suspended", "unsuspend"): "validated",
    ("suspended", "retire"): "retired",
    ("suspended", "discard"): "discarded",
}
CASES = [(s, a) for s in STATES for a in ACTIONS]


@pytest.mark.parametrize(("state", "action"), CASES, ids=[f"{s}-{a}" for s, a in CASES])
def test_transition_follows_the_lifecycle(state: str, action: str) -> None:
    if (state, action) in EXPECTED:
        assert transition(state, action) == EXPECTED[(state, action)]
    else:
        with pytest.raises(DomainError) as refused:
            transition(state, action)
        assert refused.value.code == "INVALID_TRANSITION"
        assert refused.value.field == "state"


def test_a_refusal_names_the_allowed_actions() -> None:
    with pytest.raises(DomainError) as refused:
        transition("suspended", "validate", subject="producer code")
    assert refused.value.message == ("Cannot validate a producer code in state suspended; "
                                     "allowed from suspended: unsuspend, retire, discard.")


def test_a_refusal_from_a_terminal_state_says_so() -> None:
    with pytest.raises(DomainError) as refused:
        transition("retired", "unsuspend")
    assert "none (the state is terminal)" in refused.value.message


def test_allowed_actions_in_lifecycle_order() -> None:
    assert allowed_actions("draft") == ["validate", "discard"]
    assert allowed_actions("validated") == ["suspend", "retire", "discard"]
    assert allowed_actions("retired") == []


def test_only_retired_and_discarded_are_terminal() -> None:
    assert [s for s in STATES if is_terminal(s)] == ["retired", "discarded"]


def test_an_unknown_state_or_action_is_refused() -> None:
    with pytest.raises(DomainError):
        transition("archived", "validate")
    with pytest.raises(DomainError):
        transition("draft", "publish")
