"""GraphQL shapes for quotes, policies, their transactions and underwriting flags, with queries and mutations."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay

from app.error_codes import registered
from persistence.quotes import PolicyRecord, PolicyTransactionRecord, QuoteRecord
from resolvers import quotes as r
from schema.common import JSON, Connection, QualificationRequirement, UserError
from schema.error_codes import ErrorCode
from schema.permissions import EVERYONE, UNDERWRITING


def _is(record_type: type) -> Any:
    @classmethod  # type: ignore[misc]
    def is_type_of(cls: type, obj: Any, info: Any) -> bool:
        return isinstance(obj, (cls, record_type))

    return is_type_of


@strawberry.enum(description="Where a quote is: draft -> underwritten -> issued, or declined / rejected by flags.")
class QuoteState(Enum):
    DRAFT = strawberry.enum_value("draft", description="Being prepared; not underwritten yet.")
    UNDERWRITTEN = strawberry.enum_value(
        "underwritten", description="Underwritten without a holding flag; can be issued.")
    ISSUED = strawberry.enum_value("issued", description="Issued as a policy (final).")
    DECLINED = strawberry.enum_value(
        "declined", description="Held by a decline flag; can proceed once the flag is cleared.")
    REJECTED = strawberry.enum_value("rejected", description="Rejected by a reject flag (final).")


@strawberry.enum(description="Underwriting flag level: info never blocks; block and decline hold until cleared; "
                             "reject is permanent.")
class FlagLevel(Enum):
    INFO = strawberry.enum_value("info", description="For information only; never blocks.")
    BLOCK = strawberry.enum_value("block", description="Blocks issuance until cleared.")
    DECLINE = strawberry.enum_value("decline", description="Declines the quote until cleared.")
    REJECT = strawberry.enum_value("reject", description="Rejects the quote permanently; cannot be cleared.")


@strawberry.enum(description="Who added an underwriting flag.")
class FlagSource(Enum):
    PRODUCER = strawberry.enum_value("producer", description="The producer check, when underwriting failed on the "
                                                             "producer code; clearing it overrides the check once.")
    MANUAL = strawberry.enum_value("manual", description="An underwriter, with addUnderwritingFlags.")


@strawberry.enum(description="Kind of policy transaction.")
class TransactionKind(Enum):
    ISSUANCE = strawberry.enum_value("issuance", description="The policy's first transaction: it comes into force.")
    CHANGE = strawberry.enum_value("change", description="A mid-term change to the policy (e.g. its producers).")
    RENEWAL = strawberry.enum_value("renewal", description="The policy renewed for a new term.")


@strawberry.enum(description="State of a policy transaction.")
class TransactionState(Enum):
    DRAFT = strawberry.enum_value("draft", description="Being prepared; not in force yet.")
    ISSUED = strawberry.enum_value("issued", description="Issued: its changes apply to the policy.")


@strawberry.type(description="An underwriting flag on a quote or policy transaction.")
class UnderwritingFlag:
    id: strawberry.ID = strawberry.field(description="The flag's locator; pass it to clearUnderwritingFlags.")
    level: FlagLevel = strawberry.field(description="Info, block, decline or reject.")
    tag: str = strawberry.field(description="Short label, e.g. Invalid Producer Qualification.")
    note: str | None = strawberry.field(description="Longer explanation.")
    source: FlagSource = strawberry.field(description="Who added it: the producer check or an underwriter.")
    producer_code: str | None = strawberry.field(description="The producer code a producer flag concerns.")
    created_at: datetime = strawberry.field(description="When the flag was added.")
    created_by: str = strawberry.field(description="Who added it.")
    cleared_at: datetime | None = strawberry.field(description="When it was cleared; null while active.")
    cleared_by: str | None = strawberry.field(description="Who cleared it.")

    @strawberry.field(description="The reasons the producer check gave (empty for manual flags).")
    def reasons(self) -> list[ProducerCheckReason]:
        return [ProducerCheckReason(code=registered(x.get("code", "")), message=x.get("message", ""),
                                    producer=x.get("producer"), credential=x.get("credential"),
                                    criterion=registered(x["criterion"]) if x.get("criterion") else None)
                for x in (self.reasons or [])]  # type: ignore[attr-defined]


@strawberry.type(description="Why a producer check failed: which check, which producer, which criterion.")
class ProducerCheckReason:
    code: ErrorCode = strawberry.field(description="The check failed: PRODUCER_CODE_NOT_VALIDATED, "
                                                   "PRODUCER_NOT_VALIDATED, NOT_QUALIFIED...")
    message: str = strawberry.field(description="What fails, for a person.")
    producer: str | None = strawberry.field(description="Locator of the producer or ancestor concerned.")
    credential: str | None = strawberry.field(description="Locator of the license or appointment concerned.")
    criterion: ErrorCode | None = strawberry.field(description="With NOT_QUALIFIED: the qualification criterion "
                                                               "failed, e.g. EXPIRED or NO_LICENSE.")


@strawberry.type(description="The producer underwriting check of a quote, as it stands now (adds no flag).")
class ProducerCheck:
    requirement: QualificationRequirement = strawberry.field(description="The product's producerQualification.")
    reasons: list[ProducerCheckReason] = strawberry.field(description="Every failure; empty when it passes.")

    @strawberry.field(description="True when the code, its producer chain and the qualification pass.")
    def passed(self) -> bool:
        return not self.reasons


@strawberry.type(description="A quote for a product in a jurisdiction, optionally written through a producer code.")
class Quote(relay.Node):
    id: relay.NodeID[str]
    is_type_of = _is(QuoteRecord)

    @classmethod
    def resolve_nodes(cls, *, info: Any, node_ids: Any, required: bool = False) -> Any:
        return r.loader(info, "quote").load_many(list(node_ids))

    @strawberry.field(description="The quote's ULID locator.")
    def locator(self) -> str:
        return self.id

    product: str = strawberry.field(description="Product name.")
    jurisdiction: str = strawberry.field(description="Jurisdiction code.")
    effective_time: datetime = strawberry.field(description="When coverage starts.")
    producer_code: str | None = strawberry.field(description="The producer code value the quote is written through.")
    state: QuoteState = strawberry.field(description="Quote state.")
    data: JSON = strawberry.field(description="Free-form quote data.")
    created_at: datetime = strawberry.field(description="When the quote was created.")
    updated_at: datetime = strawberry.field(description="When the quote last changed.")
    flags: list[UnderwritingFlag] = strawberry.field(resolver=r.quote_flags,
                                                     description="Underwriting flags, cleared ones included.")
    producer_check: ProducerCheck | None = strawberry.field(
        resolver=r.producer_check, description="The producer check now; null without a producer code.")
    policy: Policy | None = strawberry.field(resolver=r.quote_policy, description="The policy issued from it.")


@strawberry.type(description="The producer code and code of record of a policy at one moment.")
class PolicySnapshot:
    producer_code: str | None = strawberry.field(description="Producer code in force.")
    producer_code_of_record: str | None = strawberry.field(description="Producer code of record in force.")


@strawberry.type(description="The producers change instruction of a transaction.")
class ProducersInstruction:
    set_producer_code: str | None = strawberry.field(description="The new producer code.")
    clear_producer_code: bool = strawberry.field(description="Remove the producer code.")
    set_producer_code_of_record: str | None = strawberry.field(description="The new code of record.")
    revert_producer_code_of_record: bool = strawberry.field(description="Set the code of record to the current code.")


@strawberry.type(description="An issuance, change or renewal of a policy.")
class PolicyTransaction(relay.Node):
    id: relay.NodeID[str]
    is_type_of = _is(PolicyTransactionRecord)

    @classmethod
    def resolve_nodes(cls, *, info: Any, node_ids: Any, required: bool = False) -> Any:
        return r.loader(info, "policy_transaction").load_many(list(node_ids))

    kind: TransactionKind = strawberry.field(description="Issuance, change or renewal.")
    state: TransactionState = strawberry.field(description="Draft until issued.")
    effective_time: datetime = strawberry.field(description="When the transaction takes effect.")
    issued_time: datetime | None = strawberry.field(description="When it was issued; null while draft.")
    flags: list[UnderwritingFlag] = strawberry.field(resolver=r.transaction_flags,
                                                     description="Underwriting flags on the transaction.")
    policy: Policy | None = strawberry.field(resolver=r.transaction_policy, description="The policy.")

    @strawberry.field(description="The producers instruction (as normalized when issued).")
    def producers(self) -> ProducersInstruction:
        raw = self.producers or {}  # type: ignore[attr-defined]
        return ProducersInstruction(set_producer_code=raw.get("setProducerCode"),
                                    clear_producer_code=bool(raw.get("clearProducerCode")),
                                    set_producer_code_of_record=raw.get("setProducerCodeOfRecord"),
                                    revert_producer_code_of_record=bool(raw.get("revertProducerCodeOfRecord")))


@strawberry.type(description="An issued policy with its producer code and code of record.")
class Policy(relay.Node):
    id: relay.NodeID[str]
    is_type_of = _is(PolicyRecord)

    @classmethod
    def resolve_nodes(cls, *, info: Any, node_ids: Any, required: bool = False) -> Any:
        return r.loader(info, "policy").load_many(list(node_ids))

    @strawberry.field(description="The policy's ULID locator.")
    def locator(self) -> str:
        return self.id

    product: str = strawberry.field(description="Product name.")
    jurisdiction: str = strawberry.field(description="Jurisdiction code.")
    producer_code: str | None = strawberry.field(description="Producer code after every issued transaction.")
    producer_code_of_record: str | None = strawberry.field(description="The term's original code (reset at renewal).")
    created_at: datetime = strawberry.field(description="When the policy was issued.")
    transactions: list[PolicyTransaction] = strawberry.field(
        resolver=r.policy_transactions, description="Every transaction, in effective-time order.")
    snapshot: PolicySnapshot = strawberry.field(
        resolver=r.policy_snapshot, description="Producer code and code of record in force at `at`, correct for "
                                                "out-of-sequence transactions.")


@strawberry.input(description="A new quote.")
class CreateQuoteInput:
    product: str = strawberry.field(description="Product name; its configuration decides the qualification.")
    jurisdiction: str = strawberry.field(description="Jurisdiction code, e.g. CA.")
    effective_time: datetime = strawberry.field(description="When coverage starts.")
    producer_code: str | None = strawberry.field(default=strawberry.UNSET,
                                                 description="A validated producer code value, e.g. 9217262.")
    data: JSON | None = strawberry.field(default=None, description="Free-form quote data.")


@strawberry.input(description="Changes to a quote; it returns to draft.")
class UpdateQuoteInput:
    product: str | None = strawberry.field(default=strawberry.UNSET, description="Product name.")
    jurisdiction: str | None = strawberry.field(default=strawberry.UNSET, description="Jurisdiction code.")
    effective_time: datetime | None = strawberry.field(default=strawberry.UNSET, description="Effective time.")
    producer_code: str | None = strawberry.field(default=strawberry.UNSET,
                                                 description="A validated producer code value; null removes it.")
    data: JSON | None = strawberry.field(default=None, description="Replaces the quote data.")


@strawberry.input(description="A flag to add by hand.")
class NewFlagInput:
    level: FlagLevel = strawberry.field(description="Info, block, decline or reject.")
    tag: str = strawberry.field(description="Short label.")
    note: str | None = strawberry.field(default=None, description="Longer explanation.")


@strawberry.input(description="The producers change instruction; every part optional.")
class ProducersInstructionInput:
    set_producer_code: str | None = strawberry.field(default=None, description="New validated producer code.")
    clear_producer_code: bool = strawberry.field(default=False, description="Remove the producer code.")
    set_producer_code_of_record: str | None = strawberry.field(
        default=None, description="New code of record (validated, suspended or retired); the current code "
                                  "is processed as a revert.")
    revert_producer_code_of_record: bool = strawberry.field(
        default=False, description="Set the code of record to the current producer code.")


@strawberry.type(description="Result of a quote mutation.")
class QuotePayload:
    quote: Quote | None = strawberry.field(description="The quote after the change (or as it stayed).")
    user_errors: list[UserError] = strawberry.field(description="Problems, with every underwriting reason.")


@strawberry.type(description="Result of issuing a quote.")
class IssueQuotePayload:
    quote: Quote | None = strawberry.field(description="The issued quote.")
    policy: Policy | None = strawberry.field(description="The policy created.")
    user_errors: list[UserError] = strawberry.field(description="Problems; empty on success.")


@strawberry.type(description="Result of underwriting a batch of quotes.")
class UnderwriteQuotesPayload:
    results: list[QuotePayload] | None = strawberry.field(description="One result per id, in order.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the request as a whole.")


@strawberry.type(description="Result of a flag mutation.")
class UnderwritingFlagsPayload:
    flags: list[UnderwritingFlag] | None = strawberry.field(description="The flags added or cleared.")
    user_errors: list[UserError] = strawberry.field(description="Problems; empty on success.")


@strawberry.type(description="Result of a policy transaction mutation.")
class PolicyTransactionPayload:
    transaction: PolicyTransaction | None = strawberry.field(description="The transaction (draft or issued).")
    user_errors: list[UserError] = strawberry.field(description="Problems, with every underwriting reason.")


def _q(resolver: Any, description: str, permission: Any) -> Any:
    return strawberry.field(resolver=resolver, description=description, permission_classes=[permission])


@strawberry.type
class QuoteQuery:
    quote: Quote | None = _q(r.quote, "A quote by global id or locator; null when not visible.", EVERYONE)
    quotes: Connection[Quote] = _q(r.quotes, "Quotes visible to you, oldest first.", EVERYONE)
    policy: Policy | None = _q(r.policy, "A policy by global id or locator; null when not visible.", EVERYONE)
    policies: Connection[Policy] = _q(r.policies, "Policies visible to you, oldest first.", EVERYONE)


@strawberry.type
class QuoteMutation:
    create_quote: QuotePayload = _q(r.create_quote, "Create a draft quote.", UNDERWRITING)
    update_quote: QuotePayload = _q(r.update_quote, "Change a quote; it returns to draft.", UNDERWRITING)
    underwrite_quote: QuotePayload = _q(
        r.underwrite_quote, "Underwrite a quote: the producer check and the flags decide.", UNDERWRITING)
    underwrite_quotes: UnderwriteQuotesPayload = _q(
        r.underwrite_quotes, "Underwrite many quotes at once (constant number of statements).", UNDERWRITING)
    issue_quote: IssueQuotePayload = _q(r.issue_quote, "Issue an underwritten quote as a policy.", UNDERWRITING)
    add_underwriting_flags: UnderwritingFlagsPayload = _q(
        r.add_underwriting_flags, "Add flags to a quote or a draft policy transaction.", UNDERWRITING)
    clear_underwriting_flags: UnderwritingFlagsPayload = _q(
        r.clear_underwriting_flags, "Clear flags; a cleared producer flag overrides the check for its code.",
        UNDERWRITING)
    change_policy: PolicyTransactionPayload = _q(
        r.change_policy, "Create a draft change transaction with a producers instruction.", UNDERWRITING)
    renew_policy: PolicyTransactionPayload = _q(r.renew_policy, "Create a draft renewal transaction.", UNDERWRITING)
    issue_transaction: PolicyTransactionPayload = _q(
        r.issue_transaction, "Issue a draft transaction after the producer check.", UNDERWRITING)
