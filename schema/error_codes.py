"""The `ErrorCode` GraphQL enum: the domain's registry (app/error_codes.py), each value with its description."""

from __future__ import annotations

import strawberry

from app.error_codes import ErrorCode

strawberry.enum(ErrorCode, description="Every error code the API returns: `userErrors.code`, `extensions.code` (of the "
                                       "top-level `errors`), `BulkOnboardingRow.errorCode` and the codes of checks.")
for _value in ErrorCode.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = ErrorCode[_value.name].description

__all__ = ["ErrorCode"]
