"""Normalisation and validation of typed producer identity fields (pure rules)."""

from __future__ import annotations

import pytest

from app.errors import DomainError
from app.rules.identity import (
    normalize_email,
    normalize_gender,
    normalize_last_name,
    normalize_npn,
    normalize_ssn,
    normalize_state,
    same_last_name,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("123-45-6789", "123456789"),
    ("123456789", "123456789"),
    (" 123 45 6789 ", "123456789"),
    ("123 - 45 - 6789", "123456789"),
    (123456789, "123456789"),
    (12345678, "012345678"),
    (1234567, "001234567"),
    ("12345678", "012345678"),
    (123456789.0, "123456789"),
    (12345678.0, "012345678"),
    ("123456789.0", "123456789"),
    ("001-01-0001", "001010001"),
    ("665-99-9999", "665999999"),
    ("899-99-9999", "899999999"),
])
def test_ssn_is_normalised_to_nine_digits(raw: object, expected: str) -> None:
    assert normalize_ssn(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "rule"), [
    (None, "required"),
    ("   ", "required"),
    ("12345", "9 digits"),
    ("1234567890", "9 digits"),
    ("12-345-678", "9 digits"),
    ("12345-678", "9 digits"),
    ("123-45-678A", "only digits"),
    ("123.45.6789", "only digits"),
    (12345.5, "whole number"),
    (-123456789, "negative"),
    (float("nan"), "whole number"),
    (True, "yes/no"),
    ("000-12-3456", "area"),
    ("666-12-3456", "area"),
    ("900-12-3456", "area"),
    ("999-12-3456", "area"),
    ("123-00-4567", "group"),
    ("123-45-0000", "serial"),
])
def test_invalid_ssn_is_refused_with_the_rule_named(raw: object, rule: str) -> None:
    with pytest.raises(DomainError) as caught:
        normalize_ssn(raw)  # type: ignore[arg-type]
    assert caught.value.code == "INVALID_SSN"
    assert caught.value.field == "ssn"
    assert rule in caught.value.message


@pytest.mark.parametrize("raw", ["666-12-3456", "123-00-4567", "999-88-7777", "12-345-6789", "1234567890",
                                 "123-45-678A"])
def test_ssn_error_never_shows_more_than_the_last_four_digits(raw: str) -> None:
    with pytest.raises(DomainError) as caught:
        normalize_ssn(raw)
    digits = "".join(ch for ch in raw if ch.isdigit())
    message = caught.value.message
    assert digits not in message and raw not in message
    assert digits[:5] not in message


def test_ssn_error_names_the_last_four_digits() -> None:
    with pytest.raises(DomainError, match="ending 3456"):
        normalize_ssn("666-12-3456")


@pytest.mark.parametrize(("raw", "expected"), [
    ("1234567", "1234567"),
    (" 1234567 ", "1234567"),
    (1234567, "1234567"),
    (1234567.0, "1234567"),
    ("1234567.0", "1234567"),
    ("1", "1"),
    ("1234567890", "1234567890"),
    ("0012345", "0012345"),
    (12345, "12345"),
])
def test_npn_keeps_its_digits_without_padding(raw: object, expected: str) -> None:
    assert normalize_npn(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [None, "", "12345678901", "12a45", "123-456", 1.5, -5, "0000", True])
def test_invalid_npn_is_refused(raw: object) -> None:
    with pytest.raises(DomainError) as caught:
        normalize_npn(raw)  # type: ignore[arg-type]
    assert caught.value.code == "INVALID_NPN" and caught.value.field == "npn"


def test_npn_error_does_not_echo_an_ssn_typed_in_the_wrong_column() -> None:
    with pytest.raises(DomainError) as caught:
        normalize_npn("123-45-6789")
    assert "123-45-6789" not in caught.value.message


@pytest.mark.parametrize(("raw", "expected"), [
    ("jane@example.com", "jane@example.com"),
    ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
    ("JANE+tag@EXAMPLE.org", "jane+tag@example.org"),
])
def test_email_is_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "jane", "jane@", "@example.com", "jane@@example.com",
                                 "jane doe@example.com", "jane@example", 12345])
def test_invalid_email_is_refused(raw: str | None) -> None:
    with pytest.raises(DomainError) as caught:
        normalize_email(raw)
    assert caught.value.code == "INVALID_EMAIL" and caught.value.field == "email"


def test_email_error_redacts_an_ssn() -> None:
    with pytest.raises(DomainError) as caught:
        normalize_email("123-45-6789")
    assert "123-45-6789" not in caught.value.message


@pytest.mark.parametrize(("raw", "expected"), [
    ("M", "MALE"), ("m", "MALE"), ("Male", "MALE"), (" MALE ", "MALE"),
    ("F", "FEMALE"), ("female", "FEMALE"),
    ("X", "NON_BINARY"), ("Non-binary", "NON_BINARY"), ("nonbinary", "NON_BINARY"),
    ("NON_BINARY", "NON_BINARY"), ("non binary", "NON_BINARY"),
    (None, None), ("", None), ("  ", None), ("U", None), ("unknown", None),
])
def test_gender_is_normalised(raw: str | None, expected: str | None) -> None:
    assert normalize_gender(raw) == expected


@pytest.mark.parametrize("raw", ["Q", "yes", "Mal", 1])
def test_unknown_gender_is_refused(raw: object) -> None:
    with pytest.raises(DomainError) as caught:
        normalize_gender(raw)  # type: ignore[arg-type]
    assert caught.value.code == "INVALID_GENDER" and caught.value.field == "gender"
    assert "M, F, X" in caught.value.message


@pytest.mark.parametrize("raw", [None, "", "U"])
def test_blank_gender_is_refused_when_required(raw: str | None) -> None:
    with pytest.raises(DomainError, match="required") as caught:
        normalize_gender(raw, required=True)
    assert caught.value.code == "INVALID_GENDER"


@pytest.mark.parametrize(("raw", "expected"), [
    ("Doe", "Doe"), ("  van   der  Berg ", "van der Berg"), ("O'Brien\t", "O'Brien"),
    ("Smith-Jones", "Smith-Jones"), ("Mu\u0308ller", "M\u00fcller"),
])
def test_last_name_is_trimmed_and_collapsed(raw: str, expected: str) -> None:
    assert normalize_last_name(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   \t "])
def test_missing_last_name_is_refused(raw: str | None) -> None:
    with pytest.raises(DomainError) as caught:
        normalize_last_name(raw)
    assert caught.value.code == "MISSING_LAST_NAME" and caught.value.field == "lastName"


@pytest.mark.parametrize(("a", "b"), [
    ("Doe", "doe"), ("DOE", " doe "), ("Müller", "Muller"), ("García", "GARCIA"),
    ("Smith-Jones", "Smith Jones"), ("Smith-Jones", "smithjones"), ("O'Brien", "OBrien"),
    ("van der Berg", "Van Der  Berg"), ("Zoë", "Zoe"),
])
def test_same_last_name_ignores_case_accents_spaces_and_hyphens(a: str, b: str) -> None:
    assert same_last_name(a, b)


@pytest.mark.parametrize(("a", "b"), [("Doe", "Dow"), ("Smith", "Smyth"), ("", ""), (None, "Doe"),
                                      ("Doe", None)])
def test_different_last_names_do_not_match(a: str | None, b: str | None) -> None:
    assert not same_last_name(a, b)


@pytest.mark.parametrize(("raw", "expected"), [("CA", "CA"), ("ny", "NY"), (" tx ", "TX")])
def test_state_is_two_upper_case_letters(raw: str, expected: str) -> None:
    assert normalize_state(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "C", "CAL", "C1", "California", 12])
def test_invalid_state_is_refused(raw: object) -> None:
    with pytest.raises(DomainError) as caught:
        normalize_state(raw)  # type: ignore[arg-type]
    assert caught.value.code == "INVALID_STATE" and caught.value.field == "state"
