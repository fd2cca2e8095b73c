"""Estimated license cost of a state and line-of-authority selection (pure rule)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from app.errors import DomainError
from app.rules.fees import CostLine, estimate_cost, money


@dataclass(frozen=True)
class Loa:
    fee: Decimal


@dataclass(frozen=True)
class Jurisdiction:
    name: str
    linesOfAuthority: Mapping[str, Loa]  # the tenant configuration's spelling
    currency: str = "USD"


@dataclass
class Reference:
    """A builder for a jurisdiction reference: `Reference().state("CA", Life=50)`."""

    states: dict[str, Jurisdiction] = field(default_factory=dict)

    def state(self, code: str, currency: str = "USD", **fees: str | int) -> Reference:
        loas = {name.replace("_", " "): Loa(Decimal(str(fee))) for name, fee in fees.items()}
        self.states[code] = Jurisdiction(f"State {code}", loas, currency)
        return self


def reference() -> dict[str, Jurisdiction]:
    return (Reference()
            .state("CA", Life="50.00", Health="50", Property="75.5")
            .state("NY", Life="40", Casualty="100.125")
            .state("TX", Life="0")
            .states)


def test_estimate_sums_fees_per_line_state_and_total() -> None:
    estimate = estimate_cost(reference(), {"CA": ["Life", "Property"], "NY": ["Life"]})
    assert estimate.lines == (
        CostLine("CA", "Life", Decimal("50.00"), "USD"),
        CostLine("CA", "Property", Decimal("75.50"), "USD"),
        CostLine("NY", "Life", Decimal("40.00"), "USD"),
    )
    assert estimate.by_jurisdiction == (("CA", Decimal("125.50")), ("NY", Decimal("40.00")))
    assert estimate.total == Decimal("165.50")
    assert estimate.currency == "USD"


def test_amounts_are_quantized_to_cents() -> None:
    estimate = estimate_cost(reference(), {"NY": ["Casualty"]})
    assert estimate.total == Decimal("100.13")
    assert estimate.total.as_tuple().exponent == -2
    assert all(line.fee.as_tuple().exponent == -2 for line in estimate.lines)


def test_duplicate_lines_of_authority_collapse() -> None:
    estimate = estimate_cost(reference(), {"CA": ["Life", "life", " LIFE ", "Life"]})
    assert [line.line_of_authority for line in estimate.lines] == ["Life"]
    assert estimate.total == Decimal("50.00")


def test_state_codes_and_loas_match_ignoring_case_and_use_configured_spelling() -> None:
    estimate = estimate_cost(reference(), {"ca": ["health"]})
    assert estimate.lines == (CostLine("CA", "Health", Decimal("50.00"), "USD"),)


def test_same_state_in_two_spellings_is_merged() -> None:
    estimate = estimate_cost(reference(), {"CA": ["Life"], "ca": ["Life", "Health"]})
    assert estimate.by_jurisdiction == (("CA", Decimal("100.00")),)


def test_zero_fee_lines_are_listed() -> None:
    estimate = estimate_cost(reference(), {"TX": ["Life"]})
    assert estimate.total == Decimal("0.00") and len(estimate.lines) == 1


def test_empty_selection_costs_nothing() -> None:
    estimate = estimate_cost(reference(), {})
    assert estimate.lines == () and estimate.total == Decimal("0.00") and estimate.currency == "USD"


def test_unknown_jurisdiction_is_refused_with_its_field() -> None:
    with pytest.raises(DomainError) as caught:
        estimate_cost(reference(), {"CA": ["Life"], "ZZ": ["Life"]})
    assert caught.value.code == "UNKNOWN_JURISDICTION"
    assert caught.value.field == "states[1].jurisdiction"
    assert "ZZ" in caught.value.message


def test_unknown_line_of_authority_lists_the_allowed_ones() -> None:
    with pytest.raises(DomainError) as caught:
        estimate_cost(reference(), {"NY": ["Health"]})
    assert caught.value.code == "UNKNOWN_LINE_OF_AUTHORITY"
    assert caught.value.field == "states[0].linesOfAuthority[0]"
    assert "Health" in caught.value.message
    assert "Life, Casualty" in caught.value.message


def test_state_without_lines_of_authority_is_refused() -> None:
    with pytest.raises(DomainError) as caught:
        estimate_cost(reference(), {"CA": []})
    assert caught.value.code == "LINES_OF_AUTHORITY_REQUIRED"
    assert caught.value.field == "states[0].linesOfAuthority"


def test_mixed_currencies_are_refused() -> None:
    states = Reference().state("CA", Life=50).state("PR", currency="EUR", Life=20).states
    with pytest.raises(DomainError) as caught:
        estimate_cost(states, {"CA": ["Life"], "PR": ["Life"]})
    assert caught.value.code == "MIXED_CURRENCIES"
    assert "EUR" in caught.value.message and "USD" in caught.value.message


def test_non_usd_currency_is_carried_through() -> None:
    states = Reference().state("PR", currency="EUR", Life=20).states
    estimate = estimate_cost(states, {"PR": ["Life"]})
    assert estimate.currency == "EUR" and estimate.lines[0].currency == "EUR"


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(DomainError) as caught:
        estimate_cost(reference(), {"ZZ": ["Life"], "CA": [], "NY": ["Life", "Marine", "Aviation"]})
    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("UNKNOWN_JURISDICTION", "states[0].jurisdiction"),
        ("LINES_OF_AUTHORITY_REQUIRED", "states[1].linesOfAuthority"),
        ("UNKNOWN_LINE_OF_AUTHORITY", "states[2].linesOfAuthority[1]"),
        ("UNKNOWN_LINE_OF_AUTHORITY", "states[2].linesOfAuthority[2]"),
    ]
    assert caught.value.code == "INVALID_STATE_SELECTION"


def test_selection_values_may_be_any_iterable() -> None:
    estimate = estimate_cost(reference(), {"CA": (loa for loa in ["Life"]), "NY": {"Life"}})
    assert estimate.total == Decimal("90.00")


@pytest.mark.parametrize(("amount", "expected"), [
    (Decimal("1.005"), Decimal("1.01")), (Decimal("2"), Decimal("2.00")), (0.1, Decimal("0.10")),
    ("3.14159", Decimal("3.14")), (7, Decimal("7.00")),
])
def test_money_rounds_half_up_to_cents(amount: object, expected: Decimal) -> None:
    assert money(amount) == expected  # type: ignore[arg-type]
