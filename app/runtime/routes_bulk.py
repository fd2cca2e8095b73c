"""HTTP routes of bulk onboarding: sample files, failed-rows reports, and CSRF protection for uploads.

Each route mirrors a GraphQL field (`MIRRORS`) and is authorized as that field is: a valid bearer token, a
tenant that exists, an agency that was not removed, and one of the field's roles.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app import bulk, offboarding
from app.auth import AuthError, Role, principal_from_header
from app.bulk_file import write_sample_csv, write_sample_xlsx
from app.context import ADMINS, ServiceContext
from app.error_codes import registered
from app.errors import DomainError

SAMPLE_CSV_PATH = "/bulk-onboarding/sample.csv"
SAMPLE_XLSX_PATH = "/bulk-onboarding/sample.xlsx"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "x-requested-with")
FAILED_ROWS_PATH = "/bulk-onboarding/jobs/{job_id}/failed-rows.{format:str}"
# route -> the GraphQL query field whose data it serves, and whose roles it requires (tests check both agree)
MIRRORS = {SAMPLE_CSV_PATH: "bulkOnboardingSampleFiles", SAMPLE_XLSX_PATH: "bulkOnboardingSampleFiles",
           FAILED_ROWS_PATH: "bulkOnboardingJob"}


def failed_rows_path(job_id: str, fmt: str) -> str:
    return f"/bulk-onboarding/jobs/{job_id}/failed-rows.{fmt}"


def error_response(status: int, code: str, message: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": registered(code)}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


async def authorized(request: Request, roles: tuple[Role, ...]) -> ServiceContext | Response:
    """The caller's service context, or the refusal the GraphQL endpoint would give: 401 for a missing or bad
    token, an unknown tenant or a removed agency; 403 FORBIDDEN without one of `roles`."""
    settings, sessions = request.app.state.settings, request.app.state.sessions
    try:
        principal = principal_from_header(request.headers.get("authorization"), settings)
        ctx = await bulk.context_for(settings, sessions, principal)
        if ctx is None:
            raise AuthError("INVALID_TOKEN", "The bearer token names a tenant that does not exist.")
        await offboarding.ensure_agency_active(sessions, principal)
    except AuthError as exc:
        return error_response(401, exc.code, exc.message)
    if not principal.has(*roles):
        return error_response(403, "FORBIDDEN", f"This download needs one of the roles: "
                                        f"{', '.join(sorted(r.value for r in roles))}.")
    return ctx


async def sample_csv(request: Request) -> Response:
    refusal = await authorized(request, ADMINS)
    if isinstance(refusal, Response):
        return refusal
    return _attachment(write_sample_csv(), CSV_TYPE, "bulk-onboarding-sample.csv")


async def sample_xlsx(request: Request) -> Response:
    refusal = await authorized(request, ADMINS)
    if isinstance(refusal, Response):
        return refusal
    return _attachment(write_sample_xlsx(), XLSX_TYPE, "bulk-onboarding-sample.xlsx")


async def failed_rows(request: Request) -> Response:
    """The failed rows of a job visible to the bearer of the token, as CSV or XLSX."""
    fmt = request.path_params["format"]
    if fmt not in ("csv", "xlsx"):
        return error_response(404, "NOT_FOUND", "Reports come as failed-rows.csv or failed-rows.xlsx.")
    ctx = await authorized(request, ADMINS)
    if isinstance(ctx, Response):
        return ctx
    try:
        content = await bulk.failed_rows_report(ctx, request.path_params["job_id"], fmt)
    except DomainError as exc:
        status = 403 if exc.code == "FORBIDDEN" else 404
        return error_response(status, exc.code, exc.message)
    media_type = XLSX_TYPE if fmt == "xlsx" else CSV_TYPE
    return _attachment(content, media_type, f"failed-rows-{request.path_params['job_id']}.{fmt}")


routes = [
    Route(SAMPLE_CSV_PATH, sample_csv, methods=["GET"]),
    Route(SAMPLE_XLSX_PATH, sample_xlsx, methods=["GET"]),
    Route(FAILED_ROWS_PATH, failed_rows, methods=["GET"]),
]


class MultipartCsrfGuard:
    """Apollo's CSRF prevention for uploads: a multipart POST must carry a header a simple form cannot send."""

    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "POST":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type == "multipart/form-data" and not any(headers.get(h, "").strip()
                                                                 for h in PREFLIGHT_HEADERS):
                response = error_response(400, "CSRF_PREVENTED", "This multipart request was refused as a possible "
                                                         "cross-site request forgery: send a non-empty "
                                                         "'Apollo-Require-Preflight' (or 'X-Apollo-Operation-Name') "
                                                         "header with uploads.")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
