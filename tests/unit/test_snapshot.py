"""The policy snapshot rule: producers in force at a moment, with out-of-sequence transactions."""

from datetime import UTC, datetime

from app.rules.snapshot import ProducersInstruction, Snapshot, Transaction, latest, normalize, snapshot_at


def at(month: int, day: int = 1) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


ISSUANCE = Transaction("issuance", at(1), at(1), ProducersInstruction(set_producer_code="A"))
TO_B = Transaction("change", at(7), at(3), ProducersInstruction(set_producer_code="B"))
TO_C = Transaction("change", at(4), at(5), ProducersInstruction(set_producer_code="C"))


def test_out_of_sequence_change_applies_from_its_effective_time_and_later_changes_reapply_on_top():
    history = [ISSUANCE, TO_B, TO_C]
    assert snapshot_at(history, at(2)).producer_code == "A"
    assert snapshot_at(history, at(6)).producer_code == "C"
    assert snapshot_at(history, at(8)).producer_code == "B"


def test_before_issuance_nothing_is_in_force():
    assert snapshot_at([ISSUANCE], datetime(2025, 12, 31, tzinfo=UTC)) == Snapshot(None, None)


def test_code_of_record_is_the_issued_code_and_survives_changes():
    assert snapshot_at([ISSUANCE, TO_C], at(5)) == Snapshot("C", "A")


def test_renewal_resets_the_code_of_record_to_the_current_code():
    renewal = Transaction("renewal", datetime(2027, 1, 1, tzinfo=UTC), at(12))
    assert latest([ISSUANCE, TO_C, renewal]) == Snapshot("C", "C")


def test_set_code_of_record_and_revert():
    set_record = Transaction("change", at(5), at(5), ProducersInstruction(set_producer_code_of_record="Z"))
    revert = Transaction("change", at(6), at(6), ProducersInstruction(revert_producer_code_of_record=True))
    assert snapshot_at([ISSUANCE, TO_C, set_record], at(5)) == Snapshot("C", "Z")
    assert snapshot_at([ISSUANCE, TO_C, set_record, revert], at(6)) == Snapshot("C", "C")


def test_clear_producer_code():
    clear = Transaction("change", at(2), at(2), ProducersInstruction(clear_producer_code=True))
    assert snapshot_at([ISSUANCE, clear], at(3)) == Snapshot(None, "A")


def test_setting_the_code_of_record_to_the_current_code_is_a_revert():
    step = normalize(ProducersInstruction(set_producer_code_of_record="A"), "A")
    assert step == ProducersInstruction(revert_producer_code_of_record=True)
    other = ProducersInstruction(set_producer_code_of_record="B")
    assert normalize(other, "A") == other


def test_ties_in_effective_time_apply_in_issued_order():
    first = Transaction("change", at(3), at(3), ProducersInstruction(set_producer_code="X"))
    second = Transaction("change", at(3), at(4), ProducersInstruction(set_producer_code="Y"))
    assert snapshot_at([ISSUANCE, second, first], at(3)).producer_code == "Y"
