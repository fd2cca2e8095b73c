"""Bulk onboarding files: reading CSV/XLSX safely, validating rows, and writing sample and report files."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from app.bulk_file import (
    BulkFileError,
    BulkLimits,
    RawRow,
    iter_bulk_rows,
    sniff_format,
    write_rows_report,
    write_sample_csv,
    write_sample_xlsx,
)
from app.rules.bulk_rows import DuplicateTracker, ValidatedRow, validate_row

HEADER = ["Last Name", "NPN", "Email", "SSN", "Gender"]
ROW = ["Doe", "1234567", "jane@example.com", "123-45-6789", "F"]

Rows = Sequence[Sequence[object]]


def csv_file(tmp_path: Path, rows: Rows, *, encoding: str = "utf-8", delimiter: str = ",",
             name: str = "upload.csv") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path = tmp_path / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def xlsx_file(tmp_path: Path, rows: Rows, *, sheet: str = "Producers", before: Rows | None = None,
              name: str = "upload.xlsx") -> Path:
    """A workbook whose sheet `sheet` holds `rows`; `before` fills a first, other sheet."""
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    if before is not None:
        first.title = "Notes"
        for row in before:
            first.append(list(row))
        target = workbook.create_sheet(sheet)
    else:
        first.title = sheet
        target = first
    for row in rows:
        target.append(list(row))
    path = tmp_path / name
    workbook.save(path)
    return path


def read(path: Path, limits: BulkLimits | None = None) -> list[RawRow]:
    return list(iter_bulk_rows(path, limits or BulkLimits()))


def error_of(path: Path, limits: BulkLimits | None = None) -> BulkFileError:
    with pytest.raises(BulkFileError) as caught:
        read(path, limits)
    assert caught.value.field == "file"
    return caught.value


# --- reading ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("writer", ["csv", "xlsx"])
def test_headers_match_in_any_order_case_spacing_and_with_extra_columns(tmp_path: Path, writer: str) -> None:
    rows = [["  gender ", "Notes", "E_MAIL", "ssn", "LAST   NAME", " npn"],
            ["M", "ignored", "jo@example.com", "123-45-6789", "Doe", "42"]]
    path = csv_file(tmp_path, rows) if writer == "csv" else xlsx_file(tmp_path, rows)
    [row] = read(path)
    assert row.row_number == 2
    assert row.values == {"gender": "M", "email": "jo@example.com", "ssn": "123-45-6789", "last_name": "Doe",
                          "npn": "42"}


def test_header_aliases_and_optional_first_name_are_recognised(tmp_path: Path) -> None:
    rows = [["Surname", "First_Name", "National Producer Number", "E-mail", "Social Security Number", "Sex"],
            ["Doe", "Jane", "42", "jo@example.com", "123456789", "F"]]
    [row] = read(csv_file(tmp_path, rows))
    assert row.values == {"last_name": "Doe", "first_name": "Jane", "npn": "42", "email": "jo@example.com",
                          "ssn": "123456789", "gender": "F"}


def test_csv_with_utf8_bom_reads_the_first_header(tmp_path: Path) -> None:
    [row] = read(csv_file(tmp_path, [HEADER, ROW], encoding="utf-8-sig"))
    assert row.values["last_name"] == "Doe"


def test_csv_in_windows_1252_is_decoded(tmp_path: Path) -> None:
    [row] = read(csv_file(tmp_path, [HEADER, ["Müller", *ROW[1:]]], encoding="cp1252"))
    assert row.values["last_name"] == "Müller"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    [row] = read(csv_file(tmp_path, [HEADER, ["Doe, Jr", *ROW[1:]]], delimiter=delimiter))
    assert row.values["last_name"] == "Doe, Jr" and row.values["gender"] == "F"


@pytest.mark.parametrize("writer", ["csv", "xlsx"])
def test_blank_rows_are_skipped_and_row_numbers_kept(tmp_path: Path, writer: str) -> None:
    rows: list[list[object]] = [[], [*HEADER], [*ROW], ["", " ", None, "", ""], [], ["Roe", *ROW[1:]], ["  "]]
    path = csv_file(tmp_path, rows) if writer == "csv" else xlsx_file(tmp_path, rows)
    assert [(r.row_number, r.values["last_name"]) for r in read(path)] == [(3, "Doe"), (6, "Roe")]


def test_row_with_values_only_in_ignored_columns_is_blank(tmp_path: Path) -> None:
    rows = [[*HEADER, "Notes"], ROW + ["x"], ["", "", "", "", "", "just a note"]]
    assert len(read(csv_file(tmp_path, rows))) == 1


def test_short_csv_rows_give_none_for_missing_cells(tmp_path: Path) -> None:
    [row] = read(csv_file(tmp_path, [HEADER, ["Doe", "42"]]))
    assert row.values == {"last_name": "Doe", "npn": "42", "email": None, "ssn": None, "gender": None}


def test_xlsx_numbers_arrive_as_numbers_and_validate(tmp_path: Path) -> None:
    rows: list[list[object]] = [[*HEADER], ["Doe", 1234567.0, "  Jane.Doe@EXAMPLE.com ", 12345678, "female"],
            ["Roe", 7654321, "roe@example.com", 123456789.0, "x"]]
    raw = read(xlsx_file(tmp_path, rows))
    assert raw[0].values["ssn"] == 12345678 and raw[0].values["npn"] == 1234567.0
    first, second = (validate_row(r) for r in raw)
    assert (first.npn, first.ssn, first.email, first.gender) == ("1234567", "012345678", "jane.doe@example.com",
                                                                  "FEMALE")
    assert (second.npn, second.ssn, second.gender) == ("7654321", "123456789", "NON_BINARY")
    assert first.ok and second.ok


def test_xlsx_prefers_the_producers_sheet(tmp_path: Path) -> None:
    path = xlsx_file(tmp_path, [HEADER, ROW], sheet="PRODUCERS ", before=[["instructions"], ["fill it in"]])
    assert [r.values["last_name"] for r in read(path)] == ["Doe"]


def test_xlsx_falls_back_to_the_first_sheet(tmp_path: Path) -> None:
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Sheet1"
    first.append(HEADER)
    first.append(ROW)
    workbook.create_sheet("Other").append(["nothing"])
    path = tmp_path / "first.xlsx"
    workbook.save(path)
    assert [r.values["npn"] for r in read(path)] == ["1234567"]


def test_xlsx_cells_read_as_openpyxl_gives_them(tmp_path: Path) -> None:
    # given shared and rich-text strings, numbers, booleans, dates, a formula, gaps in rows and cells
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Producers"
    sheet.append([*HEADER, "First Name"])
    sheet.append(["Doe", 1234567.0, "a@example.com", 1.5e8, True, datetime(2020, 1, 2, 3, 4)])
    sheet["A5"], sheet["C5"], sheet["F5"] = "Roe", "=1+2", date(2021, 5, 6)
    sheet["A6"] = CellRichText(["Mc", TextBlock(InlineFont(b=True), "Gee")])
    sheet["E6"] = False
    path = tmp_path / "types.xlsx"
    workbook.save(path)
    # when read
    rows = read(path)
    # then the values are openpyxl's (ints stay ints, dates are datetimes) and row numbers are the sheet's
    assert [(r.row_number, r.values) for r in rows] == [
        (2, {"last_name": "Doe", "npn": 1234567, "email": "a@example.com", "ssn": 150000000.0, "gender": True,
             "first_name": datetime(2020, 1, 2, 3, 4)}),
        (5, {"last_name": "Roe", "npn": None, "email": None, "ssn": None, "gender": None,
             "first_name": datetime(2021, 5, 6)}),
        (6, {"last_name": "McGee", "npn": None, "email": None, "ssn": None, "gender": False, "first_name": None}),
    ]


def test_type_is_sniffed_from_content_not_name(tmp_path: Path) -> None:
    xlsx_named_csv = xlsx_file(tmp_path, [HEADER, ROW], name="really-xlsx.csv")
    csv_named_xlsx = csv_file(tmp_path, [HEADER, ROW], name="really-csv.xlsx")
    assert sniff_format(xlsx_named_csv) == "xlsx" and sniff_format(csv_named_xlsx) == "csv"
    assert len(read(xlsx_named_csv)) == len(read(csv_named_xlsx)) == 1


def test_ten_thousand_row_csv_returns_every_row(tmp_path: Path) -> None:
    rows = [HEADER] + [[f"Name{i}", str(1000000 + i), f"p{i}@example.com", "123-45-6789", "M"]
                       for i in range(10_000)]
    raw = read(csv_file(tmp_path, rows))
    assert len(raw) == 10_000
    assert raw[0].row_number == 2 and raw[-1].row_number == 10_001
    assert raw[-1].values["npn"] == "1009999"


# --- file-level errors -----------------------------------------------------------------------------------

def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert error_of(path).code == "EMPTY_FILE"


def test_whitespace_only_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\r\n  \r\n,,,\r\n")
    assert error_of(path).code == "EMPTY_FILE"


@pytest.mark.parametrize("writer", ["csv", "xlsx"])
def test_header_only_or_blank_rows_only_has_no_data_rows(tmp_path: Path, writer: str) -> None:
    rows = [HEADER, ["", "", "", "", ""], []]
    path = csv_file(tmp_path, rows) if writer == "csv" else xlsx_file(tmp_path, rows)
    assert error_of(path).code == "NO_DATA_ROWS"


def test_missing_columns_are_all_named(tmp_path: Path) -> None:
    err = error_of(csv_file(tmp_path, [["Last Name", "Email", "Phone"], ["Doe", "jo@example.com", "1"]]))
    assert err.code == "MISSING_COLUMNS"
    assert "NPN, SSN, Gender" in err.message
    assert "Last Name" not in err.message.split(".")[0]


def test_missing_columns_are_reported_before_any_row(tmp_path: Path) -> None:
    rows = iter_bulk_rows(xlsx_file(tmp_path, [["Name", "Number"], ["Doe", 1]]), BulkLimits())
    with pytest.raises(BulkFileError) as caught:
        next(rows)
    assert caught.value.code == "MISSING_COLUMNS"


def test_file_too_large_is_refused_before_reading(tmp_path: Path) -> None:
    path = csv_file(tmp_path, [HEADER, ROW])
    with pytest.raises(BulkFileError) as caught:
        iter_bulk_rows(path, BulkLimits(max_bytes=10))  # raised on call, not on first row
    assert caught.value.code == "FILE_TOO_LARGE"


@pytest.mark.parametrize("writer", ["csv", "xlsx"])
def test_too_many_rows_is_raised_while_streaming(tmp_path: Path, writer: str) -> None:
    rows = [HEADER] + [[f"N{i}", str(100 + i), f"p{i}@example.com", "123-45-6789", "F"] for i in range(10)]
    path = csv_file(tmp_path, rows) if writer == "csv" else xlsx_file(tmp_path, rows)
    seen: list[RawRow] = []
    with pytest.raises(BulkFileError) as caught:
        for row in iter_bulk_rows(path, BulkLimits(max_rows=3)):
            seen.append(row)
    assert caught.value.code == "TOO_MANY_ROWS"
    assert len(seen) == 3


def test_exactly_max_rows_is_accepted(tmp_path: Path) -> None:
    rows = [HEADER] + [ROW] * 3
    assert len(read(csv_file(tmp_path, rows), BulkLimits(max_rows=3))) == 3


def test_xlsx_expanding_beyond_the_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    rows = [HEADER] + [["A" * 200, "1", "a@example.com", "123456789", "F"]] * 500
    path = xlsx_file(tmp_path, rows)
    assert path.stat().st_size < 50_000
    with pytest.raises(BulkFileError) as caught:
        iter_bulk_rows(path, BulkLimits(max_uncompressed_bytes=50_000))
    assert caught.value.code == "XLSX_TOO_LARGE_UNCOMPRESSED"


def test_xlsx_with_a_text_table_over_its_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    # a shared-string table of 60,000 tiny strings: small on disk, large in memory once parsed
    path = tmp_path / "strings.xlsx"
    table = "<sst>" + "".join(f"<si><t>{n}</t></si>" for n in range(60_000)) + "</sst>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", table)
    error = error_of(path, BulkLimits(max_shared_strings_bytes=len(table) - 1))
    assert error.code == "XLSX_TOO_MANY_STRINGS"
    assert f"{len(table):,} bytes" in error.message


def test_zip_bomb_with_a_highly_compressible_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * 5_000_000)
    assert path.stat().st_size < 20_000
    assert error_of(path, BulkLimits(max_uncompressed_bytes=1_000_000)).code == "XLSX_TOO_LARGE_UNCOMPRESSED"


@pytest.mark.parametrize(("content", "code"), [
    (b"\x00\x01\x02binary\xff\xfe" * 10, "UNSUPPORTED_FILE_TYPE"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "UNSUPPORTED_FILE_TYPE"),
    (b"%PDF-1.4\n\x81\x8d\x8f\x90\x9d", "UNSUPPORTED_FILE_TYPE"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "UNSUPPORTED_FILE_TYPE"),
    (b"PK\x03\x04 this is not really a zip", "XLSX_UNREADABLE"),
])
def test_files_that_are_not_csv_or_xlsx_are_refused(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    err = error_of(path)
    assert err.code == code


def test_zip_that_is_not_a_workbook_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    err = error_of(path)
    assert err.code == "UNSUPPORTED_FILE_TYPE" and "CSV" in err.message


def test_damaged_workbook_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "this is not xml")
    assert error_of(path).code == "XLSX_UNREADABLE"


def test_workbook_without_worksheets_has_no_sheet(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Workbook().save(buffer)
    path = tmp_path / "nosheet.xlsx"
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "xl/workbook.xml":
                data = re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", data)
            target.writestr(member, data)
    assert error_of(path).code == "NO_SHEET"


def test_csv_field_beyond_the_csv_limit_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("Last Name,NPN,Email,SSN,Gender\n\"" + "x" * 200_000 + "\",1,a@b.co,123456789,F\n")
    assert error_of(path).code == "CSV_UNREADABLE"


# --- row validation and duplicates ---------------------------------------------------------------------

def raw_row(number: int = 2, **values: object) -> RawRow:
    base: dict[str, object] = {"last_name": "Doe", "npn": "1234567", "email": "jane@example.com",
                               "ssn": "123-45-6789", "gender": "F"}
    base.update(values)
    return RawRow(number, base)


def test_valid_row_is_normalised() -> None:
    row = validate_row(raw_row(last_name="  Doe   Smith ", email=" Jane@Example.COM", ssn=12345678.0,
                               npn=1234567.0, gender="male", first_name=" Jane "))
    assert row == ValidatedRow(2, "Doe Smith", "1234567", "jane@example.com", "012345678", "MALE", "Jane", [])
    assert row.ok


def test_every_problem_of_a_row_is_collected() -> None:
    row = validate_row(raw_row(5, last_name=None, npn="12a", email="nope", ssn="666-12-3456", gender=None))
    assert [(p.code, p.field) for p in row.problems] == [
        ("MISSING_LAST_NAME", "lastName"), ("INVALID_NPN", "npn"), ("INVALID_EMAIL", "email"),
        ("INVALID_SSN", "ssn"), ("INVALID_GENDER", "gender")]
    assert (row.last_name, row.npn, row.email, row.ssn, row.gender) == (None, None, None, None, None)
    assert not row.ok
    assert all("666-12-3456" not in p.message and "666123456" not in p.message for p in row.problems)


def test_duplicates_in_the_file_name_the_earlier_row() -> None:
    tracker = DuplicateTracker()
    first = tracker.track(validate_row(raw_row(2)))
    other = tracker.track(validate_row(raw_row(3, npn="7654321", email="other@example.com", ssn="234-56-7890")))
    again = tracker.track(validate_row(raw_row(7, email="JANE@example.com")))
    assert first.ok and other.ok
    assert [(p.code, p.field) for p in again.problems] == [
        ("DUPLICATE_IN_FILE", "npn"), ("DUPLICATE_IN_FILE", "ssn"), ("DUPLICATE_IN_FILE", "email")]
    assert all("row 2" in p.message for p in again.problems)


def test_duplicate_ssn_problem_never_echoes_the_ssn() -> None:
    tracker = DuplicateTracker()
    tracker.track(validate_row(raw_row(2)))
    row = tracker.track(validate_row(raw_row(3, npn="999", email="x@example.com", ssn=123456789)))
    [problem] = row.problems
    assert problem.field == "ssn" and "123" not in problem.message.replace("row 2", "")
    assert "6789" not in problem.message


def test_each_kind_of_duplicate_is_tracked_separately() -> None:
    tracker = DuplicateTracker()
    assert tracker.check(2, npn="1", ssn="123456789", email="a@example.com") == []
    assert tracker.check(3, npn="123456789", ssn="1", email="b@example.com") == []
    [problem] = tracker.check(4, npn="2", ssn="3", email="a@example.com")
    assert problem.field == "email" and "row 2" in problem.message


def test_invalid_values_are_not_tracked_as_duplicates() -> None:
    tracker = DuplicateTracker()
    tracker.track(validate_row(raw_row(2, npn="bad", ssn="bad", email="bad")))
    row = tracker.track(validate_row(raw_row(3, npn="bad", ssn="bad", email="bad")))
    assert all(p.code != "DUPLICATE_IN_FILE" for p in row.problems)


# --- writing ---------------------------------------------------------------------------------------------

def test_sample_csv_reads_back_as_one_valid_row(tmp_path: Path) -> None:
    data = write_sample_csv()
    assert data.decode("utf-8-sig").splitlines()[0] == "Last Name,NPN,Email,SSN,Gender"
    path = tmp_path / "sample.csv"
    path.write_bytes(data)
    [raw] = read(path)
    row = validate_row(raw)
    assert row.ok and row.ssn == "123456789"


def test_sample_xlsx_has_text_formatted_npn_and_ssn_columns(tmp_path: Path) -> None:
    path = tmp_path / "sample.xlsx"
    path.write_bytes(write_sample_xlsx())
    sheet = load_workbook(path)["Producers"]
    assert [c.value for c in sheet[1]] == HEADER
    for column in ("B", "D"):
        assert sheet.column_dimensions[column].number_format == "@"
        assert sheet[f"{column}2"].number_format == "@"
        assert isinstance(sheet[f"{column}2"].value, str)
    [raw] = read(path)
    assert validate_row(raw).ok


REPORT_COLUMNS = ["Row", "Last Name", "Email", "Error"]
REPORT_ROWS: list[dict[str, object]] = [
    {"Row": 2, "Last Name": "Doe", "Email": "jane@example", "Error": "Email is not valid.", "extra": "dropped"},
    {"Row": 5, "Last Name": "=HYPERLINK(\"http://evil\")", "Email": None, "Error": "Email is required."},
]


def test_csv_report_has_the_columns_and_neutralises_formulas() -> None:
    text = write_rows_report(REPORT_ROWS, "csv", REPORT_COLUMNS).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == REPORT_COLUMNS
    assert rows[1] == ["2", "Doe", "jane@example", "Email is not valid."]
    assert rows[2] == ["5", "'=HYPERLINK(\"http://evil\")", "", "Email is required."]


def test_xlsx_report_keeps_formula_like_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(write_rows_report(iter(REPORT_ROWS), "xlsx", REPORT_COLUMNS))
    sheet = load_workbook(path).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == REPORT_COLUMNS
    assert values[1] == [2, "Doe", "jane@example", "Email is not valid."]
    assert values[2][1] == "=HYPERLINK(\"http://evil\")" and sheet["B3"].data_type == "s"


def test_report_of_no_rows_is_just_the_header() -> None:
    assert write_rows_report([], "csv", ["Row", "Error"]).decode("utf-8-sig").strip() == "Row,Error"


def test_unknown_report_format_is_refused() -> None:
    with pytest.raises(ValueError, match="csv or xlsx"):
        write_rows_report([], "pdf", ["Row"])  # type: ignore[arg-type]
