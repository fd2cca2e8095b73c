"""Normalise and validate what people type about a producer: SSN, NPN, email, gender, last name, state.

Pure rules; each refusal is a DomainError with a stable code. No message ever contains a full SSN.
"""

from __future__ import annotations

import math
import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from app.errors import DomainError
from app.pii import redact_ssns

_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]")
_WHOLE_FLOAT_TEXT = re.compile(r"^(\d+)\.0*$")
_STATE = re.compile(r"^[A-Z]{2}$")
_NAME_FOLD_DROP = re.compile(r"[\s\-\u2010-\u2015\u2212'\u2019\u02bc.]")

_GENDERS: dict[str, str | None] = {
    "M": "MALE", "MALE": "MALE", "MAN": "MALE",
    "F": "FEMALE", "FEMALE": "FEMALE", "WOMAN": "FEMALE",
    "X": "NON_BINARY", "NB": "NON_BINARY", "NONBINARY": "NON_BINARY",
    "U": None, "UNKNOWN": None, "UNSPECIFIED": None, "UNDISCLOSED": None,
}


def _is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _whole_number_text(raw: object, code: str, field: str, label: str) -> tuple[str, bool]:
    """Text of an identifier typed as str, int or whole float; the flag says it came as a number."""
    if isinstance(raw, bool):
        raise DomainError(code, f"{label} must be digits, not a yes/no value.", field)
    if isinstance(raw, int):
        if raw < 0:
            raise DomainError(code, f"{label} cannot be negative.", field)
        return str(raw), True
    if isinstance(raw, float):
        if not math.isfinite(raw) or not raw.is_integer() or raw < 0:
            raise DomainError(code, f"{label} must be a whole number of digits.", field)
        return str(int(raw)), True
    if isinstance(raw, str):
        text = raw.strip()
        whole = _WHOLE_FLOAT_TEXT.match(text)
        if whole:  # "123456789.0", as spreadsheets export numbers
            return whole.group(1), True
        return text, False
    raise DomainError(code, f"{label} must be text or a number.", field)


def normalize_ssn(raw: str | int | float | None) -> str:
    """An SSN as 9 digits; accepts dashes and spaces, and numbers that lost their leading zeros."""
    code, field = "INVALID_SSN", "ssn"
    if _is_blank(raw):
        raise DomainError(code, "SSN is required.", field)
    text, _ = _whole_number_text(raw, code, field, "SSN")
    digits = _SEPARATORS.sub("", text)
    if not digits.isascii() or not digits.isdigit():
        raise DomainError(code, "SSN must contain only digits, optionally written as NNN-NN-NNNN.", field)
    groups = [len(g) for g in _SEPARATORS.split(text) if g]
    separated = len(groups) > 1
    if separated and groups != [3, 2, 4]:
        raise DomainError(code, "SSN must be written as NNN-NN-NNNN or as 9 digits.", field)
    if len(digits) in (7, 8) and not separated:
        digits = digits.zfill(9)  # a spreadsheet dropped the leading zeros of area 001-099
    if len(digits) != 9:
        raise DomainError(code, f"SSN must have 9 digits; this one has {len(digits)}.", field)
    tail = digits[-4:]
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area == "000" or area == "666" or area >= "900":
        raise DomainError(code, f"SSN ending {tail} has an invalid area number (the first three digits "
                                "cannot be 000, 666 or 900-999).", field)
    if group == "00":
        raise DomainError(code, f"SSN ending {tail} has an invalid group number (the middle two digits "
                                "cannot be 00).", field)
    if serial == "0000":
        raise DomainError(code, "SSN has an invalid serial number (the last four digits cannot be 0000).",
                          field)
    return digits


def normalize_npn(raw: str | int | float | None) -> str:
    """A National Producer Number: 1 to 10 digits, as given (no zero padding; NPNs have no fixed width)."""
    code, field = "INVALID_NPN", "npn"
    if _is_blank(raw):
        raise DomainError(code, "NPN is required.", field)
    text, _ = _whole_number_text(raw, code, field, "NPN")
    if not text.isascii() or not text.isdigit():
        raise DomainError(code, "NPN must contain only digits (1 to 10 of them).", field)
    if len(text) > 10:
        raise DomainError(code, f"NPN has {len(text)} digits; an NPN has at most 10.", field)
    if not text.strip("0"):
        raise DomainError(code, "NPN cannot be all zeros.", field)
    return text


def normalize_email(raw: str | None) -> str:
    """A trimmed, lower-case, syntactically valid email address (deliverability is not checked)."""
    code, field = "INVALID_EMAIL", "email"
    if _is_blank(raw):
        raise DomainError(code, "Email is required.", field)
    if not isinstance(raw, str):
        raise DomainError(code, "Email must be text such as jane.doe@example.com.", field)
    text = raw.strip()
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(code, redact_ssns(f"Email {text!r} is not valid: {exc}"), field) from exc
    return checked.normalized.lower()


def normalize_gender(raw: str | None, *, required: bool = False) -> str | None:
    """MALE, FEMALE or NON_BINARY from M/F/X and their spelled-out forms; blank or unknown gives None."""
    code, field = "INVALID_GENDER", "gender"
    allowed = "M, F, X (Male, Female, Non-binary)"
    value: str | None = None
    if not _is_blank(raw):
        if not isinstance(raw, str):
            raise DomainError(code, f"Gender must be text; use {allowed}.", field)
        key = re.sub(r"[\s\-_]", "", raw).upper()
        if key not in _GENDERS:
            shown = redact_ssns(raw.strip())
            raise DomainError(code, f"Gender {shown!r} is not recognised; use {allowed}.", field)
        value = _GENDERS[key]
    if value is None and required:
        raise DomainError(code, f"Gender is required; use {allowed}.", field)
    return value


def normalize_last_name(raw: str | None) -> str:
    """A last name trimmed with inner whitespace collapsed to single spaces."""
    text = "" if raw is None else unicodedata.normalize("NFC", str(raw))
    name = " ".join(text.split())
    if not name:
        raise DomainError("MISSING_LAST_NAME", "Last name is required.", "lastName")
    return name


def _fold_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NAME_FOLD_DROP.sub("", bare).casefold()


def same_last_name(a: str | None, b: str | None) -> bool:
    """True when two last names match ignoring case, accents, whitespace, hyphens and apostrophes."""
    if a is None or b is None:
        return False
    fa, fb = _fold_name(a), _fold_name(b)
    return bool(fa) and fa == fb


def normalize_state(raw: str | None) -> str:
    """A two-letter upper-case state or territory code."""
    text = raw.strip().upper() if isinstance(raw, str) else ""
    if not _STATE.match(text):
        shown = "" if raw is None else f" {redact_ssns(str(raw).strip())!r}"
        raise DomainError("INVALID_STATE", f"State{shown} must be a two-letter code such as CA or NY.", "state")
    return text
