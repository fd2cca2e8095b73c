"""Numbering plan formats: rendering, validation, exhaustion and the matching pattern."""

from __future__ import annotations

import pytest

from app.rules.numbering import (
    NumberingFormatError,
    format_pattern,
    max_core_number,
    render_code,
    validate_format,
)

RENDERED = [
    ("AG-######", 42, None, "AG-000042"),
    ("##-##", 1234, None, "12-34"),
    ("#", 0, None, "0"),
    ("###", 999, None, "999"),
    ("PC\\-{numberingString}-#####", 7, "AGT", "PC-AGT-00007"),
    ("{numberingString}####", 12, None, "0012"),
    ("\\#####", 5, None, "#0005"),
    ("\\{numberingString\\}-##", 3, "X", "{numberingString}-03"),
    ("A\\\\##", 9, None, "A\\09"),
    ("CA-{numberingString}/#.#", 12, "z", "CA-z/1.2"),
    ("x}##", 4, None, "x}04"),
]


@pytest.mark.parametrize(("fmt", "core", "numbering_string", "expected"), RENDERED)
def test_render_code_fills_digits_and_placeholders(
    fmt: str, core: int, numbering_string: str | None, expected: str
) -> None:
    assert render_code(fmt, core, numbering_string) == expected


@pytest.mark.parametrize(("fmt", "core", "numbering_string", "expected"), RENDERED)
def test_format_pattern_matches_the_codes_it_renders(
    fmt: str, core: int, numbering_string: str | None, expected: str
) -> None:
    assert format_pattern(fmt, numbering_string).fullmatch(expected)


@pytest.mark.parametrize("code", ["AG-00042", "AG-0000420", "ag-000042", "AG-00004a", "AG-000042\n", "XAG-000042"])
def test_format_pattern_rejects_other_codes(code: str) -> None:
    assert not format_pattern("AG-######").search(code)


def test_format_pattern_uses_the_numbering_string() -> None:
    pattern = format_pattern("{numberingString}-##", "A.B")
    assert pattern.fullmatch("A.B-12")
    assert not pattern.fullmatch("AxB-12")


@pytest.mark.parametrize(
    ("fmt", "digits"),
    [("AG-######", 6), ("#", 1), ("##-##", 4), ("\\###", 2), ("{numberingString}#", 1)],
)
def test_validate_format_counts_core_digits(fmt: str, digits: int) -> None:
    assert validate_format(fmt) == digits


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("AG-###\\", 'dangling backslash at the end of format "AG-###\\"; write \\\\ for a literal backslash'),
        ("AG-{code}-#", 'unknown placeholder "{code}" in format "AG-{code}-#"; only {numberingString} is allowed'),
        ("AG-{numberingString-#", 'unclosed brace at position 3 in format "AG-{numberingString-#"; '
                                  "write \\{ for a literal brace"),
        ("AG-", 'format "AG-" has no # for the core number; add at least one #'),
        ("AG-\\#", 'format "AG-\\#" has no # for the core number; add at least one #'),
        ("", 'format "" has no # for the core number; add at least one #'),
    ],
)
def test_validate_format_refuses_malformed_formats(fmt: str, message: str) -> None:
    with pytest.raises(NumberingFormatError) as exc:
        validate_format(fmt)
    assert str(exc.value) == message


def test_render_code_refuses_a_core_number_that_does_not_fit() -> None:
    with pytest.raises(NumberingFormatError) as exc:
        render_code("AG-###", 1000)
    assert str(exc.value) == 'numbering plan exhausted: core number 1000 needs 4 digits but format "AG-###" has 3'


def test_render_code_refuses_a_negative_core_number() -> None:
    with pytest.raises(NumberingFormatError) as exc:
        render_code("AG-###", -1)
    assert str(exc.value) == "core number must be 0 or more; got -1"


def test_max_core_number_is_all_nines() -> None:
    assert max_core_number("AG-####") == 9999


def test_numbering_format_error_is_a_value_error() -> None:
    assert issubclass(NumberingFormatError, ValueError)
