"""`GET /documents/<locator>`: a document's bytes, streamed chunk by chunk from storage.

Authorized by the bearer token (scoped exactly like the document's entity: anything outside it is 404) or by a
signed URL from `Document.url` (bound to tenant and document, valid for minutes). Removed documents are 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app import documents
from app.context import ALL_ROLES
from app.runtime.routes_bulk import authorized, error_response

NOT_FOUND = "No document with that id is visible to you (or the link expired)."


async def download(request: Request) -> Response:
    document_id = request.path_params["document_id"]
    expires, signature = request.query_params.get("expires"), request.query_params.get("signature")
    state = request.app.state
    if signature is not None and "authorization" not in request.headers:
        record = await documents.by_signature(state.sessions, state.settings, document_id, expires or "", signature)
    else:
        ctx = await authorized(request, ALL_ROLES)
        if isinstance(ctx, Response):
            return ctx
        record = await documents.for_download(ctx, document_id)
    if record is None:
        return error_response(404, documents.DOCUMENT_NOT_FOUND, NOT_FOUND)
    headers = {"Content-Disposition": documents.content_disposition(record.file_name),
               "Content-Length": str(record.size), "X-Content-Type-Options": "nosniff",
               "Cache-Control": "private, no-store", "ETag": f'"{record.sha256}"'}
    return StreamingResponse(documents.content(state.sessions, record), media_type=record.content_type,
                             headers=headers)


routes = [Route(documents.DOWNLOAD_PATH, download, methods=["GET"])]
