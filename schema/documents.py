"""GraphQL shapes for documents: the Document node and the attach and remove mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from persistence.documents import DocumentRecord
from resolvers import documents as r
from schema.common import UserError
from schema.permissions import ADMINS


def _resolved(resolver: Any, description: str, *permissions: Any) -> Any:
    return strawberry.field(resolver=resolver, description=description, permission_classes=list(permissions))


@strawberry.type(description="A file in a media data field of a producer, producer code, license or appointment: "
                             "one version of it. Download it from `url` (a short-lived signed link) or from "
                             "/documents/<locator> with the bearer token.")
class Document(relay.Node):
    id: relay.NodeID[str]

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, (cls, DocumentRecord))

    @classmethod
    def resolve_nodes(cls, *, info: Any, node_ids: Any, required: bool = False) -> Any:
        return r.document_loader(info).load_many(list(node_ids))

    @strawberry.field(description="The document's ULID locator (this version's).")
    def locator(self) -> str:
        return self.id

    field: str = strawberry.field(description="The media data field that holds the document.")
    entity_id: strawberry.ID = strawberry.field(
        resolver=r.entity_id, description="Global id of the producer, producer code, license or appointment.")
    file_name: str = strawberry.field(description="The file's name as uploaded (without any path).")
    content_type: str = strawberry.field(description="The type decided from the file's bytes, e.g. application/pdf.")
    size: int = strawberry.field(description="Size in bytes.")
    sha256: str = strawberry.field(description="SHA-256 of the bytes, in hex.")
    uploaded_by: str = strawberry.field(description="Subject of the caller who attached this version.")
    uploaded_at: datetime = strawberry.field(description="When this version was attached.")
    version: int = strawberry.field(description="1 for the first file, one more for each replacement.")
    current: bool = strawberry.field(description="Whether the field shows this version now (false for earlier "
                                                 "versions and removed documents).")
    removed_at: datetime | None = strawberry.field(
        description="When the document was detached with removeDocument; it is then no longer downloadable.")
    url: str | None = strawberry.field(
        resolver=r.url, description="A signed download link, valid for a few minutes (DOCUMENT_URL_TTL_SECONDS) and "
                                    "only for this document; null once the document was removed.")
    versions: list[Document] = _resolved(r.versions, "The earlier versions of this document, newest first.")


@strawberry.type(description="Result of attaching or removing a document.")
class DocumentPayload:
    document: Document | None = strawberry.field(description="The document attached or removed.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type
class DocumentMutation:
    attach_document: DocumentPayload = _resolved(
        r.attach_document, "Attach a file to a media data field (multipart request; send an Apollo-Require-Preflight "
                           "header). A one-document field keeps its earlier files as versions.", ADMINS)
    remove_document: DocumentPayload = _resolved(
        r.remove_document, "Detach a document from its field; it stays in the audit log but is no longer "
                           "downloadable.", ADMINS)
