"""Pure rules of compliance and registry sync: alert windows, the kinds of change a sync makes, names refreshed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.rules import registry_sync as sync
from app.rules.compliance import Windows, window_of
from tests.unit.test_tenant_config import minimal, refusal

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TERMS = sync.Terms("validated", None, ("Life",), "resident", None, datetime(2024, 1, 1, tzinfo=UTC),
                   datetime(2027, 1, 1, tzinfo=UTC))


def test_an_expiration_falls_in_the_narrowest_window_that_holds_it():
    windows = Windows(upcoming=90, soon=30, urgent=7)
    assert window_of(NOW + timedelta(days=3), NOW, windows) == ("URGENT", 3)
    assert window_of(NOW + timedelta(days=7, hours=1), NOW, windows) == ("URGENT", 7)
    assert window_of(NOW + timedelta(days=8), NOW, windows) == ("SOON", 8)
    assert window_of(NOW + timedelta(days=89), NOW, windows) == ("UPCOMING", 89)
    assert window_of(NOW + timedelta(days=91), NOW, windows) is None


def test_an_expiration_at_or_before_now_is_expired_with_days_left_zero_or_less():
    windows = Windows()
    assert window_of(NOW, NOW, windows) == ("EXPIRED", 0)
    assert window_of(NOW - timedelta(days=3), NOW, windows) == ("EXPIRED", -3)


def test_a_sync_names_its_change_most_significant_first():
    lapsed = sync.Terms("discarded", "inactive in the producer registry", ("Life",), "resident", None,
                        TERMS.effective_time, TERMS.expiration_time)
    renewed = sync.Terms(**{**TERMS.__dict__, "expiration_time": datetime(2029, 1, 1, tzinfo=UTC),
                            "lines_of_authority": ("Life", "Health")})
    assert sync.change_kinds(TERMS, lapsed) == ["lapsed"]
    assert sync.change_kinds(lapsed, TERMS) == ["reinstated"]
    assert sync.change_kinds(TERMS, renewed) == ["renewed", "loaChanged"]
    assert sync.change_kinds(TERMS, sync.Terms(**{**TERMS.__dict__, "residency": "non-resident"})) == ["updated"]
    assert sync.change_kinds(TERMS, TERMS) == []


def test_a_license_the_agency_discarded_is_left_alone_and_a_draft_stays_a_draft():
    today = date(2026, 12, 2)
    assert sync.synced_state("discarded", "not needed", "active", None, today) is None
    assert sync.synced_state("discarded", "inactive in the producer registry", "active", None, today) == (
        "validated", None)
    assert sync.synced_state("draft", "data missing", "active", None, today) == ("draft", "data missing")
    assert sync.synced_state("draft", None, "inactive", None, today) == ("discarded", "inactive in the producer registry")


def test_only_the_fields_the_agency_kept_follow_the_registry():
    producer = {"first_name": "Chinedu", "last_name": "Okafor", "email": "chi@agency.example"}
    before = {"first_name": "Chi", "last_name": "Okafor", "email": "chi@registry.example"}
    after = {"first_name": "Chike", "last_name": "Okafor-Obi", "email": "c@registry.example"}
    assert sync.refreshed_fields(producer, before, after) == {"last_name": "Okafor-Obi"}
    assert sync.refreshed_fields(producer, None, after) == {}


def test_alert_windows_must_narrow():
    raw = minimal()
    raw["compliance"] = {"alertWindows": {"upcoming": 30, "soon": 30, "urgent": 7}}
    assert refusal(raw) == ["compliance.alertWindows: alert windows must narrow: upcoming > soon > urgent (days)"]
