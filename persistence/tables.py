"""The complete table metadata, for Alembic: import every table module here."""

from sqlmodel import SQLModel

import persistence.audit  # noqa: F401
import persistence.bulk  # noqa: F401
import persistence.compliance  # noqa: F401
import persistence.documents  # noqa: F401
import persistence.licenses  # noqa: F401
import persistence.onboarding  # noqa: F401
import persistence.persisted_queries  # noqa: F401
import persistence.quotes  # noqa: F401
import persistence.registry  # noqa: F401
import persistence.throttle  # noqa: F401
import persistence.webhooks  # noqa: F401
from persistence import producers, tenants  # noqa: F401

metadata = SQLModel.metadata
