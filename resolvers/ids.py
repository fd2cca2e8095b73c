"""Reading ids from clients: Relay global ids, or bare locators for callers coming from REST."""


import asyncio
import inspect
import re
from typing import Annotated, Any

import strawberry
from strawberry import Info, relay

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


async def node(info: Info[Any, Any],
               id: Annotated[strawberry.ID, strawberry.argument(description="The global id of the object.")]) -> Any:
    """Any object by its global id; None when malformed, of a type that is not a Node, or not visible."""
    try:
        gid = relay.GlobalID.from_id(str(id))
        node_type = gid.resolve_type(info)
    except Exception:  # malformed id or unknown type: the object cannot exist
        return None
    found = node_type.resolve_nodes(info=info, node_ids=[gid.node_id], required=False)
    if inspect.isawaitable(found):
        found = await found
    return next(iter(found), None)


async def nodes(info: Info[Any, Any], ids: Annotated[list[strawberry.ID], strawberry.argument(
        description="The global ids of the objects.")]) -> list[Any]:
    """Objects by global id, in order (one dataloader batch per type)."""
    return list(await asyncio.gather(*(node(info, one) for one in ids)))
