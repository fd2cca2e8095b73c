"""The producer underwriting check, shared by quotes and policy transactions, and what flags decide.

The check: the producer code, its producer and every ancestor are validated, then the product's
qualification at the effective time. A batch of checks runs a constant number of statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Problem
from app.rules import flags as flag_rules
from app.rules.qualification import Credential, QualificationRequest, QualificationResult, qualify
from app.tenant_config import TenantConfig
from persistence import licenses as credential_store
from persistence import quotes as store
from persistence.licenses import AppointmentRecord, LicenseRecord
from persistence.producers import ProducerRecord
from persistence.quotes import UnderwritingFlagRecord


@dataclass(frozen=True)
class CheckRequest:
    """One quote or transaction to check: code C (its value), product P, jurisdiction J, time t."""

    producer_code: str
    product: str
    jurisdiction: str
    at: datetime


@dataclass(frozen=True)
class CheckReason:
    """Why the check failed: which check (code), for which producer, credential and criterion."""

    code: str
    message: str
    producer: str | None = None
    credential: str | None = None
    criterion: str | None = None


@dataclass
class ProducerCheck:
    request: CheckRequest
    requirement: str
    reasons: list[CheckReason] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons

    def problems(self) -> list[Problem]:
        return [Problem(r.code, r.message if r.criterion is None else f"{r.criterion}: {r.message}",
                        "producerCode") for r in self.reasons]


def credential_of(record: Any) -> Credential:
    """The qualification rule's view of a license or appointment record."""
    is_license = isinstance(record, LicenseRecord)
    return Credential(
        locator=record.id, kind="license" if is_license else "appointment", state=record.state,
        producer_id=record.producer_id, jurisdictions=tuple(record.jurisdictions or ()),
        products=tuple(record.products or ()), producer_codes=tuple(record.producer_codes or ()),
        lines_of_authority=tuple(record.lines_of_authority or ()), effective_time=record.effective_time,
        expiration_time=record.expiration_time,
        number=(record.license_number or "") if is_license else record.appointment_number,
        terminated_on=getattr(record, "terminated_on", None),
        termination_reason=getattr(record, "termination_reason", None))


def qualification(config: TenantConfig, producer_id: str, credentials: Sequence[Any], *, product: str,
                  jurisdiction: str, at: datetime, producer_code: str | None) -> QualificationResult:
    """Is the producer qualified for P in J at t (for code C when given; code lists are ignored without one)?"""
    settings = config.product(product)
    creds = [credential_of(c) for c in credentials]
    if producer_code is None:
        creds = [Credential(**{**c.__dict__, "producer_codes": ()}) for c in creds]
    req = QualificationRequest(producer_id=producer_id, jurisdiction=jurisdiction.strip().upper(), product=product,
                               producer_code=producer_code or "", at=at,
                               required_lines_of_authority=tuple(settings.requiredLinesOfAuthority))
    return qualify(settings.producerQualification, creds, req)


def _label(producer: ProducerRecord) -> str:
    name = producer.organization_name or " ".join(p for p in (producer.first_name, producer.last_name) if p)
    return f"{name} ({producer.id})" if name else producer.id


async def check_producers(session: AsyncSession, config: TenantConfig, tenant_id: str,
                          requests: Sequence[CheckRequest]) -> list[ProducerCheck]:
    """Run the producer check for every request; at most five statements whatever the count and depth."""
    codes = {c.code: c for c in await store.codes_by_values(session, tenant_id, [r.producer_code for r in requests])}
    owner_ids = [c.producer_id for c in codes.values()]
    producers = {p.id: p for p in await store.producers_with_ancestors(session, tenant_id, owner_ids)}
    kinds = {config.product(r.product).producerQualification for r in requests}
    credentials: dict[str, list[Any]] = {}
    for kind, table in (("license", LicenseRecord), ("appointment", AppointmentRecord)):
        if kind in kinds:
            for row in await credential_store.by_producer_ids(session, table, tenant_id, owner_ids):
                credentials.setdefault(row.producer_id, []).append(row)
    return [_check(config, r, codes, producers, credentials) for r in requests]


def _check(config: TenantConfig, req: CheckRequest, codes: dict[str | None, Any],
           producers: dict[str, ProducerRecord], credentials: dict[str, list[Any]]) -> ProducerCheck:
    requirement = config.product(req.product).producerQualification
    check = ProducerCheck(req, requirement)
    code = codes.get(req.producer_code)
    if code is None:
        check.reasons.append(CheckReason("PRODUCER_CODE_NOT_FOUND", f"The producer code {req.producer_code} "
                                         "does not exist in this tenant."))
        return check
    if code.state != "validated":
        check.reasons.append(CheckReason("PRODUCER_CODE_NOT_VALIDATED", f"The producer code {code.code} is "
                                         f"{code.state}; it must be validated."))
    producer = producers.get(code.producer_id)
    if producer is None:
        return check
    if producer.state != "validated":
        check.reasons.append(CheckReason("PRODUCER_NOT_VALIDATED", f"The producer {_label(producer)} of code "
                                         f"{code.code} is {producer.state}; it must be validated.", producer.id))
    for ancestor_id in reversed(producer.ancestry or []):
        ancestor = producers.get(ancestor_id)
        if ancestor is not None and ancestor.state != "validated":
            check.reasons.append(CheckReason(
                "PRODUCER_NOT_VALIDATED", f"The parent producer {_label(ancestor)} above the producer of code "
                f"{code.code} is {ancestor.state}; every parent producer must be validated.", ancestor.id))
    result = qualification(config, producer.id, credentials.get(producer.id, []), product=req.product,
                           jurisdiction=req.jurisdiction, at=req.at, producer_code=code.code)
    for reason in result.reasons:
        check.reasons.append(CheckReason("NOT_QUALIFIED", reason.message, producer.id, reason.credential,
                                         reason.code))
    return check


@dataclass
class Verdict:
    """What underwriting decides for one quote or transaction."""

    decision: flag_rules.Decision
    new_flag: UnderwritingFlagRecord | None
    problems: list[Problem]


def _view(record: UnderwritingFlagRecord) -> flag_rules.Flag:
    return flag_rules.Flag(record.level, record.cleared_at is not None, record.source, record.producer_code)


def decide(config: TenantConfig, check: ProducerCheck | None, existing: Sequence[UnderwritingFlagRecord], *,
           tenant_id: str, actor: str, quote_id: str | None = None,
           transaction_id: str | None = None) -> Verdict:
    """Add the configured flag for a failed check (unless overridden or level none), then let flags decide."""
    views = [_view(f) for f in existing]
    setting = config.producerManagement.underwritingFlag
    new_flag = None
    failed = check is not None and not check.passed
    code = check.request.producer_code if check else None
    if failed and flag_rules.overridden(views, code):
        failed = False
    if failed and check is not None and flag_rules.records(setting.level) and not flag_rules.already_flagged(views, code):
        new_flag = UnderwritingFlagRecord(
            tenant_id=tenant_id, quote_id=quote_id, transaction_id=transaction_id, level=setting.level,
            tag=setting.tag or flag_rules.DEFAULT_TAG, note=setting.note, source=flag_rules.PRODUCER_SOURCE,
            producer_code=code, created_by=actor,
            reasons=[{"code": r.code, "message": r.message, "producer": r.producer, "credential": r.credential,
                      "criterion": r.criterion} for r in check.reasons])
        views.append(_view(new_flag))
    decision = flag_rules.decide(views)
    problems: list[Problem] = []
    if decision != "proceed":
        if failed and check is not None:
            problems.extend(check.problems())
        for flag in [*existing, *([new_flag] if new_flag else [])]:
            producer_reasons_shown = failed and flag.source == flag_rules.PRODUCER_SOURCE
            if flag.cleared_at is None and flag_rules.holds(flag.level) and not producer_reasons_shown:
                problems.append(Problem("UNDERWRITING_FLAG", f"The {flag.level} flag {flag.tag!r} holds "
                                        "underwriting until it is cleared.", "flags"))
        if not problems:
            problems.append(Problem("UNDERWRITING_FLAG", "An underwriting flag holds underwriting until it is "
                                    "cleared.", "flags"))
    return Verdict(decision, new_flag, problems)
