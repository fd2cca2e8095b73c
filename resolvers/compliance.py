"""Compliance alert fields: thin calls into app.compliance."""

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info

from app import compliance as service
from resolvers.context import GraphQLContext
from resolvers.ids import locator_of
from resolvers.pagination import ConnectionData, connection, page_request

if TYPE_CHECKING:
    from schema.compliance import ComplianceAlertKind, ComplianceAlertWindow

Ctx = Info[GraphQLContext, None]
Kinds = Annotated[list[Annotated["ComplianceAlertKind", strawberry.lazy("schema.compliance")]] | None,
                  strawberry.argument(description="Only alerts about these kinds of credential; all when omitted.")]
Windows = Annotated[list[Annotated["ComplianceAlertWindow", strawberry.lazy("schema.compliance")]] | None,
                    strawberry.argument(description="Only alerts in these windows; all when omitted.")]
AgencyArg = Annotated[strawberry.ID | None, strawberry.argument(
    description="Only the alerts of this agency and the producers below it (global id or locator).")]
FirstArg = Annotated[int | None, strawberry.argument(description="Page size counted from the start (or `after`).")]
AfterArg = Annotated[str | None, strawberry.argument(description="Cursor to start after.")]
LastArg = Annotated[int | None, strawberry.argument(description="Page size, counted from the end (or from `before`).")]
BeforeArg = Annotated[str | None, strawberry.argument(description="Cursor to end before.")]


async def compliance_alerts(info: Ctx, kinds: Kinds = None, windows: Windows = None, agency_id: AgencyArg = None,
                            first: FirstArg = None, after: AfterArg = None, last: LastArg = None,
                            before: BeforeArg = None) -> ConnectionData:
    agency = locator_of(agency_id, "Producer", code="AGENCY_NOT_FOUND", field="agencyId") if agency_id else None
    page, total = await service.list_alerts(info.context.svc, [str(k.value) for k in kinds or []],
                                            [str(w.value) for w in windows or []], agency,
                                            page_request(first, after, last, before))
    return connection(page, total, key=lambda alert: alert.key)


def entity(root: "service.Alert") -> Any:
    return root.entity


def producer(root: "service.Alert") -> Any:
    return root.producer
