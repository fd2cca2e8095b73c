"""Producer code services: create (explicit or numbered), update and move, and the lifecycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import ADMINS, ServiceContext
from app.errors import DomainError, NotFound, Problem
from app.plugins import PluginError
from app.producers import UNSET, ValidationOutcome, check_type, lineage, refuse_own_agency, result_of
from app.producers import not_found as producer_not_found
from app.rules import lifecycle
from app.rules.data import validate_data
from app.rules.numbering import NumberingFormatError, render_code
from persistence import producers as store
from persistence.base import new_locator, utcnow
from persistence.db import transaction
from persistence.producers import ProducerCodeRecord

# Checks that may refuse a discard (quotes and policies register theirs); each returns a reason or None.
DiscardGuard = Callable[[AsyncSession, ProducerCodeRecord], Awaitable[str | None]]
DISCARD_GUARDS: list[DiscardGuard] = []


@dataclass
class CodeChanges:
    type: str | None = None
    producer_id: Any = UNSET
    code: Any = UNSET
    data: dict[str, Any] | None = None
    set_data: dict[str, Any] = field(default_factory=dict)
    remove_data: list[str] = field(default_factory=list)


def not_found() -> NotFound:
    return NotFound("PRODUCER_CODE_NOT_FOUND", "No producer code with that id is visible to you.", "id")


def snapshot(record: ProducerCodeRecord) -> dict[str, Any]:
    return {"locator": record.id, "type": record.type, "code": record.code, "state": record.state,
            "producerLocator": record.producer_id, "data": dict(record.data or {})}


def _check_data(ctx: ServiceContext, type_name: str, data: dict[str, Any],
                stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """The data to save; `stored`: the code's data before the change (its documents stay as attached)."""
    cleaned, problems = validate_data(ctx.config.resolved_data_fields("producerCodes", type_name), data,
                                      check_required=False, stored=stored or {})
    if problems:
        raise DomainError(problems[0].code, problems[0].message, problems[0].field, problems)
    return cleaned


def _clean_code(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) > 100:
        raise DomainError("INVALID_CODE", "A producer code has at most 100 characters.", "code")
    return text


MAX_DRAWS = 100


async def _generate(ctx: ServiceContext, session: AsyncSession, record: ProducerCodeRecord) -> str | None:
    """The next code of the type's numbering plan, skipping numbers someone already typed in by hand."""
    planned = ctx.config.numbering_plan_for(record.type)
    if planned is None:
        return None
    plan_name, plan = planned
    numbering_string = _numbering_string(ctx, record.type)
    sequence = store.sequence_name(ctx.tenant_id, plan_name)
    for _ in range(MAX_DRAWS):
        core = await store.next_sequence_value(session, sequence)
        try:
            code = render_code(plan.format, core, numbering_string)
        except NumberingFormatError as exc:
            raise DomainError("NUMBERING_EXHAUSTED", str(exc), "code") from exc
        if not await store.code_taken(session, ctx.tenant_id, code):
            return code
    raise DomainError("NUMBERING_EXHAUSTED", f"The numbering plan {plan_name!r} produced {MAX_DRAWS} codes in a "
                      "row that are already in use; set the code explicitly or move the plan's initialCoreNumber.",
                      "code")


def _numbering_string(ctx: ServiceContext, type_name: str) -> str | None:
    types = ctx.config.producerManagement.producerCodes
    for name in lineage(ctx.config, "producerCodes", type_name):
        if types[name].numberingString is not None:
            return types[name].numberingString
    return None


def _trigger(ctx: ServiceContext, type_name: str) -> str | None:
    planned = ctx.config.numbering_plan_for(type_name)
    return planned[1].trigger if planned else None


def _precommit(ctx: ServiceContext, record: ProducerCodeRecord) -> None:
    try:
        result = ctx.plugins.run_precommit(lineage(ctx.config, "producerCodes", record.type), snapshot(record))
    except PluginError as exc:
        raise DomainError("PLUGIN_FAILED", str(exc)) from exc
    if "data" in result:
        record.data = result["data"]


def search_text(ctx: ServiceContext, record: ProducerCodeRecord) -> str:
    """The lower-cased text search matches for a code: the code and its type's searchable data."""
    parts = [record.code]
    for name in ctx.config.searchable_fields("producerCodes", record.type):
        value = (record.data or {}).get(name)
        if value is not None:
            parts.append(str(value))
    return " ".join(p for p in parts if p).lower()


async def _flush_unique(session: AsyncSession, code: str | None) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        if "uq_producer_codes_tenant_code" in str(exc.orig):
            raise DomainError("CODE_TAKEN", f"The producer code {code!r} is already in use in this tenant.",
                              "code") from exc
        raise


async def _owner(ctx: ServiceContext, session: AsyncSession, producer_id: str) -> store.ProducerRecord:
    owner = await store.producer_for_update(session, ctx.scope, producer_id)
    if owner is None:
        raise producer_not_found(producer_id)
    if lifecycle.is_terminal(owner.state):
        raise DomainError("PRODUCER_TERMINAL", f"The producer is {owner.state}; it cannot hold codes.",
                          "producerId")
    return owner


async def create_code(ctx: ServiceContext, changes: CodeChanges) -> ProducerCodeRecord:
    """A new draft code; without an explicit code one is numbered now when the plan says `creation`."""
    ctx.require(*ADMINS)
    type_name = changes.type or ""
    check_type(ctx.config, "producerCodes", type_name, "producer code")
    async with transaction(ctx.sessions) as session:
        owner = await _owner(ctx, session, changes.producer_id)
        record = ProducerCodeRecord(tenant_id=ctx.tenant_id, producer_id=owner.id, type=type_name,
                                    code=_clean_code(changes.code if changes.code is not UNSET else None),
                                    created_by=ctx.actor, updated_by=ctx.actor)
        record.data = _check_data(ctx, type_name, changes.data or {})
        if record.code is None and _trigger(ctx, type_name) == "creation":
            record.code = await _generate(ctx, session, record)
        _precommit(ctx, record)
        record.data = _check_data(ctx, type_name, record.data or {})
        session.add(record)
        record.search_text = search_text(ctx, record)
        await _flush_unique(session, record.code)
    return record


async def add_onboarding_code(ctx: ServiceContext, session: AsyncSession, producer_id: str, type_name: str, *,
                              validate: bool) -> ProducerCodeRecord:
    """The code an onboarding gives its producer, inside the caller's transaction: numbered by the type's plan,
    and validated when `validate` (a problem refuses it, as `validateProducerCode` would)."""
    record = ProducerCodeRecord(tenant_id=ctx.tenant_id, producer_id=producer_id, type=type_name,
                                created_by=ctx.actor, updated_by=ctx.actor)
    record.data = _check_data(ctx, type_name, {})
    if validate or _trigger(ctx, type_name) == "creation":
        record.code = await _generate(ctx, session, record)
    _finish_onboarding_code(ctx, record, validate)
    session.add(record)
    await _flush_unique(session, record.code)
    return record


def _finish_onboarding_code(ctx: ServiceContext, record: Any, validate: bool,
                             shared: list[Problem] | None = None) -> None:
    """Precommit, data check and validation of an onboarding's code; `shared`: the data problems of codes that
    all keep the type's default data (a batch without a precommit plugin), checked once for all."""
    if shared is None:
        _precommit(ctx, record)
        record.data = _check_data(ctx, record.type, record.data or {})
    if validate:
        problems = validation_problems(ctx, record, data_problems=shared)
        if problems:
            raise DomainError(problems[0].code, problems[0].message, problems[0].field, problems)
        record.state, record.validation_result = "validated", result_of([])


async def onboarding_code_rows(ctx: ServiceContext, session: AsyncSession, producer_ids: list[str], type_name: str,
                               *, validate: bool, now: datetime) -> dict[str, dict[str, Any] | DomainError]:
    """`add_onboarding_code` for many producers as plain rows (the caller COPYs them), numbered in one statement:
    {producer id: row, or the refusal of that producer's code}.

    Numbers are not checked against codes typed in by hand: such a collision fails the COPY on the unique index,
    and the caller's fallback (one producer at a time, through `add_onboarding_code`) skips the taken value."""
    codes: list[str | DomainError | None] = [None] * len(producer_ids)
    if validate or _trigger(ctx, type_name) == "creation":
        codes = await _numbered(ctx, session, type_name, len(producer_ids))
    data = _check_data(ctx, type_name, {})
    shared = None if ctx.plugins.has_precommit(lineage(ctx.config, "producerCodes", type_name)) else validate_data(
        ctx.config.resolved_data_fields("producerCodes", type_name), data, check_required=True)[1]
    out: dict[str, dict[str, Any] | DomainError] = {}
    for producer_id, code in zip(producer_ids, codes, strict=True):
        if isinstance(code, DomainError):
            out[producer_id] = code
            continue
        row = SimpleNamespace(id=new_locator(), tenant_id=ctx.tenant_id, producer_id=producer_id, type=type_name,
                              code=code, state="draft", data=dict(data), validation_result=None, created_at=now,
                              created_by=ctx.actor, updated_at=now, updated_by=ctx.actor, version=1)
        try:
            _finish_onboarding_code(ctx, row, validate, shared)
        except DomainError as exc:
            out[producer_id] = exc
            continue
        out[producer_id] = vars(row)
    return out


async def _numbered(ctx: ServiceContext, session: AsyncSession, type_name: str,
                    count: int) -> list[str | DomainError | None]:
    """`count` codes of the type's numbering plan (None without a plan); past the format's last number, the
    refusal `_generate` gives."""
    planned = ctx.config.numbering_plan_for(type_name)
    if planned is None:
        return [None] * count
    plan_name, plan = planned
    numbering_string = _numbering_string(ctx, type_name)
    out: list[str | DomainError | None] = []
    for core in await store.next_sequence_values(session, store.sequence_name(ctx.tenant_id, plan_name), count):
        try:
            out.append(render_code(plan.format, core, numbering_string))
        except NumberingFormatError as exc:
            out.append(DomainError("NUMBERING_EXHAUSTED", str(exc), "code"))
    return out


async def _load_for_change(ctx: ServiceContext, session: AsyncSession, code_id: str) -> ProducerCodeRecord:
    record = await store.code_for_update(session, ctx.scope, code_id)
    if record is None:
        raise not_found()
    if lifecycle.is_terminal(record.state):
        raise DomainError("PRODUCER_CODE_TERMINAL", f"The producer code is {record.state}; it cannot be "
                          "changed.", "id")
    return record


async def update_code(ctx: ServiceContext, code_id: str, changes: CodeChanges,
                      *, replace: bool = False) -> ProducerCodeRecord:
    """Change the code, its data, or move it to another producer (never while terminal)."""
    ctx.require(*ADMINS)
    async with transaction(ctx.sessions) as session:
        record = await _load_for_change(ctx, session, code_id)
        stored = dict(record.data or {})
        if changes.type and changes.type != record.type:
            check_type(ctx.config, "producerCodes", changes.type, "producer code")
            record.type = changes.type
        if changes.code is not UNSET:
            new_code = _clean_code(changes.code)
            if new_code is None and record.state != "draft":
                raise DomainError("CODE_REQUIRED", "A producer code that is not a draft must keep its code.",
                                  "code")
            record.code = new_code
        if changes.producer_id is not UNSET and changes.producer_id != record.producer_id:
            refuse_own_agency(ctx, record.producer_id, "move a producer code away from")
            owner = await _owner(ctx, session, changes.producer_id)
            record.producer_id = owner.id
        if replace:
            data = dict(changes.data or {})
        else:
            data = {**(record.data or {}), **(changes.data or {}), **changes.set_data}
            for key in changes.remove_data:
                data.pop(key, None)
        record.data = _check_data(ctx, record.type, data, stored)
        _precommit(ctx, record)
        record.data = _check_data(ctx, record.type, record.data or {}, stored)
        record.updated_at = utcnow()
        record.updated_by = ctx.actor
        record.version += 1
        record.search_text = search_text(ctx, record)
        await _flush_unique(session, record.code)
    return record


def validation_problems(ctx: ServiceContext, record: ProducerCodeRecord, *,
                        data_problems: list[Problem] | None = None) -> list[Problem]:
    """What keeps a code from being validated; `data_problems`: its data's, when already checked."""
    if data_problems is None:
        _, problems = validate_data(ctx.config.resolved_data_fields("producerCodes", record.type),
                                    record.data or {}, check_required=True)
    else:
        problems = list(data_problems)
    if not record.code:
        problems.append(Problem("CODE_REQUIRED", "The producer code has no code and its type has no "
                                "numbering plan; set `code` first.", "code"))
    for message in ctx.plugins.run_validation(lineage(ctx.config, "producerCodes", record.type),
                                              snapshot(record)):
        problems.append(Problem("PLUGIN_VALIDATION", message, None))
    return problems


async def transition_code(ctx: ServiceContext, code_id: str, action: str) -> ValidationOutcome:
    """Move a code along its lifecycle; validation numbers it when its plan says `validation`."""
    ctx.require(*ADMINS)
    async with transaction(ctx.sessions) as session:
        record = await store.code_for_update(session, ctx.scope, code_id)
        if record is None:
            raise not_found()
        refuse_own_agency(ctx, record.producer_id, f"{action} a producer code of")
        target = lifecycle.transition(record.state, action, subject="producer code")
        problems: list[Problem] = []
        if action == "validate":
            if record.code is None:
                record.code = await _generate(ctx, session, record)
            problems = validation_problems(ctx, record)
            record.validation_result = result_of(problems)
        if action == "discard":
            for guard in DISCARD_GUARDS:
                reason = await guard(session, record)
                if reason:
                    raise DomainError("CODE_IN_USE", reason, "id")
        if not problems:
            record.state = target
        record.updated_at = utcnow()
        record.updated_by = ctx.actor
        record.version += 1
        record.search_text = search_text(ctx, record)
        await _flush_unique(session, record.code)
    return ValidationOutcome(record, problems)


async def get_code(ctx: ServiceContext, code_id: str) -> ProducerCodeRecord:
    async with ctx.sessions() as session:
        found = await store.codes_by_ids(session, ctx.scope, [code_id])
    if not found:
        raise not_found()
    return found[0]
