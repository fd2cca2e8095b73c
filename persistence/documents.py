"""Documents: their metadata rows, the entity each belongs to, and the storage of their bytes.

The bytes sit behind `BlobStore`, so an object store can take them later; `PostgresBlobStore` (the default)
keeps them in `document_chunks`, one row per chunk, written and read one chunk at a time: `pg_dump` backs them
up with the data, and neither direction holds a whole file in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import BigInteger, Column, Index, LargeBinary, String, Text, case, cast, func, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Select
from sqlmodel import Field, SQLModel, col

from persistence import licenses as credential_store
from persistence import producers as producer_store
from persistence.audit import EVENTS_CHANNEL
from persistence.base import locator_pk, tenant_fk, timestamp
from persistence.licenses import AppointmentRecord, LicenseRecord
from persistence.producers import ProducerCodeRecord, ProducerRecord, Scope

CHUNK_BYTES = 256 * 1024
ENTITIES = ("producer", "producer_code", "license", "appointment")


class DocumentRecord(SQLModel, table=True):
    """One version of one document attached to a media data field; `lineage_id` is its first version's id."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_entity", "tenant_id", "entity_id", "field"),
                      Index("ix_documents_lineage", "lineage_id", "version", unique=True))

    id: str = locator_pk()
    tenant_id: str = tenant_fk()
    entity: str = Field(max_length=20)
    entity_id: str = Field(max_length=26)
    field: str = Field(max_length=100)
    lineage_id: str = Field(max_length=26)
    version: int = 1
    current: bool = True
    file_name: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(default="", max_length=64)
    chunk_count: int = 0
    uploaded_by: str = Field(max_length=200)
    uploaded_at: datetime = timestamp()
    removed_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    removed_at: datetime | None = timestamp(nullable=True)


class DocumentChunkRecord(SQLModel, table=True):
    """One chunk of a document's bytes (PostgresBlobStore)."""

    __tablename__ = "document_chunks"

    document_id: str = Field(foreign_key="documents.id", primary_key=True, max_length=26, ondelete="CASCADE")
    seq: int = Field(primary_key=True)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class BlobStore(Protocol):
    """Where a document's bytes live: written inside the transaction that records the document."""

    async def write(self, session: AsyncSession, document_id: str, seq: int, chunk: bytes) -> None: ...

    def read(self, sessions: async_sessionmaker[AsyncSession], record: DocumentRecord) -> AsyncIterator[bytes]: ...


class PostgresBlobStore:
    """Chunks as rows of `document_chunks`: one INSERT per chunk on the way in, one SELECT per chunk out."""

    async def write(self, session: AsyncSession, document_id: str, seq: int, chunk: bytes) -> None:
        await session.execute(text("INSERT INTO document_chunks (document_id, seq, content) VALUES (:d, :s, :b)"),
                              {"d": document_id, "s": seq, "b": chunk})

    async def read(self, sessions: async_sessionmaker[AsyncSession], record: DocumentRecord) -> AsyncIterator[bytes]:
        statement = text("SELECT content FROM document_chunks WHERE document_id = :d AND seq = :s")
        async with sessions() as session:
            for seq in range(record.chunk_count):
                chunk = (await session.execute(statement, {"d": record.id, "s": seq})).scalar_one()
                yield bytes(chunk)
                del chunk


def _owner() -> Any:
    """The producer a document's entity belongs to now (a code or credential may have moved)."""
    d = DocumentRecord

    def of(table: Any) -> Any:
        return select(table.producer_id).where(table.id == d.entity_id).scalar_subquery()

    return case((col(d.entity) == "producer", col(d.entity_id)),
                (col(d.entity) == "producer_code", of(ProducerCodeRecord)),
                (col(d.entity) == "license", of(LicenseRecord)),
                else_=of(AppointmentRecord))


def in_scope(scope: Scope) -> Select[DocumentRecord]:
    """Documents of entities the scope sees, exactly as the entities themselves are scoped."""
    stmt = select(DocumentRecord).where(col(DocumentRecord.tenant_id) == scope.tenant_id)
    if scope.root is None:
        return stmt
    visible = select(col(ProducerRecord.id)).where(scope.producers_clause())
    return stmt.where(_owner().in_(visible))


async def by_ids(session: AsyncSession, scope: Scope, ids: Sequence[str]) -> list[DocumentRecord]:
    if not ids:
        return []
    stmt = in_scope(scope).where(col(DocumentRecord.id).in_(list(set(ids))))
    return list((await session.execute(stmt)).scalars())


async def with_owners(session: AsyncSession, scope: Scope,
                      ids: Sequence[str]) -> list[tuple[DocumentRecord, ProducerRecord]]:
    """(document, the producer its entity belongs to) for the current, attached documents of `ids` in scope."""
    if not ids:
        return []
    stmt = (in_scope(scope).add_columns(ProducerRecord)
            .join(ProducerRecord, col(ProducerRecord.id) == _owner())
            .where(col(DocumentRecord.id).in_(list(set(ids))), col(DocumentRecord.current),
                   col(DocumentRecord.removed_at).is_(None)))
    return [(document, producer) for document, producer in (await session.execute(stmt)).all()]


async def by_id(session: AsyncSession, document_id: str) -> DocumentRecord | None:
    """A document by id, whatever its tenant (a signed URL's signature names the tenant and the document)."""
    return await session.get(DocumentRecord, document_id)


async def current(session: AsyncSession, tenant_id: str, entity_id: str, field: str) -> list[DocumentRecord]:
    """The documents a field shows now (locked: one attach or removal at a time)."""
    stmt = (select(DocumentRecord).where(col(DocumentRecord.tenant_id) == tenant_id,
                                         col(DocumentRecord.entity_id) == entity_id,
                                         col(DocumentRecord.field) == field, col(DocumentRecord.current))
            .order_by(col(DocumentRecord.uploaded_at)).with_for_update())
    return list((await session.execute(stmt)).scalars())


async def lineage(session: AsyncSession, lineage_ids: Sequence[str]) -> list[DocumentRecord]:
    """Every version of the given lineages, newest first."""
    if not lineage_ids:
        return []
    stmt = (select(DocumentRecord).where(col(DocumentRecord.lineage_id).in_(list(set(lineage_ids))))
            .order_by(col(DocumentRecord.lineage_id), col(DocumentRecord.version).desc()))
    return list((await session.execute(stmt)).scalars())


async def entity_for_update(session: AsyncSession, scope: Scope, entity: str, entity_id: str) -> Any:
    """The producer, code, license or appointment in scope, locked; None when not visible."""
    if entity == "producer":
        return await producer_store.producer_for_update(session, scope, entity_id)
    if entity == "producer_code":
        return await producer_store.code_for_update(session, scope, entity_id)
    table = LicenseRecord if entity == "license" else AppointmentRecord
    return await credential_store.for_update(session, table, scope, entity_id)


async def with_documents(session: AsyncSession, tenant_id: str, entity: str, fields: Sequence[str],
                         dated_before: tuple[Sequence[str], date] | None = None) -> list[Any]:
    """(id, type, state, data) of the tenant's entities of one kind whose data holds any of the media `fields`;
    with `dated_before` (date fields, day), only those where one of the date fields holds a day before `day`
    (an ISO date or date-time: its first ten characters, compared as bytes)."""
    table: Any = {"producer": ProducerRecord, "producer_code": ProducerCodeRecord, "license": LicenseRecord,
                  "appointment": AppointmentRecord}[entity]
    stmt = (select(table.id, table.type, table.state, table.data)
            .where(table.tenant_id == tenant_id, table.data.has_any(cast(array(list(fields)), ARRAY(Text))))
            .order_by(table.id))
    if dated_before is not None:
        names, day = dated_before
        stmt = stmt.where(or_(*(func.substr(table.data[name].astext, 1, 10).collate("C") < day.isoformat()
                                for name in names)))
    return list((await session.execute(stmt)).all())


async def record_event(session: AsyncSession, record: DocumentRecord, producer_id: str, event: str, actor: str,
                       before: dict[str, Any] | None, after: dict[str, Any]) -> None:
    """An audit event (and a producer event) for an attach, replace or removal, in the same transaction."""
    await session.execute(
        text("INSERT INTO audit_events (tenant_id, entity, entity_id, producer_id, event, actor, request_id, "
             "before, after) VALUES (:tenant, 'document', :id, :producer, :event, :actor, "
             "nullif(current_setting('app.request_id', true), ''), CAST(:before AS jsonb), CAST(:after AS jsonb))"),
        {"tenant": record.tenant_id, "id": record.id, "producer": producer_id, "event": event, "actor": actor[:200],
         "before": None if before is None else orjson.dumps(before).decode(), "after": orjson.dumps(after).decode()})
    await session.execute(text("SELECT pg_notify(:channel, :tenant)"),
                          {"channel": EVENTS_CHANNEL, "tenant": record.tenant_id})


async def counts(session: AsyncSession, tenant_id: str) -> tuple[int, int]:
    """(documents, chunks) of a tenant, for tests and operations."""
    row = (await session.execute(text(
        "SELECT (SELECT count(*) FROM documents WHERE tenant_id = :t), "
        "(SELECT count(*) FROM document_chunks c JOIN documents d ON d.id = c.document_id WHERE d.tenant_id = :t)"),
        {"t": tenant_id})).one()
    return int(row[0]), int(row[1])
