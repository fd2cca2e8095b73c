"""Shape every GraphQL error: a stable `extensions.code`, and no internals for unexpected failures."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app.auth import AuthError
from app.error_codes import ErrorCode
from app.errors import DomainError
from app.pii import redact_ssns
from persistence.db import database_unavailable
from persistence.lengths import ValueTooLong

log = logging.getLogger("producer_graph.errors")
DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"

# Refusals by the query limits and the parser, recognised by graphql-core's and Strawberry's messages.
REQUEST_ERRORS = (
    (re.compile(r"exceeds maximum operation depth"), "QUERY_TOO_DEEP"),
    (re.compile(r"aliases found\. Allowed"), "TOO_MANY_ALIASES"),
    (re.compile(r"contains more than \d+ tokens"), "QUERY_TOO_LARGE"),
    (re.compile(r"^Syntax Error"), "GRAPHQL_PARSE_FAILED"),
)
SUGGESTIONS = re.compile(r"\s*Did you mean [^?]*\?")


def _request_error_code(error: GraphQLError) -> str:
    for pattern, code in REQUEST_ERRORS:
        if pattern.search(error.message):
            return code
    return "GRAPHQL_VALIDATION_FAILED" if error.locations else "BAD_REQUEST"


def _shape(error: GraphQLError, request_id: str, hide_suggestions: bool = False) -> GraphQLError:
    original = error.original_error
    extensions = dict(error.extensions or {})
    if isinstance(original, DomainError):
        extensions.setdefault("code", original.code)
        if original.field:
            extensions.setdefault("field", original.field)
        message = original.message
    elif isinstance(original, ValueTooLong):
        extensions.update(code="VALUE_TOO_LONG", field=original.field, limit=original.limit)
        message = original.message
    elif isinstance(original, AuthError):
        extensions["code"] = original.code
        message = original.message
    elif original is None and extensions.get("code") == "INTERNAL_SERVER_ERROR":
        message = error.message  # already masked: redacting again would mangle digits of the request id
    elif original is None or isinstance(original, GraphQLError) and original.original_error is None:
        if "code" not in extensions:
            extensions["code"] = _request_error_code(error)
        message = redact_ssns(error.message)
        if hide_suggestions:  # production: "Did you mean ...?" would map the schema without introspection
            message = SUGGESTIONS.sub("", message)
    elif "code" in extensions:  # permission refusals and other deliberate errors
        message = error.message
    elif database_unavailable(original):
        log.warning("database unavailable", extra={"request_id": request_id, "error": type(original).__name__})
        extensions = {"code": DATABASE_UNAVAILABLE}
        message = "The database is unavailable at the moment; retry shortly."
    else:
        log.error("unexpected error", exc_info=original, extra={"request_id": request_id,
                                                                 "path": list(error.path or [])})
        extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        message = f"Internal error. Quote request id {request_id} when reporting it."
    if extensions.get("code") not in ErrorCode.__members__:  # every extensions.code is a value of ErrorCode
        log.error("unregistered error code", extra={"request_id": request_id, "code": str(extensions.get("code"))})
        extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR}
        message = f"Internal error. Quote request id {request_id} when reporting it."
    if request_id:
        extensions.setdefault("requestId", request_id)
    return GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=None, extensions=extensions)


class ErrorShaper(SchemaExtension):
    """Adds codes to known errors and masks unexpected ones behind the request id."""

    def on_operation(self) -> Iterator[None]:
        yield
        result: Any = self.execution_context.result
        errors = getattr(result, "errors", None)
        if not errors:
            pre = getattr(self.execution_context, "pre_execution_errors", None)
            if pre:
                self.execution_context.pre_execution_errors = [self._shape(e) for e in pre]
            return
        result.errors = [self._shape(e) for e in errors]

    def _shape(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        hide = getattr(self.execution_context.schema, "hide_suggestions", False)
        return _shape(error, getattr(context, "request_id", "") or "", hide)


class ShapedSchema(strawberry.Schema):
    """A Schema whose every error is shaped, including parser refusals raised before the operation hooks."""

    hide_suggestions = False

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        context = getattr(execution_context, "context", None)
        request_id = getattr(context, "request_id", "") or ""
        errors[:] = [_shape(error, request_id, self.hide_suggestions) for error in errors]

