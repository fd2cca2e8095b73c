"""The producer and producer-code lifecycle: which action moves which state where."""

from __future__ import annotations

from typing import Literal

from app.errors import DomainError

State = Literal["draft", "validated", "suspended", "retired", "discarded"]
Action = Literal["validate", "suspend", "unsuspend", "retire", "discard"]

STATES: tuple[State, ...] = ("draft", "validated", "suspended", "retired", "discarded")
ACTIONS: tuple[Action, ...] = ("validate", "suspend", "unsuspend", "retire", "discard")
TERMINAL: frozenset[str] = frozenset({"retired", "discarded"})

TRANSITIONS: dict[tuple[str, str], State] = {
    ("draft", "validate"): "validated",
    ("validated", "suspend"): "suspended",
    ("suspended", "unsuspend"): "validated",
    ("validated", "retire"): "retired",
    ("suspended", "retire"): "retired",
    ("draft", "discard"): "discarded",
    ("validated", "discard"): "discarded",
    ("suspended", "discard"): "discarded",
}


def allowed_actions(state: str) -> list[Action]:
    """The actions that may be taken from `state`, in lifecycle order."""
    return [action for action in ACTIONS if (state, action) in TRANSITIONS]


def transition(state: str, action: str, *, subject: str = "producer") -> State:
    """The state `action` leads to from `state`; INVALID_TRANSITION when the lifecycle forbids it."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        allowed = ", ".join(allowed_actions(state)) or "none (the state is terminal)"
        raise DomainError(
            "INVALID_TRANSITION",
            f"Cannot {action} a {subject} in state {state}; allowed from {state}: {allowed}.",
            field="state",
        )
    return target


def is_terminal(state: str) -> bool:
    return state in TERMINAL
