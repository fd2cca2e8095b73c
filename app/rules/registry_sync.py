"""What a later registry extract changes in a license an onboarded producer holds: the terms the license should
have now, and the kinds of change (the event names of the sync) from its current terms to those."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.rules.wizard import registry_standing

# The sync's change kinds, also the audit events it writes (`license.<kind>` in the producer events feed).
ADDED = "added"  # a license the producer did not hold appears in the registry
GRANTED = "granted"  # the registry now carries a license in a state the producer had applied for
LAPSED = "lapsed"  # the registry reports it inactive or expired: it stops qualifying
REINSTATED = "reinstated"  # the registry reports a lapsed license active again
RENEWED = "renewed"  # the expiration date moved later
LOA_CHANGED = "loaChanged"  # the lines of authority changed
UPDATED = "updated"  # another registry field changed (residency, class, dates)
LICENSE_KINDS = (ADDED, GRANTED, LAPSED, REINSTATED, RENEWED, LOA_CHANGED, UPDATED)
PRODUCER_UPDATED = "producerUpdated"  # names, gender or email the agency had not edited, refreshed
REGISTRY_MARK = "producer registry"  # every reason `registry_standing` gives names the registry


@dataclass(frozen=True)
class Terms:
    """The fields of a license the registry decides."""

    state: str
    state_reason: str | None
    lines_of_authority: tuple[str, ...]
    residency: str
    license_class: str | None
    effective_time: datetime | None
    expiration_time: datetime | None


def lapsed_by_registry(state: str, reason: str | None) -> bool:
    """A license discarded because the registry said so (not by the agency): the registry may bring it back."""
    return state == "discarded" and REGISTRY_MARK in (reason or "")


def synced_state(current_state: str, current_reason: str | None, registry_status: str | None,
                 expiration: date | None, today: date) -> tuple[str, str | None] | None:
    """The state a held license takes from the registry, or None when the sync leaves the license alone (the
    agency discarded it). A draft stays a draft until the registry lapses it; an application is granted."""
    if current_state == "discarded" and not lapsed_by_registry(current_state, current_reason):
        return None
    standing, reason = registry_standing(registry_status, expiration, today)
    if standing == "discarded":
        return standing, reason
    if current_state == "draft":
        return "draft", current_reason
    return "validated", None


def dropped_state(current_state: str, source: str, today: date) -> tuple[str, str] | None:
    """The state a held license takes when the registry's extract still carries its producer but no longer the
    license: it lapses (the reason names the extract, so a later extract carrying it again reinstates it); one
    already discarded is left alone."""
    if current_state == "discarded":
        return None
    extract = f"extract {source} " if source else "extract "
    return "discarded", f"not in the {REGISTRY_MARK}'s {extract}of {today.isoformat()}"


def change_kinds(current: Terms, desired: Terms, *, application: bool = False) -> list[str]:
    """The kinds of change from `current` to `desired`, most significant first; empty when nothing changed."""
    if application:
        return [GRANTED]
    kinds: list[str] = []
    if current.state != "discarded" and desired.state == "discarded":
        kinds.append(LAPSED)
    elif current.state == "discarded" and desired.state != "discarded":
        kinds.append(REINSTATED)
    if (current.expiration_time is not None and desired.expiration_time is not None
            and desired.expiration_time > current.expiration_time):
        kinds.append(RENEWED)
    if {loa.casefold() for loa in current.lines_of_authority} != {loa.casefold() for loa in desired.lines_of_authority}:
        kinds.append(LOA_CHANGED)
    if not kinds and desired != current:
        kinds.append(UPDATED)
    return kinds


def refreshed_fields(producer: dict[str, str | None], previous: dict[str, str | None] | None,
                     current: dict[str, str | None]) -> dict[str, str | None]:
    """The producer fields to take from the registry's new record: those still equal to the registry's previous
    record (the agency did not edit them) whose registry value changed."""
    if previous is None:
        return {}
    return {name: value for name, value in current.items()
            if producer.get(name) == previous.get(name) and value != previous.get(name)}
