"""Webhook rules without I/O: the event catalogue and subscriptions, the retry schedule, which URLs and
addresses an endpoint may have."""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.errors import DomainError, Problem

# Families of event types, `<family>.<action>`. The audit log's families (its entities, as the producer events
# feed names them) take every action the log records, including ones added later (`license.renewed`...).
AUDIT_FAMILIES = {
    "producer": "A producer was created, updated, validated, suspended, unsuspended, retired or discarded.",
    "producerCode": "A producer code was created, updated, moved, validated, suspended, retired or discarded.",
    "license": "A license was created, updated, validated or discarded; registry sync adds renewed, lapsed, "
               "loaChanged.",
    "appointment": "An appointment was created, updated, validated, terminated or discarded.",
    "quote": "A quote was created, updated, underwritten, issued, declined or rejected.",
    "policy": "A policy was issued or changed.",
    "policyTransaction": "A policy transaction (issuance, change, renewal) was created or issued.",
    "underwritingFlag": "An underwriting flag was added or cleared.",
    "onboarding": "An onboarding was created, updated, finished or cancelled.",
}
# Families written by the application with app.webhooks.enqueue_event, in the transaction of the change.
APP_EVENTS = {
    "bulkJob.completed": "A bulk onboarding job handled all its rows (counts of succeeded and failed rows).",
    "complianceAlert.raised": "A license, appointment or document entered one of the tenant's alert windows, or "
                              "expired: once per window and expiration date, whether or not digests are sent.",
    "registry.imported": "A registry import reconciled producers (counts of changes by kind); each license it "
                         "changed is also a `license.*` event.",
}
APP_FAMILIES = {name.split(".")[0] for name in APP_EVENTS}
FAMILIES = set(AUDIT_FAMILIES) | APP_FAMILIES
_ACTION = re.compile(r"^[a-z][A-Za-z]{0,39}$")
MAX_SUBSCRIPTIONS = 50


def event_type_problem(name: str) -> str | None:
    """Why `name` is no event type (`family.action`); None when it is one."""
    family, _, action = name.partition(".")
    if family not in FAMILIES:
        return f"{name!r} is not an event type: the family before the dot must be one of {', '.join(sorted(FAMILIES))}."
    if not _ACTION.match(action):
        return f"{name!r} is not an event type: write family.action, the action in camelCase letters."
    return None


def subscriptions(events: list[str]) -> list[str]:
    """The endpoint's subscriptions, checked and de-duplicated: `*`, `family.*` or exact event types."""
    cleaned = list(dict.fromkeys(event.strip() for event in events))
    if not cleaned:
        raise DomainError("WEBHOOK_EVENTS_REQUIRED", "Name at least one event type, `family.*` or `*`.", "events")
    if len(cleaned) > MAX_SUBSCRIPTIONS:
        raise DomainError("WEBHOOK_EVENTS_INVALID", f"At most {MAX_SUBSCRIPTIONS} event types per endpoint.", "events")
    problems = []
    for index, event in enumerate(cleaned):
        if event == "*":
            continue
        family, _, action = event.partition(".")
        message = (None if action == "*" and family in FAMILIES else event_type_problem(event))
        if message is not None:
            problems.append(Problem("WEBHOOK_EVENTS_INVALID", message, f"events[{index}]"))
    if problems:
        raise DomainError(problems[0].code, problems[0].message, problems[0].field, problems)
    return cleaned


def subscribed(events: list[str], event_type: str) -> bool:
    """The rule of the database's webhook_subscribed (migration 0013)."""
    return "*" in events or event_type in events or f"{event_type.split('.')[0]}.*" in events


def retry_delay(attempts: int, base_seconds: float, max_seconds: float, rand: random.Random | None = None) -> float:
    """The wait after the `attempts`-th failed attempt: exponential, capped, with jitter in its upper half."""
    ceiling = min(max_seconds, base_seconds * 2 ** max(0, attempts - 1))
    return ceiling * (0.5 + 0.5 * (rand or random).random())


@dataclass(frozen=True)
class Target:
    """A parsed endpoint URL: its scheme, host and port."""

    scheme: str
    host: str
    port: int


MAX_URL_LENGTH = 2000


def parse_url(url: str) -> Target:
    """An absolute http(s) URL with a host, no credentials; WEBHOOK_URL_INVALID otherwise."""
    value = url.strip()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise DomainError("WEBHOOK_URL_INVALID", f"{value[:200]!r} is not a URL; write https://host/path.", "url") \
            from exc
    if len(value) > MAX_URL_LENGTH:
        raise DomainError("WEBHOOK_URL_INVALID", f"The URL is longer than {MAX_URL_LENGTH} characters.", "url")
    if parts.scheme not in ("http", "https"):
        raise DomainError("WEBHOOK_URL_INVALID", f"{value[:200]!r}: only http and https URLs can receive webhooks.",
                          "url")
    if not parts.hostname or parts.username or parts.password:
        raise DomainError("WEBHOOK_URL_INVALID", f"{value[:200]!r} needs a host and no user or password in it.",
                          "url")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def forbidden_address(address: str) -> bool:
    """Loopback, private, link-local (cloud metadata), shared, reserved, multicast or unspecified: not the internet."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified or not ip.is_global)
