"""Reading and writing registry extracts (CSV and JSON), the sample generator, and the wizard rules."""

from __future__ import annotations

import json
from datetime import date

import pytest

from app.errors import DomainError
from app.registry import read_extract, sample_entries, write_extract
from app.rules import registry_sync, wizard
from app.rules.identity import normalize_npn, normalize_ssn

HEADER = ("npn,first_name,middle_name,last_name,ssn,gender,email,state,license_number,license_class,residency,"
          "lines_of_authority,issue_date,expiration_date\n")


def test_a_csv_extract_merges_the_license_rows_of_one_producer(tmp_path):
    path = tmp_path / "extract.csv"
    path.write_text(HEADER
                    + "1234,Ana,,Rivera,212-34-5678,F,ana@example.com,ca,0A1,Producer,resident,Life;Accident & Health,"
                      "2022-01-01,2026-01-01\n"
                    + "1234,Ana,,Rivera,212-34-5678,F,ana@example.com,NV,NV-1,,non-resident,Property,,\n"
                    + "99,Bo,,Lee,,,,,,,,,,\n")
    errors: list[str] = []

    entries = list(read_extract(path, errors))

    assert errors == []
    assert [e.npn for e in entries] == ["1234", "99"]
    ana = entries[0]
    assert (ana.ssn, ana.gender, ana.email) == ("212345678", "FEMALE", "ana@example.com")
    assert [(lic.state, lic.license_number, lic.residency) for lic in ana.licenses] == [
        ("CA", "0A1", "resident"), ("NV", "NV-1", "non-resident")]
    assert ana.licenses[0].lines_of_authority == ["Life", "Accident & Health"]
    assert ana.licenses[0].issue_date == date(2022, 1, 1)
    assert entries[1].licenses == [] and entries[1].ssn is None


def test_a_csv_extract_carries_each_license_status_and_effective_date(tmp_path):
    # given an extract with the optional status and effective_date columns
    path = tmp_path / "extract.csv"
    path.write_text("npn,last_name,state,license_number,status,issue_date,effective_date,expiration_date\n"
                    "1234,Rivera,CA,0A1,Inactive,2020-01-01,2020-02-01,2028-01-01\n"
                    "1234,Rivera,NV,NV-1,,2021-01-01,,2029-01-01\n"
                    "55,Lee,TX,TX-1,revoked,,,\n")
    errors: list[str] = []

    # when it is read
    entries = list(read_extract(path, errors))

    # then each license has its status (active when the column is empty) and dates; an unknown status is reported
    licenses = entries[0].licenses
    assert [(lic.state, lic.status, lic.effective_date) for lic in licenses] == [
        ("CA", "inactive", date(2020, 2, 1)), ("NV", "active", None)]
    assert [e.npn for e in entries] == ["1234"] and errors[0].startswith("line 4")


def test_the_sample_has_inactive_licenses_and_effective_dates():
    licenses = [lic for e in sample_entries(300, seed=3) for lic in e.licenses]

    assert {lic.status for lic in licenses} == {"active", "inactive"}
    assert all(lic.effective_date == lic.issue_date for lic in licenses)


def test_bad_rows_are_reported_by_line_without_the_ssn(tmp_path):
    path = tmp_path / "extract.csv"
    path.write_text(HEADER + "12a,Ana,,Rivera,,,,,,,,,,\n" + "55,Bo,,Lee,666-12-3456,,,,,,,,,\n"
                    + "56,Cy,,Kim,,,,CA,X1,,resident,Life,2024-01-01,2023-01-01\n" + "57,Di,,Ng,,,,,,,,,,\n")
    errors: list[str] = []

    entries = list(read_extract(path, errors))

    assert [e.npn for e in entries] == ["57"]
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 3", "line 4"]
    assert all("666-12-3456" not in e and "666123456" not in e for e in errors)


def test_a_json_extract_nests_licenses(tmp_path):
    path = tmp_path / "extract.json"
    path.write_text(json.dumps([{"npn": 777, "last_name": "Diaz", "ssn": "219099999",
                                 "licenses": [{"state": "AZ", "license_number": "AZ-1",
                                               "lines_of_authority": ["Life", "Title"]}]}]))

    entries = list(read_extract(path, []))

    assert entries[0].npn == "777" and entries[0].licenses[0].lines_of_authority == ["Life", "Title"]


def test_a_json_extract_under_producers_is_read_one_producer_at_a_time_with_bad_ones_reported(tmp_path):
    # given a {"producers": [...]} extract whose second producer has no last name
    path = tmp_path / "extract.json"
    path.write_text(json.dumps({"producers": [
        {"npn": "901", "last_name": "Diaz", "licenses": [{"state": "AZ", "license_number": "AZ-9"}]},
        {"npn": "902"}, {"npn": "903", "last_name": "Okafor", "licenses": []}]}))
    errors: list[str] = []

    # when it is read
    entries = read_extract(path, errors)
    first = next(entries)  # a generator: the file is parsed as the entries are taken

    # then the good producers come out in order and the bad one is reported by its index
    assert (first.npn, first.licenses[0].license_number) == ("901", "AZ-9")
    assert [e.npn for e in entries] == ["903"]
    assert errors == ["producer 1: A registry producer needs a last_name."]


def test_a_broken_json_extract_is_a_typed_error_naming_the_last_good_producer(tmp_path):
    path = tmp_path / "extract.json"
    path.write_text('[{"npn": "901", "last_name": "Diaz"}, {"npn": "902", "last_na')

    with pytest.raises(DomainError) as caught:
        list(read_extract(path, []))

    assert caught.value.code == "INVALID_REGISTRY_FILE" and "after producer 0" in caught.value.message


def test_a_license_dropped_from_the_extract_lapses_naming_the_extract_unless_already_discarded():
    assert registry_sync.dropped_state("validated", "day-2.csv", date(2026, 12, 2)) == (
        "discarded", "not in the producer registry's extract day-2.csv of 2026-12-02")
    assert registry_sync.dropped_state("draft", "x.json", date(2026, 12, 2))[0] == "discarded"  # type: ignore[index]
    assert registry_sync.dropped_state("discarded", "day-2.csv", date(2026, 12, 2)) is None
    assert registry_sync.lapsed_by_registry(
        *registry_sync.dropped_state("validated", "d.csv", date(2026, 12, 2)))  # type: ignore[misc]


def test_other_file_types_are_refused(tmp_path):
    with pytest.raises(DomainError) as caught:
        read_extract(tmp_path / "extract.xlsx", [])
    assert caught.value.code == "UNSUPPORTED_FILE"


def test_the_sample_is_deterministic_valid_and_unique():
    first, again = sample_entries(3000, seed=3), sample_entries(3000, seed=3)

    assert first == again
    assert len({e.npn for e in first}) == len({e.ssn for e in first}) == 3000
    assert all(normalize_ssn(e.ssn) == e.ssn and normalize_npn(e.npn) == e.npn for e in first)
    numbers = [(lic.state, lic.license_number) for e in first for lic in e.licenses]
    assert len(numbers) == len(set(numbers)) and all(e.licenses for e in first)
    assert all(lic.expiration_date > lic.issue_date for e in first for lic in e.licenses)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_a_written_sample_reads_back_the_same(tmp_path, suffix):
    entries = sample_entries(200, seed=5)
    path = tmp_path / f"sample{suffix}"

    write_extract(path, entries)
    errors: list[str] = []

    assert list(read_extract(path, errors)) == entries and errors == []


@pytest.mark.parametrize(("fields", "expected"), [
    ({"ssn": "1", "last_name": "X"}, "SSN"),
    ({"npn": "1"}, "NPN"),
    ({"license_number": "A", "state": "CA"}, "LICENSE"),
])
def test_exactly_one_identification_is_recognised(fields, expected):
    args = {"ssn": None, "last_name": None, "npn": None, "license_number": None, "state": None, **fields}
    assert wizard.identification(**args) == expected


def test_an_npn_may_come_with_the_ssn_that_verifies_it_but_not_with_a_license():
    args = {"ssn": "1", "last_name": "X", "npn": "1", "license_number": None, "state": None}

    assert wizard.identification(**args) == "NPN_VERIFIED_BY_SSN"
    with pytest.raises(DomainError) as caught:
        wizard.identification(**{**args, "license_number": "A", "state": "CA"})
    assert caught.value.code == "MULTIPLE_IDENTIFICATIONS"


def test_the_current_step_is_the_first_not_done():
    done = {"completed": False, "details_reviewed": True, "payment_set": True, "states_assigned": False,
            "reviewed": False}
    assert wizard.current_step(**done) == "STATES"
    assert wizard.current_step(**{**done, "details_reviewed": False}) == "DETAILS"
    assert wizard.current_step(**{**done, "states_assigned": True, "reviewed": True}) == "FINISH"
    assert wizard.current_step(**{**done, "completed": True}) == "DONE"


def test_state_selections_are_keyed_by_code_and_new_states_exclude_licensed_ones():
    merged = wizard.merge_selections([("ca", ["Life", "Property", "Life"]), ("NY", ["Title"])])

    assert merged == {"CA": ["Life", "Property"], "NY": ["Title"]}
    assert wizard.new_jurisdictions(merged, ["CA"]) == ["NY"]


@pytest.mark.parametrize(("states", "no_new_states", "code"), [
    ([("ca", ["Life"]), ("CA", ["Property"])], False, "DUPLICATE_JURISDICTION"),
    ([], False, "STATES_REQUIRED"),
    ([("CA", ["Life"])], True, "CONFLICTING_STATES"),
])
def test_a_state_selection_names_each_state_once_or_says_no_new_states(states, no_new_states, code):
    with pytest.raises(DomainError) as caught:
        wizard.merge_selections(states, no_new_states=no_new_states)

    assert caught.value.code == code


def test_no_new_states_is_an_empty_selection():
    assert wizard.merge_selections([], no_new_states=True) == {}


@pytest.mark.parametrize(("status", "expiration", "expected"), [
    ("active", None, ("validated", None)),
    ("active", date(2030, 1, 1), ("validated", None)),
    ("active", date(2026, 6, 1), ("discarded", "expired on 2026-06-01 according to the producer registry")),
    ("active", date(2026, 6, 2), ("discarded", "expired on 2026-06-02 according to the producer registry")),
    ("inactive", date(2030, 1, 1), ("discarded", "inactive in the producer registry")),
])
def test_a_registry_license_is_usable_only_when_active_and_not_expired(status, expiration, expected):
    assert wizard.registry_standing(status, expiration, date(2026, 6, 2)) == expected


@pytest.mark.parametrize(("payment_set", "reviewed", "code"), [
    (False, True, "PAYMENT_SETUP_REQUIRED"), (True, False, "REVIEW_REQUIRED")])
def test_finishing_needs_the_payment_and_the_review(payment_set, reviewed, code):
    with pytest.raises(DomainError) as caught:
        wizard.check_finishable(payment_set=payment_set, reviewed=reviewed)

    assert caught.value.code == code


def test_the_review_needs_the_states_step():
    with pytest.raises(DomainError) as caught:
        wizard.check_reviewable(states_assigned=False)

    assert caught.value.code == "STATES_REQUIRED"
