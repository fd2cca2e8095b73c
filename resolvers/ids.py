"""Reading ids from clients: Relay global ids, or bare locators for callers coming from REST."""

from __future__ import annotations

import re

from strawberry import relay

from app.errors import NotFound

LOCATOR = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def locator_of(value: object, type_name: str, *, code: str, field: str = "id") -> str:
    """The locator behind `value` when it names a `type_name`; otherwise not found."""
    raw = str(value).strip()
    if LOCATOR.match(raw):
        return raw
    try:
        gid = relay.GlobalID.from_id(raw)
    except Exception as exc:  # malformed base64 or shape: the object cannot exist
        raise NotFound(code, f"No {type_name} with that id is visible to you.", field) from exc
    if gid.type_name != type_name or not LOCATOR.match(gid.node_id):
        raise NotFound(code, f"No {type_name} with that id is visible to you.", field)
    return gid.node_id


def global_id(type_name: str, locator: str) -> str:
    return str(relay.GlobalID(type_name, locator))
