"""Numbering plan formats: validate a format, render a producer code, match generated codes.

Syntax: `#` is one digit of the core number; `\\x` is the literal character x; `{numberingString}`
is the code type's numbering string; anything else is literal. All `#`s together hold the core
number, zero-padded on the left to their count ("AG-######" with 42 -> "AG-000042").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

PLACEHOLDER = "numberingString"


class NumberingFormatError(ValueError):
    """A numbering format is malformed, or a core number does not fit in it."""


@dataclass(frozen=True)
class Token:
    """One piece of a parsed format: a literal character, a core digit, or the numbering string."""

    kind: Literal["literal", "digit", "numberingString"]
    text: str = ""


def parse_format(fmt: str) -> list[Token]:
    """Split a format into tokens; raise NumberingFormatError on malformed syntax."""
    tokens: list[Token] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "\\":
            if i + 1 >= len(fmt):
                raise NumberingFormatError(
                    f'dangling backslash at the end of format "{fmt}"; write \\\\ for a literal backslash')
            tokens.append(Token("literal", fmt[i + 1]))
            i += 2
        elif ch == "{":
            end = fmt.find("}", i + 1)
            if end < 0:
                raise NumberingFormatError(
                    f'unclosed brace at position {i} in format "{fmt}"; write \\{{ for a literal brace')
            name = fmt[i + 1:end]
            if name != PLACEHOLDER:
                raise NumberingFormatError(
                    f'unknown placeholder "{{{name}}}" in format "{fmt}"; only {{{PLACEHOLDER}}} is allowed')
            tokens.append(Token("numberingString"))
            i = end + 1
        elif ch == "#":
            tokens.append(Token("digit"))
            i += 1
        else:
            tokens.append(Token("literal", ch))
            i += 1
    return tokens


def validate_format(fmt: str) -> int:
    """Check a format and return how many digits it holds for the core number."""
    digits = sum(1 for t in parse_format(fmt) if t.kind == "digit")
    if digits == 0:
        raise NumberingFormatError(f'format "{fmt}" has no # for the core number; add at least one #')
    return digits


def max_core_number(fmt: str) -> int:
    """The largest core number the format can render (e.g. 999 for "###")."""
    return 10 ** validate_format(fmt) - 1


def render_code(fmt: str, core_number: int, numbering_string: str | None = None) -> str:
    """Render a producer code from a format, a core number and the type's numbering string."""
    tokens = parse_format(fmt)
    width = sum(1 for t in tokens if t.kind == "digit")
    if width == 0:
        raise NumberingFormatError(f'format "{fmt}" has no # for the core number; add at least one #')
    if core_number < 0:
        raise NumberingFormatError(f"core number must be 0 or more; got {core_number}")
    digits = str(core_number).zfill(width)
    if len(digits) > width:
        raise NumberingFormatError(
            f'numbering plan exhausted: core number {core_number} needs {len(digits)} digits '
            f'but format "{fmt}" has {width}')
    out: list[str] = []
    next_digit = iter(digits)
    for t in tokens:
        if t.kind == "digit":
            out.append(next(next_digit))
        elif t.kind == "numberingString":
            out.append(numbering_string or "")
        else:
            out.append(t.text)
    return "".join(out)


def format_pattern(fmt: str, numbering_string: str | None = None) -> re.Pattern[str]:
    """A regex matching exactly the codes this format renders (anchored at both ends)."""
    parts: list[str] = []
    for t in parse_format(fmt):
        if t.kind == "digit":
            parts.append(r"\d")
        elif t.kind == "numberingString":
            parts.append(re.escape(numbering_string or ""))
        else:
            parts.append(re.escape(t.text))
    return re.compile(r"\A" + "".join(parts) + r"\Z")
