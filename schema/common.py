"""Shared GraphQL shapes: connections, page info, user errors, validation results, enums."""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.scalars import JSON

from app.error_codes import registered
from schema.error_codes import ErrorCode

NodeType = TypeVar("NodeType")


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow the last edge.")
    has_previous_page: bool = strawberry.field(description="More items precede the first edge.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge.")


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[NodeType]):
    cursor: str = strawberry.field(description="Opaque cursor: pass it as `after` or `before`.")
    node: NodeType = strawberry.field(description="The item.")


@strawberry.type(description="A page of a keyset-paginated list (Relay cursor connection).")
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]] = strawberry.field(description="The items of this page, with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging position of this page.")
    total_count_value: strawberry.Private[Any] = None

    @strawberry.field(description="How many items the whole list holds, across every page.")
    async def total_count(self) -> int:
        value = self.total_count_value
        if callable(value):
            value = await value()
        return int(value or 0)

    @strawberry.field(description="The items of this page, without cursors.")
    def nodes(self) -> list[NodeType]:
        return [edge.node for edge in self.edges]


def field_path(field: str | list[str] | None) -> list[str] | None:
    """A field as a path of strings: "states[0].jurisdiction" -> ["states", "0", "jurisdiction"]."""
    if field is None or isinstance(field, list):
        return field
    return [part for part in re.split(r"[.\[\]]+", field) if part] or None


@strawberry.type(description="A problem with the input of a mutation: the field at fault, a message and a code.")
class UserError:
    message: str = strawberry.field(description="What was wrong, with which value, and what is allowed.")
    code: ErrorCode = strawberry.field(description="Stable machine-readable code, e.g. INVALID_TRANSITION or CODE_TAKEN.")

    @strawberry.field(description="Path of the input value at fault, from the argument name down (e.g. "
                                  "[\"input\", \"licenses\", \"0\", \"state\"]; list items by index); for a check of "
                                  "the stored object (validate...), the path of its field; null for the whole input.")
    def field(self, root: strawberry.Parent[Any]) -> list[str] | None:
        return field_path(root.field)


@strawberry.type(description="One finding of a validation request.")
class ValidationItem:
    code: ErrorCode = strawberry.field(description="Stable machine-readable code of the finding.")
    message: str = strawberry.field(description="What is wrong, for a person.")
    field: list[str] | None = strawberry.field(description="Path of the producer's (or code's) field at fault, e.g. "
                                                           "[\"data\", \"agencyRank\"]; null for the whole object.")


@strawberry.type(description="Outcome of the last validation request.")
class ValidationResult:
    valid: bool = strawberry.field(description="True when validation passed.")
    at: datetime | None = strawberry.field(description="When validation last ran; null for a result stored without "
                                                    "a time.")
    items: list[ValidationItem] = strawberry.field(description="Every problem found; empty when valid.")


def validation_result(raw: dict[str, Any] | None) -> ValidationResult | None:
    if not raw:
        return None
    items = [ValidationItem(code=registered(i.get("code", "")), message=i.get("message", ""),
                            field=field_path(i.get("field")))
             for i in raw.get("items", [])]
    at = raw.get("at")
    return ValidationResult(valid=bool(raw.get("valid")), at=datetime.fromisoformat(at) if at else None, items=items)


@strawberry.enum(description="Lifecycle state of a producer or producer code.")
class LifecycleState(Enum):
    DRAFT = strawberry.enum_value("draft", description="Being prepared; cannot write business yet.")
    VALIDATED = strawberry.enum_value("validated", description="Checked and active; may write business.")
    SUSPENDED = strawberry.enum_value(
        "suspended", description="Temporarily stopped; cannot write business until unsuspended.")
    RETIRED = strawberry.enum_value("retired", description="No longer active (final); kept for history.")
    DISCARDED = strawberry.enum_value("discarded", description="Withdrawn before or instead of use (final).")


@strawberry.enum(description="A lifecycle action on a producer or producer code; each is a mutation "
                             "(validateProducer, suspendProducerCode...).")
class LifecycleAction(Enum):
    VALIDATE = strawberry.enum_value("validate", description="Run the checks on a draft; validated when they pass.")
    SUSPEND = strawberry.enum_value("suspend", description="Stop a validated one from writing business for a while.")
    UNSUSPEND = strawberry.enum_value("unsuspend", description="Make a suspended one validated again.")
    RETIRE = strawberry.enum_value("retire", description="End a validated or suspended one (final).")
    DISCARD = strawberry.enum_value("discard", description="Withdraw one that is not retired (final).")


@strawberry.enum(description="What a product requires of the producer writing it (its producerQualification).")
class QualificationRequirement(Enum):
    NONE = strawberry.enum_value("none", description="Nothing beyond validated producer codes and producers.")
    LICENSE = strawberry.enum_value("license", description="A qualifying license.")
    APPOINTMENT = strawberry.enum_value("appointment", description="A qualifying appointment.")


@strawberry.enum(description="Whether a producer is a person or an organization.")
class ProducerKind(Enum):
    INDIVIDUAL = strawberry.enum_value("individual", description="A person (an agent): has a first and last name.")
    ORGANIZATION = strawberry.enum_value(
        "organization", description="An organization (an agency, MGA or broker firm): has an organization name.")


__all__ = ["JSON", "Connection", "Edge", "LifecycleAction", "LifecycleState", "PageInfo", "ProducerKind",
           "QualificationRequirement",
           "UserError", "ValidationItem", "ValidationResult", "validation_result"]
