"""Onboarding rules: which identification a request uses, the wizard's steps, and the payment choices.

Pure functions over plain data; refusals are DomainErrors with stable codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal

from app.errors import DomainError

Identification = Literal["SSN", "NPN", "LICENSE", "NPN_VERIFIED_BY_SSN"]
Step = Literal["DETAILS", "PAYMENT", "STATES", "REVIEW", "FINISH", "DONE"]

STEPS: tuple[Step, ...] = ("DETAILS", "PAYMENT", "STATES", "REVIEW", "FINISH", "DONE")
PAYERS = ("AGENCY", "PRODUCER")


def _given(value: object) -> bool:
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


def identification(*, ssn: object, last_name: object, npn: object, license_number: object,
                   state: object) -> Identification:
    """The one way a request identifies a producer: SSN + last name, NPN (optionally with the SSN that
    verifies it: NPN_VERIFIED_BY_SSN), or license number + state."""
    by_ssn, by_npn = _given(ssn), _given(npn)
    by_license = _given(license_number) or _given(state)
    if by_npn and by_ssn and not by_license:
        return "NPN_VERIFIED_BY_SSN"
    chosen = [name for name, used in (("SSN", by_ssn), ("NPN", by_npn), ("LICENSE", by_license)) if used]
    if len(chosen) > 1:
        raise DomainError("MULTIPLE_IDENTIFICATIONS", "Identify the producer one way only: SSN and last name, "
                          f"or NPN, or license number and state (got {' and '.join(chosen)}).", None)
    if not chosen:
        raise DomainError("MISSING_IDENTIFICATION", "Identify the producer by SSN and last name, by NPN, or by "
                          "license number and state.", None)
    kind = chosen[0]
    if kind == "SSN" and not _given(last_name):
        raise DomainError("MISSING_LAST_NAME", "Onboarding by SSN needs the producer's last name too.", "lastName")
    if kind == "LICENSE":
        if not _given(license_number):
            raise DomainError("MISSING_LICENSE_NUMBER", "Onboarding by license needs the license number too.",
                              "licenseNumber")
        if not _given(state):
            raise DomainError("MISSING_STATE", "Onboarding by license needs the state that issued it.", "state")
    return kind  # type: ignore[return-value]


def check_payer(value: str, field: str) -> str:
    """AGENCY or PRODUCER (case-insensitive)."""
    text = (value or "").strip().upper()
    if text not in PAYERS:
        raise DomainError("INVALID_PAYER", f"{value!r} is not a payer; use AGENCY or PRODUCER.", field)
    return text


def current_step(*, completed: bool, details_reviewed: bool, payment_set: bool, states_assigned: bool,
                 reviewed: bool) -> Step:
    """The first step of the wizard still to be done; steps may be revisited in any order."""
    if completed:
        return "DONE"
    if not details_reviewed:
        return "DETAILS"
    if not payment_set:
        return "PAYMENT"
    if not states_assigned:
        return "STATES"
    if not reviewed:
        return "REVIEW"
    return "FINISH"


def merge_selections(states: Iterable[tuple[str, Iterable[str]]], *,
                     no_new_states: bool = False) -> dict[str, list[str]]:
    """[(jurisdiction, [loa, ...]), ...] as one mapping; a jurisdiction given twice is refused, and so is an
    empty selection unless it says `no_new_states` (and a selection that says it while naming states)."""
    merged: dict[str, list[str]] = {}
    for i, (jurisdiction, loas) in enumerate(states):
        key = (jurisdiction or "").strip().upper() or jurisdiction
        if key in merged:
            raise DomainError("DUPLICATE_JURISDICTION", f"{key} is assigned twice; give each jurisdiction once "
                              "with all its lines of authority.", f"states[{i}].jurisdiction")
        merged[key] = list(dict.fromkeys(loas))
    if no_new_states and merged:
        raise DomainError("CONFLICTING_STATES", "noNewStates says no state is assigned, yet states are given; "
                          "send one or the other.", "noNewStates")
    if not no_new_states and not merged:
        raise DomainError("STATES_REQUIRED", "Assign at least one state or territory, or say noNewStates: true.",
                          "states")
    return merged


def check_reviewable(*, states_assigned: bool) -> None:
    """The review looks at the assigned states: at least one, or an explicit "no new states"."""
    if not states_assigned:
        raise DomainError("STATES_REQUIRED", "Assign at least one state or territory (or say noNewStates: true) "
                          "before the review.", "states")


def check_finishable(*, payment_set: bool, reviewed: bool) -> None:
    """Finishing needs the payment setup and the review of the assigned states."""
    if not payment_set:
        raise DomainError("PAYMENT_SETUP_REQUIRED", "Set up who pays for new licenses and renewals, and "
                          "auto-renewal, before finishing.", "payment")
    if not reviewed:
        raise DomainError("REVIEW_REQUIRED", "Review the assigned states (reviewOnboarding) before finishing.", "id")


def registry_standing(status: str | None, expiration: date | None, today: date) -> tuple[str, str | None]:
    """The state a registry license comes in with, and why when it is not usable: an active license not yet
    expired is `validated`; an inactive or expired one is `discarded`, with the reason."""
    if (status or "active") != "active":
        return "discarded", f"{status} in the producer registry"
    if expiration is not None and expiration <= today:
        return "discarded", f"expired on {expiration.isoformat()} according to the producer registry"
    return "validated", None


APPLICATION_REASON = "applied for during onboarding; set the number the jurisdiction issues and validate it"


def new_jurisdictions(assigned: Iterable[str], licensed: Iterable[str]) -> list[str]:
    """The assigned jurisdictions the producer holds no license in yet, in assignment order."""
    held = set(licensed)
    return [j for j in assigned if j not in held]
