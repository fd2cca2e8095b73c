"""The complete table metadata, for Alembic: import every table module here."""

from sqlmodel import SQLModel

from persistence import producers, tenants  # noqa: F401
from persistence import licenses  # noqa: F401
from persistence import onboarding, registry  # noqa: F401

metadata = SQLModel.metadata
