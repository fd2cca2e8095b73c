"""Column helpers shared by every table: ULID locators, tenant ids, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field
from ulid import ULID


def new_locator() -> str:
    """A new ULID locator: sortable by creation time, unique without coordination."""
    return str(ULID())


def utcnow() -> datetime:
    return datetime.now(UTC)


def locator_pk() -> Any:
    return Field(default_factory=new_locator, primary_key=True, max_length=26)


def tenant_fk() -> Any:
    return Field(foreign_key="tenants.id", index=True, max_length=26)


def timestamp(nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


def jsonb(default: Any = dict, nullable: bool = False) -> Any:
    if default is None:
        return Field(default=None, sa_column=Column(JSONB, nullable=True))
    return Field(default_factory=default, sa_column=Column(JSONB, nullable=nullable))


def text_array() -> Any:
    return Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
