"""The compiled read path, as a schema extension: after validation and the limits, before any resolver."""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any

import orjson
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from app.runtime import metrics
from resolvers import compiled
from resolvers.compiled import Planner, plan_read

log = logging.getLogger("producer_graph.compiled")
_planners: weakref.WeakKeyDictionary[Any, Planner] = weakref.WeakKeyDictionary()


def _planner(schema: Any) -> Planner:
    planner = _planners.get(schema)
    if planner is None:
        planner = _planners[schema] = Planner(schema)
    return planner


class CompiledReads(SchemaExtension):
    """Answers a supported query with one SQL statement (resolvers/compiled.py); any other runs as usual.

    Last in the list: the limits and the cost check refuse an operation before this runs. The result's `data`
    is an `orjson.Fragment` of the statement's text, never parsed here: the extensions add `extensions` and
    shape errors beside it, and the view's orjson encoding (HTTP and WebSocket) writes it into the response. A compiled read
    that fails for any reason is logged (its exception type, never its values) and the query is resolved
    field by field, which reports database errors the usual way.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        service = getattr(context.context, "service", None)
        if context.result is None and context.graphql_document is not None and service is not None \
                and context.operation_type.value == "query":
            try:
                plan = plan_read(_planner(context.schema), context.graphql_document, context.operation_name,
                                 context.variables, service.principal, service.settings.max_page_size)
                raw = None if plan is None else await compiled.read(service, plan)
            except Exception as exc:  # noqa: BLE001 - resolved field by field instead, which reports it
                log.warning("compiled read failed (%s); resolving field by field", type(exc).__name__,
                            extra={"request_id": service.request_id})
                metrics.read_path("compiled_failed")
            else:
                metrics.read_path("resolved" if raw is None else "compiled")
                if raw is not None:  # PostgreSQL's JSON text goes out as it is: orjson writes a Fragment verbatim
                    context.compiled_json = raw  # type: ignore[attr-defined]  # the cost extension counts it
                    context.result = GraphQLExecutionResult(
                        data=orjson.Fragment(raw), errors=None)  # type: ignore[arg-type]  # a JSON object, unparsed
        yield
