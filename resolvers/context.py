"""The GraphQL context: the caller's service context plus its dataloaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.context import ServiceContext
from resolvers.loaders import Loaders


@dataclass
class GraphQLContext:
    """What every resolver gets as `info.context`."""

    request: Any = None
    response: Any = None
    service: ServiceContext | None = None
    loaders: Loaders | None = None
    request_id: str = ""
    connection_params: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def bind(self, service: ServiceContext) -> None:
        self.service = service
        self.loaders = Loaders(service)

    def renew_loaders(self) -> None:
        """Fresh dataloaders. A WebSocket connection keeps one context for its whole life: each subscription
        event reads the objects it carries as they are now, never as an earlier event cached them."""
        if self.service is not None:
            self.loaders = Loaders(self.service)

    @property
    def svc(self) -> ServiceContext:
        if self.service is None:
            raise RuntimeError("request context is not authenticated")
        return self.service

    @property
    def load(self) -> Loaders:
        if self.loaders is None:
            raise RuntimeError("request context is not authenticated")
        return self.loaders
