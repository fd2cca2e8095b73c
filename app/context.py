"""What a service call knows about its caller: principal, tenant configuration, database, scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import AGENCY_SCOPED, Principal, Role
from app.errors import Forbidden
from app.plugins import Plugins
from app.settings import Settings
from app.tenant_config import TenantConfig
from persistence.producers import Scope


def scope_for(principal: Principal) -> Scope:
    """The producers a principal may see: the tenant, its agency subtree, or only itself."""
    if principal.tenant_wide:
        return Scope(principal.tenant_id)
    only_self = principal.has(Role.PRODUCER) and not principal.has(Role.AGENCY_ADMIN, Role.READ_ONLY)
    return Scope(principal.tenant_id, principal.agency, only_root=only_self)


@dataclass
class ServiceContext:
    """Per-request state handed to every service function."""

    principal: Principal
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    config: TenantConfig
    plugins: Plugins
    request_id: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id

    @property
    def actor(self) -> str:
        return self.principal.subject

    @property
    def scope(self) -> Scope:
        return scope_for(self.principal)

    def require(self, *roles: Role) -> None:
        """Refuse unless the caller holds one of `roles`."""
        if not self.principal.has(*roles):
            names = ", ".join(r.value for r in roles)
            raise Forbidden(f"This action needs one of the roles: {names}.")


ADMINS = (Role.TENANT_ADMIN, Role.AGENCY_ADMIN)
ALL_ROLES = tuple(Role)
__all__ = ["ADMINS", "AGENCY_SCOPED", "ALL_ROLES", "ServiceContext", "scope_for"]
