"""Producer qualification: does a license or appointment cover a quote's jurisdiction, product, code and time.

Pure rule, no I/O. `credential_failures` lists every clause one credential fails; `qualify` applies a
product's `producerQualification` requirement to all of a producer's credentials and explains a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

CredentialKind = Literal["license", "appointment"]
Requirement = Literal["none", "license", "appointment"]

_LABEL: dict[str, str] = {"license": "License", "appointment": "Appointment"}
NO_CREDENTIAL: dict[str, str] = {"license": "NO_LICENSE", "appointment": "NO_APPOINTMENT"}


@dataclass(frozen=True)
class Credential:
    """A license or an appointment, reduced to what the qualification criteria read."""

    locator: str
    kind: CredentialKind
    state: str  # draft | validated | discarded, and terminated for an appointment
    producer_id: str
    jurisdictions: tuple[str, ...]
    products: tuple[str, ...]
    producer_codes: tuple[str, ...]
    lines_of_authority: tuple[str, ...]
    effective_time: datetime | None
    expiration_time: datetime | None
    number: str | None = None
    terminated_on: date | None = None
    termination_reason: str | None = None


@dataclass(frozen=True)
class QualificationRequest:
    """The quote or transaction being checked: the producer behind code C, and J, P, C, t."""

    producer_id: str
    jurisdiction: str
    product: str
    producer_code: str
    at: datetime
    required_lines_of_authority: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    """One failed criterion, with the credential it concerns (None for NO_LICENSE / NO_APPOINTMENT)."""

    code: str
    message: str
    credential: str | None = None


@dataclass(frozen=True)
class QualificationResult:
    """Outcome of `qualify`: reasons are empty when qualified; `qualifying` lists the locators that pass."""

    qualified: bool
    requirement: str
    reasons: tuple[Reason, ...]
    qualifying: tuple[str, ...]


def _utc(moment: datetime) -> datetime:
    """Compare naive and aware times safely: a naive time is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _name(cred: Credential) -> str:
    number = f" {cred.number}" if cred.number else ""
    return f"{_LABEL[cred.kind]}{number} ({cred.locator})"


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def credential_failures(cred: Credential, req: QualificationRequest) -> list[Reason]:
    """Every criterion `cred` fails for `req`, in a stable order; an empty list means it qualifies."""
    who = _name(cred)
    out: list[Reason] = []

    def fail(code: str, message: str) -> None:
        out.append(Reason(code, message, cred.locator))

    if cred.state == "terminated":
        when = f" on {cred.terminated_on.isoformat()}" if cred.terminated_on else ""
        why = f" ({cred.termination_reason})" if cred.termination_reason else ""
        fail("TERMINATED", f"{who} was terminated{when}{why}; a terminated {cred.kind} never qualifies.")
    elif cred.state != "validated":
        fail("NOT_VALIDATED", f"{who} is {cred.state}; only a validated {cred.kind} qualifies.")
    if cred.producer_id != req.producer_id:
        fail("OTHER_PRODUCER", f"{who} belongs to another producer, not to the producer of code "
                               f"{req.producer_code}.")
    wanted = req.jurisdiction.strip().upper()
    if cred.jurisdictions and wanted not in {j.strip().upper() for j in cred.jurisdictions}:
        fail("JURISDICTION_NOT_COVERED", f"{who} does not cover jurisdiction {req.jurisdiction} "
                                         f"(covers {_listed(cred.jurisdictions)}).")
    if cred.products and req.product not in cred.products:
        fail("PRODUCT_NOT_COVERED", f"{who} does not cover product {req.product} "
                                    f"(covers {_listed(cred.products)}).")
    if cred.producer_codes and req.producer_code not in cred.producer_codes:
        fail("PRODUCER_CODE_NOT_COVERED", f"{who} does not cover producer code {req.producer_code} "
                                          f"(covers {_listed(cred.producer_codes)}).")
    at = _utc(req.at)
    if cred.effective_time is not None and at < _utc(cred.effective_time):
        fail("NOT_YET_EFFECTIVE", f"{who} is effective from {cred.effective_time.isoformat()}, "
                                  f"after {req.at.isoformat()}.")
    if cred.expiration_time is not None and at >= _utc(cred.expiration_time):
        fail("EXPIRED", f"{who} expired at {cred.expiration_time.isoformat()}, "
                        f"not after {req.at.isoformat()}.")
    held = {loa.strip().casefold() for loa in cred.lines_of_authority}
    missing = [loa for loa in req.required_lines_of_authority if loa.strip().casefold() not in held]
    if missing:
        fail("LINES_OF_AUTHORITY_MISSING", f"{who} lacks the required lines of authority: "
                                           f"{_listed(tuple(missing))}.")
    return out


def qualify(requirement: Requirement, credentials: Iterable[Credential],
            req: QualificationRequest) -> QualificationResult:
    """Apply a product's qualification requirement; when refused, give every failing clause of every candidate."""
    if requirement == "none":
        return QualificationResult(True, requirement, (), ())
    if requirement not in _LABEL:
        raise ValueError(f"Unknown producer qualification {requirement!r}; use none, license or appointment.")
    candidates = [c for c in credentials if c.kind == requirement]
    qualifying: list[str] = []
    reasons: list[Reason] = []
    for cred in candidates:
        failures = credential_failures(cred, req)
        if failures:
            reasons.extend(failures)
        else:
            qualifying.append(cred.locator)
    if qualifying:
        return QualificationResult(True, requirement, (), tuple(qualifying))
    if not any(c.producer_id == req.producer_id for c in candidates):
        reasons.insert(0, Reason(NO_CREDENTIAL[requirement],
                                 f"The producer of code {req.producer_code} has no {requirement}; the product "
                                 f"{req.product} requires a qualifying {requirement}."))
    return QualificationResult(False, requirement, tuple(reasons), ())
