"""Underwriting flag semantics: what the active flags of a quote or transaction decide.

Pure rule, no I/O. info never blocks; block and decline hold until cleared (decline declines the
quote); reject is permanent. A cleared producer flag for a code overrides the producer check for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["none", "info", "block", "decline", "reject"]
Decision = Literal["proceed", "blocked", "declined", "rejected"]

LEVELS: tuple[Level, ...] = ("none", "info", "block", "decline", "reject")
DEFAULT_TAG = "Invalid Producer Qualification"
PRODUCER_SOURCE = "producer"


@dataclass(frozen=True)
class Flag:
    """A flag reduced to what the decision reads."""

    level: str
    cleared: bool
    source: str = "manual"
    producer_code: str | None = None


def records(level: str) -> bool:
    """Whether a failed producer check at this configured level leaves a flag."""
    return level != "none"


def holds(level: str) -> bool:
    """Whether an active flag of this level keeps underwriting from completing."""
    return level in ("block", "decline", "reject")


def can_clear(level: str) -> bool:
    """reject is permanent: its flag cannot be cleared."""
    return level != "reject"


def decide(flags: Iterable[Flag]) -> Decision:
    """The strongest active flag wins: reject, then decline, then block; info and cleared flags never hold."""
    active = {f.level for f in flags if not f.cleared}
    if "reject" in active:
        return "rejected"
    if "decline" in active:
        return "declined"
    if "block" in active:
        return "blocked"
    return "proceed"


def overridden(flags: Iterable[Flag], producer_code: str | None) -> bool:
    """A cleared producer flag for the same code overrides a failing producer check."""
    return producer_code is not None and any(
        f.cleared and f.source == PRODUCER_SOURCE and f.producer_code == producer_code for f in flags)


def already_flagged(flags: Iterable[Flag], producer_code: str | None) -> bool:
    """An active producer flag for this code exists: do not add another."""
    return any(not f.cleared and f.source == PRODUCER_SOURCE and f.producer_code == producer_code for f in flags)
