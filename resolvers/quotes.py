"""Quote, policy and underwriting-flag fields: thin calls into app services, loaders for nested objects."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info

from app import policies as policy_service
from app import quotes as service
from app.errors import DomainError
from app.quotes import NewFlag, QuoteChanges
from app.rules.snapshot import ProducersInstruction
from app.underwriting import CheckRequest
from persistence.base import utcnow
from resolvers.context import GraphQLContext
from resolvers.ids import locator_of
from resolvers.loaders import _by_key, _grouped
from resolvers.pagination import ConnectionData, connection, page_request
from resolvers.payloads import Payload, failed, json_object, ok, payload

if TYPE_CHECKING:
    from schema.quotes import CreateQuoteInput, NewFlagInput, ProducersInstructionInput, UpdateQuoteInput

Ctx = Info[GraphQLContext, None]
CreateQuoteArg = Annotated["CreateQuoteInput", strawberry.lazy("schema.quotes")]
UpdateQuoteArg = Annotated["UpdateQuoteInput", strawberry.lazy("schema.quotes")]
FlagsArg = list[Annotated["NewFlagInput", strawberry.lazy("schema.quotes")]]
ProducersArg = Annotated["ProducersInstructionInput", strawberry.lazy("schema.quotes")]


def _arg(description: str) -> Any:
    return strawberry.argument(description=description)


IdArg = Annotated[strawberry.ID, _arg("The object's global id (or locator).")]
FirstArg = Annotated[int | None, _arg("Page size, counted from the start (or from `after`).")]
AfterArg = Annotated[str | None, _arg("Cursor to start after.")]
LastArg = Annotated[int | None, _arg("Page size, counted from the end (or from `before`).")]
BeforeArg = Annotated[str | None, _arg("Cursor to end before.")]
StatesArg = Annotated[list[str] | None, _arg("Only quotes in these states (draft, underwritten...).")]
CodeFilterArg = Annotated[str | None, _arg("Only those written through this producer code value.")]
IdsArg = Annotated[list[strawberry.ID], _arg("Global ids (or locators), in the order results are wanted.")]
PolicyIdArg = Annotated[strawberry.ID, _arg("The policy's global id (or locator).")]
TransactionIdArg = Annotated[strawberry.ID, _arg("The policy transaction's global id (or locator).")]
EffectiveArg = Annotated[datetime, _arg("When the transaction takes effect.")]
SnapshotAtArg = Annotated[datetime, _arg("The moment to look at.")]
IssuedArg = Annotated[datetime | None, _arg("When the transaction counts as issued; default now.")]
QuoteIdOptArg = Annotated[strawberry.ID | None, _arg("The quote to flag.")]
TransactionIdOptArg = Annotated[strawberry.ID | None, _arg("The draft policy transaction to flag.")]


def quote_locator(value: object, field: str = "id") -> str:
    return locator_of(value, "Quote", code="QUOTE_NOT_FOUND", field=field)


def policy_locator(value: object, field: str = "policyId") -> str:
    return locator_of(value, "Policy", code="POLICY_NOT_FOUND", field=field)


def transaction_locator(value: object, field: str = "transactionId") -> str:
    return locator_of(value, "PolicyTransaction", code="POLICY_TRANSACTION_NOT_FOUND", field=field)


def flag_locator(value: object) -> str:
    return locator_of(value, "UnderwritingFlag", code="FLAG_NOT_FOUND", field="ids")


async def _quotes(ctx: Any, ids: list[str]) -> list[Any]:
    return _by_key(await service.quotes_by_ids(ctx, ids), ids)


async def _policies(ctx: Any, ids: list[str]) -> list[Any]:
    return _by_key(await policy_service.policies_by_ids(ctx, ids), ids)


async def _transactions(ctx: Any, ids: list[str]) -> list[Any]:
    return _by_key(await policy_service.transactions_by_ids(ctx, ids), ids)


async def _transactions_of(ctx: Any, policy_ids: list[str]) -> list[list[Any]]:
    return _grouped(await policy_service.transactions_of(ctx, policy_ids), policy_ids, "policy_id")


async def _quote_flags(ctx: Any, ids: list[str]) -> list[list[Any]]:
    return _grouped(await service.flags_for(ctx, quote_ids=ids), ids, "quote_id")


async def _transaction_flags(ctx: Any, ids: list[str]) -> list[list[Any]]:
    return _grouped(await service.flags_for(ctx, transaction_ids=ids), ids, "transaction_id")


async def _checks(ctx: Any, requests: list[CheckRequest]) -> list[Any]:
    return await service.producer_checks(ctx, requests)


def loader(info: Ctx, name: str) -> Any:
    batches: dict[str, Callable[[Any, list[Any]], Awaitable[list[Any]]]] = {
        "quote": _quotes, "policy": _policies, "policy_transaction": _transactions,
        "transactions_of_policy": _transactions_of, "flags_of_quote": _quote_flags,
        "flags_of_transaction": _transaction_flags, "producer_check": _checks}
    return info.context.load.named(name, batches[name])


# ---- queries ---------------------------------------------------------------------------------

async def quote(info: Ctx, id: IdArg) -> Any:
    try:
        return await loader(info, "quote").load(quote_locator(id))
    except DomainError:
        return None


async def quotes(info: Ctx, first: FirstArg = None, after: AfterArg = None, last: LastArg = None,
                 before: BeforeArg = None, states: StatesArg = None,
                 producer_code: CodeFilterArg = None) -> ConnectionData:
    result, total = await service.list_quotes(info.context.svc, [s.lower() for s in states or []], producer_code,
                                              page_request(first, after, last, before))
    for row in result.rows:
        loader(info, "quote").prime(row.id, row)
    return connection(result, total)


async def policy(info: Ctx, id: IdArg) -> Any:
    try:
        return await loader(info, "policy").load(policy_locator(id, "id"))
    except DomainError:
        return None


async def policies(info: Ctx, first: FirstArg = None, after: AfterArg = None, last: LastArg = None,
                   before: BeforeArg = None, producer_code: CodeFilterArg = None) -> ConnectionData:
    result, total = await policy_service.list_policies(info.context.svc, producer_code,
                                                       page_request(first, after, last, before))
    return connection(result, total)


# ---- fields ----------------------------------------------------------------------------------

async def quote_flags(root: Any, info: Ctx) -> list[Any]:
    return list(await loader(info, "flags_of_quote").load(root.id))


async def transaction_flags(root: Any, info: Ctx) -> list[Any]:
    return list(await loader(info, "flags_of_transaction").load(root.id))


async def producer_check(root: Any, info: Ctx) -> Any:
    if not root.producer_code:
        return None
    return await loader(info, "producer_check").load(
        CheckRequest(root.producer_code, root.product, root.jurisdiction, root.effective_time))


async def quote_policy(root: Any, info: Ctx) -> Any:
    if not root.policy_id:
        return None
    return await loader(info, "policy").load(root.policy_id)


async def policy_transactions(root: Any, info: Ctx) -> list[Any]:
    rows = await loader(info, "transactions_of_policy").load(root.id)
    return sorted(rows, key=lambda t: (t.effective_time, t.issued_time or t.created_at))


async def policy_snapshot(root: Any, info: Ctx, at: SnapshotAtArg) -> Any:
    rows = await loader(info, "transactions_of_policy").load(root.id)
    return policy_service.snapshot(rows, at)


async def transaction_policy(root: Any, info: Ctx) -> Any:
    return await loader(info, "policy").load(root.policy_id)


# ---- mutations -------------------------------------------------------------------------------

def _changes(data: Any) -> QuoteChanges:
    changes = QuoteChanges()
    for name in ("product", "jurisdiction", "effective_time", "producer_code"):
        value = getattr(data, name, strawberry.UNSET)
        if value is not strawberry.UNSET:
            setattr(changes, name, value)
    if getattr(data, "data", None) is not None:
        changes.data = json_object(data.data, "data")
    return changes


@payload
async def create_quote(info: Ctx, input: Annotated[CreateQuoteArg, _arg("The quote fields.")]) -> Payload:
    return ok(quote=await service.create_quote(info.context.svc, _changes(input)))


@payload
async def update_quote(info: Ctx, id: IdArg, input: Annotated[UpdateQuoteArg, _arg("The quote fields.")]) -> Payload:
    return ok(quote=await service.update_quote(info.context.svc, quote_locator(id), _changes(input)))


@payload
async def underwrite_quote(info: Ctx, id: IdArg) -> Payload:
    outcome = await service.underwrite_quote(info.context.svc, quote_locator(id))
    if outcome.problems:
        return failed(outcome.problems, quote=outcome.record)
    return ok(quote=outcome.record)


@payload
async def underwrite_quotes(info: Ctx, ids: IdsArg) -> Payload:
    locators = [quote_locator(i, "ids") for i in ids]
    outcomes = await service.underwrite_quotes(info.context.svc, locators)
    results = []
    for outcome in outcomes:
        if outcome is None:
            results.append(failed([service.not_found().problems[0]], quote=None))
        else:
            for row in [outcome.record]:
                loader(info, "quote").prime(row.id, row)
            results.append(failed(outcome.problems, quote=outcome.record))
    return ok(results=results)


@payload
async def issue_quote(info: Ctx, id: IdArg) -> Payload:
    quote_record, policy_record = await service.issue_quote(info.context.svc, quote_locator(id))
    return ok(quote=quote_record, policy=policy_record)


@payload
async def add_underwriting_flags(info: Ctx, flags: Annotated[FlagsArg, _arg("The flags to add.")], quote_id: QuoteIdOptArg = None,
                                 transaction_id: TransactionIdOptArg = None) -> Payload:
    new = [NewFlag(str(f.level.value), f.tag, f.note) for f in flags]
    records = await service.add_flags(
        info.context.svc, new, quote_id=quote_locator(quote_id, "quoteId") if quote_id else None,
        transaction_id=transaction_locator(transaction_id) if transaction_id else None)
    return ok(flags=records)


@payload
async def clear_underwriting_flags(info: Ctx, ids: IdsArg) -> Payload:
    return ok(flags=await service.clear_flags(info.context.svc, [flag_locator(i) for i in ids]))


def _instruction(data: Any) -> ProducersInstruction:
    if data is None:
        return ProducersInstruction()
    return ProducersInstruction(data.set_producer_code, bool(data.clear_producer_code),
                                data.set_producer_code_of_record, bool(data.revert_producer_code_of_record))


@payload
async def change_policy(info: Ctx, policy_id: PolicyIdArg, effective_time: EffectiveArg,
                        producers: Annotated[ProducersArg, _arg("The producers change instruction.")]) -> Payload:
    record = await policy_service.create_transaction(info.context.svc, policy_locator(policy_id), "change",
                                                     effective_time, _instruction(producers))
    return ok(transaction=record)


@payload
async def renew_policy(info: Ctx, policy_id: PolicyIdArg, effective_time: EffectiveArg,
                       producers: Annotated[ProducersArg | None, _arg("Optional producers instruction.")] = None) -> Payload:
    record = await policy_service.create_transaction(info.context.svc, policy_locator(policy_id), "renewal",
                                                     effective_time, _instruction(producers))
    return ok(transaction=record)


@payload
async def issue_transaction(info: Ctx, transaction_id: TransactionIdArg, issued_time: IssuedArg = None) -> Payload:
    record, problems = await policy_service.issue_transaction(info.context.svc, transaction_locator(transaction_id),
                                                              issued_time or utcnow())
    if problems:
        return failed(problems, transaction=record)
    return ok(transaction=record)


