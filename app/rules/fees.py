"""Estimated license cost of assigning states and their lines of authority to a producer (onboarding wizard).

Pure rule over the tenant's jurisdiction reference: every selected (state, line of authority) costs the fee
configured for it. All problems of a selection are reported together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from app.errors import DomainError, Problem

CENT = Decimal("0.01")


class LineOfAuthorityLike(Protocol):
    """A line of authority offered by a jurisdiction, with its license fee."""

    @property
    def fee(self) -> Decimal: ...


class JurisdictionLike(Protocol):
    """A state or territory from the tenant configuration (`jurisdictions.<code>`)."""

    @property
    def name(self) -> str: ...

    @property
    def currency(self) -> str: ...

    @property
    def linesOfAuthority(self) -> Mapping[str, LineOfAuthorityLike]: ...  # config spelling


@dataclass(frozen=True)
class CostLine:
    """The fee of one line of authority in one jurisdiction."""

    jurisdiction: str
    line_of_authority: str
    fee: Decimal
    currency: str


@dataclass(frozen=True)
class CostEstimate:
    """Fees per line, subtotals per jurisdiction (selection order) and the total, in one currency."""

    lines: tuple[CostLine, ...]
    by_jurisdiction: tuple[tuple[str, Decimal], ...]
    total: Decimal
    currency: str


def money(amount: Decimal | int | float | str) -> Decimal:
    """An amount as a Decimal rounded half-up to the cent."""
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _find(options: Iterable[str], wanted: str) -> str | None:
    """The configured spelling of `wanted`, matched exactly first, then ignoring case and outer spaces."""
    options = list(options)
    if wanted in options:
        return wanted
    folded = wanted.strip().casefold()
    return next((o for o in options if o.strip().casefold() == folded), None)


def estimate_cost(jurisdictions: Mapping[str, JurisdictionLike], selections: Mapping[str, Iterable[str]],
                  *, default_currency: str = "USD") -> CostEstimate:
    """Price a selection {state code: [line of authority, ...]}; raise one DomainError listing every problem."""
    problems: list[Problem] = []
    chosen: dict[str, list[str]] = {}
    for i, (raw_code, raw_loas) in enumerate(selections.items()):
        code = _find(jurisdictions.keys(), raw_code)
        if code is None:
            problems.append(Problem("UNKNOWN_JURISDICTION",
                                    f"Jurisdiction {raw_code!r} is not configured; use a state or territory "
                                    "code such as CA or NY.", f"states[{i}].jurisdiction"))
            continue
        offered = jurisdictions[code].linesOfAuthority
        loas = chosen.setdefault(code, [])
        requested = [raw_loas] if isinstance(raw_loas, str) else list(raw_loas)
        if not requested and not loas:
            problems.append(Problem("LINES_OF_AUTHORITY_REQUIRED",
                                    f"Choose at least one line of authority for {code}.",
                                    f"states[{i}].linesOfAuthority"))
        for j, raw_loa in enumerate(requested):
            loa = _find(offered.keys(), raw_loa)
            if loa is None:
                problems.append(Problem("UNKNOWN_LINE_OF_AUTHORITY",
                                        f"{code} does not offer the line of authority {raw_loa!r}; allowed: "
                                        f"{', '.join(offered) or 'none configured'}.",
                                        f"states[{i}].linesOfAuthority[{j}]"))
            elif loa not in loas:
                loas.append(loa)
    currencies = sorted({jurisdictions[code].currency for code in chosen})
    if len(currencies) > 1:
        problems.append(Problem("MIXED_CURRENCIES",
                                f"The selected jurisdictions charge in different currencies "
                                f"({', '.join(currencies)}); estimate them separately.", "states"))
    if problems:
        first = problems[0]
        if len(problems) == 1:
            raise DomainError(first.code, first.message, first.field, problems)
        raise DomainError("INVALID_STATE_SELECTION",
                          f"{len(problems)} problems with the selected states: "
                          + " ".join(p.message for p in problems), "states", problems)
    currency = currencies[0] if currencies else default_currency
    lines: list[CostLine] = []
    subtotals: list[tuple[str, Decimal]] = []
    for code, loas in chosen.items():
        offered = jurisdictions[code].linesOfAuthority
        priced = [CostLine(code, loa, money(offered[loa].fee), currency) for loa in loas]
        lines.extend(priced)
        subtotals.append((code, money(sum((p.fee for p in priced), Decimal(0)))))
    total = money(sum((s for _, s in subtotals), Decimal(0)))
    return CostEstimate(tuple(lines), tuple(subtotals), total, currency)
