"""Producer services: create, update, replace, move in the hierarchy, and the lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.context import ADMINS, ServiceContext
from app.errors import DomainError, NotFound, Problem
from app.plugins import PluginError
from app.rules import lifecycle
from app.rules.data import validate_data
from app.rules.identity import normalize_email, normalize_npn
from app.tenant_config import TenantConfig
from persistence import producers as store
from persistence.base import utcnow
from persistence.db import transaction
from persistence.producers import ProducerRecord

UNSET: Any = object()

PRODUCER_FIELDS = ("npn", "first_name", "middle_name", "last_name", "organization_name", "email", "gender", "fein")


@dataclass
class ProducerChanges:
    """What a create, update or replace asks for; UNSET fields are left as they are."""

    type: str | None = None
    parent_id: Any = UNSET
    npn: Any = UNSET
    first_name: Any = UNSET
    middle_name: Any = UNSET
    last_name: Any = UNSET
    organization_name: Any = UNSET
    email: Any = UNSET
    gender: Any = UNSET
    fein: Any = UNSET
    data: dict[str, Any] | None = None
    set_data: dict[str, Any] = field(default_factory=dict)
    remove_data: list[str] = field(default_factory=list)


@dataclass
class ValidationOutcome:
    record: Any
    problems: list[Problem]


def not_found(locator: str | None = None) -> NotFound:
    return NotFound("PRODUCER_NOT_FOUND", "No producer with that id is visible to you.", "id")


def refuse_own_agency(ctx: ServiceContext, producer_id: str, what: str) -> None:
    """An agency-scoped caller never changes the lifecycle or parent of its own agency (those above it are not
    visible to it at all): it would lock itself out or leave its subtree."""
    if not ctx.principal.tenant_wide and producer_id == ctx.principal.agency:
        raise DomainError("NOT_ALLOWED", f"You cannot {what} your own agency ({producer_id}); a tenant admin "
                          "can.", "id")


def lineage(config: TenantConfig, category: str, type_name: str) -> list[str]:
    """The type and the types it extends, most specific first (used to dispatch plugins)."""
    types = getattr(config.producerManagement, category)
    chain: list[str] = []
    current: str | None = type_name
    while current and current in types and current not in chain:
        chain.append(current)
        current = types[current].extend
    return chain


def check_type(config: TenantConfig, category: str, type_name: str, label: str) -> None:
    types = getattr(config.producerManagement, category)
    if type_name not in types:
        allowed = ", ".join(sorted(n for n, t in types.items() if not t.abstract)) or "none"
        raise DomainError("UNKNOWN_TYPE", f"Unknown {label} type {type_name!r}; configured: {allowed}.", "type")
    if types[type_name].abstract:
        raise DomainError("ABSTRACT_TYPE", f"{label.capitalize()} type {type_name!r} is abstract and "
                          "cannot be created; use a type that extends it.", "type")


def search_text(config: TenantConfig, record: ProducerRecord) -> str:
    """The lower-cased text free-text search matches: names, NPN, email and searchable data."""
    parts = [record.first_name, record.middle_name, record.last_name, record.organization_name,
             record.npn, record.email]
    for name in config.searchable_fields("producers", record.type):
        value = (record.data or {}).get(name)
        if value is not None:
            parts.append(str(value))
    return " ".join(p for p in parts if p).lower()


def snapshot(record: ProducerRecord) -> dict[str, Any]:
    """The plain view of a producer that plugins see (no SSN)."""
    return {
        "locator": record.id, "type": record.type, "kind": record.kind, "state": record.state,
        "parentLocator": record.parent_id, "npn": record.npn, "firstName": record.first_name,
        "middleName": record.middle_name, "lastName": record.last_name,
        "organizationName": record.organization_name, "email": record.email, "gender": record.gender,
        "data": dict(record.data or {}),
    }


PLUGIN_FIELDS = {"npn": "npn", "firstName": "first_name", "middleName": "middle_name",
                 "lastName": "last_name", "organizationName": "organization_name", "email": "email",
                 "gender": "gender", "data": "data"}


def _apply_precommit(ctx: ServiceContext, record: ProducerRecord) -> None:
    try:
        result = ctx.plugins.run_precommit(lineage(ctx.config, "producers", record.type), snapshot(record))
    except PluginError as exc:
        raise DomainError("PLUGIN_FAILED", str(exc)) from exc
    for key, attr in PLUGIN_FIELDS.items():
        if key in result:
            setattr(record, attr, result[key])


def _clean_identity(changes: ProducerChanges) -> None:
    if changes.npn not in (UNSET, None, ""):
        changes.npn = normalize_npn(changes.npn)
    if changes.email not in (UNSET, None, ""):
        changes.email = normalize_email(changes.email)
    for name in PRODUCER_FIELDS:
        value = getattr(changes, name)
        if isinstance(value, str):
            value = value.strip() or None
            setattr(changes, name, value)


def _check_data(config: TenantConfig, type_name: str, data: dict[str, Any],
                stored: dict[str, Any]) -> dict[str, Any]:
    """The data to save; `stored`: the producer's data before the change (its documents stay as attached)."""
    cleaned, problems = validate_data(config.resolved_data_fields("producers", type_name), data,
                                      check_required=False, stored=stored)
    if problems:
        raise DomainError(problems[0].code, problems[0].message, problems[0].field, problems)
    return cleaned


async def _set_parent(ctx: ServiceContext, session: Any, record: ProducerRecord, parent_id: str | None) -> None:
    """Attach `record` under `parent_id` (or make it a root), refusing cycles and foreign parents."""
    old_prefix = list(record.ancestry or [])
    if parent_id is None:
        if not ctx.principal.tenant_wide:
            raise DomainError("PARENT_REQUIRED", "An agency-scoped caller must keep producers inside its agency.",
                              "parentId")
        new_prefix: list[str] = []
    else:
        if parent_id == record.id:
            raise DomainError("HIERARCHY_CYCLE", "A producer cannot be its own parent.", "parentId")
        parent = await store.producer_for_update(session, ctx.scope, parent_id)
        if parent is None:
            raise NotFound("PARENT_NOT_FOUND", "The parent producer does not exist or is not visible to you.",
                           "parentId")
        if record.id in (parent.ancestry or []):
            raise DomainError("HIERARCHY_CYCLE", "That parent is a descendant of this producer; the move "
                              "would create a cycle.", "parentId")
        if lifecycle.is_terminal(parent.state):
            raise DomainError("PARENT_NOT_ACTIVE", f"The parent producer is {parent.state} and cannot take "
                              "new producers.", "parentId")
        new_prefix = [*(parent.ancestry or []), parent.id]
    record.parent_id = parent_id
    record.ancestry = new_prefix
    if old_prefix != new_prefix and record.version > 0 and await store.children_exist(
            session, ctx.tenant_id, record.id):
        await store.move_subtree(session, ctx.tenant_id, record.id, old_prefix, new_prefix)


def _apply_fields(record: ProducerRecord, changes: ProducerChanges, *, replace: bool) -> None:
    for name in PRODUCER_FIELDS:
        value = getattr(changes, name)
        if value is UNSET:
            if replace:
                setattr(record, name, None)
            continue
        setattr(record, name, value)


async def create_producer(ctx: ServiceContext, changes: ProducerChanges) -> ProducerRecord:
    """A new draft producer of a configured, non-abstract type."""
    ctx.require(*ADMINS)
    type_name = changes.type or ""
    check_type(ctx.config, "producers", type_name, "producer")
    _clean_identity(changes)
    parent_id = changes.parent_id if changes.parent_id is not UNSET else None
    if parent_id is None and not ctx.principal.tenant_wide:
        parent_id = ctx.principal.agency
    async with transaction(ctx.sessions) as session:
        record = ProducerRecord(tenant_id=ctx.tenant_id, type=type_name,
                                kind=ctx.config.resolved_kind(type_name), state="draft",
                                created_by=ctx.actor, updated_by=ctx.actor, version=0)
        _apply_fields(record, changes, replace=False)
        record.data = _check_data(ctx.config, type_name, changes.data or {}, {})
        await _set_parent(ctx, session, record, parent_id)
        _apply_precommit(ctx, record)
        record.data = _check_data(ctx.config, type_name, record.data or {}, {})
        record.search_text = search_text(ctx.config, record)
        record.version = 1
        session.add(record)
    return record


async def _load_for_change(ctx: ServiceContext, session: Any, producer_id: str) -> ProducerRecord:
    record = await store.producer_for_update(session, ctx.scope, producer_id)
    if record is None:
        raise not_found(producer_id)
    if lifecycle.is_terminal(record.state):
        raise DomainError("PRODUCER_TERMINAL", f"The producer is {record.state}; it cannot be changed.", "id")
    return record


async def update_producer(ctx: ServiceContext, producer_id: str, changes: ProducerChanges,
                          *, replace: bool = False) -> ProducerRecord:
    """Change some fields (or, with `replace`, all of them), the data and the parent."""
    ctx.require(*ADMINS)
    _clean_identity(changes)
    async with transaction(ctx.sessions) as session:
        record = await _load_for_change(ctx, session, producer_id)
        stored = dict(record.data or {})
        if changes.type and changes.type != record.type:
            check_type(ctx.config, "producers", changes.type, "producer")
            if ctx.config.resolved_kind(changes.type) != record.kind:
                raise DomainError("KIND_MISMATCH", "The new type is of another kind (individual or "
                                  "organization) than the producer.", "type")
            record.type = changes.type
        _apply_fields(record, changes, replace=replace)
        if replace:
            data = dict(changes.data or {})
        else:
            data = {**(record.data or {}), **(changes.data or {}), **changes.set_data}
            for key in changes.remove_data:
                data.pop(key, None)
        record.data = _check_data(ctx.config, record.type, data, stored)
        if changes.parent_id is not UNSET and changes.parent_id != record.parent_id:
            refuse_own_agency(ctx, record.id, "move")
            await _set_parent(ctx, session, record, changes.parent_id)
        elif replace and changes.parent_id is UNSET and record.parent_id is not None:
            refuse_own_agency(ctx, record.id, "move")
            await _set_parent(ctx, session, record, None)
        _apply_precommit(ctx, record)
        record.data = _check_data(ctx.config, record.type, record.data or {}, stored)
        record.search_text = search_text(ctx.config, record)
        record.updated_at = utcnow()
        record.updated_by = ctx.actor
        record.version += 1
    return record


def validation_problems(ctx: ServiceContext, record: ProducerRecord, *,
                        data_problems: list[Problem] | None = None) -> list[Problem]:
    """Everything that keeps a producer from being validated: configuration checks, then the plugin
    (`data_problems`: its data's, when already checked)."""
    if data_problems is None:
        _, problems = validate_data(ctx.config.resolved_data_fields("producers", record.type), record.data or {},
                                    check_required=True)
    else:
        problems = list(data_problems)
    if record.kind == "individual" and not record.last_name:
        problems.append(Problem("MISSING_LAST_NAME", "An individual producer needs a last name.", "lastName"))
    if record.kind == "organization" and not record.organization_name:
        problems.append(Problem("MISSING_ORGANIZATION_NAME", "An organization producer needs an organization "
                                "name.", "organizationName"))
    for message in ctx.plugins.run_validation(lineage(ctx.config, "producers", record.type), snapshot(record)):
        problems.append(Problem("PLUGIN_VALIDATION", message, None))
    return problems


def result_of(problems: list[Problem]) -> dict[str, Any]:
    return {"valid": not problems, "at": utcnow().isoformat(),
            "items": [{"code": p.code, "message": p.message, "field": p.field} for p in problems]}


async def transition_producer(ctx: ServiceContext, producer_id: str, action: str) -> ValidationOutcome:
    """Move a producer along its lifecycle; `validate` runs the checks and leaves the state on failure."""
    ctx.require(*ADMINS)
    async with transaction(ctx.sessions) as session:
        record = await store.producer_for_update(session, ctx.scope, producer_id)
        if record is None:
            raise not_found(producer_id)
        refuse_own_agency(ctx, record.id, action)
        target = lifecycle.transition(record.state, action, subject="producer")
        problems: list[Problem] = []
        if action == "validate":
            problems = validation_problems(ctx, record)
            record.validation_result = result_of(problems)
        if not problems:
            record.state = target
        record.updated_at = utcnow()
        record.updated_by = ctx.actor
        record.version += 1
    return ValidationOutcome(record, problems)


async def get_producer(ctx: ServiceContext, producer_id: str) -> ProducerRecord:
    async with ctx.sessions() as session:
        found = await store.producers_by_ids(session, ctx.scope, [producer_id])
    if not found:
        raise not_found(producer_id)
    return found[0]
