"""Webhook endpoints and deliveries: thin calls into app.webhooks."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info

from app import webhooks as service
from app.errors import DomainError
from app.rules.webhooks import APP_EVENTS, AUDIT_FAMILIES
from persistence.webhooks import WebhookDeliveryRecord
from resolvers.context import GraphQLContext
from resolvers.ids import global_id, locator_of
from resolvers.pagination import ConnectionData, connection, page_request
from resolvers.payloads import Payload, ok, payload

if TYPE_CHECKING:
    from schema.webhooks import WebhookDeliveryStatus

Ctx = Info[GraphQLContext, None]
StatusArg = Annotated[list[Annotated["WebhookDeliveryStatus", strawberry.lazy("schema.webhooks")]] | None,
                      strawberry.argument(description="Only deliveries in these states; all when omitted.")]
EndpointId = Annotated[strawberry.ID, strawberry.argument(description="Global id (or locator) of the webhook "
                                                                      "endpoint.")]
OptionalEndpointId = Annotated[strawberry.ID | None, strawberry.argument(
    description="Only the deliveries of this endpoint (global id or locator); every endpoint's when omitted.")]
Url = Annotated[str, strawberry.argument(description="Where to POST the events: an http(s) URL; in production "
                                                     "its host must resolve to public addresses only.")]
Events = Annotated[list[str], strawberry.argument(
    description="Event types to send: exact names (`producer.validated`, `bulkJob.completed`), a family "
                "(`license.*`) or `*` for every event; see webhookEventTypes.")]
Description = Annotated[str | None, strawberry.argument(description="What the endpoint is for (at most 500 "
                                                                    "characters).")]
First = Annotated[int | None, strawberry.argument(description="Page size counted from the start (or `after`); "
                                                              "capped by the server's maximum page size.")]
After = Annotated[str | None, strawberry.argument(description="Return items after this cursor.")]

ENDPOINT = "WebhookEndpoint"


def endpoint_locator(value: object) -> str:
    return locator_of(value, ENDPOINT, code=service.ENDPOINT_NOT_FOUND, field="id")


# ---- queries ---------------------------------------------------------------------------------------------

async def webhook_endpoints(info: Ctx, first: First = None, after: After = None) -> ConnectionData:
    result, total = await service.list_endpoints(info.context.svc, page_request(first, after, None, None))
    return connection(result, total)


async def webhook_deliveries(info: Ctx, endpoint_id: OptionalEndpointId = None, status: StatusArg = None,
                             first: First = None, after: After = None) -> ConnectionData:
    endpoint = None
    if endpoint_id is not None:
        try:
            endpoint = endpoint_locator(endpoint_id)
        except DomainError:
            endpoint = "-"  # names no endpoint: an empty list, as for another tenant's endpoint
    chosen: list[Any] = list(status or [])
    result, total = await service.list_deliveries(info.context.svc, endpoint, [s.value for s in chosen],
                                                  page_request(first, after, None, None))
    return connection(result, total, key=lambda row: str(row.id))


@dataclass
class EventType:
    name: str
    description: str


def webhook_event_types() -> list[EventType]:
    return ([EventType(f"{family}.*", text) for family, text in AUDIT_FAMILIES.items()]
            + [EventType(name, text) for name, text in APP_EVENTS.items()])


# ---- mutations -------------------------------------------------------------------------------------------

@payload
async def create_webhook_endpoint(info: Ctx, url: Url, events: Events, description: Description = None) -> Payload:
    record, secret = await service.create_endpoint(info.context.svc, url, events, description)
    return ok(endpoint=record, secret=secret)


@payload
async def disable_webhook_endpoint(info: Ctx, id: EndpointId) -> Payload:
    return ok(endpoint=await service.set_enabled(info.context.svc, endpoint_locator(id), False))


@payload
async def enable_webhook_endpoint(info: Ctx, id: EndpointId) -> Payload:
    return ok(endpoint=await service.set_enabled(info.context.svc, endpoint_locator(id), True))


@payload
async def rotate_webhook_secret(info: Ctx, id: EndpointId) -> Payload:
    record, secret = await service.rotate_secret(info.context.svc, endpoint_locator(id))
    return ok(endpoint=record, secret=secret)


# ---- fields ----------------------------------------------------------------------------------------------

def endpoint_global_id(root: Any) -> strawberry.ID:
    return strawberry.ID(global_id(ENDPOINT, root.id))


def delivery_endpoint_id(root: WebhookDeliveryRecord) -> strawberry.ID:
    return strawberry.ID(global_id(ENDPOINT, root.endpoint_id))


async def delivery_attempts(root: WebhookDeliveryRecord, info: Ctx) -> list[Any]:
    loader = info.context.load.named("webhook_attempts", service.attempts_by_delivery)
    return list(await loader.load(root.id))

