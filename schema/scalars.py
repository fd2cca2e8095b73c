"""Scalars with the project's own rules: a DateTime without an offset is read as UTC, everywhere."""

from __future__ import annotations

import datetime as dt

from strawberry.schema.types.base_scalars import wrap_parser
from strawberry.types.scalar import ScalarDefinition


def parse_datetime(value: str) -> dt.datetime:
    """ISO 8601; a value without an offset (`2026-06-01T00:00:00`) is UTC, so naive and aware times compare."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed


DATETIME = ScalarDefinition(
    name="DateTime",
    description="Date with time, ISO 8601 (`2026-06-01T00:00:00Z`). A time without an offset is read as UTC; "
                "times are returned with their offset.",
    specified_by_url=None,
    serialize=dt.datetime.isoformat,
    parse_value=wrap_parser(parse_datetime, "DateTime"),
    parse_literal=None,
    origin=dt.datetime,
)

SCALARS: dict[object, ScalarDefinition] = {dt.datetime: DATETIME}
