"""The caller's cost budget as a schema extension: the query cost charged before anything runs, refunded after.

After validation (so a throttled subscription gets a graphql-transport-ws `error` message, and an HTTP request
429 with `Retry-After`) the requested cost is charged to the caller's bucket (app/throttle.py); a request the
bucket cannot pay is refused with THROTTLED and no resolver runs. After execution the difference between the
requested and the actual cost is refunded, as Shopify does. `extensions.cost.throttleStatus` reports the bucket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import GraphQLError
from starlette.responses import Response

from app.throttle import THROTTLED, Caller, Throttle
from schema.cost import QueryCost


class CallerBudget(QueryCost):
    """QueryCost that also charges, refuses and refunds the caller's budget."""

    def __init__(self, limit: int, max_list_length: int, throttle: Throttle) -> None:
        super().__init__(limit, max_list_length)
        self.throttle = throttle
        self.caller: Caller | None = None
        self.charged = False
        self.currently_available: float | None = None

    # async hooks over QueryCost's sync ones: strawberry accepts either (hence the ignores)
    async def on_validate(self) -> AsyncIterator[None]:  # type: ignore[override]
        """Before the yield: listed after RequestValidationCache, whose validation has run by then, and strawberry
        checks `pre_execution_errors` before the hooks' code after the yield."""
        await self.charge()
        yield

    async def charge(self) -> None:
        self.measure()
        context = self.execution_context
        service = getattr(context.context, "service", None)
        if service is None:
            return
        self.caller = Caller(service.principal.tenant_id, service.principal.subject)
        if context.pre_execution_errors or not self.within_limits():
            self.currently_available = self.throttle.available(self.caller)
            return  # refused anyway (its own error says why): nothing to charge
        charge = await self.throttle.charge(self.caller, self.requested)
        self.currently_available = charge.currently_available
        if charge.paid:
            self.charged = True
            return
        context.pre_execution_errors = [GraphQLError(
            f"This query costs {self.requested} and your budget has {charge.currently_available:.0f} of "
            f"{self.throttle.limits.maximum:g} (it regains {self.throttle.limits.restore_rate:g} per second): "
            f"retry in {charge.retry_after} s, or ask for less (smaller pages, fewer fields).",
            extensions={"code": THROTTLED, "retryAfter": charge.retry_after, "cost": self.get_results()["cost"]})]
        response = getattr(context.context, "response", None)
        if isinstance(response, Response):  # HTTP; a WebSocket's operations answer with an `error` message
            response.status_code = 429
            response.headers["Retry-After"] = str(charge.retry_after)

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        self.refuse_over_limits()
        try:
            yield
            self.measure_actual()
        finally:
            if self.charged and self.caller is not None:
                self.charged = False
                self.currently_available = await self.throttle.refund(self.caller, self.requested - self.actual)

    def get_results(self) -> dict[str, Any]:
        results = super().get_results()
        service = getattr(self.execution_context.context, "service", None)
        if self.caller is None and service is not None:  # refused before validation (a parse error)
            self.caller = Caller(service.principal.tenant_id, service.principal.subject)
        if self.caller is not None:
            if self.currently_available is None:
                self.currently_available = self.throttle.available(self.caller)
            limits = self.throttle.limits
            results["cost"]["throttleStatus"] = {"maximumAvailable": limits.maximum,
                                                 "currentlyAvailable": round(self.currently_available, 3),
                                                 "restoreRate": limits.restore_rate}
        return results
