"""Per-row validation of a bulk onboarding file, and detection of duplicates inside the file.

Pure: takes the raw cell values read by `app.bulk_file` and returns normalised values with problems.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.errors import DomainError, Problem
from app.rules.identity import (
    normalize_email,
    normalize_gender,
    normalize_last_name,
    normalize_npn,
    normalize_ssn,
)


@dataclass(frozen=True)
class RawRow:
    """One non-blank data row: its spreadsheet row number (header is row 1) and values by column key."""

    row_number: int
    values: dict[str, object]


@dataclass
class ValidatedRow:
    """A row after normalisation: values are None where invalid or absent; `problems` says why."""

    row_number: int
    last_name: str | None
    npn: str | None
    email: str | None
    ssn: str | None
    gender: str | None
    first_name: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the row has no problem."""
        return not self.problems


def _checked(problems: list[Problem], normalize: Any, value: object, **kwargs: Any) -> Any:
    """Run one normaliser, turning its DomainError into a collected problem and a None value."""
    if value is _TOO_LONG:
        return None
    try:
        return normalize(value, **kwargs)
    except DomainError as err:
        problems.extend(err.problems)
        return None


def _first_name(value: object) -> str | None:
    if value is None:
        return None
    name = " ".join(str(value).split())
    return name or None


def validate_row(raw: RawRow, max_lengths: Mapping[str, int] | None = None) -> ValidatedRow:
    """Normalise and check every field of a raw row; all problems of the row are collected.

    `max_lengths` (value key -> most characters, from the row table's columns) refuses a value too long to store
    as VALUE_TOO_LONG on its row alone."""
    values = dict(raw.values)
    problems: list[Problem] = []
    for key, limit in (max_lengths or {}).items():
        value = values.get(key)
        if isinstance(value, str) and len(value.strip()) > limit:
            name = _FIELD_NAMES.get(key, key)
            problems.append(Problem("VALUE_TOO_LONG", f"{name} is {len(value.strip())} characters long; at most "
                                                      f"{limit} are allowed.", name))
            values[key] = _TOO_LONG
    return ValidatedRow(
        row_number=raw.row_number,
        last_name=_checked(problems, normalize_last_name, values.get("last_name")),
        npn=_checked(problems, normalize_npn, values.get("npn")),
        email=_checked(problems, normalize_email, values.get("email")),
        ssn=_checked(problems, normalize_ssn, values.get("ssn")),
        gender=_checked(problems, normalize_gender, values.get("gender"), required=True),
        first_name=None if values.get("first_name") is _TOO_LONG else _first_name(values.get("first_name")),
        problems=problems,
    )


_FIELD_NAMES = {"last_name": "lastName", "first_name": "firstName", "npn": "npn", "email": "email", "gender": "gender"}
_TOO_LONG = object()  # a value already refused as too long: not checked again


class DuplicateTracker:
    """Remembers the first row of each NPN, SSN and email, and flags later rows that repeat one.

    SSNs are kept only as digests, and problems never echo them.
    """

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, int]] = {"npn": {}, "ssn": {}, "email": {}}

    def _first(self, kind: str, key: str, row_number: int) -> int | None:
        seen = self._seen[kind]
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = row_number
        return earlier

    def check(self, row_number: int, *, npn: str | None, ssn: str | None, email: str | None) -> list[Problem]:
        """Problems for the values of this row already seen in an earlier row; records the new ones."""
        problems: list[Problem] = []
        if npn:
            earlier = self._first("npn", npn, row_number)
            if earlier is not None:
                problems.append(Problem("DUPLICATE_IN_FILE", f"NPN {npn} also appears in row {earlier}.", "npn"))
        if ssn:
            digest = hashlib.sha256(ssn.encode("ascii")).hexdigest()
            earlier = self._first("ssn", digest, row_number)
            if earlier is not None:
                problems.append(Problem("DUPLICATE_IN_FILE", f"The same SSN also appears in row {earlier}.",
                                        "ssn"))
        if email:
            earlier = self._first("email", email.lower(), row_number)
            if earlier is not None:
                problems.append(Problem("DUPLICATE_IN_FILE", f"Email {email} also appears in row {earlier}.",
                                        "email"))
        return problems

    def track(self, row: ValidatedRow) -> ValidatedRow:
        """Add this row's in-file duplicate problems to it (in place) and return it."""
        row.problems.extend(self.check(row.row_number, npn=row.npn, ssn=row.ssn, email=row.email))
        return row
