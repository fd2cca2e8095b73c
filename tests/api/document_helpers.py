"""Builders for document tests: multipart attach requests, documents read back, rows counted in storage."""

from __future__ import annotations

import json
from typing import Any

from app.runtime.demo import tiny_pdf
from persistence import documents as store

__all__ = ["ATTACH", "DOCUMENT", "REMOVE", "attach", "post_attach", "stored_counts", "tiny_pdf"]

FIELDS = "id locator field entityId fileName contentType size sha256 uploadedBy uploadedAt version current url"
ATTACH = f"""mutation($entityId: ID!, $field: String!, $file: Upload!, $replaces: ID) {{
  attachDocument(entityId: $entityId, field: $field, file: $file, replaces: $replaces) {{
    document {{ {FIELDS} versions {{ id version url }} }}
    userErrors {{ field message code }} }} }}"""
REMOVE = f"""mutation($id: ID!) {{ removeDocument(id: $id) {{
  document {{ {FIELDS} removedAt }} userErrors {{ field message code }} }} }}"""
DOCUMENT = f"""query($id: ID!) {{ node(id: $id) {{ ... on Document {{ {FIELDS} removedAt versions {{ id version }} }} }} }}"""


async def post_attach(http: Any, token: str, entity_id: str, content: bytes, *, field: str = "eoCertificate",
                      filename: str = "eo-certificate.pdf", content_type: str = "application/pdf",
                      replaces: str | None = None, preflight: bool = True) -> Any:
    """A GraphQL multipart attachDocument request; the raw HTTP response."""
    operations = {"query": ATTACH, "variables": {"entityId": entity_id, "field": field, "file": None,
                                                 "replaces": replaces}}
    headers = {"Authorization": f"Bearer {token}"}
    if preflight:
        headers["Apollo-Require-Preflight"] = "true"
    return await http.post("/graphql", headers=headers,
                           data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
                           files={"0": (filename, content, content_type)})


async def attach(http: Any, token: str, entity_id: str, content: bytes | None = None, **kwargs: Any) -> dict[str, Any]:
    """The attachDocument payload (document and userErrors) of a request that must not fail as a whole."""
    response = await post_attach(http, token, entity_id, tiny_pdf() if content is None else content, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]["attachDocument"]  # type: ignore[no-any-return]


async def stored_counts(app: Any, tenant_id: str) -> tuple[int, int]:
    """(document rows, chunk rows) the tenant has in storage."""
    async with app.state.sessions() as session:
        return await store.counts(session, tenant_id)
