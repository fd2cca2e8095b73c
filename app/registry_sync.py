"""Registry import and sync: load an extract into the tenant's registry and reconcile every producer onboarded
from it (its licenses' status, dates and lines of authority, new licenses, the names the agency did not edit),
one transaction per batch. Each change is an audit event named after its kind (`license.renewed`...)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
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
                await sync_batch(ctx, session, batch, vault, summary, today or utcnow().date(), path.name)
            if number in ANALYZE_AFTER:
                async with transaction(sessions) as session:
                    await store.analyze(session, summary.producers)
        async with transaction(sessions) as session:  # each change went out with its batch; this is the summary
            await webhooks.enqueue_event(session, tenant_id, "registry.imported", {
                "file": path.name, "producers": summary.producers, "licenses": summary.licenses,
                "skippedRows": len(summary.errors), "changes": dict(sorted(summary.changes.items()))})
    finally:
        audit_context.reset(token)
    return summary


@dataclass
class HeldLicense:
    """A license an onboarded producer holds, with the columns the registry decides (a plain row, mutable while
    a batch reconciles it)."""

    id: str
    producer_id: str
    license_number: str | None
    jurisdictions: list[str] | None
    state: str
    state_reason: str | None
    lines_of_authority: list[str] | None
    residency: str
    license_class: str | None
    effective_time: datetime | None
    expiration_time: datetime | None


@dataclass
class BatchChanges:
    """What reconciling one batch writes: license rows to update, the audit event name of each change."""

    updates: dict[str, HeldLicense] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


async def sync_batch(ctx: ServiceContext, session: AsyncSession, batch: list[RegistryEntry], vault: SsnVault,
                     summary: ImportSummary, today: date, source: str = "") -> None:
    """Store one batch in the registry and reconcile its onboarded producers, inside `session`: rows read and
    written set-based (a statement per step, not per license), an unchanged registry record is not rewritten and
    an unchanged license not touched; a license the registry dropped from a producer it still carries lapses."""
    tenant_id = ctx.tenant_id
    previous = {r.npn: r for r in await store.by_npns(session, tenant_id, [e.npn for e in batch])}
    rows = [producer_row(e, vault, getattr(previous.get(e.npn), "ssn_hash", None)) for e in batch]
    ids, _ = await store.upsert_producers(
        session, tenant_id, [row for row in rows if store.producer_changed(previous.get(row["npn"]), row)],
        known={npn: r.id for npn, r in previous.items()})
    licenses: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in batch:
        for lic in entry.licenses:
            licenses[(lic.state, lic.license_number)] = {"registry_producer_id": ids[entry.npn], **vars(lic)}
    dropped_rows = await store.sync_licenses(session, tenant_id, list(ids.values()), list(licenses.values()))
    summary.licenses += len(licenses)
    summary.producers += len(ids)
    onboarded = await store.onboarded_producers(session, tenant_id, list(ids.values()))
    if not onboarded:
        return
    dropped: dict[str, list[tuple[str, str]]] = {}
    for registry_id, state, number in dropped_rows:
        dropped.setdefault(registry_id, []).append((state, number))
    by_registry_id = {ids[e.npn]: e for e in batch}
    held: dict[str, list[HeldLicense]] = {}
    for row in await license_store.sync_terms(session, tenant_id, [p.id for p in onboarded]):
        held.setdefault(row.producer_id, []).append(HeldLicense(**row._mapping))
    changes = BatchChanges()
    type_name = license_type(ctx)
    incomplete = incomplete_license_data(ctx, type_name)
    refreshed: dict[str, dict[str, Any]] = {}
    for producer in onboarded:
        entry = by_registry_id[producer.registry_producer_id]
        fields = _refreshed_fields(producer, previous.get(entry.npn), entry)
        if fields:
            refreshed[producer.id] = fields
            summary.changes[rules.PRODUCER_UPDATED] += 1
        mine = held.setdefault(producer.id, [])
        for lic in entry.licenses:
            kind = await _reconcile_license(ctx, session, producer.id, mine, lic, type_name, incomplete, today,
                                            changes)
            if kind is not None:
                summary.changes[kind] += 1
        for state, number in dropped.get(producer.registry_producer_id, []):
            if _drop_license(mine, state, number, source, today, changes):
                summary.changes[rules.LAPSED] += 1
    await _refresh_producers(ctx, session, refreshed)
    await session.flush()  # the licenses added
    now = utcnow()
    await license_store.update_synced(session, tenant_id, [
        {**vars(record), "lines_of_authority": list(record.lines_of_authority or ())}
        for record in changes.updates.values()], SYNC_ACTOR, now)
    await audit_store.name_events(session, tenant_id, "license", changes.names)


def _refreshed_fields(producer: Any, previous: Any, entry: RegistryEntry) -> dict[str, Any]:
    """The registry's new names (gender, email) to take, where the agency kept the registry's previous ones."""
    before = {name: getattr(previous, name) for name in PRODUCER_FIELDS} if previous is not None else None
    return rules.refreshed_fields({name: getattr(producer, name) for name in PRODUCER_FIELDS}, before,
                                  {name: getattr(entry, name) for name in PRODUCER_FIELDS})


async def _refresh_producers(ctx: ServiceContext, session: AsyncSession, refreshed: dict[str, dict[str, Any]]) -> None:
    """Apply the refreshed fields to the (few) producers whose registry names changed, as table models: their
    search text is computed from the whole record."""
    for producer_id, changed in refreshed.items():
        producer = await session.get(ProducerRecord, producer_id)
        if producer is None:
            continue
        for name, value in changed.items():
            setattr(producer, name, value)
        producer.search_text = search_text(ctx.config, producer)
        producer.updated_at, producer.updated_by = utcnow(), SYNC_ACTOR
        producer.version += 1


def _terms(record: HeldLicense) -> rules.Terms:
    return rules.Terms(record.state, record.state_reason, tuple(record.lines_of_authority or ()), record.residency,
                       record.license_class, record.effective_time, record.expiration_time)


def _same_number(record: HeldLicense, state: str, number: str) -> bool:
    return state in (record.jurisdictions or []) and (record.license_number or "").strip().upper() == number


def _held_license(held: list[HeldLicense], lic: RegistryLicense) -> tuple[HeldLicense | None, bool]:
    """The producer's license the registry license is: same number in the same state, else an application for
    that state (True: the registry now carries the license applied for); (None, False) when it holds neither."""
    number = lic.license_number.strip().upper()
    for record in held:
        if _same_number(record, lic.state, number):
            return record, False
    for record in held:
        if record.state == "applied" and record.license_number is None and lic.state in (record.jurisdictions or []):
            return record, True
    return None, False


def _drop_license(held: list[HeldLicense], state: str, number: str, source: str, today: date,
                  changes: BatchChanges) -> bool:
    """Lapse the producer's license the registry no longer carries (it dropped out of this extract while the
    producer is still in it); True when one lapsed. One already discarded stays as it is."""
    wanted = number.strip().upper()
    for record in held:
        if _same_number(record, state, wanted):
            desired = rules.dropped_state(record.state, source, today)
            if desired is None:
                return False
            record.state, record.state_reason = desired
            changes.updates[record.id] = record
            changes.names[record.id] = rules.LAPSED
            return True
    return False


async def _reconcile_license(ctx: ServiceContext, session: AsyncSession, producer_id: str,
                             held: list[HeldLicense], lic: RegistryLicense, type_name: str, incomplete: str | None,
                             today: date, changes: BatchChanges) -> str | None:
    """Bring the producer's license `lic` in line with the registry; the kind of change, or None for none."""
    match, application = _held_license(held, lic)
    effective, expiration = registry_window(lic)
    loas = [t for t in dict.fromkeys(v.strip() for v in lic.lines_of_authority) if t]
    if match is None:
        state, reason = registry_standing(lic.status, lic.expiration_date, today)
        if state == "validated" and incomplete is not None:
            state, reason = "draft", f"validate it once its data is complete: {incomplete}"
        record = await add_license(session, ctx.tenant_id, producer_id, type=type_name,
                                   license_number=lic.license_number, jurisdictions=[lic.state],
                                   lines_of_authority=loas, residency=lic.residency, effective_time=effective,
                                   expiration_time=expiration, state=state, state_reason=reason, actor=SYNC_ACTOR,
                                   license_class=lic.license_class, flush=False)
        held.append(HeldLicense(record.id, producer_id, record.license_number, record.jurisdictions, record.state,
                                record.state_reason, record.lines_of_authority, record.residency,
                                record.license_class, record.effective_time, record.expiration_time))
        changes.names[record.id] = rules.ADDED
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
    changes.updates[match.id] = match
    changes.names.setdefault(match.id, kinds[0])  # a license added by this batch stays `added`
    return kinds[0]
