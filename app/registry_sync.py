"""Registry import and sync: load an extract into the tenant's registry and reconcile every producer onboarded
from it (its licenses' status, dates and lines of authority, new licenses, the names the agency did not edit),
one transaction per batch. Each change is an audit event named after its kind (`license.renewed`...)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import tenants, webhooks
from app.auth import Principal, Role
from app.context import ServiceContext
from app.errors import DomainError
from app.licenses import add_license
from app.onboarding import incomplete_license_data, license_type, registry_window
from app.pii import SsnVault
from app.producers import search_text
from app.registry import BATCH, ImportSummary, RegistryEntry, RegistryLicense, producer_row, read_extract
from app.rules import registry_sync as rules
from app.rules.wizard import registry_standing
from app.settings import get_settings
from persistence import audit as audit_store
from persistence import licenses as license_store
from persistence import registry as store
from persistence.base import utcnow
from persistence.db import AuditStamp, audit_context, transaction
from persistence.licenses import LicenseRecord
from persistence.producers import ProducerRecord

SYNC_ACTOR = "registry-sync"
PRODUCER_FIELDS = ("first_name", "middle_name", "last_name", "gender", "email")
ANALYZE_AFTER = frozenset(4 ** k for k in range(8))  # batches 1, 4, 16, 64...: the tables' statistics keep up


def batches(entries: Iterable[RegistryEntry], size: int = BATCH) -> Iterator[list[RegistryEntry]]:
    """Consecutive batches of entries, each NPN at most once per batch."""
    batch: list[RegistryEntry] = []
    npns: set[str] = set()
    for entry in entries:
        if entry.npn in npns or len(batch) >= size:
            yield batch
            batch, npns = [], set()
        batch.append(entry)
        npns.add(entry.npn)
    if batch:
        yield batch


async def sync_context(sessions: async_sessionmaker[AsyncSession], tenant_id: str) -> ServiceContext:
    """The service context the sync acts in: the tenant's configuration, as the registry-sync actor."""
    loaded = await tenants.load_tenant(sessions, tenant_id)
    if loaded is None:
        raise DomainError("TENANT_NOT_FOUND", f"No tenant {tenant_id!r}.", "tenant")
    principal = Principal(SYNC_ACTOR, tenant_id, frozenset({Role.TENANT_ADMIN}))
    return ServiceContext(principal, get_settings(), sessions, loaded.config, loaded.plugins)


async def import_file(sessions: async_sessionmaker[AsyncSession], tenant_id: str, path: Path, vault: SsnVault,
                      *, today: date | None = None) -> ImportSummary:
    """Load a CSV or JSON extract into the tenant's registry and reconcile the producers onboarded from it, one
    transaction per batch of producers; bad rows are skipped and reported, the changes counted by kind."""
    ctx = await sync_context(sessions, tenant_id)
    summary = ImportSummary()
    token = audit_context.set(AuditStamp(request_id=f"registry:{path.name}"[:100], actor=SYNC_ACTOR))
    try:
        for number, batch in enumerate(batches(read_extract(path, summary.errors)), start=1):
            async with transaction(sessions) as session:
                await sync_batch(ctx, session, batch, vault, summary, today or utcnow().date())
            if number in ANALYZE_AFTER:
                async with transaction(sessions) as session:
                    await store.analyze(session)
        async with transaction(sessions) as session:  # each change went out with its batch; this is the summary
            await webhooks.enqueue_event(session, tenant_id, "registry.imported", {
                "file": path.name, "producers": summary.producers, "licenses": summary.licenses,
                "skippedRows": len(summary.errors), "changes": dict(sorted(summary.changes.items()))})
    finally:
        audit_context.reset(token)
    return summary


async def sync_batch(ctx: ServiceContext, session: AsyncSession, batch: list[RegistryEntry], vault: SsnVault,
                     summary: ImportSummary, today: date) -> None:
    """Store one batch in the registry and reconcile its onboarded producers, inside `session`."""
    tenant_id = ctx.tenant_id
    previous = {r.npn: r for r in await store.by_npns(session, tenant_id, [e.npn for e in batch])}
    ids = await store.upsert_producers(session, tenant_id, [producer_row(e, vault) for e in batch])
    licenses: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in batch:
        for lic in entry.licenses:
            licenses[(lic.state, lic.license_number)] = {"registry_producer_id": ids[entry.npn], **vars(lic)}
    summary.licenses += await store.replace_licenses(session, tenant_id, list(ids.values()), list(licenses.values()))
    summary.producers += len(ids)
    onboarded = await store.onboarded_producers(session, tenant_id, list(ids.values()))
    if not onboarded:
        return
    by_registry_id = {ids[e.npn]: e for e in batch}
    held: dict[str, list[LicenseRecord]] = {}
    for record in await license_store.by_producer_ids(session, LicenseRecord, tenant_id,
                                                      [p.id for _, p in onboarded]):
        held.setdefault(record.producer_id, []).append(record)
    names: dict[str, str] = {}
    type_name = license_type(ctx)
    incomplete = incomplete_license_data(ctx, type_name)
    for registry_id, producer in onboarded:
        entry = by_registry_id[registry_id]
        if _refresh_producer(ctx, producer, previous.get(entry.npn), entry):
            summary.changes[rules.PRODUCER_UPDATED] += 1
        for lic in entry.licenses:
            kind = await _reconcile_license(ctx, session, producer, held.setdefault(producer.id, []), lic,
                                            type_name, incomplete, today, names)
            if kind is not None:
                summary.changes[kind] += 1
    await session.flush()
    await audit_store.name_events(session, tenant_id, "license", names)


def _refresh_producer(ctx: ServiceContext, producer: ProducerRecord, previous: Any, entry: RegistryEntry) -> bool:
    """Take the registry's new names (gender, email) where the agency kept the registry's previous ones."""
    before = {name: getattr(previous, name) for name in PRODUCER_FIELDS} if previous is not None else None
    changed = rules.refreshed_fields({name: getattr(producer, name) for name in PRODUCER_FIELDS}, before,
                                     {name: getattr(entry, name) for name in PRODUCER_FIELDS})
    if not changed:
        return False
    for name, value in changed.items():
        setattr(producer, name, value)
    producer.search_text = search_text(ctx.config, producer)
    producer.updated_at, producer.updated_by = utcnow(), SYNC_ACTOR
    producer.version += 1
    return True


def _terms(record: LicenseRecord) -> rules.Terms:
    return rules.Terms(record.state, record.state_reason, tuple(record.lines_of_authority or ()), record.residency,
                       record.license_class, record.effective_time, record.expiration_time)


def _held_license(held: list[LicenseRecord], lic: RegistryLicense) -> tuple[LicenseRecord | None, bool]:
    """The producer's license the registry license is: same number in the same state, else an application for
    that state (True: the registry now carries the license applied for); (None, False) when it holds neither."""
    number = lic.license_number.strip().upper()
    for record in held:
        if lic.state in (record.jurisdictions or []) and (record.license_number or "").strip().upper() == number:
            return record, False
    for record in held:
        if record.state == "applied" and record.license_number is None and lic.state in (record.jurisdictions or []):
            return record, True
    return None, False


async def _reconcile_license(ctx: ServiceContext, session: AsyncSession, producer: ProducerRecord,
                             held: list[LicenseRecord], lic: RegistryLicense, type_name: str, incomplete: str | None,
                             today: date, names: dict[str, str]) -> str | None:
    """Bring the producer's license `lic` in line with the registry; the kind of change, or None for none."""
    match, application = _held_license(held, lic)
    effective, expiration = registry_window(lic)
    loas = [t for t in dict.fromkeys(v.strip() for v in lic.lines_of_authority) if t]
    if match is None:
        state, reason = registry_standing(lic.status, lic.expiration_date, today)
        if state == "validated" and incomplete is not None:
            state, reason = "draft", f"validate it once its data is complete: {incomplete}"
        record = await add_license(session, ctx.tenant_id, producer.id, type=type_name,
                                   license_number=lic.license_number, jurisdictions=[lic.state],
                                   lines_of_authority=loas, residency=lic.residency, effective_time=effective,
                                   expiration_time=expiration, state=state, state_reason=reason, actor=SYNC_ACTOR,
                                   license_class=lic.license_class)
        held.append(record)
        names[record.id] = rules.ADDED
        return rules.ADDED
    current_state = "validated" if application else match.state
    standing = rules.synced_state(current_state, None if application else match.state_reason, lic.status,
                                  lic.expiration_date, today)
    if standing is None:
        return None
    desired = rules.Terms(standing[0], standing[1], tuple(loas), lic.residency, lic.license_class, effective,
                          expiration)
    kinds = rules.change_kinds(_terms(match), desired, application=application)
    if not kinds:
        return None
    match.state, match.state_reason = desired.state, desired.state_reason
    match.lines_of_authority, match.residency, match.license_class = loas, lic.residency, lic.license_class
    match.effective_time, match.expiration_time = effective, expiration
    if application:
        match.license_number = lic.license_number.strip()
        match.search_text = match.license_number.lower()
    match.updated_at, match.updated_by = utcnow(), SYNC_ACTOR
    match.version += 1
    names[match.id] = kinds[0]
    return kinds[0]
