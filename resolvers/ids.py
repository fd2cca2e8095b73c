"""Reading ids from clients: Relay global ids, or bare locators for callers coming from REST."""


import asyncio
import inspect
import re
from typing import Annotated, Any

import strawberry
from strawberry import Info, relay

from app.errors import DomainError, NotFound

LOCATOR = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
INVALID_ID = "INVALID_ID"


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


def refuse_bare_locator(value: object, field: str = "id") -> None:
    """`node`/`nodes` cannot tell a bare locator's type: refuse it (INVALID_ID) rather than answer null."""
    if LOCATOR.match(str(value).strip()):
        raise DomainError(INVALID_ID, "A bare locator does not say which type it names: send the object's "
                          "global id (its `id` field), or use the field of its type, e.g. producer(id:).", field)


async def node(info: Info[Any, Any], id: Annotated[strawberry.ID, strawberry.argument(
        description="The global id of the object (a bare locator is refused with INVALID_ID).")]) -> Any:
    """Any object by its global id; None when malformed, of a type that is not a Node, or not visible."""
    refuse_bare_locator(id)
    return await find_node(info, id)


async def find_node(info: Info[Any, Any], id: object) -> Any:
    """The object a global id names, in the caller's scope (its type's `resolve_nodes`); None when it names
    nothing the caller can see."""
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
        description="The global ids of the objects (any bare locator is refused with INVALID_ID).")]) -> list[Any]:
    """Objects by global id, in order (one dataloader batch per type). A bare locator is refused in its own
    item: the item is null with an INVALID_ID error at its path (`nodes.1`), the other items are answered."""
    return list(await asyncio.gather(*(_item(info, index, one) for index, one in enumerate(ids))))


async def _item(info: Info[Any, Any], index: int, id: object) -> Any:
    try:
        refuse_bare_locator(id, f"ids[{index}]")
    except DomainError as refused:
        return refused  # graphql-core raises a returned exception as this item's error, located at its path
    return await find_node(info, id)
