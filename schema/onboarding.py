"""GraphQL shapes for onboarding producers into an agency (the wizard) and removing them (offboarding)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from persistence.onboarding import OnboardingRecord
from resolvers import onboarding as r
from schema.common import Connection, UserError
from schema.permissions import ADMINS, EVERYONE
from schema.producers import Gender, Producer, ProducerCode

if TYPE_CHECKING:
    from schema.licenses import License


@strawberry.enum(description="Where an onboarding stands.")
class OnboardingStatus(Enum):
    IN_PROGRESS = strawberry.enum_value("IN_PROGRESS", description="The wizard is under way; its producer is a draft.")
    COMPLETED = strawberry.enum_value("COMPLETED", description="Finished: the producer is onboarded.")
    CANCELLED = strawberry.enum_value("CANCELLED", description="Cancelled: the producer was removed (final).")


@strawberry.enum(description="The next wizard step still to be done (steps may be revisited in any order).")
class OnboardingStep(Enum):
    DETAILS = strawberry.enum_value("DETAILS", description="Enter or confirm the producer's details.")
    PAYMENT = strawberry.enum_value("PAYMENT", description="Choose who pays for licenses and renewals.")
    STATES = strawberry.enum_value("STATES", description="Choose the states and lines of authority.")
    REVIEW = strawberry.enum_value("REVIEW", description="Review what will be created and its fees.")
    FINISH = strawberry.enum_value("FINISH", description="Finish the onboarding (everything is ready).")
    DONE = strawberry.enum_value("DONE", description="Nothing left: the onboarding is finished.")


@strawberry.enum(description="Who pays a license fee: in the onboarding wizard and in a bulk onboarding job alike.")
class Payer(Enum):
    AGENCY = strawberry.enum_value("AGENCY", description="The agency pays.")
    PRODUCER = strawberry.enum_value("PRODUCER", description="The producer pays.")


@strawberry.enum(description="How the producer was found in the producer registry.")
class Identification(Enum):
    SSN = strawberry.enum_value("SSN", description="By SSN and last name.")
    NPN = strawberry.enum_value("NPN", description="By National Producer Number.")
    LICENSE = strawberry.enum_value("LICENSE", description="By license number and state.")
    NPN_VERIFIED_BY_SSN = strawberry.enum_value(
        "NPN_VERIFIED_BY_SSN", description="By National Producer Number, confirmed by the SSN given with it.")


@strawberry.enum(description="What happened to one producer of a removeProducers request.")
class RemovalResult(Enum):
    REMOVED = strawberry.enum_value("REMOVED", description="Removed: it is retired and its appointments terminated.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="No producer with that id is visible to you.")
    NOT_ALLOWED = strawberry.enum_value(
        "NOT_ALLOWED", description="Refused: you may not remove this producer, or its state does not allow it.")
    HAS_ACTIVE_DESCENDANTS = strawberry.enum_value(
        "HAS_ACTIVE_DESCENDANTS", description="Refused: active producers are below it and the tenant's "
        "configuration (offboarding.agencyRemoval: refuse) does not remove a subtree; see activeDescendants.")


@strawberry.type(description="An amount of money: a decimal string (two decimals) and an ISO 4217 currency.")
class Money:
    amount: str = strawberry.field(description="Decimal amount as a string, e.g. \"125.50\".")
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. USD.")


def _money(amount: Any, currency: str) -> Money:
    return Money(amount=str(amount), currency=currency)


@strawberry.type(description="Who pays for new licenses and renewals, and whether licenses renew automatically.")
class PaymentSetup:
    new_license_paid_by: Payer = strawberry.field(description="Who pays for new licenses.")
    renewal_paid_by: Payer = strawberry.field(description="Who pays for license renewals.")
    auto_renewal: bool = strawberry.field(description="Licenses renew automatically.")


@strawberry.type(description="A state or territory assigned to the producer, with the lines of authority chosen.")
class StateAssignment:
    jurisdiction: str = strawberry.field(description="Two-letter state or territory code.")
    lines_of_authority: list[str] = strawberry.field(description="Lines of authority chosen in that jurisdiction.")


@strawberry.type(description="The fee of one line of authority in one jurisdiction.")
class CostLine:
    jurisdiction: str = strawberry.field(description="Two-letter state or territory code.")
    line_of_authority: str = strawberry.field(description="The line of authority.")
    fee_amount: strawberry.Private[Any]
    currency: strawberry.Private[str]

    @strawberry.field(description="The license fee for this line of authority in this jurisdiction.")
    def fee(self) -> Money:
        return _money(self.fee_amount, self.currency)


@strawberry.type(description="The subtotal of one jurisdiction.")
class JurisdictionCost:
    jurisdiction: str = strawberry.field(description="Two-letter state or territory code.")
    subtotal: Money = strawberry.field(description="The sum of the fees of its chosen lines of authority.")


@strawberry.type(description="Estimated license cost of the assigned states and lines of authority.")
class CostEstimate:
    total: Money = strawberry.field(description="Total of every line.")
    lines: list[CostLine] = strawberry.field(description="One line per jurisdiction and line of authority.")
    by_jurisdiction: list[JurisdictionCost] = strawberry.field(description="Subtotals per jurisdiction.")


async def _estimated_cost(root: Any, info: strawberry.Info) -> CostEstimate:
    estimate = r.estimated_cost(root, info)
    return CostEstimate(
        total=_money(estimate.total, estimate.currency),
        lines=[CostLine(jurisdiction=x.jurisdiction, line_of_authority=x.line_of_authority, fee_amount=x.fee,
                        currency=x.currency) for x in estimate.lines],
        by_jurisdiction=[JurisdictionCost(jurisdiction=j, subtotal=_money(s, estimate.currency))
                         for j, s in estimate.by_jurisdiction])


@strawberry.type(description="A producer's onboarding into an agency: the wizard's progress, saved step by step.")
class Onboarding(relay.Node):
    id: relay.NodeID[str]

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, (cls, OnboardingRecord))

    @classmethod
    def resolve_nodes(cls, *, info: Any, node_ids: Any, required: bool = False) -> Any:
        return r.loader(info).load_many(list(node_ids))

    @strawberry.field(description="The onboarding's ULID locator.")
    def locator(self) -> str:
        return self.id

    status: OnboardingStatus = strawberry.field(description="In progress, completed or cancelled (producer removed).")
    current_step: OnboardingStep = strawberry.field(description="The next step still to be done.")
    identified_by: Identification = strawberry.field(description="How the producer was found in the registry.")
    details_reviewed: bool = strawberry.field(description="The producer's details were reviewed.")
    created_at: datetime = strawberry.field(description="When the producer was onboarded.")
    created_by: str = strawberry.field(description="Subject of the caller who onboarded it.")
    updated_at: datetime = strawberry.field(description="When a step was last saved.")
    reviewed_at: datetime | None = strawberry.field(description="When the assigned states were reviewed.")
    completed_at: datetime | None = strawberry.field(description="When the wizard was finished.")

    @strawberry.field(description="The states and territories assigned, with their lines of authority.")
    def states(self) -> list[StateAssignment]:
        raw: Any = self.states
        return [StateAssignment(jurisdiction=s["jurisdiction"], lines_of_authority=list(s["linesOfAuthority"]))
                for s in raw or []]

    @strawberry.field(description="True when the states step explicitly assigned no new state (noNewStates).")
    def no_new_states(self) -> bool:
        return bool(self.states_assigned) and not self.states  # type: ignore[attr-defined]

    @strawberry.field(description="The payment setup; null until it is set.")
    def payment(self) -> PaymentSetup | None:
        setup = r.payment(self)
        if setup is None:
            return None
        return PaymentSetup(new_license_paid_by=Payer(setup.new_license_paid_by),
                            renewal_paid_by=Payer(setup.renewal_paid_by), auto_renewal=setup.auto_renewal)

    estimated_cost: CostEstimate = strawberry.field(
        resolver=_estimated_cost, description="Estimated license cost of the assigned states and lines of authority "
                                              "(the figure the wizard shows in its corner).")
    producer: Producer | None = strawberry.field(resolver=r.onboarding_producer, description="The onboarded producer.")
    agency: Producer | None = strawberry.field(resolver=r.onboarding_agency,
                                               description="The agency the producer joined.")
    producer_code: ProducerCode | None = strawberry.field(
        resolver=r.onboarding_producer_code, description="The producer code finishing gave the producer (the type "
                                                         "the tenant's onboarding.codeType names); null before.")
    license_applications: list[Annotated[License, strawberry.lazy("schema.licenses")]] = strawberry.field(
        resolver=r.onboarding_license_applications,
        description="The license applications finishing opened: one per assigned state the producer held no usable "
                    "license in (state APPLIED, no number yet).")


@strawberry.type(description="A line of authority a jurisdiction licenses, with its license fee.")
class JurisdictionLineOfAuthority:
    code: str = strawberry.field(description="The line's key, as assignOnboardingStates takes it, e.g. Life.")
    name: str = strawberry.field(description="The line's name to show (its description when configured).")
    fee: Money = strawberry.field(description="The license fee of this line in this jurisdiction.")


@strawberry.enum(description="What kind of jurisdiction it is.")
class JurisdictionKind(Enum):
    STATE = strawberry.enum_value("state", description="One of the 50 states.")
    DISTRICT = strawberry.enum_value("district", description="The District of Columbia.")
    TERRITORY = strawberry.enum_value("territory", description="A territory, e.g. Puerto Rico or Guam.")


@strawberry.type(description="A state, district or territory from the tenant's configuration, for the wizard's "
                             "state picker.")
class Jurisdiction:
    code: str = strawberry.field(description="Two-letter code, e.g. CA.")
    name: str = strawberry.field(description="Full name, e.g. California.")
    kind: JurisdictionKind = strawberry.field(description="State, district or territory.")
    lines_of_authority: list[JurisdictionLineOfAuthority] = strawberry.field(
        description="The lines of authority it licenses, with their fees.")


def _jurisdictions(info: strawberry.Info) -> list[Jurisdiction]:
    return [Jurisdiction(code=code, name=j.name, kind=JurisdictionKind(j.kind), lines_of_authority=[
        JurisdictionLineOfAuthority(code=loa, name=line.description or loa, fee=_money(line.fee, j.currency))
        for loa, line in j.linesOfAuthority.items()]) for code, j in r.jurisdictions(info)]


@strawberry.input(description="Payment setup for an onboarded producer.")
class PaymentSetupInput:
    new_license_paid_by: Payer = strawberry.field(description="Who pays for new licenses.")
    renewal_paid_by: Payer = strawberry.field(description="Who pays for license renewals.")
    auto_renewal: bool = strawberry.field(description="Renew licenses automatically.")


@strawberry.input(description="Onboard one producer: exactly one identification (SSN and last name, NPN, or license "
                              "number and state), plus email.")
class OnboardProducerInput:
    email: str = strawberry.field(description="The producer's email address.")
    ssn: str | None = strawberry.field(default=None, description="Social Security Number (with lastName).")
    last_name: str | None = strawberry.field(default=None, description="Last name, checked against the registry "
                                                                       "(with ssn).")
    npn: str | None = strawberry.field(default=None, description="National Producer Number.")
    license_number: str | None = strawberry.field(default=None, description="A license number (with state).")
    state: str | None = strawberry.field(default=None, description="The state that issued licenseNumber.")
    agency_id: strawberry.ID | None = strawberry.field(
        default=None, description="The agency the producer joins; defaults to your agency (tenant admins must "
                                  "give it).")
    gender: Gender | None = strawberry.field(default=None, description="Gender, overriding the registry's.")
    payment: PaymentSetupInput | None = strawberry.field(default=None, description="Payment setup, if known now.")


@strawberry.input(description="Corrections to the onboarded producer's details; omitted fields stay as they are.")
class OnboardingDetailsInput:
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="Given name.")
    middle_name: str | None = strawberry.field(default=strawberry.UNSET, description="Middle name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Family name.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Contact email.")
    gender: Gender | None = strawberry.field(default=strawberry.UNSET, description="Gender.")


@strawberry.input(description="A state or territory to assign, with lines of authority from its own list.")
class StateAssignmentInput:
    jurisdiction: str = strawberry.field(description="Two-letter state or territory code, e.g. CA.")
    lines_of_authority: list[str] = strawberry.field(description="Lines of authority offered by that jurisdiction.")


@strawberry.type(description="Result of an onboarding mutation.")
class OnboardingPayload:
    onboarding: Onboarding | None = strawberry.field(description="The onboarding after the step (null on failure).")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="What happened to one producer of a removeProducers request.")
class ProducerRemoval:
    id: strawberry.ID = strawberry.field(description="The id as requested.")
    result: RemovalResult = strawberry.field(description="Removed, not found (or not visible), not allowed, or "
                                                         "refused for its active descendants.")
    message: str = strawberry.field(description="Why, when not removed.")
    producer: Producer | None = strawberry.field(description="The producer after removal; null when not found.")
    descendants: list[Producer] = strawberry.field(
        description="The producers below it removed with it (retired, or discarded when draft, with their codes "
                    "and appointments), not counting those requested themselves.")
    active_descendants: list[Producer] = strawberry.field(
        description="With HAS_ACTIVE_DESCENDANTS: the active producers below that keep it from being removed.")


@strawberry.type(description="Result of removeProducers: one entry per requested id, in request order.")
class RemoveProducersPayload:
    results: list[ProducerRemoval] = strawberry.field(description="One result per requested id.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the whole request.")


def _f(resolver: Any, description: str) -> Any:
    return strawberry.field(resolver=resolver, description=description, permission_classes=[ADMINS])


@strawberry.type
class OnboardingQuery:
    onboarding: Onboarding | None = _f(r.onboarding, "An onboarding by global id or locator; null when not visible.")
    onboardings: Connection[Onboarding] | None = _f(
        r.onboardings, "Onboardings visible to you, oldest first; filter by status for those in progress. Null "
        "(with a FORBIDDEN error) when your roles do not allow it.")
    jurisdictions: list[Jurisdiction] = strawberry.field(
        resolver=_jurisdictions, permission_classes=[EVERYONE],
        description="The tenant's states, district and territories with their lines of authority and fees, in code "
                    "order: what the onboarding wizard's state picker offers.")


@strawberry.type
class OnboardingMutation:
    onboard_producer: OnboardingPayload = _f(
        r.onboard_producer, "Find a producer in the registry, add it to an agency with its licenses, and open its "
                            "onboarding wizard.")
    update_onboarding_details: OnboardingPayload = _f(
        r.update_onboarding_details, "Wizard step: review (and correct) the producer's details.")
    set_onboarding_payment: OnboardingPayload = _f(r.set_onboarding_payment, "Wizard step: payment setup.")
    assign_onboarding_states: OnboardingPayload = _f(
        r.assign_onboarding_states, "Wizard step: assign states and territories, each once with its lines of "
                                    "authority, or say noNewStates (replaces the previous assignment; review "
                                    "again after).")
    review_onboarding: OnboardingPayload = _f(
        r.review_onboarding, "Wizard step: the assigned states were reviewed (needs the states step).")
    finish_onboarding: OnboardingPayload = _f(
        r.finish_onboarding, "Finish the reviewed wizard: license applications for assigned states the producer is "
                             "not licensed in, a producer code, and the producer and code validated (as the "
                             "tenant's onboarding configuration says).")
    remove_producers: RemoveProducersPayload = _f(
        r.remove_producers, "Offboard producers: each is retired (discarded when draft) with its producer codes, "
                            "its appointments are terminated, and so is its whole subtree (or, when the tenant "
                            "refuses subtree removal, it is refused while active producers are below).")
