"""Extension data validation against a type's resolved data fields."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import Problem
from app.rules.data import validate_data
from app.tenant_config import DataField


def fields(**definitions: dict[str, Any]) -> dict[str, DataField]:
    """Build data field definitions from plain dicts, as they appear in the config JSON."""
    return {name: DataField.model_validate(d) for name, d in definitions.items()}


ACCEPTED = [
    ({"type": "string"}, "hello", "hello"),
    ({"type": "text"}, "line 1\nline 2", "line 1\nline 2"),
    ({"type": "int"}, 42, 42),
    ({"type": "int"}, -3, -3),
    ({"type": "decimal"}, "12.50", "12.50"),
    ({"type": "decimal"}, 12.5, "12.5"),
    ({"type": "decimal"}, 7, "7"),
    ({"type": "boolean"}, False, False),
    ({"type": "date"}, "2025-01-31", "2025-01-31"),
    ({"type": "datetime"}, "2025-01-31T09:30:00Z", "2025-01-31T09:30:00+00:00"),
    ({"type": "datetime"}, "2025-01-31T09:30:00+02:00", "2025-01-31T09:30:00+02:00"),
    ({"type": "email"}, "jane@example.com", "jane@example.com"),
    ({"type": "enum", "values": ["active", "inactive"]}, "inactive", "inactive"),
]


@pytest.mark.parametrize(("definition", "value", "cleaned"), ACCEPTED)
def test_valid_values_are_accepted_and_cleaned(definition: dict[str, Any], value: Any, cleaned: Any) -> None:
    result, problems = validate_data(fields(x=definition), {"x": value})
    assert problems == []
    assert result == {"x": cleaned}


REFUSED = [
    ({"type": "string"}, 5, "DATA_TYPE_MISMATCH", 'Data field "x" expects a string; got 5.'),
    ({"type": "int"}, "42", "DATA_TYPE_MISMATCH", 'Data field "x" expects a whole number; got "42".'),
    ({"type": "int"}, True, "DATA_TYPE_MISMATCH", 'Data field "x" expects a whole number; got true.'),
    ({"type": "int"}, 1.5, "DATA_TYPE_MISMATCH", 'Data field "x" expects a whole number; got 1.5.'),
    ({"type": "decimal"}, "abc", "DATA_TYPE_MISMATCH",
     'Data field "x" expects a decimal number such as 12.50 or "12.50"; got "abc".'),
    ({"type": "decimal"}, "NaN", "DATA_TYPE_MISMATCH",
     'Data field "x" expects a decimal number such as 12.50 or "12.50"; got "NaN".'),
    ({"type": "decimal"}, False, "DATA_TYPE_MISMATCH",
     'Data field "x" expects a decimal number such as 12.50 or "12.50"; got false.'),
    ({"type": "boolean"}, 1, "DATA_TYPE_MISMATCH", 'Data field "x" expects true or false; got 1.'),
    ({"type": "boolean"}, "true", "DATA_TYPE_MISMATCH", 'Data field "x" expects true or false; got "true".'),
    ({"type": "date"}, "31/01/2025", "DATA_TYPE_MISMATCH",
     'Data field "x" expects an ISO date such as 2025-01-31; got "31/01/2025".'),
    ({"type": "date"}, "2025-01-31T10:00:00", "DATA_TYPE_MISMATCH",
     'Data field "x" expects an ISO date such as 2025-01-31; got "2025-01-31T10:00:00".'),
    ({"type": "datetime"}, "yesterday", "DATA_TYPE_MISMATCH",
     'Data field "x" expects an ISO date-time such as 2025-01-31T09:30:00Z; got "yesterday".'),
    ({"type": "email"}, "jane.example.com", "DATA_TYPE_MISMATCH",
     'Data field "x" expects an email address such as name@example.com; got "jane.example.com".'),
    ({"type": "enum", "values": ["active", "inactive"]}, "gone", "INVALID_ENUM_VALUE",
     'Data field "x" must be one of: active, inactive; got "gone".'),
    ({"type": "enum", "values": ["1", "2"]}, 1, "INVALID_ENUM_VALUE", 'Data field "x" must be one of: 1, 2; got 1.'),
]


@pytest.mark.parametrize(("definition", "value", "code", "message"), REFUSED)
def test_invalid_values_are_refused_with_what_is_allowed(
    definition: dict[str, Any], value: Any, code: str, message: str
) -> None:
    _, problems = validate_data(fields(x=definition), {"x": value})
    assert problems == [Problem(code, message, "data.x")]


def test_unknown_field_is_refused_and_known_fields_listed() -> None:
    cleaned, problems = validate_data(fields(phone={"type": "string"}, notes={"type": "text"}), {"fax": "1"})
    assert problems == [Problem("UNKNOWN_DATA_FIELD", 'Unknown data field "fax"; known fields: phone, notes.',
                                "data.fax")]
    assert cleaned == {}


def test_unknown_field_on_a_type_without_fields() -> None:
    _, problems = validate_data({}, {"fax": "1"})
    assert problems[0].message == 'Unknown data field "fax"; known fields: (none: this type defines no data fields).'


def test_missing_required_field_is_reported() -> None:
    _, problems = validate_data(fields(agencyName={"type": "string", "required": True}), {})
    assert problems == [Problem("MISSING_REQUIRED_DATA", 'Data field "agencyName" is required: give a string.',
                                "data.agencyName")]


def test_drafts_may_omit_required_fields() -> None:
    cleaned, problems = validate_data(fields(agencyName={"type": "string", "required": True}), {},
                                      check_required=False)
    assert (cleaned, problems) == ({}, [])


def test_null_clears_a_field_and_then_counts_as_missing() -> None:
    _, problems = validate_data(fields(n={"type": "int", "required": True}), {"n": None})
    assert [p.code for p in problems] == ["MISSING_REQUIRED_DATA"]


def test_invalid_required_value_is_reported_once() -> None:
    _, problems = validate_data(fields(n={"type": "int", "required": True}), {"n": "x"})
    assert [p.code for p in problems] == ["DATA_TYPE_MISMATCH"]


def test_defaults_fill_absent_fields_and_satisfy_required() -> None:
    definitions = fields(status={"type": "enum", "values": ["active", "inactive"], "default": "active",
                                 "required": True},
                         rate={"type": "decimal", "default": 0.1})
    cleaned, problems = validate_data(definitions, {})
    assert problems == []
    assert cleaned == {"status": "active", "rate": "0.1"}


def test_defaults_do_not_override_given_values() -> None:
    definitions = fields(status={"type": "enum", "values": ["active", "inactive"], "default": "active"})
    cleaned, _ = validate_data(definitions, {"status": "inactive"})
    assert cleaned == {"status": "inactive"}


def test_defaults_are_not_filled_when_asked_not_to() -> None:
    definitions = fields(status={"type": "enum", "values": ["active", "inactive"], "default": "active"})
    cleaned, _ = validate_data(definitions, {}, fill_defaults=False)
    assert cleaned == {}


@pytest.mark.parametrize("name", ["ssn", "spouseSsn", "SSN_last"])
def test_ssn_values_are_never_echoed(name: str) -> None:
    _, problems = validate_data(fields(**{name: {"type": "string"}}), {name: 123456789})
    assert problems[0].message == f'Data field "{name}" expects a string; got a number (value not shown).'
    assert "123456789" not in problems[0].message


def test_long_values_are_shortened_in_messages() -> None:
    _, problems = validate_data(fields(n={"type": "int"}), {"n": "x" * 100})
    assert problems[0].message == f'Data field "n" expects a whole number; got "{"x" * 56}....'


def test_data_that_is_not_an_object_is_refused() -> None:
    cleaned, problems = validate_data(fields(), ["a"])  # type: ignore[arg-type]
    assert cleaned == {}
    assert problems == [Problem("DATA_TYPE_MISMATCH",
                                'Extension data must be an object of field names to values; got ["a"].', "data")]


def test_none_data_is_empty() -> None:
    assert validate_data(fields(a={"type": "string"}), None) == ({}, [])


def test_every_problem_is_reported() -> None:
    definitions = fields(a={"type": "int"}, b={"type": "string", "required": True})
    _, problems = validate_data(definitions, {"a": "x", "c": 1})
    assert [(p.code, p.field) for p in problems] == [
        ("DATA_TYPE_MISMATCH", "data.a"),
        ("UNKNOWN_DATA_FIELD", "data.c"),
        ("MISSING_REQUIRED_DATA", "data.b"),
    ]
