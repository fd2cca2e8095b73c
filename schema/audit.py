"""GraphQL shapes for the audit log (a query for tenant admins) and the live producer events feed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from persistence.audit import AuditEventRecord
from resolvers import audit as r
from schema.common import JSON, Connection
from schema.permissions import EVERYONE, TENANT_ADMIN


@strawberry.enum(description="The kind of object an audit event is about.")
class AuditEntity(Enum):
    PRODUCER = "producer"
    PRODUCER_CODE = "producer_code"
    LICENSE = "license"
    APPOINTMENT = "appointment"


@strawberry.enum(description="What happened to the object.")
class AuditAction(Enum):
    CREATED = "created"
    UPDATED = "updated"
    VALIDATED = "validated"
    SUSPENDED = "suspended"
    UNSUSPENDED = "unsuspended"
    RETIRED = "retired"
    DISCARDED = "discarded"


@strawberry.type(description="One change of a producer, producer code, license or appointment: who, when, what, "
                             "and the object before and after (SSNs only as their last four digits).")
class AuditEvent:
    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, (cls, AuditEventRecord))

    @strawberry.field(description="The event's sequence number in the tenant's log.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.id))

    name: str = strawberry.field(resolver=r.name, description="The event's name as in an events feed: "
                                 "`producer.created`, `producerCode.retired`, `license.discarded`...")
    entity: AuditEntity = strawberry.field(description="The kind of object that changed.")
    event: AuditAction = strawberry.field(description="What happened to it.")
    entity_id: strawberry.ID = strawberry.field(resolver=r.entity_global_id,
                                                description="Global id of the object that changed.")

    @strawberry.field(description="ULID locator of the object that changed.")
    def locator(self) -> str:
        return self.entity_id  # type: ignore[return-value]

    producer_id: strawberry.ID | None = strawberry.field(
        resolver=r.producer_global_id, description="Global id of the producer the object belongs to (itself for a "
                                                   "producer).")
    actor: str | None = strawberry.field(description="Subject of the caller who made the change.")
    request_id: str | None = strawberry.field(
        description="Id of the request that made it (`bulk:<job id>` for bulk onboarding).")
    at: datetime = strawberry.field(description="When the change was made (its transaction's start).")
    before: JSON | None = strawberry.field(description="The object before the change; null when created.")
    after: JSON = strawberry.field(description="The object after the change.")


@strawberry.type
class AuditQuery:
    audit_events: Connection[AuditEvent] = strawberry.field(  # type: ignore[assignment]
        resolver=r.audit_events, permission_classes=[TENANT_ADMIN],
        description="The tenant's audit log, oldest first: every change of producers, codes, licenses and "
                    "appointments.")


@strawberry.type
class AuditSubscription:
    @strawberry.subscription(description="Changes of producers, codes, licenses and appointments in your scope, live, "
                                         "from the moment you subscribe; each event once, in commit order.",
                             permission_classes=[EVERYONE])
    async def producer_events(self, info: strawberry.Info, entities: r.Entities = None,
                              events: r.Events = None) -> AsyncGenerator[AuditEvent, None]:
        async for record in r.producer_events(info, entities, events):
            yield record
