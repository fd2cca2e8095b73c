"""Onboarding and offboarding fields: thin calls into app.onboarding and app.offboarding."""

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info

from app import offboarding
from app import onboarding as service
from app.errors import DomainError
from app.onboarding import OnboardRequest, PaymentSetup
from app.producers import ProducerChanges
from resolvers.context import GraphQLContext
from resolvers.ids import locator_of
from resolvers.licenses import load_one
from resolvers.pagination import ConnectionData, connection, page_request
from resolvers.payloads import Payload, ok, payload
from resolvers.producers import _changes, producer_locator

if TYPE_CHECKING:
    from schema.onboarding import (
        OnboardingDetailsInput,
        OnboardingStatus,
        OnboardProducerInput,
        PaymentSetupInput,
        StateAssignmentInput,
    )

Ctx = Info[GraphQLContext, None]
OnboardArg = Annotated["OnboardProducerInput", strawberry.lazy("schema.onboarding")]
DetailsArg = Annotated["OnboardingDetailsInput", strawberry.lazy("schema.onboarding")]
PaymentArg = Annotated["PaymentSetupInput", strawberry.lazy("schema.onboarding")]
StatesArg = Annotated["StateAssignmentInput", strawberry.lazy("schema.onboarding")]
StatusArg = Annotated["OnboardingStatus", strawberry.lazy("schema.onboarding")]

ONBOARDING_NOT_FOUND = "ONBOARDING_NOT_FOUND"


def _arg(description: str) -> Any:
    return strawberry.argument(description=description)


IdArg = Annotated[strawberry.ID, _arg("The onboarding's global id (or locator).")]
FirstArg = Annotated[int | None, _arg("Page size, counted from the start (or from `after`).")]
AfterArg = Annotated[str | None, _arg("Cursor to start after.")]
LastArg = Annotated[int | None, _arg("Page size, counted from the end (or from `before`).")]
BeforeArg = Annotated[str | None, _arg("Cursor to end before.")]


def onboarding_locator(value: object) -> str:
    return locator_of(value, "Onboarding", code=ONBOARDING_NOT_FOUND)


def loader(info: Ctx) -> Any:
    async def batch(ctx: Any, ids: list[str]) -> list[Any]:
        rows = {r.id: r for r in await service.onboardings_by_ids(ctx, ids)}
        return [rows.get(i) for i in ids]

    return info.context.load.named("onboarding", batch)


# ---- queries -------------------------------------------------------------------------------------

async def onboarding(info: Ctx, id: IdArg) -> Any:
    try:
        locator = onboarding_locator(id)
    except DomainError:
        return None
    return await loader(info).load(locator)


async def onboardings(info: Ctx, first: FirstArg = None, after: AfterArg = None, last: LastArg = None,
                      before: BeforeArg = None,
                      status: Annotated[list[StatusArg] | None, _arg("Only onboardings in these statuses.")] = None,
                      ) -> ConnectionData:
    statuses = [str(s.value) for s in status or []]
    result, total = await service.list_onboardings(info.context.svc, statuses,
                                                   page_request(first, after, last, before))
    for row in result.rows:
        loader(info).prime(row.id, row)
    return connection(result, total)


# ---- onboarding fields ---------------------------------------------------------------------------

async def onboarding_producer(root: Any, info: Ctx) -> Any:
    return await info.context.load.producer.load(root.producer_id)


async def onboarding_agency(root: Any, info: Ctx) -> Any:
    return await info.context.load.producer.load(root.agency_id)


async def onboarding_producer_code(root: Any, info: Ctx) -> Any:
    return await info.context.load.code.load(root.producer_code_id) if root.producer_code_id else None


async def onboarding_license_applications(root: Any, info: Ctx) -> list[Any]:
    found = await load_one(info, "license").load_many(list(root.created_license_ids or []))
    return [lic for lic in found if lic is not None]


def jurisdictions(info: Ctx) -> list[tuple[str, Any]]:
    return sorted(info.context.svc.config.jurisdictions.items())


def estimated_cost(root: Any, info: Ctx) -> Any:
    return service.estimated_cost(info.context.svc, root)


def payment(root: Any) -> Any:
    return service.payment_of(root)


# ---- mutations -----------------------------------------------------------------------------------

def _payment(data: Any) -> PaymentSetup:
    return PaymentSetup(data.new_license_paid_by.value, data.renewal_paid_by.value, data.auto_renewal)


@payload
async def onboard_producer(info: Ctx, input: Annotated[OnboardArg, _arg("Who to onboard, and into which agency.")]) -> Payload:
    request = OnboardRequest(
        email=input.email, agency_id=producer_locator(input.agency_id, "agencyId") if input.agency_id else None,
        ssn=input.ssn, last_name=input.last_name, npn=input.npn, license_number=input.license_number,
        state=input.state, gender=str(input.gender.value) if input.gender else None,
        payment=_payment(input.payment) if input.payment else None)
    record = await service.onboard_producer(info.context.svc, request)
    return ok(onboarding=record)


@payload
async def update_onboarding_details(info: Ctx, id: IdArg, input: Annotated[
        DetailsArg | None, _arg("Corrections to the producer's details; omit to confirm them as they are.")] = None) -> Payload:
    changes = _changes(input) if input is not None else ProducerChanges()
    record = await service.update_details(info.context.svc, onboarding_locator(id), changes)
    info.context.load.producer.clear(record.producer_id)
    return ok(onboarding=record)


@payload
async def set_onboarding_payment(info: Ctx, id: IdArg, input: Annotated[PaymentArg, _arg("The payment setup.")]) -> Payload:
    record = await service.set_payment(info.context.svc, onboarding_locator(id), _payment(input))
    return ok(onboarding=record)


@payload
async def assign_onboarding_states(info: Ctx, id: IdArg, states: Annotated[
        list[StatesArg] | None, _arg("Every state or territory to assign, each once, with its lines of "
                                     "authority.")] = None,
        no_new_states: Annotated[bool, _arg("True to say the producer gets no new state (states empty); "
                                            "the review needs states or this.")] = False) -> Payload:
    selections = [(s.jurisdiction, list(s.lines_of_authority)) for s in states or []]
    record = await service.assign_states(info.context.svc, onboarding_locator(id), selections,
                                         no_new_states=no_new_states)
    return ok(onboarding=record)


@payload
async def review_onboarding(info: Ctx, id: IdArg) -> Payload:
    record = await service.review(info.context.svc, onboarding_locator(id))
    return ok(onboarding=record)


@payload
async def finish_onboarding(info: Ctx, id: IdArg) -> Payload:
    record = await service.finish(info.context.svc, onboarding_locator(id))
    info.context.load.producer.clear(record.producer_id)
    return ok(onboarding=record)


@payload
async def remove_producers(info: Ctx, ids: Annotated[
        list[strawberry.ID], _arg("Global ids (or locators) of the producers to remove.")]) -> Payload:
    locators: list[str] = []
    for raw in ids:
        try:
            locators.append(producer_locator(raw))
        except DomainError:
            locators.append(str(raw))  # reported as NOT_FOUND below
    removals = await offboarding.remove_producers(info.context.svc, locators)
    for removal, raw in zip(removals, ids, strict=True):
        removal.id = str(raw)
    return ok(results=removals)
