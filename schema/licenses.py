"""GraphQL shapes for licenses and appointments, producer qualification, with their queries and mutations."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay

from persistence.licenses import AppointmentRecord, LicenseRecord
from resolvers import licenses as r
from schema.common import JSON, Connection, QualificationRequirement, UserError, ValidationResult
from schema.common import validation_result as _validation_result
from schema.error_codes import ErrorCode
from schema.permissions import ADMINS, EVERYONE
from schema.producers import Producer


def _is(record_type: type) -> Any:
    @classmethod  # type: ignore[misc]
    def is_type_of(cls: type, obj: Any, info: Any) -> bool:
        return isinstance(obj, (cls, record_type))

    return is_type_of


@strawberry.enum(description="State of a license or appointment.")
class CredentialState(Enum):
    DRAFT = strawberry.enum_value("draft", description="Being prepared; does not qualify yet.")
    VALIDATED = strawberry.enum_value("validated", description="Checked and in force; may qualify.")
    DISCARDED = strawberry.enum_value("discarded", description="Withdrawn (final).")
    APPLIED = strawberry.enum_value(
        "applied", description="Applied for (e.g. during onboarding), no number issued yet; does not qualify until the "
        "jurisdiction's number is set and it is validated.")


@strawberry.enum(description="State of an appointment: a license's states, and terminated.")
class AppointmentState(Enum):
    DRAFT = strawberry.enum_value("draft", description="Being prepared; does not qualify yet.")
    VALIDATED = strawberry.enum_value("validated", description="Checked and in force; may qualify.")
    DISCARDED = strawberry.enum_value("discarded", description="Withdrawn (final).")
    TERMINATED = strawberry.enum_value("terminated", description="Ended with a reason and a date (final); a "
                                       "terminated appointment never qualifies.")


@strawberry.enum(description="Why an appointment was terminated.")
class AppointmentTerminationReason(Enum):
    OFFBOARDED = strawberry.enum_value("offboarded", description="The producer was removed (offboarding).")
    FOR_CAUSE = strawberry.enum_value("for_cause", description="The carrier ended it for cause.")
    WITHOUT_CAUSE = strawberry.enum_value("without_cause", description="The carrier ended it without cause.")
    VOLUNTARY = strawberry.enum_value("voluntary", description="The producer asked to end it.")
    OTHER = strawberry.enum_value("other", description="Any other reason.")


@strawberry.enum(description="Whether the producer resides in the licensing jurisdiction.")
class Residency(Enum):
    RESIDENT = strawberry.enum_value(
        "resident", description="The producer lives in the jurisdiction (a resident license).")
    NON_RESIDENT = strawberry.enum_value(
        "non-resident", description="The producer lives elsewhere (a non-resident license).")




@strawberry.type(description="A producer's license: the jurisdictions, products, codes and lines of authority it "
                             "covers, and when.")
class License(relay.Node):
    id: relay.NodeID[str]
    is_type_of = _is(LicenseRecord)

    @classmethod
    def resolve_nodes(cls, *, info: Any, node_ids: Any, required: bool = False) -> Any:
        return r.load_one(info, "license").load_many(list(node_ids))

    @strawberry.field(description="The license's ULID locator.")
    def locator(self) -> str:
        return self.id

    type: str = strawberry.field(description="Configured license type name.")
    license_number: str | None = strawberry.field(
        description="The number the jurisdiction issued; null while the license is an application (APPLIED).")
    jurisdictions: list[str] = strawberry.field(description="Jurisdictions covered; empty covers every one.")
    products: list[str] = strawberry.field(description="Products covered; empty covers every one.")
    producer_codes: list[str] = strawberry.field(description="Producer code values covered; empty covers every one.")
    lines_of_authority: list[str] = strawberry.field(description="Lines of authority held (applied for, when an "
                                                                 "application).")
    residency: Residency = strawberry.field(description="Resident or non-resident license.")
    license_class: str | None = strawberry.field(description="License class, when the jurisdiction uses one.")
    effective_time: datetime | None = strawberry.field(description="Start of validity; null means open.")
    expiration_time: datetime | None = strawberry.field(description="End of validity (exclusive); null means open.")
    data: JSON = strawberry.field(description="Extension data, as configured for the license type.")
    state: CredentialState = strawberry.field(
        description="Draft, validated, discarded, or applied (an application for a new state: no number yet, never "
                    "qualifies; validated once its number is set).")
    state_reason: str | None = strawberry.field(
        description="Why the system put the license in its state, e.g. inactive or expired in the producer registry, "
                    "or applied for during onboarding; null when a person chose it.")
    created_at: datetime = strawberry.field(description="When the license was created.")
    updated_at: datetime = strawberry.field(description="When the license last changed.")
    producer: Producer | None = strawberry.field(
        resolver=r.credential_producer, description="The producer holding the license.")

    @strawberry.field(description="Outcome of the last validation request.")
    def validation_result(self) -> ValidationResult | None:
        return _validation_result(self.validation_result)  # type: ignore[arg-type]


@strawberry.type(description="A carrier's appointment of a producer, with the licenses it rests on.")
class Appointment(relay.Node):
    id: relay.NodeID[str]
    is_type_of = _is(AppointmentRecord)

    @classmethod
    def resolve_nodes(cls, *, info: Any, node_ids: Any, required: bool = False) -> Any:
        return r.load_one(info, "appointment").load_many(list(node_ids))

    @strawberry.field(description="The appointment's ULID locator.")
    def locator(self) -> str:
        return self.id

    type: str = strawberry.field(description="Configured appointment type name.")
    appointment_number: str = strawberry.field(description="The appointment number.")
    jurisdictions: list[str] = strawberry.field(description="Jurisdictions covered; empty covers every one.")
    products: list[str] = strawberry.field(description="Products covered; empty covers every one.")
    producer_codes: list[str] = strawberry.field(description="Producer code values covered; empty covers every one.")
    lines_of_authority: list[str] = strawberry.field(description="Lines of authority held.")
    residency: Residency = strawberry.field(description="Resident or non-resident appointment.")
    license_class: str | None = strawberry.field(description="License class, when relevant.")
    effective_time: datetime | None = strawberry.field(description="Start of validity; null means open.")
    expiration_time: datetime | None = strawberry.field(description="End of validity (exclusive); null means open.")
    data: JSON = strawberry.field(description="Extension data, as configured for the appointment type.")
    state: AppointmentState = strawberry.field(description="Draft, validated, discarded or terminated.")
    termination_reason: AppointmentTerminationReason | None = strawberry.field(
        description="Why the appointment was terminated; null unless terminated.")
    terminated_on: date | None = strawberry.field(description="The date it was terminated; null unless terminated.")
    created_at: datetime = strawberry.field(description="When the appointment was created.")
    updated_at: datetime = strawberry.field(description="When the appointment last changed.")
    producer: Producer | None = strawberry.field(
        resolver=r.credential_producer, description="The producer holding the appointment.")
    licenses: list[License] = strawberry.field(resolver=r.appointment_licenses,
                                               description="The licenses this appointment is linked to.")

    @strawberry.field(description="Outcome of the last validation request.")
    def validation_result(self) -> ValidationResult | None:
        return _validation_result(self.validation_result)  # type: ignore[arg-type]


@strawberry.type(description="One reason a producer is not qualified.")
class QualificationReason:
    code: ErrorCode = strawberry.field(description="The failed criterion, e.g. EXPIRED or NO_LICENSE.")
    message: str = strawberry.field(description="What fails, for a person.")
    credential: str | None = strawberry.field(description="Locator of the license or appointment concerned.")


@strawberry.type(description="Whether a producer may write a product in a jurisdiction at a time, and why not.")
class Qualification:
    qualified: bool = strawberry.field(description="True when the product's requirement is met.")
    requirement: QualificationRequirement = strawberry.field(description="The product's producerQualification: "
                                                                         "none, license or "
                                                    "appointment.")
    reasons: list[QualificationReason] = strawberry.field(description="Every failed criterion; empty when qualified.")


_FIELDS_DOC = {
    "jurisdictions": "Jurisdiction codes (e.g. CA); each must be configured for the tenant.",
    "lines_of_authority": "Lines of authority; each must exist in one of the jurisdictions.",
}


@strawberry.input(description="A whole license, for replaceLicense.")
class LicenseInput:
    type: str = strawberry.field(description="Configured, non-abstract license type.")
    license_number: str = strawberry.field(description="The number the jurisdiction issued.")
    jurisdictions: list[str] = strawberry.field(default_factory=list, description=_FIELDS_DOC["jurisdictions"])
    products: list[str] = strawberry.field(default_factory=list, description="Products covered; empty for all.")
    producer_codes: list[str] = strawberry.field(default_factory=list,
                                                 description="Code values of the producer covered; empty for all.")
    lines_of_authority: list[str] = strawberry.field(default_factory=list,
                                                     description=_FIELDS_DOC["lines_of_authority"])
    residency: Residency = strawberry.field(default=Residency.RESIDENT, description="Resident or non-resident.")
    license_class: str | None = strawberry.field(default=None, description="License class.")
    effective_time: datetime | None = strawberry.field(default=None, description="Start of validity.")
    expiration_time: datetime | None = strawberry.field(default=None, description="End of validity (exclusive).")
    data: JSON | None = strawberry.field(default=None, description="Extension data for the type.")


@strawberry.input(description="A new license for a producer.")
class CreateLicenseInput(LicenseInput):
    producer_id: strawberry.ID = strawberry.field(description="The producer holding the license.")


@strawberry.input(description="Changes to a license; omitted fields stay as they are.")
class UpdateLicenseInput:
    type: str | None = strawberry.field(default=None, description="Another license type.")
    license_number: str | None = strawberry.field(default=strawberry.UNSET, description="New license number.")
    jurisdictions: list[str] | None = strawberry.field(default=strawberry.UNSET,
                                                       description=_FIELDS_DOC["jurisdictions"])
    products: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Products covered.")
    producer_codes: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Codes covered.")
    lines_of_authority: list[str] | None = strawberry.field(default=strawberry.UNSET,
                                                            description=_FIELDS_DOC["lines_of_authority"])
    residency: Residency | None = strawberry.field(default=strawberry.UNSET, description="Residency.")
    license_class: str | None = strawberry.field(default=strawberry.UNSET, description="License class.")
    effective_time: datetime | None = strawberry.field(default=strawberry.UNSET, description="Start of validity.")
    expiration_time: datetime | None = strawberry.field(default=strawberry.UNSET, description="End of validity.")
    data: JSON | None = strawberry.field(default=None, description="Extension data keys to set.")


@strawberry.input(description="A whole appointment, for replaceAppointment.")
class AppointmentInput:
    type: str = strawberry.field(description="Configured, non-abstract appointment type.")
    appointment_number: str = strawberry.field(description="The appointment number.")
    license_ids: list[strawberry.ID] = strawberry.field(default_factory=list,
                                                        description="Licenses of the same producer it rests on.")
    jurisdictions: list[str] = strawberry.field(default_factory=list, description=_FIELDS_DOC["jurisdictions"])
    products: list[str] = strawberry.field(default_factory=list, description="Products covered; empty for all.")
    producer_codes: list[str] = strawberry.field(default_factory=list,
                                                 description="Code values of the producer covered; empty for all.")
    lines_of_authority: list[str] = strawberry.field(default_factory=list,
                                                     description=_FIELDS_DOC["lines_of_authority"])
    residency: Residency = strawberry.field(default=Residency.RESIDENT, description="Resident or non-resident.")
    license_class: str | None = strawberry.field(default=None, description="License class.")
    effective_time: datetime | None = strawberry.field(default=None, description="Start of validity.")
    expiration_time: datetime | None = strawberry.field(default=None, description="End of validity (exclusive).")
    data: JSON | None = strawberry.field(default=None, description="Extension data for the type.")


@strawberry.input(description="A new appointment for a producer.")
class CreateAppointmentInput(AppointmentInput):
    producer_id: strawberry.ID = strawberry.field(description="The producer appointed.")


@strawberry.input(description="Changes to an appointment; omitted fields stay as they are.")
class UpdateAppointmentInput:
    type: str | None = strawberry.field(default=None, description="Another appointment type.")
    appointment_number: str | None = strawberry.field(default=strawberry.UNSET, description="New number.")
    license_ids: list[strawberry.ID] | None = strawberry.field(default=strawberry.UNSET, description="Linked licenses.")
    jurisdictions: list[str] | None = strawberry.field(default=strawberry.UNSET,
                                                       description=_FIELDS_DOC["jurisdictions"])
    products: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Products covered.")
    producer_codes: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Codes covered.")
    lines_of_authority: list[str] | None = strawberry.field(default=strawberry.UNSET,
                                                            description=_FIELDS_DOC["lines_of_authority"])
    residency: Residency | None = strawberry.field(default=strawberry.UNSET, description="Residency.")
    license_class: str | None = strawberry.field(default=strawberry.UNSET, description="License class.")
    effective_time: datetime | None = strawberry.field(default=strawberry.UNSET, description="Start of validity.")
    expiration_time: datetime | None = strawberry.field(default=strawberry.UNSET, description="End of validity.")
    data: JSON | None = strawberry.field(default=None, description="Extension data keys to set.")


@strawberry.type(description="Result of a license mutation.")
class LicensePayload:
    license: License | None = strawberry.field(description="The license after the change (or as it stayed).")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="Result of an appointment mutation.")
class AppointmentPayload:
    appointment: Appointment | None = strawberry.field(description="The appointment after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _q(resolver: Any, description: str, permission: Any) -> Any:
    return strawberry.field(resolver=resolver, description=description, permission_classes=[permission])


@strawberry.type
class LicenseQuery:
    license: License | None = _q(r.license, "A license by global id or locator; null when not visible.", EVERYONE)
    appointment: Appointment | None = _q(r.appointment, "An appointment by global id or locator; null when not "
                                         "visible.", EVERYONE)
    licenses: Connection[License] = _q(
        r.licenses, "Licenses visible to you that expire within `expiringWithin` days from now (upcoming "
        "renewals), draft or validated.", EVERYONE)


@strawberry.type
class LicenseMutation:
    create_license: LicensePayload = _q(r.create_license, "Create a draft license for a producer.", ADMINS)
    update_license: LicensePayload = _q(r.update_license, "Change some fields of a license.", ADMINS)
    replace_license: LicensePayload = _q(r.replace_license, "Replace every field of a license.", ADMINS)
    validate_license: LicensePayload = _q(r.validate_license, "Validate a draft license, or a license application (APPLIED) once its number is set.", ADMINS)
    discard_license: LicensePayload = _q(r.discard_license, "Discard a draft, applied or validated license (final).", ADMINS)
    create_appointment: AppointmentPayload = _q(r.create_appointment, "Create a draft appointment.", ADMINS)
    update_appointment: AppointmentPayload = _q(r.update_appointment, "Change some fields of an appointment.",
                                                ADMINS)
    replace_appointment: AppointmentPayload = _q(r.replace_appointment, "Replace every field of an appointment.",
                                                 ADMINS)
    validate_appointment: AppointmentPayload = _q(r.validate_appointment, "Validate a draft appointment.", ADMINS)
    discard_appointment: AppointmentPayload = _q(r.discard_appointment, "Discard an appointment (final).", ADMINS)
    terminate_appointment: AppointmentPayload = _q(
        r.terminate_appointment, "Terminate a validated appointment with a reason and a date (final); it never "
        "qualifies again.", ADMINS)
