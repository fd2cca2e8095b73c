"""GraphQL shapes for the audit log (a query for tenant admins) and the live producer events feed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay

from persistence.audit import AuditEventRecord
from resolvers import audit as r
from schema.common import JSON, Connection
from schema.permissions import EVERYONE, TENANT_ADMIN


@strawberry.enum(description="The kind of object an audit event is about.")
class AuditEntity(Enum):
    PRODUCER = strawberry.enum_value("producer", description="A producer (agent, agency or broker).")
    PRODUCER_CODE = strawberry.enum_value("producer_code", description="A producer code.")
    LICENSE = strawberry.enum_value("license", description="A state license of a producer.")
    APPOINTMENT = strawberry.enum_value("appointment", description="A carrier appointment of a producer.")
    QUOTE = strawberry.enum_value("quote", description="A quote.")
    POLICY = strawberry.enum_value("policy", description="A policy.")
    POLICY_TRANSACTION = strawberry.enum_value("policy_transaction", description="A policy transaction (issuance, "
                                                                                 "change, renewal).")
    UNDERWRITING_FLAG = strawberry.enum_value("underwriting_flag", description="An underwriting flag on a quote or "
                                                                               "a policy transaction.")
    ONBOARDING = strawberry.enum_value("onboarding", description="A producer's onboarding (the wizard).")
    DOCUMENT = strawberry.enum_value("document", description="A document in a media data field of a producer, "
                                                             "producer code, license or appointment.")


@strawberry.enum(description="What happened to the object.")
class AuditAction(Enum):
    CREATED = strawberry.enum_value("created", description="The object was created.")
    UPDATED = strawberry.enum_value(
        "updated", description="Some of the object's fields changed (see before and after).")
    VALIDATED = strawberry.enum_value("validated", description="The object was validated: checked and now in force.")
    SUSPENDED = strawberry.enum_value(
        "suspended", description="The producer or code was suspended: kept, but it cannot write business.")
    UNSUSPENDED = strawberry.enum_value(
        "unsuspended", description="A suspension was lifted; the producer or code is validated again.")
    RETIRED = strawberry.enum_value("retired", description="The producer or code was retired (final).")
    DISCARDED = strawberry.enum_value("discarded", description="The object was discarded (final).")
    TERMINATED = strawberry.enum_value("terminated", description="An appointment was terminated.")
    UNDERWRITTEN = strawberry.enum_value("underwritten", description="A quote was underwritten.")
    ISSUED = strawberry.enum_value("issued", description="A quote, a policy or a policy transaction was issued.")
    DECLINED = strawberry.enum_value("declined", description="A quote was declined.")
    REJECTED = strawberry.enum_value("rejected", description="A quote was rejected.")
    ADDED = strawberry.enum_value("added", description="An underwriting flag was added, or a license the producer did "
                                  "not hold came in with a registry sync.")
    CLEARED = strawberry.enum_value("cleared", description="An underwriting flag was cleared.")
    FINISHED = strawberry.enum_value("finished", description="An onboarding was finished.")
    CANCELLED = strawberry.enum_value("cancelled", description="An onboarding was cancelled (its producer removed).")
    ATTACHED = strawberry.enum_value("attached", description="A document was attached to a media data field.")
    REPLACED = strawberry.enum_value("replaced", description="A document was attached in place of an earlier version "
                                                             "(which stays listed in `versions`).")
    REMOVED = strawberry.enum_value("removed", description="A document was detached (kept for the audit, no longer "
                                                           "downloadable).")
    GRANTED = strawberry.enum_value("granted", description="A registry sync found the license a producer had applied "
                                    "for: the application now carries its number and dates.")
    LAPSED = strawberry.enum_value("lapsed", description="A registry sync found the license inactive or expired: it "
                                   "is discarded and no longer qualifies.")
    REINSTATED = strawberry.enum_value("reinstated", description="A registry sync found a lapsed license active "
                                       "again: it is validated again.")
    RENEWED = strawberry.enum_value("renewed", description="A registry sync moved the license's expiration later.")
    LOA_CHANGED = strawberry.enum_value("loaChanged", description="A registry sync changed the license's lines of "
                                        "authority.")


@strawberry.type(description="One change of a producer, producer code, license, appointment, quote, policy, policy "
                             "transaction, underwriting flag, onboarding or document: who, when, what, and the object "
                             "before and after with the API's field names (SSNs only as their last four digits).")
class AuditEvent:
    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, (cls, AuditEventRecord))

    @strawberry.field(description="The event's sequence number in the tenant's log.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.id))

    name: str = strawberry.field(resolver=r.name, description="The event's name as in an events feed: "
                                 "`producer.created`, `producerCode.retired`, `quote.underwritten`, `policy.issued`, "
                                 "`policyTransaction.issued`, `underwritingFlag.cleared`, `onboarding.finished`...")
    entity: AuditEntity = strawberry.field(description="The kind of object that changed.")
    event: AuditAction = strawberry.field(description="What happened to it.")
    entity_id: strawberry.ID = strawberry.field(resolver=r.entity_global_id,
                                                description="Global id of the object that changed.")

    @strawberry.field(description="ULID locator of the object that changed.")
    def locator(self) -> str:
        return self.entity_id  # type: ignore[return-value]

    node: relay.Node | None = strawberry.field(
        resolver=r.node, description="The object that changed (a Producer, ProducerCode, License, Appointment, Quote, "
                                     "Policy, PolicyTransaction or Onboarding), read in your scope when the event is "
                                     "delivered, so it shows this change and any made since: a normalised client "
                                     "cache updates the object from the event without a refetch. Null when you can "
                                     "no longer see it (or it is gone), and for underwriting flags (no global id).")
    producer_id: strawberry.ID | None = strawberry.field(
        resolver=r.producer_global_id, description="Global id of the producer the object belongs to (itself for a "
                                                   "producer; through its producer code for quotes, policies, "
                                                   "transactions and flags; null when it has none).")
    actor: str | None = strawberry.field(description="Subject of the caller who made the change.")
    request_id: str | None = strawberry.field(
        description="Id of the request that made it (`bulk:<job id>` for bulk onboarding).")
    at: datetime = strawberry.field(description="When the change was made (its transaction's start).")
    before: JSON | None = strawberry.field(
        resolver=r.before, description="The object before the change, with the API's field names (camelCase, its "
                                       "ULID as `locator`); null when created.")
    after: JSON = strawberry.field(resolver=r.after, description="The object after the change, with the API's field "
                                                                 "names.")


@strawberry.type
class AuditQuery:
    audit_events: Connection[AuditEvent] | None = strawberry.field(  # type: ignore[assignment]
        resolver=r.audit_events, permission_classes=[TENANT_ADMIN],
        description="The tenant's audit log, oldest first: every change of producers, codes, licenses, "
                    "appointments, quotes, policies, policy transactions, underwriting flags, onboardings and "
                    "documents. Null (with a FORBIDDEN error) when your roles do not allow it.")


@strawberry.type
class AuditSubscription:
    @strawberry.subscription(description="Changes of producers, codes, licenses, appointments, and of the quotes, "
                                         "policies, transactions, flags and onboardings of producers in your scope, "
                                         "live, from the moment you subscribe; each event once, in commit order.",
                             permission_classes=[EVERYONE])
    async def producer_events(self, info: strawberry.Info, entities: r.Entities = None,
                              events: r.Events = None) -> AsyncGenerator[AuditEvent, None]:
        async for record in r.producer_events(info, entities, events):
            yield record
