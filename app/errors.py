"""Typed domain errors: a stable machine code, a message a person can act on, the field at fault."""

from __future__ import annotations

from dataclasses import dataclass

from app.error_codes import registered
from app.pii import redact_ssns


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: which field, what code, what to do about it."""

    code: str
    message: str
    field: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", registered(self.code))  # an unregistered code is a bug, raised here
        object.__setattr__(self, "message", redact_ssns(self.message))  # messages may quote input: never an SSN


class DomainError(Exception):
    """A refusal the caller can act on; carries one or more problems."""

    def __init__(self, code: str, message: str, field: str | None = None,
                 problems: list[Problem] | None = None) -> None:
        message = redact_ssns(message)  # messages may quote input: never an SSN
        super().__init__(message)
        self.code: str = registered(code)  # an unregistered code is a bug, raised where it is made
        self.message = message
        self.field = field
        self.problems = problems or [Problem(code, message, field)]


class NotFound(DomainError):
    """The object does not exist, or is outside the caller's tenant or subtree (never leaked)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(code, message, field)


class Forbidden(DomainError):
    """The caller is authenticated but its roles do not allow the action."""

    def __init__(self, message: str = "Your roles do not allow this action.") -> None:
        super().__init__("FORBIDDEN", message)
