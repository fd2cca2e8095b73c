"""Which producer code and code of record a policy carries at a moment, from its issued transactions.

Pure rule, no I/O. Transactions apply in effective-time order (ties by issued time), so a change
issued later but effective earlier takes effect from its effective time and every later-effective
change re-applies on top of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

TransactionKind = Literal["issuance", "change", "renewal"]


@dataclass(frozen=True)
class ProducersInstruction:
    """The producers change instruction of a transaction; all parts optional."""

    set_producer_code: str | None = None
    clear_producer_code: bool = False
    set_producer_code_of_record: str | None = None
    revert_producer_code_of_record: bool = False


@dataclass(frozen=True)
class Transaction:
    """An issued transaction reduced to what the snapshot reads."""

    kind: TransactionKind
    effective_time: datetime
    issued_time: datetime
    producers: ProducersInstruction = ProducersInstruction()


@dataclass(frozen=True)
class Snapshot:
    producer_code: str | None
    producer_code_of_record: str | None


EMPTY = Snapshot(None, None)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def apply(state: Snapshot, txn: Transaction) -> Snapshot:
    """The producers after `txn` applies on top of `state`."""
    step = txn.producers
    code = state.producer_code
    if step.clear_producer_code:
        code = None
    if step.set_producer_code is not None:
        code = step.set_producer_code
    record = state.producer_code_of_record
    if txn.kind in ("issuance", "renewal") or step.revert_producer_code_of_record:
        record = code
    elif step.set_producer_code_of_record is not None:
        record = step.set_producer_code_of_record
    return Snapshot(code, record)


def ordered(transactions: Iterable[Transaction]) -> list[Transaction]:
    return sorted(transactions, key=lambda t: (_utc(t.effective_time), _utc(t.issued_time)))


def snapshot_at(transactions: Iterable[Transaction], at: datetime) -> Snapshot:
    """The producer code and code of record in force at `at` (before the first issuance: both None)."""
    moment = _utc(at)
    state = EMPTY
    for txn in ordered(transactions):
        if _utc(txn.effective_time) > moment:
            break
        state = apply(state, txn)
    return state


def latest(transactions: Iterable[Transaction]) -> Snapshot:
    """The producers once every issued transaction has applied (what the policy carries now)."""
    state = EMPTY
    for txn in ordered(transactions):
        state = apply(state, txn)
    return state


def normalize(instruction: ProducersInstruction, current_code: str | None) -> ProducersInstruction:
    """Setting the code of record to the code in force is processed as a revert."""
    target = instruction.set_producer_code if instruction.set_producer_code is not None else (
        None if instruction.clear_producer_code else current_code)
    if instruction.set_producer_code_of_record is not None and instruction.set_producer_code_of_record == target:
        return ProducersInstruction(instruction.set_producer_code, instruction.clear_producer_code, None, True)
    return instruction
