"""License and appointment fields: thin calls into app.licenses, loaders batched over producers."""

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info

from app import licenses as service
from app.errors import DomainError
from app.licenses import CredentialChanges
from app.underwriting import qualification as qualify_producer
from resolvers.context import GraphQLContext
from resolvers.ids import locator_of
from resolvers.loaders import _by_key, _grouped
from resolvers.pagination import ConnectionData, connection, list_connection, page_request
from resolvers.payloads import Payload, failed, json_object, ok, payload

if TYPE_CHECKING:
    from schema.licenses import (
        AppointmentInput,
        AppointmentTerminationReason,
        CreateAppointmentInput,
        CreateLicenseInput,
        LicenseInput,
        UpdateAppointmentInput,
        UpdateLicenseInput,
    )

Ctx = Info[GraphQLContext, None]
CreateLicenseArg = Annotated["CreateLicenseInput", strawberry.lazy("schema.licenses")]
UpdateLicenseArg = Annotated["UpdateLicenseInput", strawberry.lazy("schema.licenses")]
CreateAppointmentArg = Annotated["CreateAppointmentInput", strawberry.lazy("schema.licenses")]
UpdateAppointmentArg = Annotated["UpdateAppointmentInput", strawberry.lazy("schema.licenses")]
LicenseArg = Annotated["LicenseInput", strawberry.lazy("schema.licenses")]
ReasonArg = Annotated["AppointmentTerminationReason", strawberry.lazy("schema.licenses"),
                      strawberry.argument(description="Why the appointment ends.")]
OnArg = Annotated[date | None, strawberry.argument(description="The termination date; today (UTC) when omitted.")]
AppointmentArg = Annotated["AppointmentInput", strawberry.lazy("schema.licenses")]

TYPE_NAMES = {"license": "License", "appointment": "Appointment"}


def _arg(description: str) -> Any:
    return strawberry.argument(description=description)


IdArg = Annotated[strawberry.ID, _arg("The object's global id (or locator).")]
FirstArg = Annotated[int | None, _arg("Page size, counted from the start (or from `after`).")]
AfterArg = Annotated[str | None, _arg("Cursor to start after.")]
LastArg = Annotated[int | None, _arg("Page size, counted from the end (or from `before`).")]
BeforeArg = Annotated[str | None, _arg("Cursor to end before.")]
ExpiringArg = Annotated[int, _arg("Days from now: licenses expiring before then (and not yet expired).")]
ProductArg = Annotated[str, _arg("Product name, as configured.")]
JurisdictionArg = Annotated[str, _arg("Jurisdiction code, e.g. CA.")]
AtArg = Annotated[datetime | None, _arg("When to check; default now.")]
CodeArg = Annotated[str | None, _arg("Producer code value the business would be written through.")]


def locator(value: object, kind: str, field: str = "id") -> str:
    return locator_of(value, TYPE_NAMES[kind], code=service.NOT_FOUND[kind], field=field)


def _by_id_loader(kind: str) -> Any:
    async def batch(ctx: Any, ids: list[str]) -> list[Any]:
        return _by_key(await service.credentials_by_ids(ctx, kind, ids), ids)  # type: ignore[arg-type]
    return batch


def _by_producer_loader(kind: str) -> Any:
    async def batch(ctx: Any, producer_ids: list[str]) -> list[list[Any]]:
        rows = await service.credentials_of_producers(ctx, kind, producer_ids)  # type: ignore[arg-type]
        return _grouped(rows, producer_ids, "producer_id")
    return batch


def load_one(info: Ctx, kind: str) -> Any:
    return info.context.load.named(kind, _by_id_loader(kind))


def load_of_producer(info: Ctx, kind: str) -> Any:
    return info.context.load.named(f"{kind}s_by_producer", _by_producer_loader(kind))


# ---- queries ---------------------------------------------------------------------------------

async def license(info: Ctx, id: IdArg) -> Any:
    try:
        return await load_one(info, "license").load(locator(id, "license"))
    except DomainError:
        return None


async def appointment(info: Ctx, id: IdArg) -> Any:
    try:
        return await load_one(info, "appointment").load(locator(id, "appointment"))
    except DomainError:
        return None


async def licenses(info: Ctx, expiring_within: ExpiringArg, first: FirstArg = None, after: AfterArg = None,
                   last: LastArg = None, before: BeforeArg = None) -> ConnectionData:
    result, total = await service.list_expiring(info.context.svc, expiring_within, [],
                                                page_request(first, after, last, before))
    return connection(result, total)


# ---- fields ----------------------------------------------------------------------------------

async def producer_licenses(root: Any, info: Ctx, first: FirstArg = None, after: AfterArg = None) -> ConnectionData:
    return list_connection(await load_of_producer(info, "license").load(root.id), first, after)


async def producer_license_applications(root: Any, info: Ctx) -> list[Any]:
    return [lic for lic in await load_of_producer(info, "license").load(root.id) if lic.state == "applied"]


async def producer_appointments(root: Any, info: Ctx, first: FirstArg = None,
                                after: AfterArg = None) -> ConnectionData:
    return list_connection(await load_of_producer(info, "appointment").load(root.id), first, after)


async def producer_qualification(root: Any, info: Ctx, product: ProductArg, jurisdiction: JurisdictionArg, at: AtArg = None,
                                 producer_code: CodeArg = None) -> Any:
    config = info.context.svc.config
    kind = config.product(product).producerQualification
    credentials = await load_of_producer(info, kind).load(root.id) if kind != "none" else []
    return qualify_producer(config, root.id, credentials, product=product, jurisdiction=jurisdiction,
                            at=at or datetime.now().astimezone(), producer_code=producer_code)


async def credential_producer(root: Any, info: Ctx) -> Any:
    return await info.context.load.producer.load(root.producer_id)


async def appointment_licenses(root: Any, info: Ctx) -> list[Any]:
    found = await load_one(info, "license").load_many(list(root.license_ids or []))
    return [f for f in found if f is not None]


# ---- mutations -------------------------------------------------------------------------------

def _changes(data: Any, kind: str, *, type_name: str | None) -> CredentialChanges:
    changes = CredentialChanges(type=type_name)
    number = getattr(data, f"{kind}_number", strawberry.UNSET)
    if number is not strawberry.UNSET:
        changes.number = number
    for name in ("jurisdictions", "products", "producer_codes", "lines_of_authority", "license_class",
                 "effective_time", "expiration_time"):
        value = getattr(data, name, strawberry.UNSET)
        if value is not strawberry.UNSET:
            setattr(changes, name, value)
    residency = getattr(data, "residency", strawberry.UNSET)
    if residency not in (strawberry.UNSET, None):
        changes.residency = residency.value
    license_ids = getattr(data, "license_ids", strawberry.UNSET)
    if license_ids not in (strawberry.UNSET, None):
        changes.license_ids = [locator(i, "license", "licenseIds") for i in license_ids]
    if getattr(data, "data", None) is not None:
        changes.data = json_object(data.data, "data")
    return changes


def _producer_id(value: Any) -> str:
    return locator_of(value, "Producer", code="PRODUCER_NOT_FOUND", field="producerId")


@payload
async def create_license(info: Ctx, input: Annotated[CreateLicenseArg, _arg("The license or appointment fields.")]) -> Payload:
    record = await service.create_credential(info.context.svc, "license", _producer_id(input.producer_id),
                                             _changes(input, "license", type_name=input.type))
    return ok(license=record)


@payload
async def update_license(info: Ctx, id: IdArg, input: Annotated[UpdateLicenseArg, _arg("The license or appointment fields.")]) -> Payload:
    record = await service.update_credential(info.context.svc, "license", locator(id, "license"),
                                             _changes(input, "license", type_name=input.type))
    return ok(license=record)


@payload
async def replace_license(info: Ctx, id: IdArg, input: Annotated[LicenseArg, _arg("The license or appointment fields.")]) -> Payload:
    record = await service.update_credential(info.context.svc, "license", locator(id, "license"),
                                             _changes(input, "license", type_name=input.type), replace=True)
    return ok(license=record)


@payload
async def create_appointment(info: Ctx, input: Annotated[CreateAppointmentArg, _arg("The license or appointment fields.")]) -> Payload:
    record = await service.create_credential(info.context.svc, "appointment", _producer_id(input.producer_id),
                                             _changes(input, "appointment", type_name=input.type))
    return ok(appointment=record)


@payload
async def update_appointment(info: Ctx, id: IdArg, input: Annotated[UpdateAppointmentArg, _arg("The license or appointment fields.")]) -> Payload:
    record = await service.update_credential(info.context.svc, "appointment", locator(id, "appointment"),
                                             _changes(input, "appointment", type_name=input.type))
    return ok(appointment=record)


@payload
async def replace_appointment(info: Ctx, id: IdArg, input: Annotated[AppointmentArg, _arg("The license or appointment fields.")]) -> Payload:
    record = await service.update_credential(info.context.svc, "appointment", locator(id, "appointment"),
                                             _changes(input, "appointment", type_name=input.type), replace=True)
    return ok(appointment=record)


async def _transition(info: Ctx, kind: str, id: IdArg, action: str) -> Payload:
    outcome = await service.transition_credential(info.context.svc, kind, locator(id, kind), action)  # type: ignore[arg-type]
    if outcome.problems:
        return failed(outcome.problems, **{kind: outcome.record})
    return ok(**{kind: outcome.record})


@payload
async def validate_license(info: Ctx, id: IdArg) -> Payload:
    return await _transition(info, "license", id, "validate")


@payload
async def discard_license(info: Ctx, id: IdArg) -> Payload:
    return await _transition(info, "license", id, "discard")


@payload
async def validate_appointment(info: Ctx, id: IdArg) -> Payload:
    return await _transition(info, "appointment", id, "validate")


@payload
async def discard_appointment(info: Ctx, id: IdArg) -> Payload:
    return await _transition(info, "appointment", id, "discard")



@payload
async def terminate_appointment(info: Ctx, id: IdArg, reason: ReasonArg, date: OnArg = None) -> Payload:
    record = await service.terminate_appointment(info.context.svc, locator(id, "appointment"), str(reason.value), date)
    return ok(appointment=record)
