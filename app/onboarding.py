"""Single onboarding: find a producer in the registry, bring it into an agency, walk the wizard, and finish it
into a producer who can write business (validated, with a producer code and license applications).

`onboard_producer` is also what bulk onboarding calls for a row alone; `onboard_batch` does many rows at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import codes
from app.context import ADMINS, ServiceContext
from app.errors import DomainError, NotFound, Problem
from app.licenses import add_license
from app.pii import SsnVault, redact_ssns
from app.producers import ProducerChanges, result_of, search_text, update_producer, validation_problems
from app.queries import PageRequest, paged
from app.rules import lifecycle, wizard
from app.rules.data import validate_data
from app.rules.fees import CostEstimate, estimate_cost
from app.rules.identity import (
    normalize_email,
    normalize_gender,
    normalize_last_name,
    normalize_npn,
    normalize_ssn,
    normalize_state,
    same_last_name,
)
from persistence import bulk as bulk_store
from persistence import licenses as license_store
from persistence import onboarding as store
from persistence import producers as producer_store
from persistence import registry
from persistence.base import new_locator, utcnow
from persistence.db import transaction
from persistence.licenses import LicenseRecord
from persistence.onboarding import OnboardingRecord
from persistence.pagination import Page
from persistence.producers import ProducerCodeRecord, ProducerRecord
from persistence.registry import RegistryProducerRecord


@dataclass
class PaymentSetup:
    """Who pays for new licenses and renewals, and whether licenses renew automatically."""

    new_license_paid_by: str  # "AGENCY" | "PRODUCER"
    renewal_paid_by: str  # "AGENCY" | "PRODUCER"
    auto_renewal: bool


@dataclass
class OnboardRequest:
    """One producer to onboard: one identification (SSN + last name, NPN, or license number + state) and email."""

    email: str
    agency_id: str | None = None
    ssn: str | None = None
    last_name: str | None = None
    npn: str | None = None
    license_number: str | None = None
    state: str | None = None
    gender: str | None = None
    payment: PaymentSetup | None = None
    states: list[tuple[str, list[str]]] | None = None  # a bulk job's states: the row is finished on onboarding


def not_found() -> NotFound:
    return NotFound("ONBOARDING_NOT_FOUND", "No onboarding with that id is visible to you.", "id")


def vault(ctx: ServiceContext) -> SsnVault:
    return SsnVault.from_setting(ctx.settings.ssn_key_or_dev)


def individual_type(ctx: ServiceContext) -> str:
    """The producer type onboarded producers get: the first concrete individual type configured."""
    for name in ctx.config.type_names("producers", concrete_only=True):
        if ctx.config.resolved_kind(name) == "individual":
            return name
    raise DomainError("NO_INDIVIDUAL_TYPE", "The tenant configuration has no concrete individual producer "
                      "type to onboard producers as.", None)


def license_type(ctx: ServiceContext) -> str:
    names = ctx.config.type_names("producerLicenses", concrete_only=True)
    if not names:
        raise DomainError("NO_LICENSE_TYPE", "The tenant configuration has no concrete license type.", None)
    return names[0]


# ---- finding the producer in the registry ---------------------------------------------------------

async def _find_in_registry(ctx: ServiceContext, session: AsyncSession, request: OnboardRequest,
                            how: str) -> RegistryProducerRecord:
    tenant = ctx.tenant_id
    if how == "SSN":
        ssn = normalize_ssn(request.ssn)
        last_name = normalize_last_name(request.last_name)
        found = await registry.by_ssn_hash(session, tenant, vault(ctx).lookup_hash(ssn))
        if not found:
            raise DomainError("REGISTRY_NOT_FOUND", f"No producer with the SSN ending {ssn[-4:]} is in the "
                              "producer registry.", "ssn")
        matching = [r for r in found if same_last_name(r.last_name, last_name)]
        if not matching:
            raise DomainError("LAST_NAME_MISMATCH", f"The registry producer with the SSN ending {ssn[-4:]} has "
                              f"another last name than {last_name!r}.", "lastName")
        return _one(matching, "that SSN and last name")
    if how == "LICENSE":
        state = normalize_state(request.state)
        number = (request.license_number or "").strip()
        found = await registry.by_license(session, tenant, state, number)
        if not found:
            raise DomainError("REGISTRY_NOT_FOUND", f"No producer holding license {redact_ssns(number)!r} in {state} is in "
                              "the producer registry.", "licenseNumber")
        return _one(found, f"license {redact_ssns(number)} in {state}")
    npn = normalize_npn(request.npn)
    found = await registry.by_npn(session, tenant, npn)
    if not found:
        raise DomainError("REGISTRY_NOT_FOUND", f"No producer with the NPN ending {npn[-4:]} is in the producer "
                          "registry.", "npn")
    record = found[0]
    if how == "NPN_VERIFIED_BY_SSN":
        ssn = normalize_ssn(request.ssn)
        if record.ssn_hash is not None and record.ssn_hash != vault(ctx).lookup_hash(ssn):
            raise DomainError("SSN_MISMATCH", f"The SSN ending {ssn[-4:]} is not the SSN the registry holds for "
                              f"the NPN ending {npn[-4:]}.", "ssn")
        if request.last_name and not same_last_name(record.last_name, normalize_last_name(request.last_name)):
            raise DomainError("LAST_NAME_MISMATCH", f"The registry producer with the NPN ending {npn[-4:]} has another last "
                              "name.", "lastName")
    return record


def _one(found: list[RegistryProducerRecord], what: str) -> RegistryProducerRecord:
    if len(found) > 1:
        raise DomainError("AMBIGUOUS_MATCH", f"{len(found)} registry producers match {what}; onboard by NPN "
                          "instead.", None)
    return found[0]


async def _agency(ctx: ServiceContext, session: AsyncSession, agency_id: str | None) -> ProducerRecord:
    agency_id = agency_id or ctx.principal.agency
    if agency_id is None:
        raise DomainError("AGENCY_REQUIRED", "Say which agency the producer joins (agencyId).", "agencyId")
    stmt = producer_store.producers_in_scope(ctx.scope).where(col(ProducerRecord.id) == agency_id)
    agency = (await session.execute(stmt.with_for_update(read=True))).scalar_one_or_none()
    if agency is None:
        raise NotFound("AGENCY_NOT_FOUND", "The agency does not exist or is not visible to you.", "agencyId")
    if lifecycle.is_terminal(agency.state):
        raise DomainError("AGENCY_NOT_ACTIVE", f"The agency is {agency.state}; it cannot take producers.",
                          "agencyId")
    return agency


def _when(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), UTC) if day else None


# ---- onboarding -------------------------------------------------------------------------------------

async def onboard_producer(ctx: ServiceContext, request: OnboardRequest, *, session: AsyncSession | None = None,
                           bulk_job_id: str | None = None, bulk_row_number: int | None = None) -> OnboardingRecord:
    """Create a draft individual producer from the registry under the agency, with its registry licenses in
    their standing, and open its onboarding; a bulk row's onboarding is finished at once with the job's payment
    and states. Runs inside `session` (no commit) when one is given."""
    ctx.require(*ADMINS)
    if session is not None:
        return await _onboard(ctx, session, request, bulk_job_id, bulk_row_number)
    async with transaction(ctx.sessions) as own:
        return await _onboard(ctx, own, request, bulk_job_id, bulk_row_number)


async def _onboard(ctx: ServiceContext, session: AsyncSession, request: OnboardRequest,
                   bulk_job_id: str | None, bulk_row_number: int | None) -> OnboardingRecord:
    how = wizard.identification(ssn=request.ssn, last_name=request.last_name, npn=request.npn,
                                license_number=request.license_number, state=request.state)
    email = normalize_email(request.email)
    gender = normalize_gender(request.gender) if request.gender else None
    payment = _checked_payment(request.payment) if request.payment else None
    if bulk_job_id is not None and bulk_row_number is not None and await store.by_bulk_row(
            session, bulk_job_id, bulk_row_number):
        raise DomainError("ROW_ALREADY_ONBOARDED", f"Row {bulk_row_number} of this bulk job is already "
                          "onboarded.", None)
    agency = await _agency(ctx, session, request.agency_id)
    found = await _find_in_registry(ctx, session, request, how)
    await store.lock_npn(session, ctx.tenant_id, found.npn)
    if await store.active_producer_with_npn(session, ctx.tenant_id, agency.id, found.npn):
        raise DomainError("ALREADY_ONBOARDED", f"A producer with the NPN ending {found.npn[-4:]} is already active in this "
                          "agency.", "npn")
    producer = _new_producer(ctx, agency, found, email, gender)
    if how == "NPN_VERIFIED_BY_SSN" and found.ssn_hash is None:
        ssn = normalize_ssn(request.ssn)
        producer.ssn_ciphertext, producer.ssn_hash = vault(ctx).encrypt(ssn), vault(ctx).lookup_hash(ssn)
        producer.ssn_last4 = SsnVault.last4(ssn)
    session.add(producer)
    await session.flush()
    await _import_licenses(ctx, session, producer, found)
    record = OnboardingRecord(tenant_id=ctx.tenant_id, producer_id=producer.id, agency_id=agency.id,
                              registry_producer_id=found.id, identified_by=how, created_by=ctx.actor,
                              updated_by=ctx.actor, bulk_job_id=bulk_job_id, bulk_row_number=bulk_row_number)
    if payment is not None:
        _set_payment(record, payment)
    session.add(record)
    await session.flush()
    if bulk_job_id is not None:  # a bulk row is finished at once, with the job's payment and states
        record.states = _assignments(_estimate(ctx, wizard.merge_selections(
            request.states or [], no_new_states=not request.states)))
        record.states_assigned, record.reviewed_at = True, utcnow()
        wizard.check_finishable(payment_set=payment_of(record) is not None, reviewed=True)
        await _complete(ctx, session, record, producer)
    _advance(record)
    await session.flush()
    return record


def _new_producer(ctx: ServiceContext, agency: ProducerRecord, found: RegistryProducerRecord, email: str,
                  gender: str | None) -> ProducerRecord:
    type_name = individual_type(ctx)
    data, _ = validate_data(ctx.config.resolved_data_fields("producers", type_name), {}, check_required=False)
    producer = ProducerRecord(
        tenant_id=ctx.tenant_id, type=type_name, kind="individual", state="draft", parent_id=agency.id,
        ancestry=[*(agency.ancestry or []), agency.id], npn=found.npn, first_name=found.first_name,
        middle_name=found.middle_name, last_name=found.last_name, email=email, gender=gender or found.gender,
        ssn_ciphertext=found.ssn_ciphertext, ssn_hash=found.ssn_hash, ssn_last4=found.ssn_last4, data=data,
        created_by=ctx.actor, updated_by=ctx.actor, version=1)
    producer.search_text = search_text(ctx.config, producer)
    return producer


async def _import_licenses(ctx: ServiceContext, session: AsyncSession, producer: ProducerRecord,
                           found: RegistryProducerRecord) -> None:
    held = await registry.licenses_of(session, found.id)
    if not held:
        return
    type_name = license_type(ctx)
    today, incomplete = utcnow().date(), incomplete_license_data(ctx, type_name)
    for lic in held:
        effective, expiration = registry_window(lic)
        state, reason = _standing(lic, today, incomplete)
        await add_license(session, ctx.tenant_id, producer.id, type=type_name, license_number=lic.license_number,
                          jurisdictions=[lic.state], lines_of_authority=list(lic.lines_of_authority or []),
                          residency=lic.residency, effective_time=effective, expiration_time=expiration,
                          state=state, state_reason=reason, actor=ctx.actor, license_class=lic.license_class)


def registry_window(lic: Any) -> tuple[datetime | None, datetime | None]:
    """A registry license's effective (else issue) and expiration dates as the license's time window."""
    effective, expiration = _when(lic.effective_date or lic.issue_date), _when(lic.expiration_date)
    if effective and expiration and expiration <= effective:
        expiration = None
    return effective, expiration


def incomplete_license_data(ctx: ServiceContext, type_name: str) -> str | None:
    """What keeps a license of the type from being validated with the data the registry carries (none)."""
    _, problems = validate_data(ctx.config.resolved_data_fields("producerLicenses", type_name), {},
                                check_required=True)
    return problems[0].message if problems else None


def _standing(lic: Any, today: date, incomplete: str | None) -> tuple[str, str | None]:
    """The state a registry license comes in with (validated, or discarded with the reason), kept draft when the
    license type requires data the registry does not carry (`incomplete`)."""
    state, reason = wizard.registry_standing(lic.status, lic.expiration_date, today)
    if state == "validated" and incomplete is not None:
        return "draft", f"validate it once its data is complete: {incomplete}"
    return state, reason


# ---- many at once (bulk) -------------------------------------------------------------------------------

@dataclass
class BatchOutcome:
    """What became of one request of a batch: its producer, its refusal, or `single` (onboard it alone)."""

    producer_id: str | None = None
    error: DomainError | None = None
    single: bool = False


@dataclass
class _Candidate:
    number: int
    request: OnboardRequest
    how: str
    npn: str
    email: str
    gender: str | None
    payment: PaymentSetup | None
    found: Any = None  # the registry producer (a plain row)


def _prepared(request: OnboardRequest, number: int) -> _Candidate | BatchOutcome:
    """The request checked as `_onboard` checks it before any I/O; NPN-identified ones only."""
    try:
        how = wizard.identification(ssn=request.ssn, last_name=request.last_name, npn=request.npn,
                                    license_number=request.license_number, state=request.state)
        email = normalize_email(request.email)
        gender = normalize_gender(request.gender) if request.gender else None
        payment = _checked_payment(request.payment) if request.payment else None
        if how not in ("NPN", "NPN_VERIFIED_BY_SSN"):
            return BatchOutcome(single=True)
        return _Candidate(number, request, how, normalize_npn(request.npn), email, gender, payment)
    except DomainError as exc:
        return BatchOutcome(error=exc)


def _registry_refusal(ssn_vault: SsnVault, c: _Candidate, found: Any) -> DomainError | None:
    """`_find_in_registry`'s checks for an NPN identification, on a record fetched with the whole batch."""
    npn = c.npn
    if found is None:
        return DomainError("REGISTRY_NOT_FOUND", f"No producer with the NPN ending {npn[-4:]} is in the producer "
                           "registry.", "npn")
    if c.how == "NPN_VERIFIED_BY_SSN":
        try:
            ssn = normalize_ssn(c.request.ssn)
        except DomainError as exc:
            return exc
        if found.ssn_hash is not None and found.ssn_hash != ssn_vault.lookup_hash(ssn):
            return DomainError("SSN_MISMATCH", f"The SSN ending {ssn[-4:]} is not the SSN the registry holds for "
                               f"the NPN ending {npn[-4:]}.", "ssn")
        if c.request.last_name and not same_last_name(found.last_name, normalize_last_name(c.request.last_name)):
            return DomainError("LAST_NAME_MISMATCH", f"The registry producer with the NPN ending {npn[-4:]} has "
                               "another last name.", "lastName")
    return None


def _registry_license_rows(ctx: ServiceContext, producer_id: str, held: list[Any], type_name: str, now: datetime,
                           incomplete: str | None) -> list[dict[str, Any]]:
    """The registry licenses as license rows of the new producer, as `_import_licenses` adds them."""
    created = []
    for lic in held:
        effective, expiration = registry_window(lic)
        state, reason = _standing(lic, now.date(), incomplete)
        if lic.residency not in ("resident", "non-resident"):
            raise DomainError("INVALID_RESIDENCY", f"Residency {lic.residency!r} is not allowed; use resident or "
                              "non-resident.", "residency")
        loas = list(dict.fromkeys(t for t in (str(v).strip() for v in lic.lines_of_authority or []) if t))
        created.append({
            "id": new_locator(), "tenant_id": ctx.tenant_id, "producer_id": producer_id, "type": type_name,
            "license_number": lic.license_number.strip(), "jurisdictions": [lic.state.strip().upper()],
            "products": [], "producer_codes": [], "lines_of_authority": loas, "residency": lic.residency,
            "license_class": lic.license_class, "effective_time": effective, "expiration_time": expiration,
            "data": {}, "state": state, "state_reason": reason,
            "search_text": (lic.license_number or "").strip().lower(), "created_at": now, "created_by": ctx.actor,
            "updated_at": now, "updated_by": ctx.actor, "version": 1})
    return created


def _application_rows(ctx: ServiceContext, producer_id: str, assigned: dict[str, list[str]],
                      held: list[dict[str, Any]], type_name: str, now: datetime) -> list[dict[str, Any]]:
    """`_license_applications` as license rows: one application per assigned state not held in force."""
    usable = [lic for lic in held if lic["state"] in ("draft", "validated")]
    licensed = {j for lic in usable for j in lic["jurisdictions"]}
    resident = any(lic["residency"] == "resident" for lic in usable)
    rows: list[dict[str, Any]] = []
    for jurisdiction in wizard.new_jurisdictions(assigned, licensed):
        rows.append({
            "id": new_locator(), "tenant_id": ctx.tenant_id, "producer_id": producer_id, "type": type_name,
            "license_number": None, "jurisdictions": [jurisdiction], "products": [], "producer_codes": [],
            "lines_of_authority": assigned[jurisdiction], "residency": "non-resident" if resident or rows
            else "resident", "license_class": None, "effective_time": None, "expiration_time": None, "data": {},
            "state": "applied", "state_reason": wizard.APPLICATION_REASON, "created_at": now,
            "created_by": ctx.actor, "updated_at": now, "updated_by": ctx.actor, "version": 1})
    return rows


def _producer_row(ctx: ServiceContext, ssn_vault: SsnVault, agency: ProducerRecord, c: _Candidate,
                  type_name: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`_new_producer` as a plain row (table models cost ~0.3 ms each to build; a batch builds hundreds)."""
    found = c.found
    assert found is not None
    row: dict[str, Any] = {
        "id": new_locator(), "tenant_id": ctx.tenant_id, "type": type_name, "kind": "individual", "state": "draft",
        "parent_id": agency.id, "ancestry": [*(agency.ancestry or []), agency.id], "npn": found.npn,
        "first_name": found.first_name, "middle_name": found.middle_name, "last_name": found.last_name,
        "organization_name": None, "email": c.email, "gender": c.gender or found.gender,
        "ssn_ciphertext": found.ssn_ciphertext, "ssn_hash": found.ssn_hash, "ssn_last4": found.ssn_last4,
        "fein": None, "data": dict(data), "validation_result": None, "created_at": now, "created_by": ctx.actor,
        "updated_at": now, "updated_by": ctx.actor, "version": 1}
    if c.how == "NPN_VERIFIED_BY_SSN" and found.ssn_hash is None:
        ssn = normalize_ssn(c.request.ssn)
        row["ssn_ciphertext"], row["ssn_hash"] = ssn_vault.encrypt(ssn), ssn_vault.lookup_hash(ssn)
        row["ssn_last4"] = SsnVault.last4(ssn)
    row["search_text"] = search_text(ctx.config, SimpleNamespace(**row))  # type: ignore[arg-type]
    return row


def _onboarding_row(ctx: ServiceContext, c: _Candidate, producer_id: str, agency_id: str, bulk_job_id: str,
                    now: datetime, states: list[dict[str, Any]], applications: list[str]) -> dict[str, Any]:
    """The onboarding of a bulk row, finished as `_onboard` finishes one (the job's payment and states)."""
    assert c.found is not None
    payment = c.payment
    return {
        "id": new_locator(), "tenant_id": ctx.tenant_id, "producer_id": producer_id, "agency_id": agency_id,
        "registry_producer_id": c.found.id, "identified_by": c.how, "status": "COMPLETED", "current_step": "DONE",
        "details_reviewed": False, "new_license_paid_by": payment.new_license_paid_by if payment else None,
        "renewal_paid_by": payment.renewal_paid_by if payment else None,
        "auto_renewal": payment.auto_renewal if payment else None, "states": states, "states_assigned": True,
        "reviewed_at": now, "completed_at": now, "created_license_ids": applications, "producer_code_id": None,
        "bulk_job_id": bulk_job_id, "bulk_row_number": c.number, "note": None, "created_at": now,
        "created_by": ctx.actor, "updated_at": now, "updated_by": ctx.actor, "version": 1}


async def onboard_batch(ctx: ServiceContext, session: AsyncSession, bulk_job_id: str,
                        requests: list[tuple[int, OnboardRequest]]) -> dict[int, BatchOutcome]:
    """Onboard the rows of a bulk job as `onboard_producer` would one by one, inside `session` (no commit),
    with a constant number of statements: registry look-ups, NPN locks and inserts (COPY) are set-based.

    Rows onboarded earlier come back with their producer; rows identified by SSN or license come back
    `single`. A database error fails the whole batch: the caller rolls back and goes row by row.
    """
    ctx.require(*ADMINS)
    outcomes: dict[int, BatchOutcome] = {}
    candidates: list[_Candidate] = []
    for number, request in requests:
        prepared = _prepared(request, number)
        if isinstance(prepared, BatchOutcome):
            outcomes[number] = prepared
        else:
            candidates.append(prepared)
    if not candidates:
        return outcomes
    done = await store.bulk_rows_done(session, bulk_job_id, [c.number for c in candidates])
    for number, producer_id in done.items():
        outcomes[number] = BatchOutcome(producer_id=producer_id)
    candidates = [c for c in candidates if c.number not in done]
    agency_ids = {c.request.agency_id for c in candidates}
    if len(agency_ids) > 1:
        for c in candidates:
            outcomes[c.number] = BatchOutcome(single=True)
        return outcomes
    try:
        agency = await _agency(ctx, session, agency_ids.pop() if agency_ids else None)
        type_name = individual_type(ctx)
        lic_type = license_type(ctx)
        states = _batch_states(ctx, candidates)
    except DomainError as exc:
        for c in candidates:
            outcomes[c.number] = BatchOutcome(error=exc)
        return outcomes

    ssn_vault = vault(ctx)
    found = {r.npn: r for r in await registry.by_npns(session, ctx.tenant_id, [c.npn for c in candidates])}
    matched: list[_Candidate] = []
    for c in candidates:
        c.found = found.get(c.npn)
        refusal = _registry_refusal(ssn_vault, c, c.found)
        if refusal is not None:
            outcomes[c.number] = BatchOutcome(error=refusal)
        else:
            matched.append(c)
    await store.lock_npns(session, ctx.tenant_id, [c.npn for c in matched])
    taken = await store.npns_active_in_agency(session, ctx.tenant_id, agency.id, [c.npn for c in matched])
    held: dict[str, list[Any]] = {}
    for lic in await registry.licenses_of_many(session, [c.found.id for c in matched if c.found is not None]):
        held.setdefault(lic.registry_producer_id, []).append(lic)

    data, _ = validate_data(ctx.config.resolved_data_fields("producers", type_name), {}, check_required=False)
    finishing = ctx.config.onboarding
    incomplete = incomplete_license_data(ctx, lic_type)
    _, data_problems = validate_data(ctx.config.resolved_data_fields("producers", type_name), data,
                                     check_required=True)  # every row has the type's default data
    now = utcnow()
    producers: list[dict[str, Any]] = []
    licenses: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for c in matched:
        assert c.found is not None
        if c.npn in taken:
            outcomes[c.number] = BatchOutcome(error=DomainError(
                "ALREADY_ONBOARDED", f"A producer with the NPN ending {c.npn[-4:]} is already active in this "
                "agency.", "npn"))
            continue
        producer = _producer_row(ctx, ssn_vault, agency, c, type_name, data, now)
        try:
            if c.payment is None:
                wizard.check_finishable(payment_set=False, reviewed=True)
            held_rows = _registry_license_rows(ctx, producer["id"], held.get(c.found.id, []), lic_type, now,
                                               incomplete)
            applied = _application_rows(ctx, producer["id"], states, held_rows, lic_type, now)
            if finishing.validateOnFinish:
                _validated_row(ctx, producer, data_problems)
        except DomainError as exc:
            outcomes[c.number] = BatchOutcome(error=exc)
            continue
        taken.add(c.npn)  # a second row of the same NPN finds it onboarded, as row by row it would
        producers.append(producer)
        licenses.extend(held_rows + applied)
        records.append(_onboarding_row(ctx, c, producer["id"], agency.id, bulk_job_id, now, _assignments_of(states),
                                       [a["id"] for a in applied]))
        outcomes[c.number] = BatchOutcome(producer_id=producer["id"])
    code_rows = await _batch_codes(ctx, session, type_name, records, outcomes, now)
    kept = {r["producer_id"] for r in records}
    producers = [p for p in producers if p["id"] in kept]
    licenses = [lic for lic in licenses if lic["producer_id"] in kept]
    await bulk_store.copy_values(session, ProducerRecord, producers)
    await bulk_store.copy_values(session, LicenseRecord, licenses)
    await bulk_store.copy_values(session, OnboardingRecord, records)
    await bulk_store.copy_values(session, ProducerCodeRecord, code_rows)
    return outcomes


def _batch_states(ctx: ServiceContext, candidates: list[_Candidate]) -> dict[str, list[str]]:
    """The states the job assigns to every row (the rows of one job share them), checked against the tenant's
    jurisdictions."""
    first = candidates[0].request.states if candidates else None
    merged = wizard.merge_selections(first or [], no_new_states=not first)
    _estimate(ctx, merged)
    return merged


def _validated_row(ctx: ServiceContext, producer: dict[str, Any], data_problems: list[Problem]) -> None:
    """`_complete`'s validation of a new producer row: its checks, then the state (a problem refuses the row)."""
    problems = validation_problems(ctx, SimpleNamespace(**producer),  # type: ignore[arg-type]
                                   data_problems=data_problems)
    if problems:
        raise DomainError(problems[0].code, problems[0].message, problems[0].field, problems)
    producer["state"] = lifecycle.transition(producer["state"], "validate")
    producer["validation_result"] = result_of([])


async def _batch_codes(ctx: ServiceContext, session: AsyncSession, type_name: str, records: list[dict[str, Any]],
                       outcomes: dict[int, BatchOutcome], now: datetime) -> list[dict[str, Any]]:
    """The producer codes of a batch's onboardings (`_complete`'s code), numbered together; an onboarding whose
    code is refused is dropped from `records` and its row refused."""
    code_type = ctx.config.onboarding.codeType.get(type_name)
    if code_type is None or not records:
        return []
    made = await codes.onboarding_code_rows(ctx, session, [r["producer_id"] for r in records], code_type,
                                            validate=ctx.config.onboarding.validateOnFinish, now=now)
    rows: list[dict[str, Any]] = []
    for record in list(records):
        code = made[record["producer_id"]]
        if isinstance(code, DomainError):
            records.remove(record)
            outcomes[record["bulk_row_number"]] = BatchOutcome(error=code)
        else:
            record["producer_code_id"] = code["id"]
            rows.append(code)
    return rows


# ---- the wizard --------------------------------------------------------------------------------------

def _checked_payment(payment: PaymentSetup) -> PaymentSetup:
    return PaymentSetup(wizard.check_payer(payment.new_license_paid_by, "newLicensePaidBy"),
                        wizard.check_payer(payment.renewal_paid_by, "renewalPaidBy"), bool(payment.auto_renewal))


def _set_payment(record: OnboardingRecord, payment: PaymentSetup) -> None:
    record.new_license_paid_by = payment.new_license_paid_by
    record.renewal_paid_by = payment.renewal_paid_by
    record.auto_renewal = payment.auto_renewal


def payment_of(record: OnboardingRecord) -> PaymentSetup | None:
    if record.new_license_paid_by is None or record.renewal_paid_by is None or record.auto_renewal is None:
        return None
    return PaymentSetup(record.new_license_paid_by, record.renewal_paid_by, record.auto_renewal)


def _advance(record: OnboardingRecord) -> None:
    record.current_step = wizard.current_step(
        completed=record.status == "COMPLETED", details_reviewed=record.details_reviewed,
        payment_set=payment_of(record) is not None, states_assigned=record.states_assigned,
        reviewed=record.reviewed_at is not None)


async def _step(ctx: ServiceContext, onboarding_id: str,
                change: Callable[[AsyncSession, OnboardingRecord], Awaitable[None]]) -> OnboardingRecord:
    """Apply one wizard step to an onboarding in progress, in one transaction; a refusal changes nothing."""
    ctx.require(*ADMINS)
    async with transaction(ctx.sessions) as session:
        record = await store.for_update(session, ctx.scope, onboarding_id)
        if record is None:
            raise not_found()
        if record.status != "IN_PROGRESS":
            raise DomainError("ONBOARDING_NOT_IN_PROGRESS", f"The onboarding is {record.status.lower()}; its "
                              "steps can no longer change.", "id")
        await change(session, record)
        _advance(record)
        record.updated_at = utcnow()
        record.updated_by = ctx.actor
        record.version += 1
    return record


async def update_details(ctx: ServiceContext, onboarding_id: str, changes: ProducerChanges) -> OnboardingRecord:
    """Review (and optionally correct) the producer's details: the first step."""
    current = await get_onboarding(ctx, onboarding_id)
    if current.status != "IN_PROGRESS":
        raise DomainError("ONBOARDING_NOT_IN_PROGRESS", "The onboarding is no longer in progress.", "id")
    await update_producer(ctx, current.producer_id, changes)

    async def mark(session: AsyncSession, record: OnboardingRecord) -> None:
        record.details_reviewed = True

    return await _step(ctx, onboarding_id, mark)


async def set_payment(ctx: ServiceContext, onboarding_id: str, payment: PaymentSetup) -> OnboardingRecord:
    checked = _checked_payment(payment)

    async def apply(session: AsyncSession, record: OnboardingRecord) -> None:
        _set_payment(record, checked)

    return await _step(ctx, onboarding_id, apply)


def _estimate(ctx: ServiceContext, selections: dict[str, list[str]]) -> CostEstimate:
    return estimate_cost(ctx.config.jurisdictions, selections)


def _assignments(estimate: CostEstimate) -> list[dict[str, Any]]:
    """The priced selection as stored on the onboarding, in the configured spelling of each line."""
    assigned: dict[str, list[str]] = {}
    for line in estimate.lines:
        assigned.setdefault(line.jurisdiction, []).append(line.line_of_authority)
    return _assignments_of(assigned)


def _assignments_of(assigned: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [{"jurisdiction": j, "linesOfAuthority": loas} for j, loas in assigned.items()]


def checked_states(ctx: ServiceContext, states: list[tuple[str, list[str]]], *,
                   no_new_states: bool = False) -> list[dict[str, Any]]:
    """A selection of states checked as the wizard checks it (each once, configured, with offered lines)."""
    return _assignments(_estimate(ctx, wizard.merge_selections(states, no_new_states=no_new_states)))


async def assign_states(ctx: ServiceContext, onboarding_id: str, states: list[tuple[str, list[str]]], *,
                        no_new_states: bool = False) -> OnboardingRecord:
    """Choose the states and territories, each once with lines of authority from its own list, or say
    explicitly that there are none; a new choice has to be reviewed again."""
    assigned = checked_states(ctx, states, no_new_states=no_new_states)

    async def apply(session: AsyncSession, record: OnboardingRecord) -> None:
        record.states = assigned
        record.states_assigned = True
        record.reviewed_at = None

    return await _step(ctx, onboarding_id, apply)


def estimated_cost(ctx: ServiceContext, record: OnboardingRecord) -> CostEstimate:
    """What the assigned states and lines cost, from the tenant's jurisdiction fees."""
    return _estimate(ctx, {s["jurisdiction"]: list(s["linesOfAuthority"]) for s in record.states or []})


async def review(ctx: ServiceContext, onboarding_id: str) -> OnboardingRecord:
    async def apply(session: AsyncSession, record: OnboardingRecord) -> None:
        wizard.check_reviewable(states_assigned=record.states_assigned)
        record.reviewed_at = utcnow()

    return await _step(ctx, onboarding_id, apply)


async def finish(ctx: ServiceContext, onboarding_id: str) -> OnboardingRecord:
    """Finish the reviewed wizard: license applications for the new states, the producer's code, and the
    producer and code validated when the tenant's `onboarding` configuration says so."""

    async def apply(session: AsyncSession, record: OnboardingRecord) -> None:
        wizard.check_finishable(payment_set=payment_of(record) is not None, reviewed=record.reviewed_at is not None)
        producer = await producer_store.producer_for_update(session, ctx.scope, record.producer_id)
        if producer is None or lifecycle.is_terminal(producer.state):
            raise DomainError("PRODUCER_NOT_ACTIVE", "The onboarded producer was removed; onboard it again.", "id")
        await _complete(ctx, session, record, producer)

    return await _step(ctx, onboarding_id, apply)


async def _complete(ctx: ServiceContext, session: AsyncSession, record: OnboardingRecord,
                    producer: ProducerRecord) -> None:
    """What finishing leaves, inside `session`: the producer validated (when `onboarding.validateOnFinish`), a
    license application per assigned state it holds no usable license in, and a code of the configured type."""
    finishing = ctx.config.onboarding
    if finishing.validateOnFinish and producer.state == "draft":
        problems = validation_problems(ctx, producer)
        if problems:
            raise DomainError(problems[0].code, problems[0].message, problems[0].field, problems)
        producer.validation_result = result_of([])
        producer.state = lifecycle.transition(producer.state, "validate")
        producer.updated_at, producer.updated_by = utcnow(), ctx.actor
        producer.version += 1
    record.created_license_ids = await _license_applications(ctx, session, record)
    code_type = finishing.codeType.get(producer.type)
    if code_type is not None:
        code = await codes.add_onboarding_code(ctx, session, producer.id, code_type,
                                               validate=finishing.validateOnFinish)
        record.producer_code_id = code.id
    record.status = "COMPLETED"
    record.completed_at = utcnow()


async def _license_applications(ctx: ServiceContext, session: AsyncSession, record: OnboardingRecord) -> list[str]:
    """An application (state `applied`, no number) for each assigned state without a draft or validated license."""
    held = await license_store.by_producer_ids(session, LicenseRecord, ctx.tenant_id, [record.producer_id],
                                               states=["draft", "validated"])
    licensed = {j for lic in held for j in lic.jurisdictions}
    assigned = {s["jurisdiction"]: list(s["linesOfAuthority"]) for s in record.states or []}
    resident_held = any(lic.residency == "resident" for lic in held)
    created: list[str] = []
    for jurisdiction in wizard.new_jurisdictions(assigned, licensed):
        residency = "non-resident" if resident_held or created else "resident"
        lic = await add_license(session, ctx.tenant_id, record.producer_id, type=license_type(ctx),
                                license_number=None, jurisdictions=[jurisdiction],
                                lines_of_authority=assigned[jurisdiction], residency=residency,
                                effective_time=None, expiration_time=None, state="applied", actor=ctx.actor,
                                config=ctx.config, state_reason=wizard.APPLICATION_REASON)
        created.append(lic.id)
    return created


# ---- reading -----------------------------------------------------------------------------------------

async def get_onboarding(ctx: ServiceContext, onboarding_id: str) -> OnboardingRecord:
    ctx.require(*ADMINS)
    async with ctx.sessions() as session:
        found = await store.by_ids(session, ctx.scope, [onboarding_id])
    if not found:
        raise not_found()
    return found[0]


async def onboardings_by_ids(ctx: ServiceContext, ids: list[str]) -> list[OnboardingRecord]:
    if not ctx.principal.has(*ADMINS):
        return []
    async with ctx.sessions() as session:
        return await store.by_ids(session, ctx.scope, ids)


async def list_onboardings(ctx: ServiceContext, statuses: list[str],
                           page: PageRequest) -> tuple[Page, Callable[[], Awaitable[int]]]:
    """A page of the onboardings visible to the caller, oldest first, optionally by status."""
    ctx.require(*ADMINS)
    stmt: Any = store.in_scope(ctx.scope)
    if statuses:
        stmt = stmt.where(col(OnboardingRecord.status).in_(statuses))
    return await paged(ctx, stmt, OnboardingRecord.id, page)
