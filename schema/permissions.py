"""Who may call an operation: every Query, Mutation and Subscription field declares its roles."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from app.auth import Role

PERMISSION_CODE = "FORBIDDEN"


class RolePermission(BasePermission):
    """Allows the call when the caller holds one of `roles`."""

    roles: frozenset[Role] = frozenset()
    message = "Your roles do not allow this operation."
    error_extensions = {"code": PERMISSION_CODE}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        service = getattr(info.context, "service", None)
        return service is not None and service.principal.has(*self.roles)


def allow(*roles: Role) -> type[RolePermission]:
    """A permission class admitting exactly `roles`; the declaration is inspectable from the schema."""
    names = sorted(r.value for r in roles)
    return type(
        "Allow_" + "_".join(names),
        (RolePermission,),
        {"roles": frozenset(roles),
         "message": f"This operation needs one of the roles: {', '.join(names)}."},
    )


EVERYONE = allow(*Role)
ADMINS = allow(Role.TENANT_ADMIN, Role.AGENCY_ADMIN)
TENANT_ADMIN = allow(Role.TENANT_ADMIN)
UNDERWRITING = allow(Role.TENANT_ADMIN, Role.UNDERWRITER)
