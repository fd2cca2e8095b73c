"""GraphQL shapes for producers and producer codes, with their queries and mutations."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from app.producers import ProducerRecord
from persistence.producers import ProducerCodeRecord
from resolvers import licenses as licenses_r
from resolvers import producers as r
from schema.common import (
    JSON,
    Connection,
    LifecycleAction,
    LifecycleState,
    ProducerKind,
    UserError,
    ValidationResult,
)
from schema.common import validation_result as _validation_result

if TYPE_CHECKING:
    from schema.licenses import Appointment, License, Qualification


def _is(record_type: type) -> Any:
    @classmethod  # type: ignore[misc]
    def is_type_of(cls: type, obj: Any, info: Any) -> bool:
        return isinstance(obj, (cls, record_type))

    return is_type_of


@strawberry.enum(description="A producer's gender as recorded in the producer registry.")
class Gender(Enum):
    MALE = strawberry.enum_value("MALE", description="Male (M in bulk files).")
    FEMALE = strawberry.enum_value("FEMALE", description="Female (F in bulk files).")
    NON_BINARY = strawberry.enum_value("NON_BINARY", description="Non-binary (X in bulk files).")


@strawberry.type(description="An agent, agency or broker authorized to write business, in a hierarchy.")
class Producer(relay.Node):
    id: relay.NodeID[str]
    is_type_of = _is(ProducerRecord)

    @classmethod
    def resolve_nodes(cls, *, info: Any, node_ids: Any, required: bool = False) -> Any:
        return info.context.load.producer.load_many(list(node_ids))

    @strawberry.field(description="The producer's ULID locator.")
    def locator(self) -> str:
        return self.id

    type: str = strawberry.field(description="Configured producer type name, e.g. Agent or Agency.")
    kind: ProducerKind = strawberry.field(description="Individual person or organization.")
    state: LifecycleState = strawberry.field(description="Lifecycle state.")
    npn: str | None = strawberry.field(description="National Producer Number.")
    first_name: str | None = strawberry.field(description="Given name (individuals).")
    middle_name: str | None = strawberry.field(description="Middle name (individuals).")
    last_name: str | None = strawberry.field(description="Family name (individuals).")
    organization_name: str | None = strawberry.field(description="Legal name (organizations).")
    email: str | None = strawberry.field(description="Contact email address.")
    gender: Gender | None = strawberry.field(description="Gender, when known.")
    fein: str | None = strawberry.field(description="Federal Employer Identification Number (organizations).")
    ssn_last4: str | None = strawberry.field(name="ssnLastFour",
                                             description="Last four digits of the SSN; the full SSN is never returned.")
    data: JSON = strawberry.field(description="Extension data, as configured for the producer type.")
    created_at: datetime = strawberry.field(description="When the producer was created.")
    created_by: str = strawberry.field(description="Subject of the caller who created it.")
    updated_at: datetime = strawberry.field(description="When the producer last changed.")
    updated_by: str = strawberry.field(description="Subject of the caller who last changed it.")

    @strawberry.field(description="Display name: the organization name, or first and last name.")
    def name(self) -> str:
        if self.organization_name:
            return self.organization_name
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.id

    @strawberry.field(description="Outcome of the last validation request, with every problem found.")
    def validation_result(self) -> ValidationResult | None:
        return _validation_result(self.validation_result)  # type: ignore[arg-type]

    parent: Producer | None = strawberry.field(resolver=r.parent, description="The parent producer, if any.")
    ancestors: list[Producer] = strawberry.field(
        resolver=r.ancestors, description="Every ancestor visible to you, root first.")
    children: Connection[Producer] = strawberry.field(  # type: ignore[assignment]
        resolver=r.children, description="Direct children in the hierarchy.")
    descendants: Connection[Producer] = strawberry.field(  # type: ignore[assignment]
        resolver=r.descendants, description="Every producer below this one, at any depth.")
    codes: Connection[ProducerCode] = strawberry.field(
        resolver=r.codes, description="The producer codes this producer holds.")
    allowed_actions: list[LifecycleAction] = strawberry.field(  # type: ignore[assignment]
        resolver=r.allowed_actions, description="Lifecycle actions allowed from the current state.")
    licenses: Connection[Annotated[License, strawberry.lazy("schema.licenses")]] = strawberry.field(  # type: ignore[assignment]
        resolver=licenses_r.producer_licenses, description="The licenses this producer holds, in any state.")
    license_applications: list[Annotated[License, strawberry.lazy("schema.licenses")]] = strawberry.field(  # type: ignore[assignment]
        resolver=licenses_r.producer_license_applications,
        description="The producer's license applications (licenses in state APPLIED: states assigned at onboarding "
                    "it is not licensed in yet).")
    appointments: Connection[Annotated[Appointment, strawberry.lazy("schema.licenses")]] = strawberry.field(  # type: ignore[assignment]
        resolver=licenses_r.producer_appointments, description="The appointments this producer holds, in any state.")
    qualification: Annotated[Qualification, strawberry.lazy("schema.licenses")] = strawberry.field(
        resolver=licenses_r.producer_qualification,
        description="Whether the producer is qualified for a product in a jurisdiction at a time (default now), "
                    "for a producer code when given, with every reason when not.")


@strawberry.type(description="A code identifying business written by one producer.")
class ProducerCode(relay.Node):
    id: relay.NodeID[str]
    is_type_of = _is(ProducerCodeRecord)

    @classmethod
    def resolve_nodes(cls, *, info: Any, node_ids: Any, required: bool = False) -> Any:
        return info.context.load.code.load_many(list(node_ids))

    @strawberry.field(description="The producer code's ULID locator.")
    def locator(self) -> str:
        return self.id

    type: str = strawberry.field(description="Configured producer code type name.")
    code: str | None = strawberry.field(description="The code itself; unique in the tenant. Null only in draft.")
    state: LifecycleState = strawberry.field(description="Lifecycle state.")
    data: JSON = strawberry.field(description="Extension data, as configured for the code type.")
    created_at: datetime = strawberry.field(description="When the code was created.")
    created_by: str = strawberry.field(description="Subject of the caller who created it.")
    updated_at: datetime = strawberry.field(description="When the code last changed.")
    updated_by: str = strawberry.field(description="Subject of the caller who last changed it.")
    producer: Producer | None = strawberry.field(resolver=r.code_producer, description="The producer holding the code.")
    allowed_actions: list[LifecycleAction] = strawberry.field(  # type: ignore[assignment]
        resolver=r.allowed_actions, description="Lifecycle actions allowed from the current state.")

    @strawberry.field(description="Outcome of the last validation request, with every problem found.")
    def validation_result(self) -> ValidationResult | None:
        return _validation_result(self.validation_result)  # type: ignore[arg-type]


@strawberry.input(description="Narrow a list of producers.")
class ProducerFilterInput:
    states: list[LifecycleState] | None = strawberry.field(default=None, description="Only these states.")
    types: list[str] | None = strawberry.field(default=None, description="Only these producer types.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Only direct children of this producer.")
    root_only: bool | None = strawberry.field(default=None, description="Only producers without a parent.")
    agency_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this producer and its subtree (an agency's producers).")
    search: str | None = strawberry.field(
        default=None, description="Free text over names, NPN, email and searchable data, and over the producer's "
                                  "codes, license and appointment numbers and their searchable data; every word "
                                  "must match.")
    npn: str | None = strawberry.field(default=None, description="Exact National Producer Number.")


@strawberry.input(description="Narrow a list of producer codes.")
class ProducerCodeFilterInput:
    states: list[LifecycleState] | None = strawberry.field(default=None, description="Only these states.")
    producer_id: strawberry.ID | None = strawberry.field(default=None, description="Only the codes of this producer.")
    search: str | None = strawberry.field(
        default=None, description="Free text over the code and its searchable data; every word must match.")


@strawberry.input(description="A new producer (also the whole producer for replaceProducer).")
class CreateProducerInput:
    type: str = strawberry.field(description="Configured, non-abstract producer type.")
    parent_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET, description="Parent producer id.")
    npn: str | None = strawberry.field(default=strawberry.UNSET, description="National Producer Number (digits).")
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="Given name.")
    middle_name: str | None = strawberry.field(default=strawberry.UNSET, description="Middle name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Family name.")
    organization_name: str | None = strawberry.field(default=strawberry.UNSET, description="Legal name.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Contact email.")
    gender: Gender | None = strawberry.field(default=strawberry.UNSET, description="Gender.")
    fein: str | None = strawberry.field(default=strawberry.UNSET, description="FEIN (organizations).")
    data: JSON | None = strawberry.field(default=None, description="Extension data for the type.")


@strawberry.input(description="Changes to a producer; omitted fields stay as they are, null clears.")
class UpdateProducerInput:
    type: str | None = strawberry.field(default=None, description="Another type of the same kind.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New parent id; null makes the producer a root.")
    npn: str | None = strawberry.field(default=strawberry.UNSET, description="National Producer Number (digits).")
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="Given name.")
    middle_name: str | None = strawberry.field(default=strawberry.UNSET, description="Middle name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Family name.")
    organization_name: str | None = strawberry.field(default=strawberry.UNSET, description="Legal name.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Contact email.")
    gender: Gender | None = strawberry.field(default=strawberry.UNSET, description="Gender.")
    fein: str | None = strawberry.field(default=strawberry.UNSET, description="FEIN (organizations).")
    set_data: JSON | None = strawberry.field(default=None, description="Extension data keys to set.")
    remove_data: list[str] | None = strawberry.field(default=None, description="Extension data keys to remove.")


@strawberry.input(description="A new producer code (also the whole code for replaceProducerCode).")
class CreateProducerCodeInput:
    type: str = strawberry.field(description="Configured, non-abstract producer code type.")
    producer_id: strawberry.ID = strawberry.field(description="The producer that holds the code.")
    code: str | None = strawberry.field(
        default=strawberry.UNSET, description="The code; omit it to number it from the type's numbering plan.")
    data: JSON | None = strawberry.field(default=None, description="Extension data for the type.")


@strawberry.input(description="Changes to a producer code; omitted fields stay as they are.")
class UpdateProducerCodeInput:
    type: str | None = strawberry.field(default=None, description="Another producer code type.")
    producer_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Move the code to this producer (not while terminal).")
    code: str | None = strawberry.field(default=strawberry.UNSET, description="New code value.")
    set_data: JSON | None = strawberry.field(default=None, description="Extension data keys to set.")
    remove_data: list[str] | None = strawberry.field(default=None, description="Extension data keys to remove.")


@strawberry.type(description="Result of a producer mutation.")
class ProducerPayload:
    producer: Producer | None = strawberry.field(description="The producer after the change (or as it stayed).")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="Result of a producer code mutation.")
class ProducerCodePayload:
    producer_code: ProducerCode | None = strawberry.field(description="The code after the change (or as it stayed).")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _q(resolver: Any, description: str, permission: Any) -> Any:
    return strawberry.field(resolver=resolver, description=description, permission_classes=[permission])


from schema.permissions import ADMINS, EVERYONE  # noqa: E402


@strawberry.type
class ProducerQuery:
    producer: Producer | None = _q(r.producer, "A producer by global id or locator; null when not visible.", EVERYONE)
    producers: Connection[Producer] = _q(r.producers, "Producers visible to you, oldest first, keyset-paginated.",
                                         EVERYONE)
    producer_code: ProducerCode | None = _q(r.producer_code, "A producer code by global id or locator.", EVERYONE)
    producer_code_by_code: ProducerCode | None = _q(
        r.producer_code_by_code, "A producer code by its code value; null when not visible.", EVERYONE)
    producer_codes: Connection[ProducerCode] = _q(
        r.producer_codes, "Producer codes visible to you (as producerCode scopes them), oldest first, "
        "keyset-paginated.", EVERYONE)


@strawberry.type
class ProducerMutation:
    create_producer: ProducerPayload = _q(r.create_producer, "Create a draft producer.", ADMINS)
    update_producer: ProducerPayload = _q(r.update_producer, "Change some fields, data or the parent of a producer.",
                                          ADMINS)
    replace_producer: ProducerPayload = _q(r.replace_producer, "Replace every field of a producer.", ADMINS)
    validate_producer: ProducerPayload = _q(
        r.validate_producer, "Validate a draft producer; on failure the state stays and userErrors list why.", ADMINS)
    suspend_producer: ProducerPayload = _q(r.suspend_producer, "Suspend a validated producer.", ADMINS)
    unsuspend_producer: ProducerPayload = _q(r.unsuspend_producer, "Return a suspended producer to validated.",
                                             ADMINS)
    retire_producer: ProducerPayload = _q(r.retire_producer, "Retire a validated or suspended producer (final).",
                                          ADMINS)
    discard_producer: ProducerPayload = _q(r.discard_producer, "Discard a producer that is not retired (final).",
                                           ADMINS)
    create_producer_code: ProducerCodePayload = _q(
        r.create_producer_code, "Create a draft producer code, numbered from its plan when no code is given.", ADMINS)
    update_producer_code: ProducerCodePayload = _q(
        r.update_producer_code, "Change a producer code, its data, or move it to another producer.", ADMINS)
    replace_producer_code: ProducerCodePayload = _q(
        r.replace_producer_code, "Replace every field of a producer code.", ADMINS)
    validate_producer_code: ProducerCodePayload = _q(r.validate_producer_code, "Validate a draft producer code.",
                                                     ADMINS)
    suspend_producer_code: ProducerCodePayload = _q(r.suspend_producer_code, "Suspend a validated producer code.",
                                                    ADMINS)
    unsuspend_producer_code: ProducerCodePayload = _q(
        r.unsuspend_producer_code, "Return a suspended producer code to validated.", ADMINS)
    retire_producer_code: ProducerCodePayload = _q(r.retire_producer_code, "Retire a producer code (final).", ADMINS)
    discard_producer_code: ProducerCodePayload = _q(
        r.discard_producer_code, "Discard a producer code not used by a quote beyond draft or a policy (final).",
        ADMINS)
