"""Text length limits, read from the tables' own column definitions (`String(length)`), so that a value too long
for PostgreSQL is refused with a typed error naming the field and the limit, before any statement is sent."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import String, event
from sqlalchemy.orm import Session


class ValueTooLong(ValueError):
    """A text value longer than its column allows."""

    def __init__(self, column: str, limit: int, length: int) -> None:
        self.field = camel(column)
        self.limit = limit
        self.length = length
        self.message = f"{self.field} is {length} characters long; at most {limit} are allowed."
        super().__init__(self.message)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@cache
def column_limits(model: Any) -> Mapping[str, int]:
    """Attribute name -> the most characters its column holds, for every length-limited text column of `model`."""
    table = model.__table__ if hasattr(model, "__table__") else model
    limits = {column.key: _text_length(column.type) for column in table.columns}
    return {name: limit for name, limit in limits.items() if limit is not None}


def _text_length(type_: Any) -> int | None:
    """The length of a VARCHAR(n) type (SQLModel's AutoString decorates String); None for others."""
    text = type_ if isinstance(type_, String) else getattr(type_, "impl", None)
    length = getattr(type_, "length", None) or getattr(text, "length", None)
    return length if isinstance(text, String) and isinstance(length, int) else None


def check_lengths(model: Any, values: Mapping[str, Any]) -> None:
    """Raise ValueTooLong for the first text value of `values` longer than `model`'s column allows."""
    limits = column_limits(model)
    for name, value in values.items():
        limit = limits.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise ValueTooLong(name, limit, len(value))


@event.listens_for(Session, "before_flush")
def _refuse_values_too_long(session: Session, flush_context: Any, instances: Any) -> None:
    """Every object about to be inserted or updated through the ORM is checked against its columns."""
    for instance in (*session.new, *session.dirty):
        model: Any = type(instance)
        if hasattr(model, "__table__"):
            check_lengths(model, {name: getattr(instance, name, None) for name in column_limits(model)})
