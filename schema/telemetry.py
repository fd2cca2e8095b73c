"""Counts and times every GraphQL operation (app.runtime.metrics) and names it for the access log (app.runtime.request_log)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from app.runtime import metrics


class Telemetry(SchemaExtension):
    """The outermost extension: it sees each operation's final, shaped errors."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._record(time.perf_counter() - started)

    def _record(self, seconds: float) -> None:
        context: Any = self.execution_context
        name = context.operation_name
        try:
            kind = context.operation_type.value
        except Exception:  # the document did not parse, or names no such operation
            kind = "unknown"
        result = getattr(context, "result", None)
        errors = list(getattr(result, "errors", None) or context.pre_execution_errors or [])
        codes = [str((error.extensions or {}).get("code") or "UNKNOWN") for error in errors]
        metrics.observe_operation(name, kind, seconds, codes)
        request = getattr(context.context, "request", None)
        state = getattr(request, "scope", {}).get("state") if request is not None else None
        if isinstance(state, dict):
            state["graphql_operation"] = f"{kind} {metrics.operation_label(name)}"
