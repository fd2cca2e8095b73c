"""Mutation payloads: the changed object and `userErrors`, never an exception for bad input."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, ParamSpec

from strawberry.utils.str_converters import to_camel_case, to_snake_case

from app.errors import DomainError, Forbidden, Problem
from persistence.db import ConcurrentChange
from persistence.lengths import ValueTooLong

P = ParamSpec("P")


@dataclass
class Payload:
    """What a payload type reads: the object under `name` and the user errors."""

    user_errors: list[Problem] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        """The named object; None when a refused mutation has none (the payload field is nullable)."""
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        if name.startswith("_"):
            raise AttributeError(name)
        return None


def ok(**values: Any) -> Payload:
    return Payload([], values)


def failed(problems: list[Problem], **values: Any) -> Payload:
    return Payload(list(problems), values)


def input_path(field: str | None, arguments: dict[str, Any]) -> str | None:
    """The domain's field as a path from the mutation's arguments: "lastName" -> "input.lastName" when it is a
    field of the `input` argument; a field naming an argument ("id", "states[0]") or the stored object stays."""
    if field is None:
        return None
    first = re.split(r"[.\[]", field, maxsplit=1)[0]
    if first in arguments:
        return field
    given = arguments.get("input")
    if given is not None and hasattr(given, to_snake_case(first)):
        return f"input.{field}"
    return field


def payload(fn: Callable[P, Awaitable[Payload]]) -> Callable[P, Awaitable[Payload]]:
    """Turn DomainErrors raised by a mutation into `userErrors`, each `field` a path from the mutation's
    arguments; role refusals stay GraphQL errors."""
    names = [name for name in inspect.signature(fn).parameters if name not in ("info", "root", "self")]

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Payload:
        try:
            result = await fn(*args, **kwargs)
        except Forbidden:
            raise
        except DomainError as exc:
            result = failed(exc.problems)
        except ValueTooLong as exc:
            result = failed([Problem("VALUE_TOO_LONG", exc.message, exc.field)])
        except ConcurrentChange:
            result = failed([Problem("CONCURRENT_CHANGE", "Another request changed the same objects at the same "
                                     "time; nothing was saved. Retry the mutation.")])
        arguments = {to_camel_case(name): kwargs.get(name) for name in names}
        result.user_errors = [replace(p, field=input_path(p.field, arguments)) for p in result.user_errors]
        return result

    return wrapper


def json_object(value: Any, field: str) -> dict[str, Any]:
    """A JSON argument that must be an object: a number, string or list is a user error, not a crash."""
    if not isinstance(value, dict):
        kind = "a list" if isinstance(value, list) else f"the {type(value).__name__} {str(value)[:40]!r}"
        raise DomainError("INVALID_DATA", f"`{field}` must be a JSON object of named values, not {kind}.", field)
    return dict(value)
