"""GraphQL shapes for webhooks: endpoints tenant admins register, the deliveries to them and their attempts."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from resolvers import webhooks as r
from schema.common import JSON, Connection, UserError
from schema.permissions import TENANT_ADMIN


@strawberry.enum(description="Where a webhook delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Not delivered yet: due now or at nextAttemptAt (also "
                                                           "while its endpoint is disabled).")
    DELIVERED = strawberry.enum_value("DELIVERED", description="The receiver answered 2xx.")
    FAILED = strawberry.enum_value("FAILED", description="Given up after the last allowed attempt.")


@strawberry.type(description="A URL of another system that receives the tenant's events, signed per Standard "
                             "Webhooks with the endpoint's secret.")
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(resolver=r.endpoint_global_id, description="Global id of the endpoint.")

    @strawberry.field(description="ULID locator of the endpoint.")
    def locator(self) -> str:
        return self.id  # type: ignore[return-value]

    url: str = strawberry.field(description="Where events are POSTed.")
    description: str = strawberry.field(description="What the endpoint is for.")
    events: list[str] = strawberry.field(description="The event types it receives (`*`, `family.*` or exact names).")
    enabled: bool = strawberry.field(description="False while disabled (by an admin or after failures in a row): no "
                                                 "new deliveries are written and waiting ones are held.")
    disabled_reason: str | None = strawberry.field(description="Why it is disabled; null while enabled.")
    failures_in_a_row: int = strawberry.field(description="Failed attempts since its last successful delivery.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    created_by: str = strawberry.field(description="Subject of the admin who registered it.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")


@strawberry.type(description="One attempt to deliver an event.")
class WebhookAttempt:
    attempt: int = strawberry.field(description="1 for the first attempt, then 2, 3...")
    at: datetime = strawberry.field(description="When the attempt ended.")
    status_code: int | None = strawberry.field(description="The receiver's HTTP status; null when none came "
                                                           "(refused, timed out, connection failed).")
    error: str | None = strawberry.field(description="Why the attempt failed; null when delivered.")
    duration_ms: int = strawberry.field(description="How long it took, in milliseconds.")


@strawberry.type(description="One event for one endpoint (the outbox row), with its attempts and next retry.")
class WebhookDelivery:
    @strawberry.field(description="The delivery's sequence number.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.id))

    message_id: str = strawberry.field(description="The `webhook-id` header: the same on every attempt, so a "
                                                   "receiver drops duplicates by it.")
    endpoint_id: strawberry.ID = strawberry.field(resolver=r.delivery_endpoint_id,
                                                  description="Global id of the endpoint.")
    event_type: str = strawberry.field(description="The event type, e.g. `producer.validated`.")
    status: WebhookDeliveryStatus = strawberry.field(description="Pending, delivered or failed.")
    attempts: int = strawberry.field(description="Attempts made so far.")
    last_status_code: int | None = strawberry.field(description="HTTP status of the last attempt.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    next_attempt_at: datetime | None = strawberry.field(description="When the next attempt is due; null once "
                                                                    "delivered or failed.")
    delivered_at: datetime | None = strawberry.field(description="When the receiver accepted it.")
    occurred_at: datetime = strawberry.field(description="When the event happened (the body's `timestamp`).")
    attempt_log: list[WebhookAttempt] = strawberry.field(  # type: ignore[assignment]
        resolver=r.delivery_attempts, description="Every attempt, oldest first, with status codes and errors.")
    payload: JSON | None = strawberry.field(description="The `data` of an application event (bulkJob, "
                                                        "complianceAlert, registry); null for an audit log event.")


@strawberry.type(description="An event type endpoints can subscribe to.")
class WebhookEventType:
    name: str = strawberry.field(description="The type (`bulkJob.completed`) or a family of types (`producer.*`).")
    description: str = strawberry.field(description="When it is sent.")


@strawberry.type(description="Result of registering a webhook endpoint or rotating its secret.")
class WebhookEndpointSecretPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(description="The endpoint.")
    secret: str | None = strawberry.field(description="The signing secret (`whsec_...`), shown only this once: "
                                                      "store it in the receiver.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="Result of enabling or disabling a webhook endpoint.")
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(description="The endpoint after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _f(resolver: Any, description: str) -> Any:
    return strawberry.field(resolver=resolver, description=description, permission_classes=[TENANT_ADMIN])


@strawberry.type
class WebhookQuery:
    webhook_endpoints: Connection[WebhookEndpoint] | None = _f(
        r.webhook_endpoints, "The tenant's webhook endpoints, oldest first (tenant admins). Null (with a FORBIDDEN "
        "error) when your roles do not allow it.")
    webhook_deliveries: Connection[WebhookDelivery] | None = _f(
        r.webhook_deliveries, "The tenant's webhook deliveries, oldest first: attempts, status codes, next retry. "
        "Null (with a FORBIDDEN error) when your roles do not allow it.")
    webhook_event_types: list[WebhookEventType] | None = _f(
        r.webhook_event_types, "The event types and families endpoints can subscribe to. Null (with a FORBIDDEN "
        "error) when your roles do not allow it.")


@strawberry.type
class WebhookMutation:
    create_webhook_endpoint: WebhookEndpointSecretPayload = _f(
        r.create_webhook_endpoint, "Register a URL to receive the tenant's events; returns its signing secret once.")
    disable_webhook_endpoint: WebhookEndpointPayload = _f(
        r.disable_webhook_endpoint, "Stop sending to the endpoint; deliveries already written wait.")
    enable_webhook_endpoint: WebhookEndpointPayload = _f(
        r.enable_webhook_endpoint, "Send to the endpoint again (also after it was disabled for failures).")
    rotate_webhook_secret: WebhookEndpointSecretPayload = _f(
        r.rotate_webhook_secret, "Replace the endpoint's signing secret; returns the new one once.")
