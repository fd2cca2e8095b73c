"""Read bulk onboarding files (CSV or XLSX) row by row in bounded memory, and write sample and report files.

The file type is sniffed from the content, never from the name. Size, row count and (for XLSX) the
uncompressed size are bounded by `BulkLimits`, so a hostile upload fails early with a clear error.
"""

from __future__ import annotations

import codecs
import csv
import io
import posixpath
import re
import zipfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Literal
from xml.etree import ElementTree

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

from app.errors import DomainError
from app.rules.bulk_rows import RawRow

__all__ = [
    "COLUMN_LABELS", "REQUIRED_COLUMNS", "BulkFileError", "BulkLimits", "RawRow", "iter_bulk_rows",
    "sniff_format", "write_rows_report", "write_sample_csv", "write_sample_xlsx",
]

FileFormat = Literal["csv", "xlsx"]

REQUIRED_COLUMNS: tuple[str, ...] = ("last_name", "npn", "email", "ssn", "gender")
COLUMN_LABELS: dict[str, str] = {
    "last_name": "Last Name", "npn": "NPN", "email": "Email", "ssn": "SSN", "gender": "Gender",
    "first_name": "First Name",
}
_ALIASES: dict[str, tuple[str, ...]] = {
    "last_name": ("lastname", "surname", "familyname"),
    "npn": ("npn", "nationalproducernumber", "npnnumber"),
    "email": ("email", "emailaddress"),
    "ssn": ("ssn", "socialsecuritynumber", "socialsecurityno", "ssnnumber"),
    "gender": ("gender", "sex"),
    "first_name": ("firstname", "givenname", "forename"),
}
_HEADER_KEYS: dict[str, str] = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}
_EXPECTED = ", ".join(COLUMN_LABELS[k] for k in REQUIRED_COLUMNS)
_SAMPLE_ROW: tuple[str, ...] = ("Doe", "1234567", "jane.doe@example.com", "123-45-6789", "F")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f]")
_CHUNK = 1 << 16
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class BulkFileError(DomainError):
    """The uploaded file as a whole cannot be read (type, size, shape); the field is always "file"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, "file")


@dataclass
class BulkLimits:
    """Bounds on an upload: bytes on disk, data rows, and total uncompressed size of an XLSX."""

    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 100_000
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    # Every reader holds the shared-string table in memory: its XML size bounds that memory (~3-4x).
    max_shared_strings_bytes: int = 40 * 1024 * 1024


# --- sniffing -------------------------------------------------------------------------------------------

def _unsupported(detail: str) -> BulkFileError:
    return BulkFileError("UNSUPPORTED_FILE_TYPE",
                         f"{detail} Upload a CSV (UTF-8) or an Excel .xlsx file with the columns {_EXPECTED}.")


def _text_encoding(path: Path) -> str | None:
    """utf-8-sig or cp1252 when the whole file decodes as text with no binary control bytes, else None."""
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    if _CONTROL_BYTES.search(chunk):
                        return None
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def _check_xlsx(path: Path, limits: BulkLimits) -> None:
    """A zip holding xl/workbook.xml whose members, uncompressed, stay within the limit."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BulkFileError("XLSX_UNREADABLE", "The Excel file is damaged and cannot be opened; save it again "
                                               "as .xlsx and re-upload.") from exc
    if "xl/workbook.xml" not in {m.filename for m in members}:
        raise _unsupported("The file is a zip archive, not an Excel workbook.")
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise BulkFileError("XLSX_TOO_LARGE_UNCOMPRESSED",
                            f"The Excel file expands to {total:,} bytes, more than the "
                            f"{limits.max_uncompressed_bytes:,} allowed; split it into smaller files.")
    strings = sum(m.file_size for m in members if m.filename.lower().startswith("xl/sharedstrings"))
    if strings > limits.max_shared_strings_bytes:
        raise BulkFileError("XLSX_TOO_MANY_STRINGS",
                            f"The Excel file's text table expands to {strings:,} bytes, more than the "
                            f"{limits.max_shared_strings_bytes:,} allowed; remove unused columns and sheets, or "
                            "split it into smaller files.")


def _sniff(path: Path, limits: BulkLimits) -> tuple[FileFormat, str | None]:
    size = path.stat().st_size
    if size == 0:
        raise BulkFileError("EMPTY_FILE", "The file is empty.")
    if size > limits.max_bytes:
        raise BulkFileError("FILE_TOO_LARGE", f"The file is {size:,} bytes; the limit is {limits.max_bytes:,}. "
                                              "Split it into smaller files.")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK"):
        _check_xlsx(path, limits)
        return "xlsx", None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unsupported("Old .xls workbooks (and password-protected files) are not supported.")
    encoding = _text_encoding(path)
    if encoding is None:
        raise _unsupported("The file is neither an Excel workbook nor readable CSV text.")
    return "csv", encoding


def sniff_format(path: str | Path, limits: BulkLimits | None = None) -> FileFormat:
    """The file's format by content ("csv" or "xlsx"), after the size and zip-bomb checks."""
    return _sniff(Path(path), limits or BulkLimits())[0]


# --- reading ---------------------------------------------------------------------------------------------

def _header_key(cell: object) -> str | None:
    if cell is None:
        return None
    folded = re.sub(r"[^0-9a-z]", "", str(cell).replace("\ufeff", "").casefold())
    return _HEADER_KEYS.get(folded)


def _map_header(cells: Sequence[object]) -> dict[str, int]:
    """Column index of each known column (first occurrence wins); MISSING_COLUMNS names every absent one."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = _header_key(cell)
        if key is not None and key not in columns:
            columns[key] = index
    missing = [COLUMN_LABELS[k] for k in REQUIRED_COLUMNS if k not in columns]
    if missing:
        raise BulkFileError("MISSING_COLUMNS", f"The file is missing the column{'s' if len(missing) > 1 else ''} "
                                               f"{', '.join(missing)}. The first row must name the columns "
                                               f"{_EXPECTED} (any order).")
    return columns


def _clean(value: object) -> object:
    if isinstance(value, str):
        return value if value.strip() else None
    return value


def _is_blank(cells: Iterable[object]) -> bool:
    return all(_clean(c) is None for c in cells)


def _rows(cells_by_row: Iterable[Sequence[object]], limits: BulkLimits) -> Iterator[RawRow]:
    """Header then data rows; blank rows skipped; raises as soon as the row limit is passed."""
    columns: dict[str, int] | None = None
    count = 0
    try:
        for row_number, cells in enumerate(cells_by_row, start=1):
            if columns is None:
                if not _is_blank(cells):
                    columns = _map_header(cells)
                continue
            values = {key: _clean(cells[i]) if i < len(cells) else None for key, i in columns.items()}
            if _is_blank(values.values()):
                continue
            count += 1
            if count > limits.max_rows:
                raise BulkFileError("TOO_MANY_ROWS", f"The file has more than {limits.max_rows:,} producer "
                                                     "rows; split it into smaller files.")
            yield RawRow(row_number, values)
    finally:
        if isinstance(cells_by_row, Generator):
            cells_by_row.close()  # release the file now, also when stopping early
    if columns is None:
        raise BulkFileError("EMPTY_FILE", "The file has no content: not even a header row.")
    if count == 0:
        raise BulkFileError("NO_DATA_ROWS", "The file has a header row but no producer rows.")


def _delimiter(path: Path, encoding: str) -> str:
    """The delimiter among , ; and tab that appears most in the first non-blank line (comma on a tie)."""
    with path.open("r", encoding=encoding, newline="") as fh:
        line = next((ln for ln in fh if ln.strip()), "")
    return max((",", ";", "\t"), key=line.count)


def _csv_cells(path: Path, encoding: str) -> Iterator[list[str]]:
    with path.open("r", encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=_delimiter(path, encoding))
        try:
            yield from reader
        except csv.Error as exc:
            raise BulkFileError("CSV_UNREADABLE", f"The CSV file cannot be read near line {reader.line_num}: "
                                                  f"{exc}.") from exc


# A streaming reader of the sheet XML (ElementTree.iterparse, elements cleared as they are read): the same
# values openpyxl's read-only mode gives (values only, cached formula results, numbers as int unless they
# have a decimal point or exponent, dates for date-formatted numbers, missing cells and rows as None / empty),
# at several times its speed. Anything it does not understand in the workbook's structure goes to openpyxl.
# Memory: the shared strings are held as a list; their uncompressed size counts toward the limit
# `_check_xlsx` already enforced, and zipfile never yields more than a member's declared size.

_MAIN_NS = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def _tags(local: str) -> frozenset[str]:
    return frozenset(f"{{{ns}}}{local}" for ns in _MAIN_NS)


_ROW, _CELL, _VALUE, _INLINE, _TEXT, _RUN = (_tags(t) for t in ("row", "c", "v", "is", "t", "r"))
_ROW_DIGITS = "0123456789"


class _Unsupported(Exception):
    """The workbook's structure is outside what the fast reader handles; openpyxl reads it instead."""


def _text_of(element: ElementTree.Element) -> str:
    """A string item's text as openpyxl gives it: the plain <t> and the rich-text runs' <t>, no phonetics."""
    parts = []
    for child in element:
        if child.tag in _TEXT:
            parts.append(child.text or "")
        elif child.tag in _RUN:
            parts.extend(t.text or "" for t in child if t.tag in _TEXT)
    return "".join(parts)


def _part(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(archive.read(name))
    except (KeyError, ElementTree.ParseError) as exc:
        raise _Unsupported(name) from exc


def _relations(archive: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """The workbook's relationships: id -> (type, member name in the zip)."""
    rels = _part(archive, "xl/_rels/workbook.xml.rels")
    found: dict[str, tuple[str, str]] = {}
    for rel in rels.iter(f"{{{_REL_NS}}}Relationship"):
        target = rel.get("Target", "")
        name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        found[rel.get("Id", "")] = (rel.get("Type", ""), name)
    return found


def _date_styles(archive: zipfile.ZipFile) -> tuple[frozenset[int], frozenset[int]]:
    """Indices of the cell styles whose number format is a date, and those that are a duration."""
    if "xl/styles.xml" not in archive.namelist():
        return frozenset(), frozenset()
    styles = _part(archive, "xl/styles.xml")
    custom = {fmt.get("numFmtId"): fmt.get("formatCode") or "" for ns in _MAIN_NS
              for fmt in styles.iter(f"{{{ns}}}numFmt")}
    dates: set[int] = set()
    durations: set[int] = set()
    for ns in _MAIN_NS:
        for xfs in styles.iter(f"{{{ns}}}cellXfs"):
            for index, xf in enumerate(x for x in xfs if x.tag.endswith("}xf")):
                ident = xf.get("numFmtId", "0")
                code = custom[ident] if ident in custom else builtin_format_code(int(ident)) if ident.isdigit() else None
                if code and is_date_format(code):
                    dates.add(index)
                if code and is_timedelta_format(code):
                    durations.add(index)
    return frozenset(dates), frozenset(durations)


@dataclass
class _Workbook:
    sheet_name: str
    sheet_member: str
    strings: list[str]
    dates: frozenset[int]
    durations: frozenset[int]
    epoch: datetime


def _open_workbook(archive: zipfile.ZipFile) -> _Workbook:
    """The chosen sheet (named Producers, else the first worksheet), shared strings, date styles and epoch."""
    workbook = _part(archive, "xl/workbook.xml")
    relations = _relations(archive)
    worksheets: list[tuple[str, str]] = []
    for sheet in (el for el in workbook.iter() if el.tag in _tags("sheet")):
        rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
        kind, member = relations.get(rid or "", ("", ""))
        if kind.endswith("/worksheet"):
            worksheets.append((sheet.get("name", ""), member))
        elif not kind.endswith("/chartsheet") and not kind.endswith("/dialogsheet"):
            raise _Unsupported("sheet relation")
    if not worksheets:
        raise _Unsupported("no worksheet")
    name, member = next((s for s in worksheets if s[0].strip().casefold() == "producers"), worksheets[0])
    if member not in archive.namelist():
        raise _Unsupported(member)
    strings: list[str] = []
    shared = next((m for kind, m in relations.values() if kind.endswith("/sharedStrings")), None)
    if shared is not None and shared in archive.namelist():
        try:
            with archive.open(shared) as source:
                for _, element in ElementTree.iterparse(source):
                    if element.tag in _tags("si"):
                        strings.append(_text_of(element).replace("x005F_", ""))
                        element.clear()
        except ElementTree.ParseError as exc:
            raise _Unsupported(shared) from exc
    props = next((el for el in workbook if el.tag in _tags("workbookPr")), None)
    date1904 = props is not None and props.get("date1904", "").lower() in ("1", "true")
    dates, durations = _date_styles(archive)
    return _Workbook(name, member, strings, dates, durations, CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900)


def _column(ref: str, cache: dict[str, int]) -> int:
    letters = ref.rstrip(_ROW_DIGITS)
    column = cache.get(letters)
    if column is None:
        column = 0
        for letter in letters.upper():
            column = column * 26 + ord(letter) - 64
        if not letters.isalpha() or column < 1:
            raise ValueError(f"bad cell reference {ref!r}")
        cache[letters] = column
    return column


def _cell_value(cell: ElementTree.Element, book: _Workbook) -> object:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        inline = next((child for child in cell if child.tag in _INLINE), None)
        return None if inline is None else _text_of(inline)
    text = next((child.text for child in cell if child.tag in _VALUE), None)
    if not text:
        return None
    if kind == "n":
        number: int | float = float(text) if "." in text or "E" in text or "e" in text else int(text)
        style = cell.get("s")
        if style and int(style) in book.dates:
            return from_excel(number, book.epoch, timedelta=int(style) in book.durations)
        return number
    if kind == "s":
        return book.strings[int(text)]
    if kind == "b":
        return bool(int(text))
    if kind == "d":
        return from_ISO8601(text)
    return text  # str (a formula's cached text) and e (an error such as #N/A)


def _sheet_rows(source: IO[bytes], book: _Workbook) -> Iterator[list[object]]:
    """Rows in sheet order; a missing row comes as an empty list, a missing cell as None."""
    expected = 1
    row_number = 0
    columns: dict[str, int] = {}
    for _, element in ElementTree.iterparse(source):
        if element.tag not in _ROW:
            continue
        ref = element.get("r")
        row_number = int(float(ref)) if ref else row_number + 1
        if row_number >= expected:
            while expected < row_number:
                expected += 1
                yield []
            expected += 1
            cells: dict[int, object] = {}
            column = 0
            last = 0
            for cell in element:
                if cell.tag not in _CELL:
                    continue
                cell_ref = cell.get("r")
                column = _column(cell_ref, columns) if cell_ref else column + 1
                cells[column] = _cell_value(cell, book)
                last = column
            values: list[object] = [None] * last
            for index, value in cells.items():
                if index <= last:
                    values[index - 1] = value
            yield values
        element.clear()


def _xlsx_cells(path: Path) -> Iterator[Sequence[object]]:
    """The streaming reader's rows; openpyxl's when the workbook's structure is outside what it handles."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        yield from _openpyxl_cells(path)
        return
    with archive:
        try:
            book = _open_workbook(archive)
        except (_Unsupported, ValueError, KeyError, IndexError, zipfile.BadZipFile, OSError):
            book = None
        if book is None:
            yield from _openpyxl_cells(path)
            return
        try:
            with archive.open(book.sheet_member) as source:
                yield from _sheet_rows(source, book)
        except (ElementTree.ParseError, ValueError, KeyError, IndexError, OverflowError, zipfile.BadZipFile,
                OSError, EOFError) as exc:
            raise BulkFileError("XLSX_UNREADABLE", f"The Excel sheet {book.sheet_name!r} is damaged and "
                                                   "cannot be read.") from exc


def _openpyxl_cells(path: Path) -> Iterator[Sequence[object]]:
    handle = path.open("rb")  # a file object: openpyxl would refuse a path without an .xlsx suffix
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken package
        handle.close()
        raise BulkFileError("XLSX_UNREADABLE", "The Excel file cannot be opened; save it again as .xlsx "
                                               "and re-upload.") from exc
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise BulkFileError("NO_SHEET", "The Excel file has no worksheet; put the producers on a sheet "
                                            "named Producers.")
        sheet = next((s for s in sheets if s.title.strip().casefold() == "producers"), sheets[0])
        sheet.reset_dimensions()  # do not trust the stored dimension: read every row present
        rows = sheet.iter_rows(min_row=1, values_only=True)
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except Exception as exc:
                raise BulkFileError("XLSX_UNREADABLE", f"The Excel sheet {sheet.title!r} is damaged and "
                                                       "cannot be read.") from exc
            yield cells
    finally:
        workbook.close()
        handle.close()


def iter_bulk_rows(path: str | Path, limits: BulkLimits | None = None) -> Iterator[RawRow]:
    """Stream the data rows of a CSV or XLSX file; the type, size and zip-bomb checks run before returning."""
    file_path = Path(path)
    bounds = limits or BulkLimits()
    file_format, encoding = _sniff(file_path, bounds)
    cells = _xlsx_cells(file_path) if file_format == "xlsx" else _csv_cells(file_path, encoding or "utf-8")
    return _rows(cells, bounds)


# --- writing ---------------------------------------------------------------------------------------------

def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def write_sample_csv() -> bytes:
    """A sample upload: the header row and one clearly fictitious producer, UTF-8 with a BOM for Excel."""
    return _csv_bytes([COLUMN_LABELS[k] for k in REQUIRED_COLUMNS], [_SAMPLE_ROW])


def _xlsx_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_sample_xlsx() -> bytes:
    """A sample upload workbook, sheet "Producers", with NPN and SSN columns formatted as text."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Producers"
    sheet.append([COLUMN_LABELS[k] for k in REQUIRED_COLUMNS])
    sheet.append(list(_SAMPLE_ROW))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, key in enumerate(REQUIRED_COLUMNS):
        letter = chr(ord("A") + index)
        sheet.column_dimensions[letter].width = 28 if key == "email" else 16
        if key in ("npn", "ssn"):
            sheet.column_dimensions[letter].number_format = "@"
            sheet[f"{letter}2"].number_format = "@"
    sheet.freeze_panes = "A2"
    return _xlsx_bytes(workbook)


def _csv_safe(value: object) -> object:
    """Neutralise text a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _xlsx_value(value: object) -> object:
    if value is None or isinstance(value, str | int | float | Decimal | datetime | date | time):
        return value
    return str(value)


def write_rows_report(rows: Iterable[dict[str, object]], fmt: FileFormat, columns: list[str]) -> bytes:
    """A report (e.g. failed rows with an Error column) as CSV or XLSX; keys outside `columns` are dropped."""
    if fmt == "csv":
        return _csv_bytes(columns, ([_csv_safe(row.get(c)) for c in columns] for row in rows))
    if fmt != "xlsx":
        raise ValueError(f"Unknown report format {fmt!r}; use csv or xlsx.")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Report")
    sheet.append(columns)
    for row in rows:
        cells = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=_xlsx_value(row.get(column)))
            if cell.data_type == "f":  # text that looks like a formula stays text
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    return _xlsx_bytes(workbook)
