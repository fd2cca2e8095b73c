"""Document fields and mutations: thin calls into app.documents; files arrive as strawberry `Upload`s."""

from typing import Annotated, Any, cast

import strawberry
from strawberry import Info, relay
from strawberry.file_uploads import Upload

from app import documents as service
from app.errors import NotFound
from persistence.documents import DocumentRecord
from resolvers.context import GraphQLContext
from resolvers.ids import global_id, locator_of
from resolvers.payloads import Payload, ok, payload

Ctx = Info[GraphQLContext, None]
ENTITIES = {type_name: entity for entity, type_name in service.TYPE_NAMES.items()}

EntityId = Annotated[strawberry.ID, strawberry.argument(
    description="Global id of the producer, producer code, license or appointment the document belongs to.")]
FieldArg = Annotated[str, strawberry.argument(description="Name of the media data field, e.g. eoCertificate.")]
FileArg = Annotated[Upload, strawberry.argument(
    description="The file (multipart upload field); its type is decided from its bytes.")]
Replaces = Annotated[strawberry.ID | None, strawberry.argument(
    description="In a list field, the document this file is a new version of; omit to add a document. A "
                "one-document field always replaces its document.")]
DocumentId = Annotated[strawberry.ID, strawberry.argument(description="Global id (or locator) of the document.")]


def document_locator(value: object, field: str = "id") -> str:
    return locator_of(value, "Document", code=service.DOCUMENT_NOT_FOUND, field=field)


def entity_ref(value: object) -> service.EntityRef:
    """The entity a global id names; DOCUMENT_ENTITY_NOT_FOUND for anything else (a bare locator included)."""
    try:
        gid = relay.GlobalID.from_id(str(value).strip())
    except Exception:  # malformed: it names nothing
        gid = None
    if gid is None or gid.type_name not in ENTITIES:
        raise NotFound(service.DOCUMENT_ENTITY_NOT_FOUND, "entityId must be the global id of a producer, producer "
                       "code, license or appointment visible to you.", "entityId")
    entity = ENTITIES[gid.type_name]
    return service.EntityRef(entity, locator_of(value, gid.type_name, code=service.DOCUMENT_ENTITY_NOT_FOUND,
                                                field="entityId"))


def document_loader(info: Ctx) -> Any:
    return info.context.load.named("document", service.documents_by_ids)


def versions_loader(info: Ctx) -> Any:
    async def batch(ctx: Any, keys: list[tuple[str, int]]) -> list[list[DocumentRecord]]:
        return await service.versions_of(ctx, keys)

    return info.context.load.named("document_versions", batch)


# ---- fields ------------------------------------------------------------------------------------------

def url(root: DocumentRecord, info: Ctx) -> str | None:
    if not service.downloadable(root):
        return None
    settings = info.context.svc.settings
    return (settings.public_base_url or "") + service.signed_path(settings, root)


async def versions(root: DocumentRecord, info: Ctx) -> list[DocumentRecord]:
    return cast(list[DocumentRecord], await versions_loader(info).load((root.lineage_id, root.version)))


def entity_id(root: DocumentRecord) -> strawberry.ID:
    return strawberry.ID(global_id(service.TYPE_NAMES[root.entity], root.entity_id))


# ---- mutations ---------------------------------------------------------------------------------------

@payload
async def attach_document(info: Ctx, entity_id: EntityId, field: FieldArg, file: FileArg,
                          replaces: Replaces = None) -> Payload:
    ref = entity_ref(entity_id)
    replaced = document_locator(replaces, "replaces") if replaces is not None else None
    record = await service.attach(info.context.svc, ref, field, cast(service.UploadedFile, file), replaced)
    return ok(document=record)


@payload
async def remove_document(info: Ctx, id: DocumentId) -> Payload:
    return ok(document=await service.remove(info.context.svc, document_locator(id)))
