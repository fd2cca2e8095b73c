"""Qualification criteria for licenses and appointments (pure rule)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from app.rules.qualification import Credential, QualificationRequest, credential_failures, qualify

T0 = datetime(2025, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 1, tzinfo=UTC)
AT = datetime(2025, 6, 1, tzinfo=UTC)


def a_license(**changes: object) -> Credential:
    """A validated license that qualifies for `a_request()`; override fields to break one clause."""
    base = Credential(
        locator="LIC1", kind="license", state="validated", producer_id="P1",
        jurisdictions=("CA", "NY"), products=("Auto",), producer_codes=("C-1",),
        lines_of_authority=("Property", "Casualty"), effective_time=T0, expiration_time=T1, number="0A12345",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def an_appointment(**changes: object) -> Credential:
    return replace(a_license(locator="APP1", kind="appointment"), **changes)  # type: ignore[arg-type]


def a_request(**changes: object) -> QualificationRequest:
    base = QualificationRequest(producer_id="P1", jurisdiction="CA", product="Auto", producer_code="C-1",
                                at=AT, required_lines_of_authority=("Property",))
    return replace(base, **changes)  # type: ignore[arg-type]


def codes(reasons: object) -> list[str]:
    return [r.code for r in reasons]  # type: ignore[attr-defined]


def test_matching_credential_has_no_failures() -> None:
    assert credential_failures(a_license(), a_request()) == []


@pytest.mark.parametrize(("changes", "request_changes", "expected"), [
    ({"state": "draft"}, {}, "NOT_VALIDATED"),
    ({"state": "discarded"}, {}, "NOT_VALIDATED"),
    ({"producer_id": "P2"}, {}, "OTHER_PRODUCER"),
    ({}, {"jurisdiction": "TX"}, "JURISDICTION_NOT_COVERED"),
    ({}, {"product": "Home"}, "PRODUCT_NOT_COVERED"),
    ({}, {"producer_code": "C-2"}, "PRODUCER_CODE_NOT_COVERED"),
    ({}, {"at": T0 - timedelta(seconds=1)}, "NOT_YET_EFFECTIVE"),
    ({}, {"at": T1}, "EXPIRED"),
    ({}, {"at": T1 + timedelta(days=10)}, "EXPIRED"),
    ({}, {"required_lines_of_authority": ("Property", "Life")}, "LINES_OF_AUTHORITY_MISSING"),
    ({"lines_of_authority": ()}, {}, "LINES_OF_AUTHORITY_MISSING"),
])
def test_each_clause_fails_alone(changes: dict[str, object], request_changes: dict[str, object],
                                 expected: str) -> None:
    failures = credential_failures(a_license(**changes), a_request(**request_changes))
    assert codes(failures) == [expected]
    assert all(f.credential == "LIC1" for f in failures)


@pytest.mark.parametrize(("changes", "request_changes"), [
    ({"jurisdictions": ()}, {"jurisdiction": "TX"}),
    ({"products": ()}, {"product": "Anything"}),
    ({"producer_codes": ()}, {"producer_code": "C-99"}),
    ({"effective_time": None}, {"at": datetime(1990, 1, 1, tzinfo=UTC)}),
    ({"expiration_time": None}, {"at": datetime(2090, 1, 1, tzinfo=UTC)}),
    ({"effective_time": None, "expiration_time": None}, {}),
    ({}, {"at": T0}),  # the start is inclusive
    ({}, {"at": T1 - timedelta(microseconds=1)}),  # just before the exclusive end
    ({}, {"jurisdiction": "ny"}),
    ({"lines_of_authority": ("property ", "CASUALTY")}, {"required_lines_of_authority": ("Property", "casualty")}),
    ({}, {"required_lines_of_authority": ()}),
])
def test_empty_lists_open_ends_and_boundaries_qualify(changes: dict[str, object],
                                                      request_changes: dict[str, object]) -> None:
    assert credential_failures(a_license(**changes), a_request(**request_changes)) == []


def test_naive_times_are_compared_as_utc() -> None:
    cred = a_license(effective_time=datetime(2025, 1, 1), expiration_time=datetime(2026, 1, 1))
    assert credential_failures(cred, a_request(at=T1)) != []
    assert credential_failures(cred, a_request()) == []


def test_every_failing_clause_of_a_credential_is_listed() -> None:
    cred = a_license(state="draft", producer_id="P2", jurisdictions=("NV",), products=("Home",),
                     producer_codes=("C-9",), lines_of_authority=(), expiration_time=T0 + timedelta(days=1))
    assert codes(credential_failures(cred, a_request())) == [
        "NOT_VALIDATED", "OTHER_PRODUCER", "JURISDICTION_NOT_COVERED", "PRODUCT_NOT_COVERED",
        "PRODUCER_CODE_NOT_COVERED", "EXPIRED", "LINES_OF_AUTHORITY_MISSING",
    ]


def test_missing_lines_of_authority_are_named_in_the_message() -> None:
    [reason] = credential_failures(a_license(), a_request(required_lines_of_authority=("Life", "Health",
                                                                                         "Property")))
    assert "Life" in reason.message and "Health" in reason.message and "Property" not in reason.message


def test_requirement_none_qualifies_without_credentials() -> None:
    result = qualify("none", [], a_request())
    assert result.qualified and result.reasons == () and result.requirement == "none"


def test_license_requirement_is_met_by_one_qualifying_license() -> None:
    creds = [a_license(locator="OLD", expiration_time=T0), a_license(locator="GOOD")]
    result = qualify("license", creds, a_request())
    assert result.qualified
    assert result.qualifying == ("GOOD",)
    assert result.reasons == ()


def test_all_qualifying_locators_are_listed() -> None:
    result = qualify("license", [a_license(locator="A"), a_license(locator="B")], a_request())
    assert result.qualifying == ("A", "B")


def test_refusal_lists_reasons_of_every_candidate() -> None:
    creds = [a_license(locator="L1", state="draft"), a_license(locator="L2", jurisdictions=("NV",))]
    result = qualify("license", creds, a_request())
    assert not result.qualified
    assert [(r.credential, r.code) for r in result.reasons] == [
        ("L1", "NOT_VALIDATED"), ("L2", "JURISDICTION_NOT_COVERED")]


def test_credentials_of_the_other_kind_are_ignored() -> None:
    result = qualify("appointment", [a_license()], a_request())
    assert not result.qualified
    assert codes(result.reasons) == ["NO_APPOINTMENT"]


def test_appointment_requirement_is_met_by_an_appointment() -> None:
    result = qualify("appointment", [a_license(state="draft"), an_appointment()], a_request())
    assert result.qualified and result.qualifying == ("APP1",)


def test_a_terminated_appointment_never_qualifies_even_when_every_other_clause_matches() -> None:
    # given an appointment matching every clause, terminated at offboarding
    terminated = an_appointment(state="terminated", terminated_on=date(2025, 5, 1), termination_reason="offboarded")

    # when the appointment requirement is checked
    result = qualify("appointment", [terminated], a_request())

    # then it does not qualify, and the reason names the termination (not a generic state)
    assert not result.qualified
    assert codes(result.reasons) == ["TERMINATED"]
    assert "2025-05-01" in result.reasons[0].message and "offboarded" in result.reasons[0].message


def test_producer_without_licenses_gets_no_license() -> None:
    result = qualify("license", [], a_request())
    assert not result.qualified
    [reason] = result.reasons
    assert reason.code == "NO_LICENSE" and reason.credential is None
    assert "Auto" in reason.message


def test_only_other_producers_licenses_counts_as_none() -> None:
    result = qualify("license", [a_license(producer_id="P2")], a_request())
    assert codes(result.reasons) == ["NO_LICENSE", "OTHER_PRODUCER"]


def test_unknown_requirement_is_refused() -> None:
    with pytest.raises(ValueError, match="none, license or appointment"):
        qualify("broker", [], a_request())  # type: ignore[arg-type]


def test_credentials_can_be_any_iterable() -> None:
    result = qualify("license", (c for c in [a_license()]), a_request())
    assert result.qualified
