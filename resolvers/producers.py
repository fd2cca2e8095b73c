"""Producer and producer-code fields: thin calls into app services, loaders for nested objects."""



import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info

from app import codes as code_service
from app import producers as producer_service
from app import queries
from app.codes import CodeChanges
from app.errors import DomainError
from app.producers import UNSET, ProducerChanges
from app.rules import lifecycle
from resolvers import licenses as licenses_r
from resolvers.context import GraphQLContext
from resolvers.ids import locator_of
from resolvers.loaders import node_fields, ready, ready_many
from resolvers.pagination import ConnectionData, connection, list_connection, page_request
from resolvers.payloads import Payload, failed, json_object, ok, payload

if TYPE_CHECKING:
    from schema.producers import (
        CreateProducerCodeInput,
        CreateProducerInput,
        ProducerCodeFilterInput,
        ProducerFilterInput,
        UpdateProducerCodeInput,
        UpdateProducerInput,
    )

Ctx = Info[GraphQLContext, None]
ProducerFilterArg = Annotated[Annotated["ProducerFilterInput", strawberry.lazy("schema.producers")] | None,
                             strawberry.argument(description="Narrow the list: states, types, parent, subtree, text.")]
CodeFilterArg = Annotated[Annotated["ProducerCodeFilterInput", strawberry.lazy("schema.producers")] | None,
                          strawberry.argument(description="Narrow the list: states, producer, text.")]
CreateProducerArg = Annotated["CreateProducerInput", strawberry.lazy("schema.producers"),
                              strawberry.argument(description="The producer's type, fields and data.")]
UpdateProducerArg = Annotated["UpdateProducerInput", strawberry.lazy("schema.producers"),
                              strawberry.argument(description="The fields to change; omitted ones stay.")]
CreateCodeArg = Annotated["CreateProducerCodeInput", strawberry.lazy("schema.producers"),
                          strawberry.argument(description="The code's type, producer, value and data.")]
UpdateCodeArg = Annotated["UpdateProducerCodeInput", strawberry.lazy("schema.producers"),
                          strawberry.argument(description="The fields to change; omitted ones stay.")]
ProducerId = Annotated[strawberry.ID, strawberry.argument(description="Global id (or locator) of the producer.")]
CodeId = Annotated[strawberry.ID, strawberry.argument(description="Global id (or locator) of the producer code.")]
CodeValue = Annotated[str, strawberry.argument(description="The code value, exactly as issued.")]
First = Annotated[int | None, strawberry.argument(description="Page size counted from the start (or `after`).")]
After = Annotated[str | None, strawberry.argument(description="Cursor: return items after this one.")]
Last = Annotated[int | None, strawberry.argument(description="Page size counted from the end (or `before`).")]
Before = Annotated[str | None, strawberry.argument(description="Cursor: return items before this one.")]

PRODUCER_NOT_FOUND = "PRODUCER_NOT_FOUND"
CODE_NOT_FOUND = "PRODUCER_CODE_NOT_FOUND"


def producer_locator(value: object, field: str = "id") -> str:
    return locator_of(value, "Producer", code=PRODUCER_NOT_FOUND, field=field)


def code_locator(value: object, field: str = "id") -> str:
    return locator_of(value, "ProducerCode", code=CODE_NOT_FOUND, field=field)


# ---- queries -------------------------------------------------------------------------------

async def producer(info: Ctx, id: ProducerId) -> Any:
    try:
        locator = producer_locator(id)
    except DomainError:
        return None
    return await info.context.load.producer.load(locator)


def _filter(flt: "ProducerFilterInput | None") -> queries.ProducerFilter:
    if flt is None:
        return queries.ProducerFilter()
    return producer_filter({"states": [s.value for s in flt.states or []], "types": flt.types,
                            "parentId": flt.parent_id, "rootOnly": flt.root_only, "agencyId": flt.agency_id,
                            "search": flt.search, "npn": flt.npn})


def producer_filter(values: dict[str, Any] | None) -> queries.ProducerFilter:
    """The service filter for a `ProducerFilterInput` given as GraphQL values (stored enum values)."""
    if not values:
        return queries.ProducerFilter()
    parent_id, agency_id = values.get("parentId"), values.get("agencyId")
    return queries.ProducerFilter(
        states=[getattr(s, "value", s) for s in values.get("states") or []],
        types=list(values.get("types") or []),
        parent_id=producer_locator(parent_id, "filter.parentId") if parent_id else None,
        root_only=bool(values.get("rootOnly")),
        subtree_of=producer_locator(agency_id, "filter.agencyId") if agency_id else None,
        search=values.get("search"),
        npn=values.get("npn"),
    )


async def producers(info: Ctx, first: First = None, after: After = None, last: Last = None,
                    before: Before = None, filter: ProducerFilterArg = None) -> ConnectionData:
    try:
        flt = _filter(filter)  # a filter naming a producer the caller cannot see matches nothing
        result, total = await queries.list_producers(info.context.svc, flt, page_request(first, after, last, before))
    except DomainError as exc:
        if exc.code in (PRODUCER_NOT_FOUND,):
            return connection(queries.Page([], False, False), 0)
        raise
    info.context.load.prime_producers(result.rows)
    await prefetch_page(info, result.rows)
    return connection(result, total)


async def prefetch_page(info: Ctx, rows: list[Any]) -> None:
    """Look ahead at what the page's nodes select and load it for the whole page at once (one statement per
    loader, as before), so the nested fields resolve from the loaders' caches without a task each."""
    if not rows:
        return
    wanted = node_fields(info)
    load = info.context.load
    loads: list[Any] = []
    ids = [row.id for row in rows]
    if "parent" in wanted or "ancestors" in wanted:
        above = {row.parent_id for row in rows if row.parent_id} if "parent" in wanted else set()
        if "ancestors" in wanted:
            above.update(a for row in rows for a in row.ancestry or [])
        loads.append(load.producer.load_many(sorted(above)))
    if "codes" in wanted:
        loads.append(load.codes_by_producer.load_many(ids))
    for name, kind in (("licenses", "license"), ("appointments", "appointment")):
        if name in wanted:
            loads.append(licenses_r.load_of_producer(info, kind).load_many(ids))
    if loads:
        await asyncio.gather(*loads)


async def producer_code(info: Ctx, id: CodeId) -> Any:
    try:
        locator = code_locator(id)
    except DomainError:
        return None
    return await info.context.load.code.load(locator)


async def producer_codes(info: Ctx, first: First = None, after: After = None, last: Last = None,
                         before: Before = None, filter: CodeFilterArg = None) -> ConnectionData:
    try:
        producer_id = producer_locator(filter.producer_id, "filter.producerId") \
            if filter is not None and filter.producer_id else None
    except DomainError:
        return connection(queries.Page([], False, False), 0)  # a producer the caller cannot see has no codes
    states = [str(s.value) for s in (filter.states or [])] if filter is not None else []
    result, total = await queries.list_codes(info.context.svc, producer_id, states,
                                             page_request(first, after, last, before),
                                             search=filter.search if filter is not None else None)
    return connection(result, total)


async def producer_code_by_code(info: Ctx, code: CodeValue) -> Any:
    return await queries.code_by_value(info.context.svc, code)


# ---- producer fields -----------------------------------------------------------------------

# Nested fields are plain functions: they return the value when the page prefetched it, else an awaitable.

def parent(root: Any, info: Ctx) -> Any:
    if root.parent_id is None:
        return None
    return ready(info.context.load.producer.load(root.parent_id))


def _present(found: list[Any]) -> list[Any]:
    return [p for p in found if p is not None]


async def _later(loaded: Any, then: Any) -> Any:
    return then(await loaded)


def ancestors(root: Any, info: Ctx) -> Any:
    if not root.ancestry:
        return []
    found = ready_many(info.context.load.producer, root.ancestry)
    return _present(found) if isinstance(found, list) else _later(found, _present)


def codes(root: Any, info: Ctx, first: First = None, after: After = None) -> Any:
    rows = ready(info.context.load.codes_by_producer.load(root.id))
    if isinstance(rows, list):
        return list_connection(rows, first, after)
    return _later(rows, lambda loaded: list_connection(loaded, first, after))


async def children(root: Any, info: Ctx, first: First = None, after: After = None,
                   last: Last = None, before: Before = None) -> ConnectionData:
    if after is None and last is None and before is None:
        # The common case, a first page: batched across every parent on the page (two statements in all).
        size = queries.DEFAULT_PAGE_SIZE if first is None else first
        rows, total = await info.context.load.named(f"children_first:{size}", _children_pages(size)).load(root.id)
        page = queries.Page(rows[:size], len(rows) > size, False)
    else:
        flt = queries.ProducerFilter(parent_id=root.id)
        page, total = await queries.list_producers(info.context.svc, flt, page_request(first, after, last, before))
    info.context.load.prime_producers(page.rows)
    await prefetch_page(info, page.rows)
    return connection(page, total)


def _children_pages(size: int) -> Any:
    async def batch(ctx: Any, parent_ids: list[str]) -> list[tuple[list[Any], int]]:
        pages, counts = await queries.children_first_pages(ctx, parent_ids, size)
        return [(pages[pid], counts.get(pid, 0)) for pid in parent_ids]

    return batch


async def descendants(root: Any, info: Ctx, first: First = None, after: After = None,
                      last: Last = None, before: Before = None) -> ConnectionData:
    flt = queries.ProducerFilter(descendants_of=root.id)
    result, total = await queries.list_producers(info.context.svc, flt, page_request(first, after, last, before))
    info.context.load.prime_producers(result.rows)
    await prefetch_page(info, result.rows)
    return connection(result, total)


def allowed_actions(root: Any) -> list[str]:
    return list(lifecycle.allowed_actions(root.state))


async def code_producer(root: Any, info: Ctx) -> Any:
    return await info.context.load.producer.load(root.producer_id)


# ---- producer mutations ----------------------------------------------------------------------

def _changes(data: Any, *, type_name: str | None = None) -> ProducerChanges:
    changes = ProducerChanges(type=type_name)
    for name in ("npn", "first_name", "middle_name", "last_name", "organization_name", "email", "fein"):
        value = getattr(data, name, strawberry.UNSET)
        if value is not strawberry.UNSET:
            setattr(changes, name, value)
    gender = getattr(data, "gender", strawberry.UNSET)
    if gender is not strawberry.UNSET:
        changes.gender = gender.value if gender is not None else None
    parent_id = getattr(data, "parent_id", strawberry.UNSET)
    if parent_id is not strawberry.UNSET:
        changes.parent_id = producer_locator(parent_id, "parentId") if parent_id else None
    if getattr(data, "data", None) is not None:
        changes.data = json_object(data.data, "data")
    if getattr(data, "set_data", None):
        changes.set_data = json_object(data.set_data, "setData")
    if getattr(data, "remove_data", None):
        changes.remove_data = list(data.remove_data)
    return changes


@payload
async def create_producer(info: Ctx, input: CreateProducerArg) -> Payload:
    record = await producer_service.create_producer(info.context.svc, _changes(input, type_name=input.type))
    return ok(producer=record)


@payload
async def update_producer(info: Ctx, id: ProducerId, input: UpdateProducerArg) -> Payload:
    changes = _changes(input, type_name=input.type or None)
    record = await producer_service.update_producer(info.context.svc, producer_locator(id), changes)
    return ok(producer=record)


@payload
async def replace_producer(info: Ctx, id: ProducerId, input: CreateProducerArg) -> Payload:
    changes = _changes(input, type_name=input.type)
    if changes.parent_id is UNSET:
        changes.parent_id = None
    record = await producer_service.update_producer(info.context.svc, producer_locator(id), changes, replace=True)
    return ok(producer=record)


async def _transition(info: Ctx, id: strawberry.ID, action: str) -> Payload:
    outcome = await producer_service.transition_producer(info.context.svc, producer_locator(id), action)
    if outcome.problems:
        return failed(outcome.problems, producer=outcome.record)
    return ok(producer=outcome.record)


@payload
async def validate_producer(info: Ctx, id: ProducerId) -> Payload:
    return await _transition(info, id, "validate")


@payload
async def suspend_producer(info: Ctx, id: ProducerId) -> Payload:
    return await _transition(info, id, "suspend")


@payload
async def unsuspend_producer(info: Ctx, id: ProducerId) -> Payload:
    return await _transition(info, id, "unsuspend")


@payload
async def retire_producer(info: Ctx, id: ProducerId) -> Payload:
    return await _transition(info, id, "retire")


@payload
async def discard_producer(info: Ctx, id: ProducerId) -> Payload:
    return await _transition(info, id, "discard")


# ---- producer code mutations -----------------------------------------------------------------

def _code_changes(data: Any, *, type_name: str | None = None) -> CodeChanges:
    changes = CodeChanges(type=type_name)
    code = getattr(data, "code", strawberry.UNSET)
    if code is not strawberry.UNSET:
        changes.code = code
    producer_id = getattr(data, "producer_id", strawberry.UNSET)
    if producer_id not in (strawberry.UNSET, None):
        changes.producer_id = producer_locator(producer_id, "producerId")
    if getattr(data, "data", None) is not None:
        changes.data = json_object(data.data, "data")
    if getattr(data, "set_data", None):
        changes.set_data = json_object(data.set_data, "setData")
    if getattr(data, "remove_data", None):
        changes.remove_data = list(data.remove_data)
    return changes


@payload
async def create_producer_code(info: Ctx, input: CreateCodeArg) -> Payload:
    record = await code_service.create_code(info.context.svc, _code_changes(input, type_name=input.type))
    return ok(producer_code=record)


@payload
async def update_producer_code(info: Ctx, id: CodeId, input: UpdateCodeArg) -> Payload:
    changes = _code_changes(input, type_name=input.type or None)
    record = await code_service.update_code(info.context.svc, code_locator(id), changes)
    return ok(producer_code=record)


@payload
async def replace_producer_code(info: Ctx, id: CodeId, input: CreateCodeArg) -> Payload:
    changes = _code_changes(input, type_name=input.type)
    record = await code_service.update_code(info.context.svc, code_locator(id), changes, replace=True)
    return ok(producer_code=record)


async def _code_transition(info: Ctx, id: strawberry.ID, action: str) -> Payload:
    outcome = await code_service.transition_code(info.context.svc, code_locator(id), action)
    if outcome.problems:
        return failed(outcome.problems, producer_code=outcome.record)
    return ok(producer_code=outcome.record)


@payload
async def validate_producer_code(info: Ctx, id: CodeId) -> Payload:
    return await _code_transition(info, id, "validate")


@payload
async def suspend_producer_code(info: Ctx, id: CodeId) -> Payload:
    return await _code_transition(info, id, "suspend")


@payload
async def unsuspend_producer_code(info: Ctx, id: CodeId) -> Payload:
    return await _code_transition(info, id, "unsuspend")


@payload
async def retire_producer_code(info: Ctx, id: CodeId) -> Payload:
    return await _code_transition(info, id, "retire")


@payload
async def discard_producer_code(info: Ctx, id: CodeId) -> Payload:
    return await _code_transition(info, id, "discard")
