"""Documents: files in the media data fields of producers, producer codes, licenses and appointments.

Attaching streams the upload (already spooled to disk by the multipart parser) into storage chunk by chunk, in
the transaction that records it: a refusal or a failure part-way stores nothing. The type is decided from the
bytes, never from the client's name or header. Replacing keeps the earlier versions; removing detaches (the
rows stay for the audit, no longer downloadable). The entity's `data` shows each attached document as its node.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from urllib.parse import quote

import puremagic

from app.context import ADMINS, ServiceContext
from app.errors import DomainError, NotFound
from app.rules import lifecycle
from app.settings import Settings
from app.tenant_config import Category, DataField, TenantConfig
from persistence import documents as store
from persistence.base import new_locator, utcnow
from persistence.db import transaction
from persistence.documents import CHUNK_BYTES, BlobStore, DocumentRecord, PostgresBlobStore

DOCUMENT_EMPTY = "DOCUMENT_EMPTY"
DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
DOCUMENT_NOT_A_PDF = "DOCUMENT_NOT_A_PDF"
DOCUMENT_TYPE_NOT_ALLOWED = "DOCUMENT_TYPE_NOT_ALLOWED"
DOCUMENT_FIELD_UNKNOWN = "DOCUMENT_FIELD_UNKNOWN"
DOCUMENT_ENTITY_NOT_FOUND = "DOCUMENT_ENTITY_NOT_FOUND"
DOCUMENT_ENTITY_CLOSED = "DOCUMENT_ENTITY_CLOSED"
DOCUMENT_NOT_FOUND = "DOCUMENT_NOT_FOUND"
# every code this domain gives (DOCUMENT_ATTACH_ONLY comes from app.rules.data, for media values sent in `data`)
ERROR_CODES = (DOCUMENT_EMPTY, DOCUMENT_TOO_LARGE, DOCUMENT_NOT_A_PDF, DOCUMENT_TYPE_NOT_ALLOWED,
               DOCUMENT_FIELD_UNKNOWN, DOCUMENT_ENTITY_NOT_FOUND, DOCUMENT_ENTITY_CLOSED, DOCUMENT_NOT_FOUND,
               "DOCUMENT_ATTACH_ONLY")

CATEGORIES: dict[str, Category] = {"producer": "producers", "producer_code": "producerCodes", "license": "producerLicenses",
              "appointment": "producerAppointments"}
TYPE_NAMES = {"producer": "Producer", "producer_code": "ProducerCode", "license": "License",
              "appointment": "Appointment"}
CLOSED_STATES = frozenset({*lifecycle.TERMINAL, "terminated"})
PDF = "application/pdf"
DOWNLOAD_PATH = "/documents/{document_id}"

storage: BlobStore = PostgresBlobStore()


class UploadedFile(Protocol):
    """What the API layer hands over: an async reader with the client's file name and content type."""

    filename: str | None
    content_type: str | None

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class EntityRef:
    """A producer, producer code, license or appointment: its kind (`entity`) and locator."""

    entity: str
    id: str


def global_id(type_name: str, locator: str) -> str:
    """The Relay global id (base64 of "Type:locator"), as the API and the compiled reads encode it."""
    return base64.b64encode(f"{type_name}:{locator}".encode()).decode()


def node_view(record: DocumentRecord) -> dict[str, Any]:
    """The document as it appears in its entity's `data`: the node's id and its fields (the `url` is asked of
    the node itself, as it expires)."""
    return {"__typename": "Document", "id": global_id("Document", record.id), "locator": record.id,
            "fileName": record.file_name, "contentType": record.content_type, "size": record.size,
            "sha256": record.sha256, "version": record.version, "uploadedBy": record.uploaded_by,
            "uploadedAt": record.uploaded_at.isoformat()}


def _audit_view(record: DocumentRecord) -> dict[str, Any]:
    return {"id": record.id, "entity": record.entity, "entity_id": record.entity_id, "field": record.field,
            "lineage_id": record.lineage_id, "version": record.version, "file_name": record.file_name,
            "content_type": record.content_type, "size": record.size, "sha256": record.sha256,
            "uploaded_by": record.uploaded_by, "uploaded_at": record.uploaded_at.isoformat(),
            "removed_by": record.removed_by,
            "removed_at": None if record.removed_at is None else record.removed_at.isoformat()}


def sniff(head: bytes) -> str | None:
    """The content type the first bytes show, or None when they match nothing known."""
    try:
        return str(puremagic.from_string(head, mime=True)) or None
    except puremagic.PureError:
        return None


def _says_pdf(upload: UploadedFile) -> bool:
    return (upload.filename or "").lower().endswith(".pdf") or (upload.content_type or "").lower() == PDF


def _file_name(upload: UploadedFile) -> str:
    """The client's file name without any path, control characters or excess length."""
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "document"


def media_field(config: TenantConfig, ref: EntityRef, type_name: str, field: str) -> DataField:
    """The media data field `field` of the entity's type; DOCUMENT_FIELD_UNKNOWN otherwise."""
    fields = config.resolved_data_fields(CATEGORIES[ref.entity], type_name)
    found = fields.get(field)
    if found is None or found.type != "media":
        media = ", ".join(name for name, f in fields.items() if f.type == "media") or "none"
        raise DomainError(DOCUMENT_FIELD_UNKNOWN, f'"{field}" is not a media data field of the {type_name} type; '
                          f"its media fields: {media}.", "field")
    return found


def max_bytes(settings: Settings, field: DataField) -> int:
    return min(field.maxBytes or settings.document_max_bytes, settings.document_max_bytes)


async def attach(ctx: ServiceContext, ref: EntityRef, field: str, upload: UploadedFile,
                 replaces: str | None = None) -> DocumentRecord:
    """Attach a file to a media field: a new version of the field's document (one-document fields, or the
    document `replaces` names in a list field), or a new document in a list field."""
    ctx.require(*ADMINS)
    async with transaction(ctx.sessions) as session:
        entity = await store.entity_for_update(session, ctx.scope, ref.entity, ref.id)
        if entity is None:
            raise NotFound(DOCUMENT_ENTITY_NOT_FOUND, f"No {TYPE_NAMES[ref.entity]} with that id is visible to "
                           "you.", "entityId")
        if entity.state in CLOSED_STATES:
            raise DomainError(DOCUMENT_ENTITY_CLOSED, f"The {TYPE_NAMES[ref.entity]} is {entity.state}; documents "
                              "can no longer be attached to it.", "entityId")
        definition = media_field(ctx.config, ref, entity.type, field)
        shown = await store.current(session, ctx.tenant_id, ref.id, field)
        previous = _previous(shown, definition, replaces)
        record = DocumentRecord(tenant_id=ctx.tenant_id, entity=ref.entity, entity_id=ref.id, field=field,
                                file_name=_file_name(upload), content_type="", uploaded_by=ctx.actor[:200],
                                lineage_id="")
        record.id = new_locator()
        record.lineage_id = previous.lineage_id if previous else record.id
        record.version = previous.version + 1 if previous else 1
        await _store_bytes(session, ctx.settings, definition, record, upload)
        if previous is not None:
            previous.current = False
        views = [node_view(d) for d in shown if d is not previous]
        views = [node_view(record)] if not definition.many else [*views, node_view(record)]
        entity.data = {**(entity.data or {}), field: views if definition.many else views[0]}
        _touch(ctx, entity)
        await session.flush()
        await store.record_event(session, record, _producer_of(ref, entity), "replaced" if previous else "attached",
                                 ctx.actor, None if previous is None else _audit_view(previous), _audit_view(record))
    return record


def _previous(shown: list[DocumentRecord], definition: DataField, replaces: str | None) -> DocumentRecord | None:
    if replaces is not None:
        found = next((d for d in shown if d.id == replaces), None)
        if found is None:
            raise NotFound(DOCUMENT_NOT_FOUND, "The document to replace is not one this field shows now.", "replaces")
        return found
    return None if definition.many or not shown else shown[-1]


async def _store_bytes(session: Any, settings: Settings, definition: DataField, record: DocumentRecord,
                       upload: UploadedFile) -> None:
    """Sniff the first chunk, then write the chunks as they are read; any refusal rolls everything back."""
    limit = max_bytes(settings, definition)
    head = await upload.read(CHUNK_BYTES)
    if not head:
        raise DomainError(DOCUMENT_EMPTY, "The file is empty; attach a file with content.", "file")
    detected = sniff(head)
    allowed = definition.allowed_content_types
    if _says_pdf(upload) and detected != PDF:
        raise DomainError(DOCUMENT_NOT_A_PDF, f'"{record.file_name}" is named or sent as a PDF, but its content is '
                          f"not a PDF ({detected or 'an unknown type'}); attach the PDF itself.", "file")
    if detected not in allowed:
        raise DomainError(DOCUMENT_TYPE_NOT_ALLOWED, f"The file's content is {detected or 'of an unknown type'}; "
                          f"this field accepts {', '.join(allowed)}.", "file")
    record.content_type = detected
    session.add(record)
    await session.flush()  # the row the chunks reference
    digest, size, seq = hashlib.sha256(), 0, 0
    chunk = head
    while chunk:
        size += len(chunk)
        if size > limit:
            raise DomainError(DOCUMENT_TOO_LARGE, f"The file is larger than the {limit:,} bytes this field accepts; "
                              "nothing was stored.", "file")
        digest.update(chunk)
        await storage.write(session, record.id, seq, chunk)
        seq += 1
        chunk = await upload.read(CHUNK_BYTES)
    record.size, record.sha256, record.chunk_count = size, digest.hexdigest(), seq


def _touch(ctx: ServiceContext, entity: Any) -> None:
    entity.updated_at = utcnow()
    entity.updated_by = ctx.actor
    entity.version += 1


def _producer_of(ref: EntityRef, entity: Any) -> str:
    return str(entity.id if ref.entity == "producer" else entity.producer_id)


async def remove(ctx: ServiceContext, document_id: str) -> DocumentRecord:
    """Detach a document from its field: every version stays for the audit, none is downloadable any more."""
    ctx.require(*ADMINS)
    async with transaction(ctx.sessions) as session:
        found = await store.by_ids(session, ctx.scope, [document_id])
        if not found or not found[0].current:
            raise NotFound(DOCUMENT_NOT_FOUND, "No attached document with that id is visible to you (an earlier "
                           "version or a removed document cannot be removed).", "id")
        ref = EntityRef(found[0].entity, found[0].entity_id)
        entity = await store.entity_for_update(session, ctx.scope, ref.entity, ref.id)
        shown = await store.current(session, ctx.tenant_id, ref.id, found[0].field)
        record = next((d for d in shown if d.id == document_id), None)
        if entity is None or record is None:
            raise NotFound(DOCUMENT_NOT_FOUND, "No attached document with that id is visible to you.", "id")
        before = _audit_view(record)
        now = utcnow()
        for version in await store.lineage(session, [record.lineage_id]):
            version.current = False
            version.removed_at, version.removed_by = now, ctx.actor[:200]
        data = dict(entity.data or {})
        rest = [node_view(d) for d in shown if d is not record]
        if isinstance(data.get(record.field), list) and rest:
            data[record.field] = rest
        else:
            data.pop(record.field, None)
        entity.data = data
        _touch(ctx, entity)
        await session.flush()
        await store.record_event(session, record, _producer_of(ref, entity), "removed", ctx.actor, before,
                                 _audit_view(record))
    return record


async def documents_by_ids(ctx: ServiceContext, ids: list[str]) -> list[DocumentRecord | None]:
    """Documents (any version, removed ones included) visible to the caller, in the order asked."""
    async with ctx.sessions() as session:
        found = {d.id: d for d in await store.by_ids(session, ctx.scope, ids)}
    return [found.get(i) for i in ids]


async def versions_of(ctx: ServiceContext, keys: list[tuple[str, int]]) -> list[list[DocumentRecord]]:
    """For each (lineage, version) of a document, the earlier versions of it, newest first."""
    async with ctx.sessions() as session:
        every = await store.lineage(session, [lineage_id for lineage_id, _ in keys])
    return [[v for v in every if v.lineage_id == lineage_id and v.version < version] for lineage_id, version in keys]


# ---- download -------------------------------------------------------------------------------------

def _signature(settings: Settings, tenant_id: str, document_id: str, expires: int) -> str:
    message = f"{tenant_id}\n{document_id}\n{expires}".encode()
    return hmac.new(settings.document_url_key, message, hashlib.sha256).hexdigest()


def signed_path(settings: Settings, record: DocumentRecord, now: float | None = None) -> str:
    """The download path with a signature bound to the tenant and the document, valid for the configured TTL."""
    expires = int(now if now is not None else time.time()) + settings.document_url_ttl_seconds
    signature = _signature(settings, record.tenant_id, record.id, expires)
    return f"{DOWNLOAD_PATH.format(document_id=record.id)}?expires={expires}&signature={signature}"


def downloadable(record: DocumentRecord | None) -> bool:
    return record is not None and record.removed_at is None


async def by_signature(sessions: Any, settings: Settings, document_id: str, expires: str,
                       signature: str) -> DocumentRecord | None:
    """The document a signed URL names, when the signature is right and not expired; None otherwise."""
    if not expires.isdigit() or int(expires) < time.time():
        return None
    async with sessions() as session:
        record = await store.by_id(session, document_id)
    if record is None:
        return None
    expected = _signature(settings, record.tenant_id, record.id, int(expires))
    return record if hmac.compare_digest(expected, signature) and downloadable(record) else None


async def for_download(ctx: ServiceContext, document_id: str) -> DocumentRecord | None:
    """The document when the caller sees its entity and it was not removed; None otherwise."""
    found = (await documents_by_ids(ctx, [document_id]))[0]
    return found if downloadable(found) else None


def content(sessions: Any, record: DocumentRecord) -> AsyncIterator[bytes]:
    """The document's bytes, chunk by chunk."""
    return storage.read(sessions, record)


def content_disposition(file_name: str) -> str:
    """`attachment` with the original name: an ASCII fallback and the UTF-8 form (RFC 6266 / RFC 8187)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in file_name) or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


# ---- expirations ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DocumentExpiration:
    """A document with an expiration date beside it (e.g. the E&O certificate and `eoExpiresOn`); `state`: the
    entity's lifecycle state (alerts skip retired or discarded ones)."""

    entity: EntityRef
    field: str
    document_id: str
    expires_on: date
    state: str


async def expiring_documents(sessions: Any, tenant_id: str, config: TenantConfig,
                             before: date | None = None) -> AsyncIterator[DocumentExpiration]:
    """Every attached document whose media field names an `expirationField` that holds a date (for compliance
    alerts: the E&O certificate's expiration, say), entity kind by kind in locator order; with `before`, only
    those whose date is before it, as PostgreSQL filters them (the others are never read)."""
    for entity, category in CATEGORIES.items():
        watched = {name: {f: d.expirationField for f, d in config.resolved_data_fields(category, name).items()
                          if d.type == "media" and d.expirationField}
                   for name in config.type_names(category)}
        fields = sorted({f for by_field in watched.values() for f in by_field})
        if not fields:
            continue
        dates = sorted({d for by_field in watched.values() for d in by_field.values()})
        async with sessions() as session:
            rows = await store.with_documents(session, tenant_id, entity, fields,
                                              dated_before=None if before is None else (dates, before))
        for row in rows:
            for field, date_field in watched.get(row.type, {}).items():
                attached, when = (row.data or {}).get(field), (row.data or {}).get(date_field)
                if not attached or not when:
                    continue
                day = datetime.fromisoformat(when).date() if "T" in str(when) else date.fromisoformat(str(when))
                for view in attached if isinstance(attached, list) else [attached]:
                    yield DocumentExpiration(EntityRef(entity, row.id), field, view["locator"], day, row.state)
