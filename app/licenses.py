"""License and appointment services: create, update, replace, validate, discard, and look-ups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.context import ADMINS, ServiceContext
from app.errors import DomainError, NotFound, Problem
from app.producers import UNSET, ValidationOutcome, check_type, result_of
from app.producers import not_found as producer_not_found
from app.queries import PageRequest, paged
from app.rules.data import validate_data
from app.tenant_config import TenantConfig
from persistence import licenses as store
from persistence import producers as producer_store
from persistence.base import utcnow
from persistence.db import transaction
from persistence.licenses import AppointmentRecord, LicenseRecord
from persistence.pagination import Page

Kind = Literal["license", "appointment"]
STATES = ("draft", "validated", "discarded", "applied")  # applied: a license application, no number yet
RESIDENCIES = ("resident", "non-resident")
TRANSITIONS = {("draft", "validate"): "validated", ("draft", "discard"): "discarded",
               ("validated", "discard"): "discarded", ("applied", "validate"): "validated",
               ("applied", "discard"): "discarded"}
# an appointment also ends by termination (terminal, with a reason and a date): it never qualifies again
APPOINTMENT_TRANSITIONS = {**TRANSITIONS, ("validated", "terminate"): "terminated"}
TERMINATION_REASONS = ("offboarded", "for_cause", "without_cause", "voluntary", "other")
ENDED = ("discarded", "terminated")


@dataclass(frozen=True)
class KindInfo:
    table: Any
    category: str
    number_attr: str
    label: str


KINDS: dict[str, KindInfo] = {
    "license": KindInfo(LicenseRecord, "producerLicenses", "license_number", "license"),
    "appointment": KindInfo(AppointmentRecord, "producerAppointments", "appointment_number", "appointment"),
}


@dataclass
class CredentialChanges:
    """What a create, update or replace asks for; UNSET fields are left as they are."""

    type: str | None = None
    number: Any = UNSET
    jurisdictions: Any = UNSET
    products: Any = UNSET
    producer_codes: Any = UNSET
    lines_of_authority: Any = UNSET
    residency: Any = UNSET
    license_class: Any = UNSET
    effective_time: Any = UNSET
    expiration_time: Any = UNSET
    license_ids: Any = UNSET
    data: dict[str, Any] | None = None


NOT_FOUND = {"license": "LICENSE_NOT_FOUND", "appointment": "APPOINTMENT_NOT_FOUND"}
ENDED_CODES = {("license", "discarded"): "LICENSE_DISCARDED", ("appointment", "discarded"): "APPOINTMENT_DISCARDED",
               ("appointment", "terminated"): "APPOINTMENT_TERMINATED"}


def not_found(kind: str) -> NotFound:
    return NotFound(NOT_FOUND[kind], f"No {kind} with that id is visible to you.", "id")


def _clean_list(values: list[str] | None, *, upper: bool = False) -> list[str]:
    out: list[str] = []
    for value in values or []:
        text = str(value).strip()
        if upper:
            text = text.upper()
        if text and text not in out:
            out.append(text)
    return out


def check_jurisdictions(config: TenantConfig, jurisdictions: list[str], lines_of_authority: list[str]) -> list[str]:
    """Jurisdictions must be configured; each line of authority must exist in one of them (or any, when none).
    The lines of authority come back in the configured spelling, whatever case they were typed in."""
    unknown = [j for j in jurisdictions if j not in config.jurisdictions]
    if unknown:
        raise DomainError("UNKNOWN_JURISDICTION", f"Unknown jurisdiction {', '.join(unknown)}; use the tenant's "
                          "configured jurisdiction codes such as CA or NY.", "jurisdictions")
    pool = [config.jurisdictions[j] for j in jurisdictions] or list(config.jurisdictions.values())
    offered = {loa.casefold(): loa for j in pool for loa in j.linesOfAuthority}
    missing = [loa for loa in lines_of_authority if loa.casefold() not in offered]
    if missing:
        where = ", ".join(jurisdictions) or "any jurisdiction"
        raise DomainError("UNKNOWN_LINE_OF_AUTHORITY", f"Line of authority {', '.join(missing)} is not offered "
                          f"in {where}.", "linesOfAuthority")
    return list(dict.fromkeys(offered[loa.casefold()] for loa in lines_of_authority))


def _check_window(effective: datetime | None, expiration: datetime | None) -> None:
    if effective is not None and expiration is not None and expiration <= effective:
        raise DomainError("INVALID_TIME_WINDOW", "The expiration time must be after the effective time.",
                          "expirationTime")


def _check_residency(residency: str) -> None:
    if residency not in RESIDENCIES:
        raise DomainError("INVALID_RESIDENCY", f"Residency {residency!r} is not allowed; use resident or "
                          "non-resident.", "residency")


def _check_data(ctx: ServiceContext, info: KindInfo, type_name: str, data: dict[str, Any],
                *, required: bool = False, stored: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """Check data; `stored`: the credential's data before a change (its documents stay as attached); None when
    `data` is the stored data itself (validation)."""
    fields = ctx.config.resolved_data_fields(info.category, type_name)  # type: ignore[arg-type]
    return validate_data(fields, data, check_required=required, stored=stored)


async def add_license(session: AsyncSession, tenant_id: str, producer_id: str, *, type: str,
                      license_number: str | None, jurisdictions: list[str], lines_of_authority: list[str],
                      residency: str, effective_time: datetime | None, expiration_time: datetime | None,
                      state: str = "draft", actor: str, data: dict[str, Any] | None = None,
                      license_class: str | None = None, products: list[str] | None = None,
                      producer_codes: list[str] | None = None,
                      config: TenantConfig | None = None, state_reason: str | None = None,
                      flush: bool = True) -> LicenseRecord:
    """Add a license to a producer inside the caller's transaction (onboarding uses it); checks the
    residency, state and time window, and the jurisdictions and lines of authority when `config` is given.
    `flush=False` leaves the insert to the caller's next flush (the registry sync adds many at once)."""
    _check_residency(residency)
    if state not in STATES:
        raise DomainError("INVALID_STATE", f"A license state is one of {', '.join(STATES)}.", "state")
    jurisdictions = _clean_list(jurisdictions, upper=True)
    lines_of_authority = _clean_list(lines_of_authority)
    if config is not None:
        lines_of_authority = check_jurisdictions(config, jurisdictions, lines_of_authority)
    _check_window(effective_time, expiration_time)
    record = LicenseRecord(tenant_id=tenant_id, producer_id=producer_id, type=type,
                           license_number=license_number.strip() if license_number else None,
                           jurisdictions=jurisdictions, state_reason=state_reason,
                           products=_clean_list(products), producer_codes=_clean_list(producer_codes),
                           lines_of_authority=lines_of_authority, residency=residency,
                           license_class=license_class, effective_time=effective_time,
                           expiration_time=expiration_time, data=dict(data or {}), state=state,
                           search_text=(license_number or "").strip().lower(), created_by=actor, updated_by=actor)
    session.add(record)
    if flush:
        await session.flush()
    return record


def _apply(ctx: ServiceContext, info: KindInfo, record: Any, changes: CredentialChanges, *, replace: bool) -> None:
    def pick(name: str, default: Any) -> Any:
        value = getattr(changes, name)
        if value is UNSET:
            return default if replace else getattr(record, name)
        return value

    number = changes.number if changes.number is not UNSET else (None if replace else getattr(record, info.number_attr))
    if not number or not str(number).strip():
        raise DomainError("NUMBER_REQUIRED", f"A {info.label} needs a {info.label} number.",
                          f"{info.label}Number")
    setattr(record, info.number_attr, str(number).strip())
    record.jurisdictions = _clean_list(pick("jurisdictions", []), upper=True)
    record.products = _clean_list(pick("products", []))
    record.producer_codes = _clean_list(pick("producer_codes", []))
    record.lines_of_authority = _clean_list(pick("lines_of_authority", []))
    record.residency = pick("residency", "resident") or "resident"
    record.license_class = pick("license_class", None)
    record.effective_time = pick("effective_time", None)
    record.expiration_time = pick("expiration_time", None)
    if info.table is AppointmentRecord:
        record.license_ids = _clean_list(pick("license_ids", []))
    _check_residency(record.residency)
    _check_window(record.effective_time, record.expiration_time)
    record.lines_of_authority = check_jurisdictions(ctx.config, record.jurisdictions, record.lines_of_authority)
    check_products(ctx.config, record.products)
    if replace:
        data = dict(changes.data or {})
    else:
        data = {**(record.data or {}), **(changes.data or {})}
    cleaned, problems = _check_data(ctx, info, record.type, data, stored=dict(record.data or {}))
    if problems:
        raise DomainError(problems[0].code, problems[0].message, problems[0].field, problems)
    record.data = cleaned
    record.search_text = search_text(ctx.config, info, record)


def check_products(config: TenantConfig, products: list[str]) -> None:
    """Every product a credential names must be configured for the tenant."""
    unknown = [p for p in products if p not in config.products]
    if unknown:
        known = ", ".join(sorted(config.products)) or "none"
        raise DomainError("UNKNOWN_PRODUCT", f"Unknown product {', '.join(unknown)}; configured products: "
                          f"{known}.", "products")


def search_text(config: TenantConfig, info: KindInfo, record: Any) -> str:
    """The lower-cased text producer search matches for a credential: its number and searchable data."""
    parts = [getattr(record, info.number_attr)]
    for name in config.searchable_fields(info.category, record.type):  # type: ignore[arg-type]
        value = (record.data or {}).get(name)
        if value is not None:
            parts.append(str(value))
    return " ".join(str(p) for p in parts if p).lower()


async def _check_number_free(session: AsyncSession, record: Any) -> None:
    """A producer holds one live license per number and jurisdiction."""
    if not isinstance(record, LicenseRecord) or not record.license_number:
        return  # an application has no number yet
    clash = await store.license_number_clash(session, record.tenant_id, record.producer_id, record.license_number,
                                             record.jurisdictions, record.id)
    if clash is not None:
        where = ", ".join(sorted(set(clash.jurisdictions) & set(record.jurisdictions))) or "every jurisdiction"
        raise DomainError("LICENSE_NUMBER_TAKEN", f"The producer already holds license {clash.license_number} "
                          f"in {where} ({clash.id}); a license number is held once per jurisdiction.",
                          "licenseNumber")


async def _check_links(ctx: ServiceContext, session: AsyncSession, record: Any) -> None:
    """Producer codes must be the producer's own; linked licenses must be the producer's own."""
    if record.producer_codes:
        owned = {c.code for c in await producer_store.codes_by_producer_ids(session, ctx.tenant_id,
                                                                            [record.producer_id])}
        foreign = [c for c in record.producer_codes if c not in owned]
        if foreign:
            raise DomainError("UNKNOWN_PRODUCER_CODE", f"Producer code {', '.join(foreign)} does not belong to "
                              "this producer.", "producerCodes")
    if isinstance(record, AppointmentRecord) and record.license_ids:
        found = await store.by_ids(session, LicenseRecord, ctx.scope, record.license_ids)
        mine = {lic.id for lic in found if lic.producer_id == record.producer_id}
        missing = [i for i in record.license_ids if i not in mine]
        if missing:
            raise DomainError("LICENSE_NOT_FOUND", "A linked license does not exist or belongs to another "
                              "producer.", "licenseIds")


async def create_credential(ctx: ServiceContext, kind: Kind, producer_id: str,
                            changes: CredentialChanges) -> Any:
    """A new draft license or appointment of a configured, non-abstract type."""
    ctx.require(*ADMINS)
    info = KINDS[kind]
    type_name = changes.type or ""
    check_type(ctx.config, info.category, type_name, info.label)
    async with transaction(ctx.sessions) as session:
        owner = await producer_store.producer_for_update(session, ctx.scope, producer_id)
        if owner is None:
            raise producer_not_found(producer_id)
        if owner.state in ("retired", "discarded"):
            raise DomainError("PRODUCER_TERMINAL", f"The producer is {owner.state}; it cannot hold "
                              f"{info.label}s.", "producerId")
        record = info.table(tenant_id=ctx.tenant_id, producer_id=owner.id, type=type_name,
                            created_by=ctx.actor, updated_by=ctx.actor)
        _apply(ctx, info, record, changes, replace=True)
        await _check_links(ctx, session, record)
        await _check_number_free(session, record)
        session.add(record)
    return record


async def _load(ctx: ServiceContext, session: AsyncSession, info: KindInfo, kind: str, record_id: str) -> Any:
    record = await store.for_update(session, info.table, ctx.scope, record_id)
    if record is None:
        raise not_found(kind)
    return record


async def update_credential(ctx: ServiceContext, kind: Kind, record_id: str, changes: CredentialChanges,
                            *, replace: bool = False) -> Any:
    """Change some fields (or, with `replace`, all of them); never a discarded one."""
    ctx.require(*ADMINS)
    info = KINDS[kind]
    async with transaction(ctx.sessions) as session:
        record = await _load(ctx, session, info, kind, record_id)
        if record.state in ENDED:
            raise DomainError(ENDED_CODES[(kind, record.state)], f"The {info.label} is {record.state}; "
                              "it cannot be changed.", "id")
        if changes.type and changes.type != record.type:
            check_type(ctx.config, info.category, changes.type, info.label)
            record.type = changes.type
        _apply(ctx, info, record, changes, replace=replace)
        await _check_links(ctx, session, record)
        if kind == "license":
            await producer_store.producer_for_update(session, ctx.scope, record.producer_id)  # one writer at a time
            await _check_number_free(session, record)
        record.updated_at = utcnow()
        record.updated_by = ctx.actor
        record.version += 1
    return record


def transition(state: str, action: str, label: str) -> str:
    moves = APPOINTMENT_TRANSITIONS if label == "appointment" else TRANSITIONS
    target = moves.get((state, action))
    if target is None:
        allowed = ", ".join(a for (s, a) in moves if s == state) or "none (the state is terminal)"
        raise DomainError("INVALID_TRANSITION", f"Cannot {action} a {label} in state {state}; allowed from "
                          f"{state}: {allowed}.", "state")
    return target


async def transition_credential(ctx: ServiceContext, kind: Kind, record_id: str, action: str) -> ValidationOutcome:
    """Validate (from draft; checks required data) or discard (from draft or validated)."""
    ctx.require(*ADMINS)
    info = KINDS[kind]
    async with transaction(ctx.sessions) as session:
        record = await _load(ctx, session, info, kind, record_id)
        target = transition(record.state, action, info.label)
        problems: list[Problem] = []
        if action == "validate":
            _, problems = _check_data(ctx, info, record.type, record.data or {}, required=True)
            if not getattr(record, info.number_attr):
                problems.append(Problem("NUMBER_REQUIRED", f"A validated {info.label} has its {info.label} number; "
                                        "set it first.", f"{info.label}Number"))
            record.validation_result = result_of(problems)
        if not problems:
            record.state = target
            if isinstance(record, LicenseRecord):
                record.state_reason = None
        record.updated_at = utcnow()
        record.updated_by = ctx.actor
        record.version += 1
    return ValidationOutcome(record, problems)


async def terminate_appointment(ctx: ServiceContext, record_id: str, reason: str,
                                on: date | None) -> AppointmentRecord:
    """End a validated appointment with a reason and a date (today when none): final, it never qualifies again."""
    ctx.require(*ADMINS)
    if reason not in TERMINATION_REASONS:
        raise DomainError("INVALID_TERMINATION_REASON", f"Termination reason {reason!r} is not allowed; use one of "
                          f"{', '.join(TERMINATION_REASONS)}.", "reason")
    async with transaction(ctx.sessions) as session:
        record = await _load(ctx, session, KINDS["appointment"], "appointment", record_id)
        record.state = transition(record.state, "terminate", "appointment")
        record.termination_reason = reason
        record.terminated_on = on or utcnow().date()
        record.updated_at = utcnow()
        record.updated_by = ctx.actor
        record.version += 1
    return record  # type: ignore[no-any-return]


async def get_credential(ctx: ServiceContext, kind: Kind, record_id: str) -> Any:
    async with ctx.sessions() as session:
        found = await store.by_ids(session, KINDS[kind].table, ctx.scope, [record_id])
    if not found:
        raise not_found(kind)
    return found[0]


async def credentials_by_ids(ctx: ServiceContext, kind: Kind, ids: list[str]) -> list[Any]:
    async with ctx.sessions() as session:
        return await store.by_ids(session, KINDS[kind].table, ctx.scope, ids)


async def credentials_of_producers(ctx: ServiceContext, kind: Kind, producer_ids: list[str]) -> list[Any]:
    """Every credential of these producers in one statement (the producers were already scope-checked)."""
    async with ctx.sessions() as session:
        return await store.by_producer_ids(session, KINDS[kind].table, ctx.tenant_id, producer_ids)


MAX_WINDOW_DAYS = 36_500  # a hundred years


async def list_expiring(ctx: ServiceContext, within_days: int, states: list[str],
                        page: PageRequest) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """Licenses in scope expiring from now to `within_days` days ahead (renewal dashboards)."""
    if not 0 <= within_days <= MAX_WINDOW_DAYS:  # past ~10,000 years the date arithmetic overflows
        raise DomainError("INVALID_WINDOW", f"`expiringWithin` is a number of days from 0 to {MAX_WINDOW_DAYS}.",
                          "expiringWithin")
    now = utcnow()
    stmt = store.in_scope(LicenseRecord, ctx.scope).where(
        col(LicenseRecord.expiration_time).is_not(None), col(LicenseRecord.expiration_time) >= now,
        col(LicenseRecord.expiration_time) < now + timedelta(days=within_days))
    stmt = stmt.where(col(LicenseRecord.state).in_(states or ["draft", "validated"]))
    return await paged(ctx, stmt, LicenseRecord.id, page)
