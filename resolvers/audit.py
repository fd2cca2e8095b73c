"""Audit log and producer events: thin calls into app.audit."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info, relay

from app import audit as service
from persistence.audit import AuditEventRecord, AuditFilter
from resolvers import ids
from resolvers.context import GraphQLContext
from resolvers.ids import LOCATOR, global_id
from resolvers.pagination import ConnectionData, connection, page_request

if TYPE_CHECKING:
    from schema.audit import AuditAction, AuditEntity

Ctx = Info[GraphQLContext, None]
Entities = Annotated[list[Annotated["AuditEntity", strawberry.lazy("schema.audit")]] | None,
                     strawberry.argument(description="Only events of these kinds of object; all when omitted.")]
Events = Annotated[list[Annotated["AuditAction", strawberry.lazy("schema.audit")]] | None,
                   strawberry.argument(description="Only these changes; all when omitted.")]
EntityId = Annotated[strawberry.ID | None, strawberry.argument(
    description="Only the events of this object: a producer, producer code, license, appointment, quote, policy, "
                "policy transaction, onboarding, document (global id or locator) or underwriting flag (its id).")]
Since = Annotated[datetime | None, strawberry.argument(description="Only events at or after this time.")]
First = Annotated[int | None, strawberry.argument(description="Page size counted from the start (or `after`).")]
After = Annotated[str | None, strawberry.argument(description="Cursor: return events after this one.")]

TYPE_NAMES = {"producer": "Producer", "producer_code": "ProducerCode", "license": "License",
              "appointment": "Appointment", "quote": "Quote", "policy": "Policy",
              "policy_transaction": "PolicyTransaction", "onboarding": "Onboarding", "document": "Document"}  # a flag's id is its locator


def _locator(value: object) -> str | None:
    """The locator in a global id or bare locator; None when it cannot name an object."""
    raw = str(value).strip()
    if LOCATOR.match(raw):
        return raw
    try:
        node_id = relay.GlobalID.from_id(raw).node_id
    except Exception:  # malformed: it names nothing
        return None
    return node_id if LOCATOR.match(node_id) else None


def _filter(entities: list[Any] | None, events: list[Any] | None, entity_id: object = None,
            since: datetime | None = None) -> AuditFilter:
    return AuditFilter(entities=[e.value for e in entities or []], events=[e.value for e in events or []],
                       entity_id=None if entity_id is None else _locator(entity_id) or "-", since=since)


async def audit_events(info: Ctx, first: First = None, after: After = None, entity_id: EntityId = None,
                       entity: Entities = None, event: Events = None, since: Since = None) -> ConnectionData:
    flt = _filter(entity, event, entity_id, since)
    result, total = await service.list_events(info.context.svc, flt, page_request(first, after, None, None))
    return connection(result, total, key=lambda row: str(row.id))


async def producer_events(info: Ctx, entities: Entities = None, events: Events = None) -> AsyncIterator[Any]:
    hub = info.context.request.app.state.notify
    async for record in service.watch_events(info.context.svc, hub, _filter(entities, events)):
        info.context.renew_loaders()
        yield record


# ---- event fields ---------------------------------------------------------------------------------

def name(root: AuditEventRecord) -> str:
    return service.feed_name(root)


def entity_global_id(root: AuditEventRecord) -> strawberry.ID:
    type_name = TYPE_NAMES.get(root.entity)
    return strawberry.ID(global_id(type_name, root.entity_id) if type_name else root.entity_id)


def before(root: AuditEventRecord) -> Any:
    return service.api_view(root.before)


def after(root: AuditEventRecord) -> Any:
    return service.api_view(root.after)


async def node(root: AuditEventRecord, info: Ctx) -> Any:
    """The changed object as the caller may see it now (read in the caller's scope, like `node(id:)`); None when
    it is out of that scope or has no global id (an underwriting flag)."""
    type_name = TYPE_NAMES.get(root.entity)
    if type_name is None:
        return None
    return await ids.find_node(info, global_id(type_name, root.entity_id))


def producer_global_id(root: AuditEventRecord) -> strawberry.ID | None:
    return strawberry.ID(global_id("Producer", root.producer_id)) if root.producer_id else None

