"""GraphQL shapes for compliance alerts: credentials expiring within the tenant's windows, or expired."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated

import strawberry

from resolvers import compliance as r
from schema.common import Connection
from schema.documents import Document
from schema.licenses import Appointment, License
from schema.permissions import ADMINS
from schema.producers import Producer


@strawberry.enum(description="What a compliance alert is about.")
class ComplianceAlertKind(Enum):
    LICENSE = strawberry.enum_value("LICENSE", description="A license (draft or validated) with an expiration time.")
    APPOINTMENT = strawberry.enum_value("APPOINTMENT", description="A validated appointment with an expiration time.")
    DOCUMENT = strawberry.enum_value("DOCUMENT", description="A document with an expiration date (an E&O "
                                     "certificate), from the documents' alert source.")


@strawberry.enum(description="How close an expiration is, by the tenant's `compliance.alertWindows` (days).")
class ComplianceAlertWindow(Enum):
    EXPIRED = strawberry.enum_value("EXPIRED", description="Already expired while its producer is validated.")
    URGENT = strawberry.enum_value("URGENT", description="Expires within the narrowest window (default 7 days).")
    SOON = strawberry.enum_value("SOON", description="Expires within the middle window (default 30 days).")
    UPCOMING = strawberry.enum_value("UPCOMING", description="Expires within the widest window (default 90 days).")


ComplianceAlertSubject = Annotated[License | Appointment | Document, strawberry.union(
    "ComplianceAlertSubject", description="The credential an alert is about.")]


@strawberry.type(description="A credential expiring within one of the tenant's alert windows, or expired while its "
                             "producer is validated.")
class ComplianceAlert:
    kind: ComplianceAlertKind = strawberry.field(description="What the alert is about.")
    entity: ComplianceAlertSubject = strawberry.field(resolver=r.entity, description="The license, appointment or document.")
    producer: Producer = strawberry.field(resolver=r.producer, description="The producer holding it.")
    expires_on: date = strawberry.field(description="The date it expires (UTC; from that moment it no longer "
                                                    "qualifies).")
    window: ComplianceAlertWindow = strawberry.field(description="The window the expiration falls in.")
    window_days: int | None = strawberry.field(description="The window's size in days as configured; null when "
                                                           "EXPIRED.")
    days_left: int = strawberry.field(description="Days from today (UTC) to the expiration date; zero or less when "
                                                  "expired.")


@strawberry.type
class ComplianceQuery:
    compliance_alerts: Connection[ComplianceAlert] | None = strawberry.field(  # type: ignore[assignment]
        resolver=r.compliance_alerts, permission_classes=[ADMINS],
        description="Licenses, appointments and documents (an E&O certificate with its expiration date) visible to you expiring within the tenant's alert windows (default "
        "90, 30 and 7 days), or already expired while their producer is validated; soonest expiration first. "
        "Null (with a FORBIDDEN error) when your roles do not allow it.")
