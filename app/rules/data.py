"""Extension `data` validation: check values against a type's resolved data fields.

Pure: takes the field definitions and the submitted data, returns cleaned JSON-ready data and the
problems found. Values of fields whose name contains "ssn" are never echoed in messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from app.errors import Problem

if TYPE_CHECKING:
    from app.tenant_config import DataField

UNKNOWN_DATA_FIELD = "UNKNOWN_DATA_FIELD"
DATA_TYPE_MISMATCH = "DATA_TYPE_MISMATCH"
MISSING_REQUIRED_DATA = "MISSING_REQUIRED_DATA"
INVALID_ENUM_VALUE = "INVALID_ENUM_VALUE"
DOCUMENT_ATTACH_ONLY = "DOCUMENT_ATTACH_ONLY"

FIELD_TYPES = ("string", "text", "int", "decimal", "boolean", "date", "datetime", "email", "enum", "media")

EXPECTS: dict[str, str] = {
    "string": "a string",
    "text": "a string",
    "int": "a whole number",
    "decimal": 'a decimal number such as 12.50 or "12.50"',
    "boolean": "true or false",
    "date": "an ISO date such as 2025-01-31",
    "datetime": "an ISO date-time such as 2025-01-31T09:30:00Z",
    "email": "an email address such as name@example.com",
    "enum": "one of the listed values",
    "media": "a document attached with the attachDocument mutation",
}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class DataValueError(ValueError):
    """A value does not fit its field type; `code` is the Problem code, `expects` what is allowed."""

    def __init__(self, code: str, expects: str) -> None:
        super().__init__(expects)
        self.code = code
        self.expects = expects


def expects(field_type: str, values: Sequence[str] | None = None) -> str:
    """Describe what a field of this type accepts, for messages."""
    if field_type == "enum":
        return "one of: " + ", ".join(values or [])
    return EXPECTS[field_type]


def coerce_value(field_type: str, value: Any, values: Sequence[str] | None = None) -> Any:
    """Check one value against a field type and return its JSON-ready form.

    Decimals become strings (no float rounding), dates and date-times ISO strings.
    Raises DataValueError when the value does not fit.
    """
    mismatch = DataValueError(DATA_TYPE_MISMATCH, expects(field_type, values))
    if field_type in ("string", "text"):
        if not isinstance(value, str):
            raise mismatch
        return value
    if field_type == "email":
        if not isinstance(value, str) or not _EMAIL.fullmatch(value):
            raise mismatch
        return value
    if field_type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise mismatch
        return value
    if field_type == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise mismatch
        try:
            number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise mismatch from None
        if not number.is_finite():
            raise mismatch
        return str(number)
    if field_type == "boolean":
        if not isinstance(value, bool):
            raise mismatch
        return value
    if field_type == "date":
        if isinstance(value, datetime):
            raise mismatch
        if isinstance(value, date):
            return value.isoformat()
        if not isinstance(value, str):
            raise mismatch
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise mismatch from None
    if field_type == "datetime":
        if isinstance(value, datetime):
            return value.isoformat()
        if not isinstance(value, str):
            raise mismatch
        try:
            return datetime.fromisoformat(value).isoformat()
        except ValueError:
            raise mismatch from None
    if field_type == "enum":
        if not isinstance(value, str) or value not in (values or []):
            raise DataValueError(INVALID_ENUM_VALUE, expects(field_type, values))
        return value
    if field_type == "media":
        raise DataValueError(DOCUMENT_ATTACH_ONLY, expects(field_type))
    raise ValueError(f'unknown data field type "{field_type}"; allowed: {", ".join(FIELD_TYPES)}')


def _json_kind(value: Any) -> str:
    """The JSON kind of a value with its article, e.g. "a string", "an object"."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return "null" if value is None else "a value"


def show_value(field_name: str, value: Any) -> str:
    """Render a value for a message, hiding it when the field may hold an SSN."""
    if "ssn" in field_name.lower():
        return f"{_json_kind(value)} (value not shown)"
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_data(
    fields: Mapping[str, DataField],
    data: Mapping[str, Any] | None,
    *,
    fill_defaults: bool = True,
    check_required: bool = True,
    stored: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """Validate extension data against a type's data fields; return (cleaned data, problems).

    `check_required=False` lets drafts be saved partially; validation passes True.
    A null value clears the field (it then counts as absent).
    Media fields hold the documents attached with `attachDocument`: with `stored` (the entity's data before a
    change) they keep the stored value whatever is submitted, and a different submitted value is refused;
    without it, `data` is the stored data and its media values are kept as they are.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        return {}, [Problem(DATA_TYPE_MISMATCH,
                            f"Extension data must be an object of field names to values; "
                            f"got {show_value('data', data)}.", "data")]
    problems: list[Problem] = []
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        path = f"data.{name}"
        field = fields.get(name)
        if field is None:
            known = ", ".join(fields) if fields else "(none: this type defines no data fields)"
            problems.append(Problem(UNKNOWN_DATA_FIELD,
                                    f'Unknown data field "{name}"; known fields: {known}.', path))
            continue
        if field.type == "media":
            if stored is None:
                if value is not None:
                    cleaned[name] = value
            elif value != stored.get(name):
                problems.append(Problem(DOCUMENT_ATTACH_ONLY,
                                        f'Data field "{name}" holds documents: attach one with attachDocument and '
                                        "detach it with removeDocument, not through data.", path))
            continue
        if value is None:
            continue
        try:
            cleaned[name] = coerce_value(field.type, value, field.values)
        except DataValueError as exc:
            verb = "must be" if exc.code == INVALID_ENUM_VALUE else "expects"
            problems.append(Problem(exc.code, f'Data field "{name}" {verb} {exc.expects}; '
                                              f"got {show_value(name, value)}.", path))
    for name, field in fields.items():
        if field.type == "media" and stored is not None and stored.get(name) is not None:
            cleaned[name] = stored[name]
        if name in cleaned or (data.get(name) is not None and field.type != "media"):
            continue
        if fill_defaults and field.default is not None:
            cleaned[name] = coerce_value(field.type, field.default, field.values)
        elif check_required and field.required:
            problems.append(Problem(MISSING_REQUIRED_DATA,
                                    f'Data field "{name}" is required: give {expects(field.type, field.values)}.',
                                    f"data.{name}"))
    return cleaned, problems
